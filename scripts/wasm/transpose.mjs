/**
 * WebAssembly text of the Transpose kernel behind the WASM backend's Transpose
 * (runtime/probe/wasm/transposeKernel.ts), for elements of 4 bytes (float32, int32). The caller
 * reduces the permutation first (axes of size 1 dropped, input axes that stay neighbours merged),
 * so the output is rows of `len` elements whose input elements lie `inner` bytes apart, and the
 * rows run through up to OUTER outer axes (sizes d0 … innermost first, input strides s0 … in
 * bytes). A call writes the output rows r0 … r1 − 1 (the kernel threads take row ranges): it finds
 * the input position of row r0 by division, then walks the outer axes like an odometer. A row
 * whose elements are contiguous in the input is one memory.copy; other rows are gathered four
 * elements per step. A pure copy: the output holds the input's bits, whatever the split.
 */
import { add, get, i32, mul, range, repeat, set } from './wat.mjs';

/** Outer axes the kernel walks (the reduced rank is at most OUTER + 1). */
export const OUTER = 5;

const dims = range(OUTER).flatMap((k) => [`(param $d${k} i32)`, `(param $s${k} i32)`]);

/** The input offset of row r0: Σ ((r0 / (d0·…·d(k−1))) mod dk) · sk, the indices kept in $i0 …. */
const start = range(OUTER)
  .map(
    (k) => `${set(`i${k}`, `(i32.rem_u ${get('q')} ${get(`d${k}`)})`)}
    ${set('base', `(i32.add ${get('base')} (i32.mul ${get(`i${k}`)} ${get(`s${k}`)}))`)}
    ${set('q', `(i32.div_u ${get('q')} ${get(`d${k}`)})`)}`,
  )
  .join('\n    ');

/** The odometer's step to the next row: carry through the outer axes as far as needed. */
function advance(k) {
  if (k === OUTER) return '';
  return `${set(`i${k}`, `(i32.add ${get(`i${k}`)} ${i32(1)})`)}
      ${set('base', `(i32.add ${get('base')} ${get(`s${k}`)})`)}
      (if (i32.ge_u ${get(`i${k}`)} ${get(`d${k}`)}) (then
        ${set(`i${k}`, i32(0))}
        ${set('base', `(i32.sub ${get('base')} (i32.mul ${get(`s${k}`)} ${get(`d${k}`)}))`)}
        ${advance(k + 1)}))`;
}

/**
 * Four output rows at once, where neighbouring rows read neighbouring input elements (s0 = 4
 * bytes) and the rows gather (inner ≠ 4): each 16-byte load holds one column of the four rows, and
 * four of them are transposed in registers into four 16-byte row pieces. A large stride (a
 * [256, 8192] weight) then touches each input cache line once for four rows instead of four
 * times, and lines a power of two apart no longer evict each other between rows.
 */
const shuffle = (x, y, lanes) =>
  `(i8x16.shuffle ${lanes.flatMap((l) => [0, 1, 2, 3].map((b) => 4 * l + b)).join(' ')} ${x} ${y})`;

/** The address `j` strides (a local) past `ptr`, j = 0 … 3. */
const nth = (ptr, stride, j) =>
  [
    get(ptr),
    add(get(ptr), get(stride)),
    add(get(ptr), `(i32.shl ${get(stride)} ${i32(1)})`),
    add(get(ptr), mul(get(stride), i32(3))),
  ][j];

/** Steps `p` by `pBytes` and `o` by `oBytes` (WebAssembly text). */
const step = (pBytes, oBytes) => `${set('p', add(get('p'), pBytes))} ${set('o', add(get('o'), oBytes))}`;

