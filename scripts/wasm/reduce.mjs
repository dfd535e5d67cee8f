/**
 * WebAssembly text of the column sums behind the WASM Sum kernel's fast case, the reduction of
 * leading axes ([N, H, W, C] over N, H, W → [C]: bias and BatchNorm gradients): a row-major
 * [rows × cols] block summed down its columns, without the transpose TF.js does first. Each chunk
 * of columns is held in f32x4 registers over blocks of ROWS rows, whose partial sums then add into
 * f64 scratch space; a single column (the whole tensor) is summed as one vector stream.
 */
import { get, i32, range, repeat, set } from './wat.mjs';
import { BLOCK, hsum64 } from './stats.mjs';

/** Rows summed in f32 lanes before the partial sums are added in f64. */
export const ROWS = 128;

/** Column chunk widths in vectors (4 floats each), widest first. */
const CHUNKS = [8, 4, 2, 1];

/** Sums `v` vectors of columns (4v floats) at p down `rows` rows of `stride` bytes into out (f32), via f64 at scr. */
function colChunk(v) {
  const locals = range(v).map((j) => `(local $c${j} v128)`);
  const step = [
    ...range(v).map((j) =>
      set(`c${j}`, `(f32x4.add ${get(`c${j}`)} (v128.load offset=${16 * j} ${get('p')}))`),
    ),
    set('p', `(i32.add ${get('p')} ${get('stride')})`),
  ].join(' ');
  const fold = range(v)
    .flatMap((j) => [
      `(v128.store offset=${32 * j} ${get('scr')} (f64x2.add (v128.load offset=${32 * j} ${get('scr')}) (f64x2.promote_low_f32x4 ${get(`c${j}`)})))`,
      `(v128.store offset=${32 * j + 16} ${get('scr')} (f64x2.add (v128.load offset=${32 * j + 16} ${get('scr')})
        (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 ${get(`c${j}`)} ${get(`c${j}`)}))))`,
    ])
    .join('\n    ');
  const write = range(v)
    .map(
      (j) =>
        `(v128.store offset=${16 * j} ${get('out')} (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
      (f32x4.demote_f64x2_zero (v128.load offset=${32 * j} ${get('scr')}))
      (f32x4.demote_f64x2_zero (v128.load offset=${32 * j + 16} ${get('scr')}))))`,
    )
    .join('\n  ');
  return `
(func $colChunk${v} (param $p i32) (param $rows i32) (param $stride i32) (param $out i32) (param $scr i32)
  (local $len i32) (local $k i32) ${locals.join(' ')}
  (memory.fill ${get('scr')} ${i32(0)} ${i32(32 * v)})
  (block $done (loop $blocks
    (br_if $done (i32.eqz ${get('rows')}))
    ${set('len', `(select ${i32(ROWS)} ${get('rows')} (i32.gt_u ${get('rows')} ${i32(ROWS)}))`)}
    ${set('rows', `(i32.sub ${get('rows')} ${get('len')})`)}
    ${range(v)
      .map((j) => set(`c${j}`, '(v128.const i32x4 0 0 0 0)'))
      .join(' ')}
    ${repeat('k', get('len'), step, 'rows')}
    ${fold}
    (br $blocks)))
  ${write})`;
}

/** One column at p down `rows` rows of `stride` bytes, into out (f32). */
const colOne = `
(func $colOne (param $p i32) (param $rows i32) (param $stride i32) (param $out i32)
  (local $len i32) (local $k i32) (local $c f32) (local $t f64)
  (block $done (loop $blocks
    (br_if $done (i32.eqz ${get('rows')}))
    ${set('len', `(select ${i32(ROWS)} ${get('rows')} (i32.gt_u ${get('rows')} ${i32(ROWS)}))`)}
    ${set('rows', `(i32.sub ${get('rows')} ${get('len')})`)}
    ${set('c', '(f32.const 0)')}
    ${repeat('k', get('len'), `${set('c', `(f32.add ${get('c')} (f32.load ${get('p')}))`)} ${set('p', `(i32.add ${get('p')} ${get('stride')})`)}`, 'rows')}
    ${set('t', `(f64.add ${get('t')} (f64.promote_f32 ${get('c')}))`)}
    (br $blocks)))
  (f32.store ${get('out')} (f32.demote_f64 ${get('t')})))`;

