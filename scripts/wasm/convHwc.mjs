/**
 * WebAssembly text of the kernels behind TF.js convolutions (HWIO filters [kh, kw, ci, co]) on
 * NHWC tensors:
 *
 * - `im2colHwc`: the tap matrix [N·OH·OW, KH·KW·C] in (kh, kw, c) order, so that the output is
 *   cols · W with W read as the row-major [KH·KW·C, CO] matrix it already is. Per output pixel a
 *   table holds the address of each tap's run of C input channels (a zeroed scratch run for taps
 *   in the padding); runs that lie back to back in the input (the taps of a kernel row at
 *   dilation 1) merge into one, and each run is a plain copy, four vectors at a time.
 * - `col2imHwc`: its adjoint: the input gradient zeroed, then the same runs added onto it (taps in
 *   the padding skipped), each input float getting its terms in increasing output-pixel order.
 * - `wgWeightsHwio`: the Winograd F(2×2, 3×3) weight transform U = G g Gᵀ of an HWIO filter into
 *   [16][ci][co]: elementwise over the contiguous (ci, co) block of each of the nine taps.
 * - `wgWeightGradHwio`: the Winograd weight gradient Gᵀ M G from the tile sums M [16][ci][co]
 *   straight into HWIO [3][3][ci][co], elementwise likewise.
 */
import { add, get, i32, mul, range, repeat, set, sub } from './wat.mjs';
import { overOutputPixels, tapTable } from './taps.mjs';

const locals = (type, names) => names.map((n) => `(local $${n} ${type})`).join(' ');
const params = (names) => names.map((n) => `(param $${n} i32)`).join(' ');
const inc = (n, v) => set(n, add(get(n), v));
const geomParams = ['n', 'h', 'w', 'c', 'oh', 'ow', 'kh', 'kw', 'sh', 'sw', 'dh', 'dw', 'pt', 'pl'];
/** Locals of tapTable and overOutputPixels. */
const tapLocals = [
  'c4',
  'rowB',
  'xb',
  'b',
  'oy',
  'ox',
  'y0',
  'x0',
  'i',
  'j',
  'y',
  'xx',
  'rowOk',
  'src',
  'tp',
];

/**
 * The next run of the tap table: `s` its first byte, `len` its length in bytes; `tp` advances past
 * the taps it covers (up to `te`). Taps whose runs follow each other in memory merge.
 */
const nextRun = (label) => `
      ${set('s', `(i32.load ${get('tp')})`)}
      ${set('len', get('c4'))}
      ${inc('tp', i32(4))}
      (block $${label}_end (loop $${label}
        (br_if $${label}_end (i32.ge_u ${get('tp')} ${get('te')}))
        (br_if $${label}_end (i32.ne (i32.load ${get('tp')}) ${add(get('s'), get('len'))}))
        ${inc('len', get('c4'))}
        ${inc('tp', i32(4))}
        (br $${label})))`;

/**
 * `len` bytes (a multiple of 4) from `s` to `d` through `op(dst, value)`, four vectors, then one
 * vector, then one float at a time; `s`, `d` and `len` advance.
 */
const streamRun = (label, vop, fop) => `
      (block $${label}4_end (loop $${label}4
        (br_if $${label}4_end (i32.lt_u ${get('len')} ${i32(64)}))
        ${range(4)
          .map((k) => vop(k * 16))
          .join(' ')}
        ${inc('s', i32(64))} ${inc('d', i32(64))} ${set('len', sub(get('len'), i32(64)))}
        (br $${label}4)))
      (block $${label}1_end (loop $${label}1
        (br_if $${label}1_end (i32.lt_u ${get('len')} ${i32(16)}))
        ${vop(0)}
        ${inc('s', i32(16))} ${inc('d', i32(16))} ${set('len', sub(get('len'), i32(16)))}
        (br $${label}1)))
      (block $${label}s_end (loop $${label}s
        (br_if $${label}s_end (i32.eqz ${get('len')}))
        ${fop}
        ${inc('s', i32(4))} ${inc('d', i32(4))} ${set('len', sub(get('len'), i32(4)))}
        (br $${label}s)))`;

function im2colHwc() {
  const copy = streamRun(
    'cp',
    (o) => `(v128.store offset=${o} ${get('d')} (v128.load offset=${o} ${get('s')}))`,
    `(f32.store ${get('d')} (f32.load ${get('s')}))`,
  );
  return `
(func $im2colHwc (export "im2colHwc") ${params(['x', 'out', ...geomParams, 'tab', 'zero'])}
  ${locals('i32', [...tapLocals, 'te', 's', 'd', 'len'])}
  ${set('c4', mul(get('c'), i32(4)))}
  ${set('rowB', mul(get('w'), get('c4')))}
  (memory.fill ${get('zero')} ${i32(0)} ${get('c4')})
  ${set('te', add(get('tab'), mul(mul(get('kh'), get('kw')), i32(4))))}
  ${set('d', get('out'))}
  ${overOutputPixels(`
    ${tapTable}
    ${set('tp', get('tab'))}
    (block $ic_end (loop $ic
      (br_if $ic_end (i32.ge_u ${get('tp')} ${get('te')}))
      ${nextRun('icm')}
      ${copy}
      (br $ic)))`)}
)`;
}

