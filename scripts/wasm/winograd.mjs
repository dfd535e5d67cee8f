/**
 * WebAssembly text of the Winograd F(2×2, 3×3) transforms for NHWC tensors, four channels per
 * v128 (the channel count must be a multiple of 4):
 *
 * - `wgInput`: every 4×4 input tile (stride 2, zero outside the image) to V = Bᵀ d B, stored as
 *   [16][tiles][C] so that each of the 16 positions is a row-major matrix for the GEMM;
 * - `wgOutput`: the 16 GEMM results [16][tiles][C] back to 2×2 output tiles, Y = Aᵀ m A.
 *
 * With the weight transform U = G g Gᵀ (done in TypeScript), a 3×3 stride-1 convolution becomes
 * 16 matrix products of a quarter of the output's pixels each: 2.25× fewer multiplies than im2col.
 *
 * The last parameter, `tiles`, is the row count of each of the 16 blocks (their stride): n·th·tw
 * for a whole tensor, more when a kernel thread transforms a slice of the tiles (the pointers then
 * point at the slice's first tile and image row, n, th and the pads describe the slice).
 */
import { add, get, i32, mul, range, repeat, set, sub } from './wat.mjs';

const f = (op, a, b) => `(f32x4.${op} ${a} ${b})`;

/** Bᵀ·(d0, d1, d2, d3) along one axis. */
const bt = (d) => [f('sub', d[0], d[2]), f('add', d[1], d[2]), f('sub', d[2], d[1]), f('sub', d[1], d[3])];

/**
 * The loops the transforms share: images, tile rows (y0 the tile's first row, then `perRow`), tile
 * columns (x0, then `perTile`), and blocks of four channels (`body`, after which $cb and the
 * pointer `ptr` advance by one v128). Locals b, ty, tx, t, y0, x0, k, cb and `ptr` are the caller's.
 */
function tileLoops({ y0, x0, perRow = '', perTile, body, ptr }) {
  return `(block $bend (loop $bl (br_if $bend (i32.ge_s ${get('b')} ${get('n')}))
    ${set('ty', i32(0))}
    (block $yend (loop $yl (br_if $yend (i32.ge_s ${get('ty')} ${get('th')}))
      ${set('y0', y0)}
      ${perRow}
      ${set('tx', i32(0))}
      (block $xend (loop $xl (br_if $xend (i32.ge_s ${get('tx')} ${get('tw')}))
        ${set('x0', x0)}
        ${perTile}
        ${repeat(
          'k',
          `(i32.shr_u ${get('c')} ${i32(2)})`,
          `${body}
        ${set('cb', add(get('cb'), i32(16)))}
        ${set(ptr, add(get(ptr), i32(16)))}`,
          'cl',
        )}
        ${set('t', add(get('t'), i32(1)))}
        ${set('tx', add(get('tx'), i32(1)))}
        (br $xl)))
      ${set('ty', add(get('ty'), i32(1)))}
      (br $yl)))
    ${set('b', add(get('b'), i32(1)))}
    (br $bl)))`;
}

/** The first float of output tile (y0, x0) of image b, NHWC [n, oh, ow, c]. */
const outTile = (y) =>
  add(y, mul(add(mul(add(mul(get('b'), get('oh')), get('y0')), get('ow')), get('x0')), get('cs')));