const block4 = `
        ${set('o0', get('o'))}
        ${repeat(
          'k',
          get('quads'),
          `${['a', 'b', 'c', 'd'].map((r, j) => set(r, `(v128.load ${nth('p', 'inner', j)})`)).join(' ')}
          ${set('t0', shuffle(get('a'), get('b'), [0, 4, 1, 5]))}
          ${set('t1', shuffle(get('a'), get('b'), [2, 6, 3, 7]))}
          ${set('t2', shuffle(get('c'), get('d'), [0, 4, 1, 5]))}
          ${set('t3', shuffle(get('c'), get('d'), [2, 6, 3, 7]))}
          ${[
            shuffle(get('t0'), get('t2'), [0, 1, 4, 5]),
            shuffle(get('t0'), get('t2'), [2, 3, 6, 7]),
            shuffle(get('t1'), get('t3'), [0, 1, 4, 5]),
            shuffle(get('t1'), get('t3'), [2, 3, 6, 7]),
          ]
            .map((row, j) => `(v128.store ${nth('o', 'rowBytes', j)} ${row})`)
            .join(' ')}
          ${step(`(i32.shl ${get('inner')} ${i32(2)})`, i32(16))}`,
          'b4',
        )}
        ${repeat(
          'k',
          `(i32.and ${get('len')} ${i32(3)})`,
          `${set('v', `(v128.load ${get('p')})`)}
          ${[0, 1, 2, 3].map((j) => `(i32.store ${nth('o', 'rowBytes', j)} (i32x4.extract_lane ${j} ${get('v')}))`).join(' ')}
          ${step(get('inner'), i32(4))}`,
          'b1',
        )}
        ${set('o', add(get('o0'), `(i32.shl ${get('rowBytes')} ${i32(2)})`))}`;

/** One output row gathered from elements `inner` bytes apart, four per step. */
const gatherRow = `
        ${repeat(
          'k',
          get('quads'),
          `${[0, 1, 2, 3].map((j) => `(i32.store offset=${4 * j} ${get('o')} (i32.load ${nth('p', 'inner', j)}))`).join(' ')}
          ${step(`(i32.shl ${get('inner')} ${i32(2)})`, i32(16))}`,
          'quad',
        )}
        ${repeat('k', `(i32.and ${get('len')} ${i32(3)})`, `(i32.store ${get('o')} (i32.load ${get('p')})) ${step(get('inner'), i32(4))}`, 'one')}`;

const transpose = `
(func $transpose (export "transpose") (param $src i32) (param $dst i32) (param $r0 i32) (param $r1 i32)
  (param $len i32) (param $inner i32) ${dims.join(' ')}
  (local $q i32) (local $base i32) (local $p i32) (local $o i32) (local $k i32) (local $quads i32)
  (local $rowBytes i32) (local $o0 i32) (local $a v128) (local $b v128) (local $c v128) (local $d v128)
  (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128) (local $v v128)
  ${range(OUTER)
    .map((k) => `(local $i${k} i32)`)
    .join(' ')}
  ${set('q', get('r0'))}
  ${start}
  ${set('quads', `(i32.shr_u ${get('len')} ${i32(2)})`)}
  ${set('rowBytes', `(i32.shl ${get('len')} ${i32(2)})`)}
  ${set('o', add(get('dst'), mul(get('r0'), get('rowBytes'))))}
  (block $rows_end (loop $rows
    (br_if $rows_end (i32.ge_u ${get('r0')} ${get('r1')}))
    ${set('p', add(get('src'), get('base')))}
    (if (i32.and (i32.and (i32.ne ${get('inner')} ${i32(4)}) (i32.eq ${get('s0')} ${i32(4)}))
          (i32.and (i32.le_u (i32.add ${get('i0')} ${i32(4)}) ${get('d0')}) (i32.le_u (i32.add ${get('r0')} ${i32(4)}) ${get('r1')})))
      (then ${block4}
        ${set('i0', add(get('i0'), i32(3)))}
        ${set('base', add(get('base'), mul(get('s0'), i32(3))))}
        ${set('r0', add(get('r0'), i32(3)))})
    (else
    (if (i32.eq ${get('inner')} ${i32(4)})
      (then (memory.copy ${get('o')} ${get('p')} ${get('rowBytes')})
        ${set('o', add(get('o'), get('rowBytes')))})
      (else ${gatherRow}))))
    ${advance(0)}
    ${set('r0', add(get('r0'), i32(1)))}
    (br $rows))))`;

/** The transpose part of the module (the same in both builds). */
export function transposeText() {
  return transpose;
}