/** Σ of n contiguous floats at p, in f64 (f32 lanes per block of BLOCK floats). */
function sumAll() {
  const U = 4;
  const step = [
    ...range(U).map((u) =>
      set(`a${u}`, `(f32x4.add ${get(`a${u}`)} (v128.load offset=${16 * u} ${get('p')}))`),
    ),
    set('p', `(i32.add ${get('p')} ${i32(16 * U)})`),
  ].join(' ');
  return `
(func $sumAll (param $p i32) (param $n i32) (result f64)
  (local $len i32) (local $k i32) (local $t f64) ${range(U)
    .map((u) => `(local $a${u} v128)`)
    .join(' ')}
  (block $done (loop $blocks
    (br_if $done (i32.lt_u ${get('n')} ${i32(4 * U)}))
    ${set('len', `(i32.and ${get('n')} ${i32(-4 * U)})`)}
    (if (i32.gt_u ${get('len')} ${i32(BLOCK)}) (then ${set('len', i32(BLOCK))}))
    ${set('n', `(i32.sub ${get('n')} ${get('len')})`)}
    ${range(U)
      .map((u) => set(`a${u}`, '(v128.const i32x4 0 0 0 0)'))
      .join(' ')}
    ${repeat('k', `(i32.shr_u ${get('len')} ${i32(Math.log2(4 * U))})`, step, 'sum')}
    ${set('a0', `(f32x4.add (f32x4.add ${get('a0')} ${get('a1')}) (f32x4.add ${get('a2')} ${get('a3')}))`)}
    ${set('t', `(f64.add ${get('t')} ${hsum64(get('a0'))})`)}
    (br $blocks)))
  ${repeat('k', get('n'), `${set('t', `(f64.add ${get('t')} (f64.promote_f32 (f32.load ${get('p')})))`)} ${set('p', `(i32.add ${get('p')} ${i32(4)})`)}`, 'sumTail')}
  ${get('t')})`;
}

/**
 * colSum(p, rows, cols, out, scr): out[c] = Σ_r p[r·cols + c] for a row-major rows × cols float
 * block; scr is scratch space of 32·8 bytes. cols = 1 sums the whole block as one stream.
 */
const colSum = `
(func (export "colSum") (param $p i32) (param $rows i32) (param $cols i32) (param $out i32) (param $scr i32)
  (local $stride i32)
  (if (i32.eq ${get('cols')} ${i32(1)}) (then
    (f32.store ${get('out')} (f32.demote_f64 (call $sumAll ${get('p')} ${get('rows')})))
    (return)))
  ${set('stride', `(i32.shl ${get('cols')} ${i32(2)})`)}
  ${CHUNKS.map(
    (v) => `(block $done${v} (loop $chunks${v}
    (br_if $done${v} (i32.lt_u ${get('cols')} ${i32(4 * v)}))
    (call $colChunk${v} ${get('p')} ${get('rows')} ${get('stride')} ${get('out')} ${get('scr')})
    ${set('p', `(i32.add ${get('p')} ${i32(16 * v)})`)}
    ${set('out', `(i32.add ${get('out')} ${i32(16 * v)})`)}
    ${set('cols', `(i32.sub ${get('cols')} ${i32(4 * v)})`)}
    (br $chunks${v})))`,
  ).join('\n  ')}
  (block $done (loop $ones
    (br_if $done (i32.eqz ${get('cols')}))
    (call $colOne ${get('p')} ${get('rows')} ${get('stride')} ${get('out')})
    ${set('p', `(i32.add ${get('p')} ${i32(4)})`)}
    ${set('out', `(i32.add ${get('out')} ${i32(4)})`)}
    ${set('cols', `(i32.sub ${get('cols')} ${i32(1)})`)}
    (br $ones))))`;

/** The reduction part of the module (the same in both builds). */
export function reduceText() {
  return `${CHUNKS.map(colChunk).join('\n')}\n${colOne}\n${sumAll()}\n${colSum}`;
}