function inputTransform() {
  const locals = [
    ...range(16).map((k) => `(local $u${k} v128)`),
    ...range(4).map((i) => `(local $l${i} v128)`),
    ...range(4).map((i) => `(local $row${i} i32) (local $vy${i} i32)`),
    ...range(4).map((j) => `(local $vx${j} i32)`),
  ].join(' ');
  // Address of input (tile row i, column j, channel block at byte offset $cb), clamped to $x when
  // outside the image so that the load stays in bounds; the value is then replaced by zero.
  const inside = (i, j) => `(i32.and ${get(`vy${i}`)} ${get(`vx${j}`)})`;
  const addr = (i, j) =>
    `(select ${add(add(get(`row${i}`), i32(0)), add(mul(get('cs'), i32(j)), get('cb')))} ${get('x')} ${inside(i, j)})`;
  const load = (i, j) => `(select (v128.load ${addr(i, j)}) (v128.const i32x4 0 0 0 0) ${inside(i, j)})`;
  const colPass = range(4)
    .map((j) => {
      const ls = range(4).map((i) => set(`l${i}`, load(i, j)));
      const us = bt(range(4).map((i) => get(`l${i}`))).map((e, i) => set(`u${i * 4 + j}`, e));
      return [...ls, ...us].join(' ');
    })
    .join('\n        ');
  // out + ((ξ·T + t)·C)·4 + cb: ξ advances by T·C·4 bytes ($xs).
  const rowPass = range(4)
    .map((i) =>
      bt(range(4).map((j) => get(`u${i * 4 + j}`)))
        .map((e, j) => `(v128.store ${add(get('o'), mul(get('xs'), i32(i * 4 + j)))} ${e})`)
        .join(' '),
    )
    .join('\n        ');
  return `
(func $wgInput (export "wgInput") (param $x i32) (param $n i32) (param $h i32) (param $w i32) (param $c i32)
  (param $pt i32) (param $pl i32) (param $th i32) (param $tw i32) (param $out i32) (param $tiles i32)
  (local $b i32) (local $ty i32) (local $tx i32) (local $t i32) (local $y0 i32) (local $x0 i32)
  (local $cs i32) (local $cb i32) (local $o i32) (local $xs i32) (local $k i32)
  ${locals}
  ${set('cs', mul(get('c'), i32(4)))}
  ${set('xs', mul(mul(get('tiles'), get('c')), i32(4)))}
  ${tileLoops({
    y0: sub(mul(get('ty'), i32(2)), get('pt')),
    perRow: range(4)
      .map(
        (i) =>
          `${set(`vy${i}`, `(i32.lt_u ${add(get('y0'), i32(i))} ${get('h')})`)} ${set(`row${i}`, add(get('x'), mul(mul(add(mul(get('b'), get('h')), add(get('y0'), i32(i))), get('w')), get('cs'))))}`,
      )
      .join(' '),
    x0: sub(mul(get('tx'), i32(2)), get('pl')),
    perTile: `${range(4)
      .map((j) => set(`vx${j}`, `(i32.lt_u ${add(get('x0'), i32(j))} ${get('w')})`))
      .join(' ')}
        ${set('o', add(get('out'), mul(get('t'), get('cs'))))}
        ${set('cb', mul(get('x0'), get('cs')))}`,
    body: `${colPass}
        ${rowPass}`,
    ptr: 'o',
  })})`;
}

/** Aᵀ·(m0, m1, m2, m3) along one axis. */
const at = (m) => [f('add', f('add', m[0], m[1]), m[2]), f('sub', f('sub', m[1], m[2]), m[3])];

function outputTransform() {
  const locals = [
    ...range(8).map((k) => `(local $s${k} v128)`),
    ...range(4).map((i) => `(local $l${i} v128)`),
  ].join(' ');
  // s(r, j) = Aᵀ along ξ rows, for output row r and column j of the 4×4 tile.
  const colPass = range(4)
    .map((j) => {
      const ls = range(4).map((i) =>
        set(`l${i}`, `(v128.load ${add(get('m'), mul(get('xs'), i32(i * 4 + j)))})`),
      );
      const ss = at(range(4).map((i) => get(`l${i}`))).map((e, r) => set(`s${r * 4 + j}`, e));
      return [...ls, ...ss].join(' ');
    })
    .join('\n        ');
  const store = (r, q) => {
    const value = at(range(4).map((j) => get(`s${r * 4 + j}`)))[q];
    const cond = `(i32.and (i32.lt_s ${add(get('y0'), i32(r))} ${get('oh')}) (i32.lt_s ${add(get('x0'), i32(q))} ${get('ow')}))`;
    const where = add(get('yb'), add(mul(get('rs'), i32(r)), add(mul(get('cs'), i32(q)), get('cb'))));
    return `(if ${cond} (then (v128.store ${where} ${value})))`;
  };
  return `
(func $wgOutput (export "wgOutput") (param $mm i32) (param $n i32) (param $oh i32) (param $ow i32) (param $c i32)
  (param $th i32) (param $tw i32) (param $y i32) (param $tiles i32)
  (local $b i32) (local $ty i32) (local $tx i32) (local $t i32) (local $y0 i32) (local $x0 i32)
  (local $cs i32) (local $rs i32) (local $cb i32) (local $m i32) (local $xs i32) (local $k i32) (local $yb i32)
  ${locals}
  ${set('cs', mul(get('c'), i32(4)))}
  ${set('rs', mul(get('ow'), get('cs')))}
  ${set('xs', mul(mul(get('tiles'), get('c')), i32(4)))}
  ${tileLoops({
    y0: mul(get('ty'), i32(2)),
    x0: mul(get('tx'), i32(2)),
    perTile: `${set('yb', outTile(get('y')))}
        ${set('m', add(get('mm'), mul(get('t'), get('cs'))))}
        ${set('cb', i32(0))}`,
    body: `${colPass}
        ${range(2)
          .flatMap((r) => range(2).map((q) => store(r, q)))
          .join(' ')}`,
    ptr: 'm',
  })})`;
}

