/**
 * WebAssembly text of the Winograd F(2×2, 3×3) and F(4×4, 3×3) transforms for NHWC tensors, four
 * channels per v128 (the channel count must be a multiple of 4):
 *
 * - `wgInput`: every 4×4 input tile (stride 2, zero outside the image) to V = Bᵀ d B, stored as
 *   16 blocks [tiles][C] so that each of the 16 positions is a row-major matrix for the GEMM;
 * - `wgOutput`: the 16 GEMM results back to 2×2 output tiles, Y = Aᵀ m A;
 * - `wgInput4`, `wgOutput4`: the same for 6×6 input tiles at stride 4, 36 blocks, 4×4 outputs.
 *
 * With the weight transform U = G g Gᵀ (done in TypeScript), a 3×3 stride-1 convolution becomes
 * 16 matrix products of a quarter of the output's pixels each (2.25× fewer multiplies than
 * im2col), or 36 of a sixteenth (4×).
 *
 * The last parameter, `bs`, is the blocks' stride in floats (kernelTasks.ts's
 * winogradBlockFloats: at least tiles·C, not a multiple of 4 KB). A kernel thread may transform a
 * slice of the tiles: the pointers then point at the slice's first tile and image row, and n, th
 * and the pads describe the slice.
 */
import { add, get, i32, mul, range, repeat, set, sub } from './wat.mjs';

const f = (op, a, b) => `(f32x4.${op} ${a} ${b})`;

/** Bᵀ·(d0, d1, d2, d3) along one axis. */
const bt = (d) => [f('sub', d[0], d[2]), f('add', d[1], d[2]), f('sub', d[2], d[1]), f('sub', d[1], d[3])];

/** k·e in f32 lanes. */
const times = (k, e) => f('mul', `(v128.const f32x4 ${k} ${k} ${k} ${k})`, e);

/**
 * Bᵀ·(d0 … d5) along one axis for F(4×4, 3×3) (Lavin & Gray's points 0, ±1, ±2, ∞):
 * rows 4d0 − 5d2 + d4, (d4 − 4d2) ± (d3 − 4d1), (d4 − d2) ± 2(d3 − d1), 4d1 − 5d3 + d5.
 */
const bt6 = (d) => {
  const t0 = f('sub', d[4], times(4, d[2]));
  const t1 = f('sub', d[3], times(4, d[1]));
  const t2 = f('sub', d[4], d[2]);
  const t3 = times(2, f('sub', d[3], d[1]));
  return [
    f('add', f('sub', times(4, d[0]), times(5, d[2])), d[4]),
    f('add', t0, t1),
    f('sub', t0, t1),
    f('add', t2, t3),
    f('sub', t2, t3),
    f('add', f('sub', times(4, d[1]), times(5, d[3])), d[5]),
  ];
};

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