function col2imHwc() {
  const addOn = streamRun(
    'ad',
    (o) =>
      `(v128.store offset=${o} ${get('s')} (f32x4.add (v128.load offset=${o} ${get('s')}) (v128.load offset=${o} ${get('d')})))`,
    `(f32.store ${get('s')} (f32.add (f32.load ${get('s')}) (f32.load ${get('d')})))`,
  );
  // Here `d` walks the tap matrix (the source) and `s` the input gradient (the destination).
  return `
(func $col2imHwc (export "col2imHwc") ${params(['cols', 'dx', ...geomParams, 'tab', 'zero'])}
  ${locals('i32', [...tapLocals, 'te', 's', 'd', 'len'])}
  ${set('c4', mul(get('c'), i32(4)))}
  ${set('rowB', mul(get('w'), get('c4')))}
  (memory.fill ${get('dx')} ${i32(0)} ${mul(mul(get('n'), get('h')), get('rowB'))})
  ${set('te', add(get('tab'), mul(mul(get('kh'), get('kw')), i32(4))))}
  ${set('d', get('cols'))}
  ${overOutputPixels(
    `
    ${tapTable}
    ${set('tp', get('tab'))}
    (block $sc_end (loop $sc
      (br_if $sc_end (i32.ge_u ${get('tp')} ${get('te')}))
      (if (i32.eq (i32.load ${get('tp')}) ${get('zero')})
        (then ${inc('tp', i32(4))} ${inc('d', get('c4'))} (br $sc)))
      ${nextRun('scm')}
      ${addOn}
      (br $sc)))`,
    'dx',
  )}
)`;
}

const half = '(v128.const f32x4 0.5 0.5 0.5 0.5)';
const fadd = (a, b) => `(f32x4.add ${a} ${b})`;
const fsub = (a, b) => `(f32x4.sub ${a} ${b})`;
const h = (e) => `(f32x4.mul ${half} ${e})`;
/** G·(g0, g1, g2) along one axis: four values. */
const gRows = (g) => [g[0], h(fadd(fadd(g[0], g[1]), g[2])), h(fadd(fsub(g[0], g[1]), g[2])), g[2]];
/** Gᵀ·(m0, m1, m2, m3) along one axis: three values. */
const gtRows = (m) => [fadd(m[0], h(fadd(m[1], m[2]))), h(fsub(m[1], m[2])), fadd(h(fadd(m[1], m[2])), m[3])];

/** U[r·4 + s] = Σ_ab G[r][a] G[s][b] W[a·3 + b], four (ci, co) entries at a time. */
function weightsHwio() {
  const tap = (a, b) => `(v128.load ${add(get('src'), mul(get('ts'), i32(a * 3 + b)))})`;
  const body = range(4)
    .map((r) => {
      // t[b] = Σ_a G[r][a] W[a][b], then U[r][s] = Σ_b t[b] G[s][b]
      const ts = range(3).map((b) => set(`t${b}`, gRows(range(3).map((a) => tap(a, b)))[r]));
      const us = gRows(range(3).map((b) => get(`t${b}`))).map(
        (e, s) => `(v128.store ${add(get('dst'), mul(get('ts'), i32(r * 4 + s)))} ${e})`,
      );
      return [...ts, ...us].join(' ');
    })
    .join('\n      ');
  return `
(func (export "wgWeightsHwio") (param $w i32) (param $cc i32) (param $out i32)
  (local $src i32) (local $dst i32) (local $ts i32) (local $k i32) (local $t0 v128) (local $t1 v128) (local $t2 v128)
  ${set('ts', mul(get('cc'), i32(4)))}
  ${set('src', get('w'))}
  ${set('dst', get('out'))}
  ${repeat(
    'k',
    `(i32.shr_u ${get('cc')} ${i32(2)})`,
    `${body}
    ${inc('src', i32(16))} ${inc('dst', i32(16))}`,
    'wh',
  )}
)`;
}

/** dW[a·3 + b] = Σ_rs G[r][a] G[s][b] M[r·4 + s], four (ci, co) entries at a time. */
function weightGradHwio() {
  const m = (r, s) => `(v128.load ${add(get('src'), mul(get('ts'), i32(r * 4 + s)))})`;
  const body = range(3)
    .map((b) => {
      // t[r] = Σ_s M[r][s] G[s][b], then dW[a][b] = Σ_r G[r][a] t[r]
      const ts = range(4).map((r) => set(`t${r}`, gtRows(range(4).map((s) => m(r, s)))[b]));
      const ws = gtRows(range(4).map((r) => get(`t${r}`))).map(
        (e, a) => `(v128.store ${add(get('dst'), mul(get('ts'), i32(a * 3 + b)))} ${e})`,
      );
      return [...ts, ...ws].join(' ');
    })
    .join('\n      ');
  return `
(func (export "wgWeightGradHwio") (param $m i32) (param $cc i32) (param $out i32)
  (local $src i32) (local $dst i32) (local $ts i32) (local $k i32)
  (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
  ${set('ts', mul(get('cc'), i32(4)))}
  ${set('src', get('m'))}
  ${set('dst', get('out'))}
  ${repeat(
    'k',
    `(i32.shr_u ${get('cc')} ${i32(2)})`,
    `${body}
    ${inc('src', i32(16))} ${inc('dst', i32(16))}`,
    'gh',
  )}
)`;
}

/** The HWIO convolution part of the module (the same in both builds). */
export function convHwcText() {
  return `${im2colHwc()}
${col2imHwc()}
${weightsHwio()}
${weightGradHwio()}`;
}