/** A·(e0, e1) along one axis: the 2 values of an output-gradient tile spread to 4. */
const a2 = (e) => [e[0], f('add', e[0], e[1]), f('sub', e[0], e[1]), `(f32x4.neg ${e[1]})`];

/**
 * `wgGradOut`: every 2×2 tile of the output gradient (zero past the output) to D = A dy Aᵀ, stored
 * as [16][tiles][C] like V. Then the weight gradient is Gᵀ (Σ over tiles of V ⊙ D) G, the sum over
 * tiles being 16 matrix products Vᵀ[ξ]·D[ξ].
 */
function gradOutTransform() {
  const inside = (r, q) =>
    `(i32.and (i32.lt_s ${add(get('y0'), i32(r))} ${get('oh')}) (i32.lt_s ${add(get('x0'), i32(q))} ${get('ow')}))`;
  const addr = (r, q) =>
    `(select ${add(get('yb'), add(mul(get('rs'), i32(r)), add(mul(get('cs'), i32(q)), get('cb'))))} ${get('y')} ${inside(r, q)})`;
  const load = (r, q) => `(select (v128.load ${addr(r, q)}) (v128.const i32x4 0 0 0 0) ${inside(r, q)})`;
  const body = [
    ...[0, 1].flatMap((r) => [0, 1].map((q) => set(`e${r * 2 + q}`, load(r, q)))),
    // along y for each of the two columns, then along x for each of the four rows
    ...[0, 1].flatMap((q) => a2([get(`e${q}`), get(`e${2 + q}`)]).map((e, i) => set(`u${i * 2 + q}`, e))),
    ...range(4).flatMap((i) =>
      a2([get(`u${i * 2}`), get(`u${i * 2 + 1}`)]).map(
        (e, j) => `(v128.store ${add(get('o'), mul(get('xs'), i32(i * 4 + j)))} ${e})`,
      ),
    ),
  ].join('\n        ');
  return `
(func $wgGradOut (export "wgGradOut") (param $y i32) (param $n i32) (param $oh i32) (param $ow i32) (param $c i32)
  (param $th i32) (param $tw i32) (param $out i32) (param $tiles i32)
  (local $b i32) (local $ty i32) (local $tx i32) (local $t i32) (local $y0 i32) (local $x0 i32)
  (local $cs i32) (local $rs i32) (local $cb i32) (local $o i32) (local $xs i32) (local $k i32) (local $yb i32)
  ${range(4)
    .map((k) => `(local $e${k} v128)`)
    .join(' ')} ${range(8)
    .map((k) => `(local $u${k} v128)`)
    .join(' ')}
  ${set('cs', mul(get('c'), i32(4)))}
  ${set('rs', mul(get('ow'), get('cs')))}
  ${set('xs', mul(mul(get('tiles'), get('c')), i32(4)))}
  ${tileLoops({
    y0: mul(get('ty'), i32(2)),
    x0: mul(get('tx'), i32(2)),
    perTile: `${set('yb', outTile(get('y')))}
        ${set('o', add(get('out'), mul(get('t'), get('cs'))))}
        ${set('cb', i32(0))}`,
    body,
    ptr: 'o',
  })})`;
}

/**
 * `wgWeightOut`: the weight gradient from the 16 tile sums M [16][ci][co]: dW = Gᵀ M G per
 * (ci, co), written straight into the ONNX layout [co][ci][3][3] (four output channels at a
 * time, one lane each).
 */