function inputTransform({ size, out, bt, suffix }) {
  const locals = [
    ...range(size * size).map((k) => `(local $u${k} v128)`),
    ...range(size).map((i) => `(local $l${i} v128)`),
    ...range(size).map((i) => `(local $row${i} i32) (local $vy${i} i32)`),
    ...range(size).map((j) => `(local $vx${j} i32)`),
  ].join(' ');
  // Address of input (tile row i, column j, channel block at byte offset $cb), clamped to $x when
  // outside the image so that the load stays in bounds; the value is then replaced by zero.
  const inside = (i, j) => `(i32.and ${get(`vy${i}`)} ${get(`vx${j}`)})`;
  const addr = (i, j) =>
    `(select ${add(add(get(`row${i}`), i32(0)), add(mul(get('cs'), i32(j)), get('cb')))} ${get('x')} ${inside(i, j)})`;
  const load = (i, j) => `(select (v128.load ${addr(i, j)}) (v128.const i32x4 0 0 0 0) ${inside(i, j)})`;
  const colPass = range(size)
    .map((j) => {
      const ls = range(size).map((i) => set(`l${i}`, load(i, j)));
      const us = bt(range(size).map((i) => get(`l${i}`))).map((e, i) => set(`u${i * size + j}`, e));
      return [...ls, ...us].join(' ');
    })
    .join('\n        ');
  // out + ((ξ·T + t)·C)·4 + cb: ξ advances by T·C·4 bytes ($xs).
  const rowPass = range(size)
    .map((i) =>
      bt(range(size).map((j) => get(`u${i * size + j}`)))
        .map((e, j) => `(v128.store ${add(get('o'), mul(get('xs'), i32(i * size + j)))} ${e})`)
        .join(' '),
    )
    .join('\n        ');
  return `
(func $wgInput${suffix} (export "wgInput${suffix}") (param $x i32) (param $n i32) (param $h i32) (param $w i32) (param $c i32)
  (param $pt i32) (param $pl i32) (param $th i32) (param $tw i32) (param $out i32) (param $bs i32)
  (local $b i32) (local $ty i32) (local $tx i32) (local $t i32) (local $y0 i32) (local $x0 i32)
  (local $cs i32) (local $cb i32) (local $o i32) (local $xs i32) (local $k i32)
  ${locals}
  ${set('cs', mul(get('c'), i32(4)))}
  ${set('xs', mul(get('bs'), i32(4)))}
  ${tileLoops({
    y0: sub(mul(get('ty'), i32(out)), get('pt')),
    perRow: range(size)
      .map(
        (i) =>
          `${set(`vy${i}`, `(i32.lt_u ${add(get('y0'), i32(i))} ${get('h')})`)} ${set(`row${i}`, add(get('x'), mul(mul(add(mul(get('b'), get('h')), add(get('y0'), i32(i))), get('w')), get('cs'))))}`,
      )
      .join(' '),
    x0: sub(mul(get('tx'), i32(out)), get('pl')),
    perTile: `${range(size)
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

/**
 * Aᵀ·(m0 … m5) along one axis for F(4×4, 3×3): with a = m1 + m2, b = m1 − m2, c = m3 + m4,
 * d = m3 − m4, the outputs m0 + a + c, b + 2d, a + 4c, b + 8d + m5.
 */
const at6 = (m) => {
  const a = f('add', m[1], m[2]);
  const b = f('sub', m[1], m[2]);
  const c = f('add', m[3], m[4]);
  const d = f('sub', m[3], m[4]);
  return [
    f('add', f('add', m[0], a), c),
    f('add', b, times(2, d)),
    f('add', a, times(4, c)),
    f('add', f('add', b, times(8, d)), m[5]),
  ];
};

/** The two tilings: F(2×2, 3×3) (4×4 input tiles at stride 2, 16 products) and F(4×4, 3×3) (6×6 at stride 4, 36). */
const F2 = { size: 4, out: 2, bt, at, suffix: '' };
const F4 = { size: 6, out: 4, bt: bt6, at: at6, suffix: '4' };

function outputTransform({ size, out, at, suffix }) {
  const locals = [
    ...range(out * size).map((k) => `(local $s${k} v128)`),
    ...range(size).map((i) => `(local $l${i} v128)`),
  ].join(' ');
  // s(r, j) = Aᵀ along ξ rows, for output row r and column j of the size × size tile.
  const colPass = range(size)
    .map((j) => {
      const ls = range(size).map((i) =>
        set(`l${i}`, `(v128.load ${add(get('m'), mul(get('xs'), i32(i * size + j)))})`),
      );
      const ss = at(range(size).map((i) => get(`l${i}`))).map((e, r) => set(`s${r * size + j}`, e));
      return [...ls, ...ss].join(' ');
    })
    .join('\n        ');
  const store = (r, q) => {
    const value = at(range(size).map((j) => get(`s${r * size + j}`)))[q];
    const cond = `(i32.and (i32.lt_s ${add(get('y0'), i32(r))} ${get('oh')}) (i32.lt_s ${add(get('x0'), i32(q))} ${get('ow')}))`;
    const where = add(get('yb'), add(mul(get('rs'), i32(r)), add(mul(get('cs'), i32(q)), get('cb'))));
    return `(if ${cond} (then (v128.store ${where} ${value})))`;
  };
  return `
(func $wgOutput${suffix} (export "wgOutput${suffix}") (param $mm i32) (param $n i32) (param $oh i32) (param $ow i32) (param $c i32)
  (param $th i32) (param $tw i32) (param $y i32) (param $bs i32)
  (local $b i32) (local $ty i32) (local $tx i32) (local $t i32) (local $y0 i32) (local $x0 i32)
  (local $cs i32) (local $rs i32) (local $cb i32) (local $m i32) (local $xs i32) (local $k i32) (local $yb i32)
  ${locals}
  ${set('cs', mul(get('c'), i32(4)))}
  ${set('rs', mul(get('ow'), get('cs')))}
  ${set('xs', mul(get('bs'), i32(4)))}
  ${tileLoops({
    y0: mul(get('ty'), i32(out)),
    x0: mul(get('tx'), i32(out)),
    perTile: `${set('yb', outTile(get('y')))}
        ${set('m', add(get('mm'), mul(get('t'), get('cs'))))}
        ${set('cb', i32(0))}`,
    body: `${colPass}
        ${range(out)
          .flatMap((r) => range(out).map((q) => store(r, q)))
          .join(' ')}`,
    ptr: 'm',
  })})`;
}

/** A·(e0, e1) along one axis: the 2 values of an output-gradient tile spread to 4. */
const a2 = (e) => [e[0], f('add', e[0], e[1]), f('sub', e[0], e[1]), `(f32x4.neg ${e[1]})`];

/**
 * A·(e0 … e3) along one axis for F(4×4, 3×3) (A the transpose of at6's Aᵀ): e0, (e0 + e2) ±
 * (e1 + e3), (e0 + 4e2) ± (2e1 + 8e3), e3.
 */
const a6 = (e) => {
  const s02 = f('add', e[0], e[2]);
  const s13 = f('add', e[1], e[3]);
  const t02 = f('add', e[0], times(4, e[2]));
  const t13 = f('add', times(2, e[1]), times(8, e[3]));
  return [e[0], f('add', s02, s13), f('sub', s02, s13), f('add', t02, t13), f('sub', t02, t13), e[3]];
};

/**
 * `wgGradOut`: every 2×2 tile of the output gradient (zero past the output) to D = A dy Aᵀ, stored
 * as [16][tiles][C] like V. Then the weight gradient is Gᵀ (Σ over tiles of V ⊙ D) G, the sum over
 * tiles being 16 matrix products Vᵀ[ξ]·D[ξ].
 */
function gradOutTransform({ size, out, suffix }) {
  const a = size === 4 ? a2 : a6;
  const inside = (r, q) =>
    `(i32.and (i32.lt_s ${add(get('y0'), i32(r))} ${get('oh')}) (i32.lt_s ${add(get('x0'), i32(q))} ${get('ow')}))`;
  const addr = (r, q) =>
    `(select ${add(get('yb'), add(mul(get('rs'), i32(r)), add(mul(get('cs'), i32(q)), get('cb'))))} ${get('y')} ${inside(r, q)})`;
  const load = (r, q) => `(select (v128.load ${addr(r, q)}) (v128.const i32x4 0 0 0 0) ${inside(r, q)})`;
  const body = [
    ...range(out).flatMap((r) => range(out).map((q) => set(`e${r * out + q}`, load(r, q)))),
    // along y for each of the out columns, then along x for each of the size rows
    ...range(out).flatMap((q) =>
      a(range(out).map((r) => get(`e${r * out + q}`))).map((e, i) => set(`u${i * out + q}`, e)),
    ),
    ...range(size).flatMap((i) =>
      a(range(out).map((q) => get(`u${i * out + q}`))).map(
        (e, j) => `(v128.store ${add(get('o'), mul(get('xs'), i32(i * size + j)))} ${e})`,
      ),
    ),
  ].join('\n        ');
  return `
(func $wgGradOut${suffix} (export "wgGradOut${suffix}") (param $y i32) (param $n i32) (param $oh i32) (param $ow i32) (param $c i32)
  (param $th i32) (param $tw i32) (param $out i32) (param $bs i32)
  (local $b i32) (local $ty i32) (local $tx i32) (local $t i32) (local $y0 i32) (local $x0 i32)
  (local $cs i32) (local $rs i32) (local $cb i32) (local $o i32) (local $xs i32) (local $k i32) (local $yb i32)
  ${range(out * out)
    .map((k) => `(local $e${k} v128)`)
    .join(' ')} ${range(size * out)
    .map((k) => `(local $u${k} v128)`)
    .join(' ')}
  ${set('cs', mul(get('c'), i32(4)))}
  ${set('rs', mul(get('ow'), get('cs')))}
  ${set('xs', mul(get('bs'), i32(4)))}
  ${tileLoops({
    y0: mul(get('ty'), i32(out)),
    x0: mul(get('tx'), i32(out)),
    perTile: `${set('yb', outTile(get('y')))}
        ${set('o', add(get('out'), mul(get('t'), get('cs'))))}
        ${set('cb', i32(0))}`,
    body,
    ptr: 'o',
  })})`;
}

/** Gᵀ·(m0, m1, m2, m3) along one axis for F(2×2, 3×3): m0 + (m1 + m2)/2, (m1 − m2)/2, (m1 + m2)/2 + m3. */
const gt4 = (m) => {
  const h = (e) => times(0.5, e);
  return [
    f('add', m[0], h(f('add', m[1], m[2]))),
    h(f('sub', m[1], m[2])),
    f('add', h(f('add', m[1], m[2])), m[3]),
  ];
};

/**
 * Gᵀ·(m0 … m5) along one axis for F(4×4, 3×3) (G as winograd.ts's G4): with p = m1 + m2,
 * q = m1 − m2, P = m3 + m4, Q = m3 − m4, the taps m0/4 − p/6 + P/24, Q/12 − q/6, (P − p)/6 + m5.
 */
const gt6 = (m) => {
  const k = (v) => Math.fround(v);
  const p = f('add', m[1], m[2]);
  const q = f('sub', m[1], m[2]);
  const P = f('add', m[3], m[4]);
  const Q = f('sub', m[3], m[4]);
  return [
    f('add', f('sub', times(k(1 / 4), m[0]), times(k(1 / 6), p)), times(k(1 / 24), P)),
    f('sub', times(k(1 / 12), Q), times(k(1 / 6), q)),
    f('add', times(k(1 / 6), f('sub', P, p)), m[5]),
  ];
};

/**
 * `wgWeightOut`: the weight gradient from the 16 tile sums M [16][ci][co]: dW = Gᵀ M G per
 * (ci, co), written straight into the ONNX layout [co][ci][3][3] (four output channels at a
 * time, one lane each). `wgWeightOut4`: the same from F(4×4, 3×3)'s 36 tile sums.
 */
function weightOutTransform({ size, suffix }) {
  const gt = size === 4 ? gt4 : gt6;
  const lanesOut = (e, ab) =>
    [
      `(local.set $r ${e})`,
      ...range(4).map(
        (l) =>
          `(f32.store offset=${4 * ab} ${add(get('dst'), mul(get('ls'), i32(l)))} (f32x4.extract_lane ${l} (local.get $r)))`,
      ),
    ].join(' ');
  const body = [
    ...range(size).flatMap((r) =>
      gt(range(size).map((c) => `(v128.load ${add(get('src'), mul(get('xs'), i32(r * size + c)))})`)).map(
        (e, b) => set(`t${r * 3 + b}`, e),
      ),
    ),
    ...range(3).flatMap((b) =>
      gt(range(size).map((r) => get(`t${r * 3 + b}`))).map((e, a) => lanesOut(e, a * 3 + b)),
    ),
  ].join('\n        ');
  return `
(func $wgWeightOut${suffix} (export "wgWeightOut${suffix}") (param $m i32) (param $ci i32) (param $co i32) (param $out i32)
  (local $src i32) (local $dst i32) (local $xs i32) (local $ls i32) (local $i i32) (local $k i32) (local $r v128)
  ${range(size * 3)
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
 * one job instead of three. The arguments are those of wgInput (x … vs, for the slice), the
 * right-hand operands — U[ξ] at u + ξ·plane bytes, or at the flipped tile position when `flip`
 * (the input gradient's, F(2×2, 3×3) only), with row and column strides urs, ucs in floats — the
 * output channels, the slice's first row of M, M's block stride in floats, the slice's first
 * pixel of Y, and the output rows and columns of wgOutput; then the thread's GEMM scratch.
 */
function sliceConv({ size, suffix }) {
  // The flipped position of ξ = 4r + s: rows and columns 0 and 3 swapped (winograd.ts's `flipped`).
  // F(4×4, 3×3) has no such permutation: its input gradient takes its own operands, flip 0.
  const swap = (j) =>
    `(select (i32.sub ${i32(3)} ${j}) ${j} (i32.eqz (i32.and (i32.add ${j} ${i32(1)}) ${i32(2)})))`;
  const xi = get('xi');
  const flipped = add(mul(swap(`(i32.shr_u ${xi} ${i32(2)})`), i32(4)), swap(`(i32.and ${xi} ${i32(3)})`));
  const position = size === 4 ? `(select ${flipped} ${xi} ${get('flip')})` : xi;
  return `
(func $wgConv${suffix} (export "wgConv${suffix}") (param $x i32) (param $n i32) (param $h i32) (param $w i32) (param $c i32)
  (param $pt i32) (param $pl i32) (param $th i32) (param $tw i32) (param $v i32) (param $vs i32)
  (param $u i32) (param $plane i32) (param $urs i32) (param $ucs i32) (param $flip i32)
  (param $co i32) (param $mm i32) (param $ms i32) (param $y i32) (param $oh i32) (param $ow i32)
  (param $pa i32) (param $pb i32) (param $tmp i32)
  (local $xi i32) (local $rows i32)
  (call $wgInput${suffix} ${['x', 'n', 'h', 'w', 'c', 'pt', 'pl', 'th', 'tw', 'v', 'vs'].map(get).join(' ')})
  ${set('rows', mul(mul(get('n'), get('th')), get('tw')))}
  ${set('xi', i32(0))}
  (block $xiend (loop $xil
    (br_if $xiend (i32.ge_s ${xi} ${i32(size * size)}))
    (call $sgemm ${get('rows')} ${get('co')} ${get('c')}
      ${add(get('v'), mul(mul(xi, get('vs')), i32(4)))} ${get('c')} ${i32(1)}
      ${add(get('u'), mul(position, get('plane')))} ${get('urs')} ${get('ucs')}
      ${add(get('mm'), mul(mul(xi, get('ms')), i32(4)))} ${get('co')} ${i32(0)}
      ${get('pa')} ${get('pb')} ${get('tmp')})
    ${set('xi', add(xi, i32(1)))}
    (br $xil)))
  (call $wgOutput${suffix} ${['mm', 'n', 'oh', 'ow', 'co', 'th', 'tw', 'y', 'ms'].map(get).join(' ')}))`;
}

/** The Winograd part of the module (the same in both builds: adds and subtracts only, but for the products of wgConv). */
export function winogradText() {
  return [F2, F4]
    .flatMap((v) => [
      inputTransform(v),
      outputTransform(v),
      sliceConv(v),
      gradOutTransform(v),
      weightOutTransform(v),
    ])
    .join('\n');
}