function weightOutTransform() {
  const half = '(v128.const f32x4 0.5 0.5 0.5 0.5)';
  const h = (e) => `(f32x4.mul ${half} ${e})`;
  // t[r][b] = Σ_s M[r][s] G[s][b], then dW[a][b] = Σ_r G[r][a] t[r][b].
  const gt = (m) => [
    f('add', m[0], h(f('add', m[1], m[2]))),
    h(f('sub', m[1], m[2])),
    f('add', h(f('add', m[1], m[2])), m[3]),
  ];
  const lanesOut = (e, ab) =>
    [
      `(local.set $r ${e})`,
      ...range(4).map(
        (l) =>
          `(f32.store offset=${4 * ab} ${add(get('dst'), mul(get('ls'), i32(l)))} (f32x4.extract_lane ${l} (local.get $r)))`,
      ),
    ].join(' ');
  const body = [
    ...range(4).flatMap((r) =>
      gt(range(4).map((c) => `(v128.load ${add(get('src'), mul(get('xs'), i32(r * 4 + c)))})`)).map((e, b) =>
        set(`t${r * 3 + b}`, e),
      ),
    ),
    ...range(3).flatMap((b) =>
      gt(range(4).map((r) => get(`t${r * 3 + b}`))).map((e, a) => lanesOut(e, a * 3 + b)),
    ),
  ].join('\n        ');
  return `
(func $wgWeightOut (export "wgWeightOut") (param $m i32) (param $ci i32) (param $co i32) (param $out i32)
  (local $src i32) (local $dst i32) (local $xs i32) (local $ls i32) (local $i i32) (local $k i32) (local $r v128)
  ${range(12)
    .map((k) => `(local $t${k} v128)`)
    .join(' ')}
  ${set('xs', mul(mul(get('ci'), get('co')), i32(4)))}
  ${set('ls', mul(get('ci'), i32(36)))}
  ${set('src', get('m'))}
  (block $iend (loop $il (br_if $iend (i32.ge_s ${get('i')} ${get('ci')}))
    ${set('dst', add(get('out'), mul(get('i'), i32(36))))}
    ${repeat(
      'k',
      `(i32.shr_u ${get('co')} ${i32(2)})`,
      `${body}
        ${set('src', add(get('src'), i32(16)))}
        ${set('dst', add(get('dst'), mul(get('ls'), i32(4))))}`,
      'ol',
    )}
    ${set('i', add(get('i'), i32(1)))}
    (br $il)))
)`;
}

/**
 * A whole Winograd correlation on a slice of the tiles, for one kernel-thread task: the input
 * transform of the slice (its rows of the 16 blocks V), its rows of the 16 products M[ξ] = V[ξ]·U
 * (`$sgemm`, so the same bits as a product split by rows), then the output transform of those
 * rows. Its V and M rows stay in the thread's cache from one step to the next, and a convolution is
 * one job instead of three. The arguments are those of wgInput (x … tiles, for the slice), the
 * right-hand operands — U[ξ] at u + ξ·plane bytes, or at the flipped tile position when `flip`
 * (the input gradient's), with row and column strides urs, ucs in floats — the output channels,
 * the slice's first row of M and of Y, and the output rows and columns of wgOutput; then the
 * thread's GEMM scratch.
 */
function sliceConv() {
  // The flipped position of ξ = 4r + s: rows and columns 0 and 3 swapped (winograd.ts's `flipped`).
  const swap = (j) =>
    `(select (i32.sub ${i32(3)} ${j}) ${j} (i32.eqz (i32.and (i32.add ${j} ${i32(1)}) ${i32(2)})))`;
  const xi = get('xi');
  const flipped = add(mul(swap(`(i32.shr_u ${xi} ${i32(2)})`), i32(4)), swap(`(i32.and ${xi} ${i32(3)})`));
  return `
(func $wgConv (export "wgConv") (param $x i32) (param $n i32) (param $h i32) (param $w i32) (param $c i32)
  (param $pt i32) (param $pl i32) (param $th i32) (param $tw i32) (param $v i32) (param $tiles i32)
  (param $u i32) (param $plane i32) (param $urs i32) (param $ucs i32) (param $flip i32)
  (param $co i32) (param $mm i32) (param $y i32) (param $oh i32) (param $ow i32)
  (param $pa i32) (param $pb i32) (param $tmp i32)
  (local $xi i32) (local $rows i32)
  (call $wgInput ${['x', 'n', 'h', 'w', 'c', 'pt', 'pl', 'th', 'tw', 'v', 'tiles'].map(get).join(' ')})
  ${set('rows', mul(mul(get('n'), get('th')), get('tw')))}
  ${set('xi', i32(0))}
  (block $xiend (loop $xil
    (br_if $xiend (i32.ge_s ${xi} ${i32(16)}))
    (call $sgemm ${get('rows')} ${get('co')} ${get('c')}
      ${add(get('v'), mul(mul(xi, get('tiles')), mul(get('c'), i32(4))))} ${get('c')} ${i32(1)}
      ${add(get('u'), mul(`(select ${flipped} ${xi} ${get('flip')})`, get('plane')))} ${get('urs')} ${get('ucs')}
      ${add(get('mm'), mul(mul(xi, get('tiles')), mul(get('co'), i32(4))))} ${get('co')} ${i32(0)}
      ${get('pa')} ${get('pb')} ${get('tmp')})
    ${set('xi', add(xi, i32(1)))}
    (br $xil)))
  (call $wgOutput ${['mm', 'n', 'oh', 'ow', 'co', 'th', 'tw', 'y', 'tiles'].map(get).join(' ')}))`;
}

/** The Winograd part of the module (the same in both builds: adds and subtracts only, but for the products of wgConv). */
export function winogradText() {
  return `${inputTransform()}\n${outputTransform()}\n${gradOutTransform()}\n${weightOutTransform()}\n${sliceConv()}`;
}
