/**
 * WebAssembly text of the probe's statistics kernels: one streaming pass over a float32 tensor for
 * what the probe records of it (Σx², Σ|x|, max |x|, exact zeros, NaN/Inf count), and Σs², Σ(t−s)²
 * of a skip split, over float32's whole range.
 *
 * Each block of BLOCK floats is summed in f32 lanes (fast, and exact enough for a probe), and its
 * partial sums are added into f64. Squares of float32 values leave float32's range beyond ~1.8e19
 * and below ~1e-19, so a block whose f32 sum of squares overflowed (or holds NaN), or underflowed
 * below UNDERFLOW without every value being zero, is summed again in f64 lanes, where every float32
 * square is exact in range. Ordinary gradients never take that path; the exact sums of extreme
 * ones cost one more read of a block that is still in cache. Results go to `out` as f64.
 *
 * A tensor is read in chunks of a fixed size (runtime/probe/wasm/kernelTasks.ts, a multiple of
 * BLOCK), each chunk's results in its own slot, which the caller adds in chunk order: the kernel
 * threads share the chunks, and the sums are the same bits on any number of threads.
 */
import { get, i32, range, repeat, set } from './wat.mjs';

/** Floats per block summed in f32 lanes before the partial sums are added in f64. */
export const BLOCK = 512;

/**
 * A block's f32 sum of squares at or above this has lost at most BLOCK · 2^-149 (the squares that
 * underflowed), under 2^-40 of it; below it (and not all zeros) the block is summed in f64.
 */
const UNDERFLOW = '0x1p-100';

/** Sum of the four f32 lanes of v128 `v`, in f64. */
export const hsum64 = (v) => {
  const lane = (k) => `(f64.promote_f32 (f32x4.extract_lane ${k} ${v}))`;
  return `(f64.add (f64.add ${lane(0)} ${lane(1)}) (f64.add ${lane(2)} ${lane(3)}))`;
};

/** Sum of the two f64 lanes of v128 `v`. */
const hsum2 = (v) => `(f64.add (f64x2.extract_lane 0 ${v}) (f64x2.extract_lane 1 ${v}))`;

/** Sum of the four i32 lanes of v128 `v`. */
const isum = (v) =>
  `(i32.add (i32.add (i32x4.extract_lane 0 ${v}) (i32x4.extract_lane 1 ${v})) (i32.add (i32x4.extract_lane 2 ${v}) (i32x4.extract_lane 3 ${v})))`;

/** The low and high halves of f32x4 `v` as f64x2. */
const lo64 = (v) => `(f64x2.promote_low_f32x4 ${v})`;
const hi64 = (v) =>
  `(f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 ${v} ${v}))`;

/** a·b + c in f32 lanes: fused where the build has relaxed SIMD. */
export const madd = (fma, a, b, c) =>
  fma ? `(f32x4.relaxed_madd ${a} ${b} ${c})` : `(f32x4.add (f32x4.mul ${a} ${b}) ${c})`;

/** Lane-wise sum of locals pre0 … pre(U−1) with `op`. */
const fold = (op, pre, U) =>
  range(U)
    .slice(1)
    .reduce((acc, u) => `(${op} ${acc} ${get(`${pre}${u}`)})`, get(`${pre}0`));

const zero = (pres, U) =>
  pres.flatMap((pre) => range(U).map((u) => set(`${pre}${u}`, '(v128.const i32x4 0 0 0 0)'))).join(' ');

const v128Locals = (pres, U) => pres.flatMap((p) => range(U).map((u) => `(local $${p}${u} v128)`)).join(' ');

const INF4 = '(v128.const f32x4 inf inf inf inf)';

/**
 * gradStats(p, n, out): out[0..4] (f64) = Σx², Σ|x|, max |x|, count(x = 0), count(x is NaN or ±Inf)
 * over n floats at p. NaN anywhere makes Σx², Σ|x| and max |x| NaN (max lanes use pmax, so NaN is
 * put back from Σ|x|, which is NaN exactly when some x is: |x| ≥ 0 adds no NaN of its own); ±Inf
 * gives Inf.
 */
function gradStats(fma) {
  const U = 2; // vectors per step, one accumulator set each
  const body = [
    ...range(U).map((u) => set(`v${u}`, `(v128.load offset=${16 * u} ${get('p')})`)),
    ...range(U).map((u) => set(`s${u}`, madd(fma, get(`v${u}`), get(`v${u}`), get(`s${u}`)))),
    ...range(U).map((u) => set(`v${u}`, `(f32x4.abs ${get(`v${u}`)})`)),
    ...range(U).map((u) => set(`a${u}`, `(f32x4.add ${get(`a${u}`)} ${get(`v${u}`)})`)),
    ...range(U).map((u) => set(`m${u}`, `(f32x4.pmax ${get(`m${u}`)} ${get(`v${u}`)})`)),
    ...range(U).map((u) =>
      set(`z${u}`, `(i32x4.sub ${get(`z${u}`)} (f32x4.eq ${get(`v${u}`)} (v128.const i32x4 0 0 0 0)))`),
    ),
    set('p', `(i32.add ${get('p')} ${i32(16 * U)})`),
  ].join('\n      ');
  // The block again from q in f64 lanes: squares and magnitudes, and its NaN/Inf count.
  const exact = [
    set('t', `(f32x4.abs (v128.load ${get('q')}))`),
    set('c', `(i32x4.sub ${get('c')} (v128.not (f32x4.lt ${get('t')} ${INF4})))`),
    set('lo', lo64(get('t'))),
    set('hi', hi64(get('t'))),
    set('q0', `(f64x2.add ${get('q0')} (f64x2.mul ${get('lo')} ${get('lo')}))`),
    set('q1', `(f64x2.add ${get('q1')} (f64x2.mul ${get('hi')} ${get('hi')}))`),
    set('b0', `(f64x2.add ${get('b0')} ${get('lo')})`),
    set('b1', `(f64x2.add ${get('b1')} ${get('hi')})`),
    set('q', `(i32.add ${get('q')} ${i32(16)})`),
  ].join('\n        ');
  const lanesMax = `(f32.max (f32.max (f32x4.extract_lane 0 ${get('t')}) (f32x4.extract_lane 1 ${get('t')}))
      (f32.max (f32x4.extract_lane 2 ${get('t')}) (f32x4.extract_lane 3 ${get('t')})))`;
  return `
(func $gradStats (export "gradStats") (param $p i32) (param $n i32) (param $out i32)
  (local $len i32) (local $k i32) (local $q i32) (local $x f32) (local $d f64) (local $mx f32)
  (local $bs f64) (local $ba f64) (local $sq f64) (local $ab f64) (local $zc i32) (local $nf i32)
  (local $t v128) (local $c v128) (local $lo v128) (local $hi v128)
  (local $q0 v128) (local $q1 v128) (local $b0 v128) (local $b1 v128)
  ${v128Locals(['v', 's', 'a', 'm', 'z'], U)}
  (block $done (loop $blocks
    (br_if $done (i32.lt_u ${get('n')} ${i32(4 * U)}))
    ${set('len', `(i32.and ${get('n')} ${i32(-4 * U)})`)}
    (if (i32.gt_u ${get('len')} ${i32(BLOCK)}) (then ${set('len', i32(BLOCK))}))
    ${set('n', `(i32.sub ${get('n')} ${get('len')})`)}
    ${set('q', get('p'))}
    ${zero(['s', 'a', 'z'], U)}
    ${repeat('k', `(i32.shr_u ${get('len')} ${i32(Math.log2(4 * U))})`, body, 'stats')}
    ${set('t', fold('i32x4.add', 'z', U))}
    ${set('zc', `(i32.add ${get('zc')} ${isum(get('t'))})`)}
    ${set('t', fold('f32x4.add', 's', U))}
    ${set('bs', hsum64(get('t')))}
    ${set('t', fold('f32x4.add', 'a', U))}
    ${set('ba', hsum64(get('t')))}
    (if (i32.and (f64.lt ${get('bs')} (f64.const inf))
          (i32.or (f64.ge ${get('bs')} (f64.const ${UNDERFLOW})) (f64.eq ${get('ba')} (f64.const 0))))
      (then
        ${set('sq', `(f64.add ${get('sq')} ${get('bs')})`)}
        ${set('ab', `(f64.add ${get('ab')} ${get('ba')})`)})
      (else
        ${zero(['q', 'b'], 2)} ${set('c', '(v128.const i32x4 0 0 0 0)')}
        ${repeat('k', `(i32.shr_u ${get('len')} ${i32(2)})`, exact, 'exact')}
        ${set('t', `(f64x2.add ${get('q0')} ${get('q1')})`)}
        ${set('sq', `(f64.add ${get('sq')} ${hsum2(get('t'))})`)}
        ${set('t', `(f64x2.add ${get('b0')} ${get('b1')})`)}
        ${set('ab', `(f64.add ${get('ab')} ${hsum2(get('t'))})`)}
        ${set('nf', `(i32.add ${get('nf')} ${isum(get('c'))})`)}))
    (br $blocks)))
  ${set('t', fold('f32x4.pmax', 'm', U))}
  ${set('mx', lanesMax)}
  ${repeat(
    'k',
    get('n'),
    `${set('x', `(f32.abs (f32.load ${get('p')}))`)}
    ${set('d', `(f64.promote_f32 ${get('x')})`)}
    ${set('sq', `(f64.add ${get('sq')} (f64.mul ${get('d')} ${get('d')}))`)}
    ${set('ab', `(f64.add ${get('ab')} ${get('d')})`)}
    ${set('mx', `(f32.max ${get('mx')} ${get('x')})`)}
    ${set('zc', `(i32.add ${get('zc')} (f32.eq ${get('x')} (f32.const 0)))`)}
    ${set('nf', `(i32.add ${get('nf')} (i32.eqz (f32.lt ${get('x')} (f32.const inf))))`)}
    ${set('p', `(i32.add ${get('p')} ${i32(4)})`)}`,
    'statsTail',
  )}
  (f64.store offset=0 ${get('out')} ${get('sq')})
  (f64.store offset=8 ${get('out')} ${get('ab')})
  (f64.store offset=16 ${get('out')} (select (f64.const nan) (f64.promote_f32 ${get('mx')}) (f64.ne ${get('ab')} ${get('ab')})))
  (f64.store offset=24 ${get('out')} (f64.convert_i32_u ${get('zc')}))
  (f64.store offset=32 ${get('out')} (f64.convert_i32_u ${get('nf')})))`;
}

/**
 * diffSq(pt, ps, n, out): out[0..1] (f64) = Σ s², Σ (t − s)² over n floats at ps and pt. Lanes also
 * OR the bits of s and of t − s, so that a sum that underflowed can be told from a sum of zeros.
 */
function diffSq(fma) {
  const U = 2;
  const body = [
    ...range(U).map((u) => set(`s${u}`, `(v128.load offset=${16 * u} ${get('ps')})`)),
    ...range(U).map((u) =>
      set(`d${u}`, `(f32x4.sub (v128.load offset=${16 * u} ${get('pt')}) ${get(`s${u}`)})`),
    ),
    ...range(U).map((u) => set(`ss${u}`, madd(fma, get(`s${u}`), get(`s${u}`), get(`ss${u}`)))),
    ...range(U).map((u) => set(`dd${u}`, madd(fma, get(`d${u}`), get(`d${u}`), get(`dd${u}`)))),
    ...range(U).map((u) => set(`os${u}`, `(v128.or ${get(`os${u}`)} ${get(`s${u}`)})`)),
    ...range(U).map((u) => set(`od${u}`, `(v128.or ${get(`od${u}`)} ${get(`d${u}`)})`)),
    set('ps', `(i32.add ${get('ps')} ${i32(16 * U)})`),
    set('pt', `(i32.add ${get('pt')} ${i32(16 * U)})`),
  ].join('\n      ');
  // The block again from qs, qt in f64 lanes (t − s exact up to f64 rounding, never overflowing).
  const half = (h, f) => [
    set('x', f(get('s0'))),
    set('y', `(f64x2.sub ${f(get('d0'))} ${get('x')})`),
    set(`e${h}`, `(f64x2.add ${get(`e${h}`)} (f64x2.mul ${get('x')} ${get('x')}))`),
    set(`f${h}`, `(f64x2.add ${get(`f${h}`)} (f64x2.mul ${get('y')} ${get('y')}))`),
  ];
  const exact = [
    set('s0', `(v128.load ${get('qs')})`),
    set('d0', `(v128.load ${get('qt')})`),
    ...half(0, lo64),
    ...half(1, hi64),
    set('qs', `(i32.add ${get('qs')} ${i32(16)})`),
    set('qt', `(i32.add ${get('qt')} ${i32(16)})`),
  ].join('\n        ');
  const allZero = (v) =>
    `(i32.eqz (v128.any_true (v128.and ${v} (v128.const i32x4 0x7fffffff 0x7fffffff 0x7fffffff 0x7fffffff))))`;
  return `
(func $diffSq (export "diffSq") (param $pt i32) (param $ps i32) (param $n i32) (param $out i32)
  (local $len i32) (local $k i32) (local $qs i32) (local $qt i32) (local $a f64) (local $b f64)
  (local $sk f64) (local $br f64) (local $bs f64) (local $bb f64)
  (local $x v128) (local $y v128) (local $e0 v128) (local $e1 v128) (local $f0 v128) (local $f1 v128)
  ${v128Locals(['s', 'd', 'ss', 'dd', 'os', 'od'], U)}
  (block $done (loop $blocks
    (br_if $done (i32.lt_u ${get('n')} ${i32(4 * U)}))
    ${set('len', `(i32.and ${get('n')} ${i32(-4 * U)})`)}
    (if (i32.gt_u ${get('len')} ${i32(BLOCK)}) (then ${set('len', i32(BLOCK))}))
    ${set('n', `(i32.sub ${get('n')} ${get('len')})`)}
    ${set('qs', get('ps'))} ${set('qt', get('pt'))}
    ${zero(['ss', 'dd', 'os', 'od'], U)}
    ${repeat('k', `(i32.shr_u ${get('len')} ${i32(Math.log2(4 * U))})`, body, 'diff')}
    ${set('s0', fold('f32x4.add', 'ss', U))}
    ${set('bs', hsum64(get('s0')))}
    ${set('s0', fold('f32x4.add', 'dd', U))}
    ${set('bb', hsum64(get('s0')))}
    (if (i32.and
          (i32.and (f64.lt ${get('bs')} (f64.const inf)) (f64.lt ${get('bb')} (f64.const inf)))
          (i32.and
            (i32.or (f64.ge ${get('bs')} (f64.const ${UNDERFLOW})) ${allZero(fold('v128.or', 'os', U))})
            (i32.or (f64.ge ${get('bb')} (f64.const ${UNDERFLOW})) ${allZero(fold('v128.or', 'od', U))})))
      (then
        ${set('sk', `(f64.add ${get('sk')} ${get('bs')})`)}
        ${set('br', `(f64.add ${get('br')} ${get('bb')})`)})
      (else
        ${zero(['e', 'f'], 2)}
        ${repeat('k', `(i32.shr_u ${get('len')} ${i32(2)})`, exact, 'exact')}
        ${set('x', `(f64x2.add ${get('e0')} ${get('e1')})`)}
        ${set('sk', `(f64.add ${get('sk')} ${hsum2(get('x'))})`)}
        ${set('x', `(f64x2.add ${get('f0')} ${get('f1')})`)}
        ${set('br', `(f64.add ${get('br')} ${hsum2(get('x'))})`)}))
    (br $blocks)))
  ${repeat(
    'k',
    get('n'),
    `${set('a', `(f64.promote_f32 (f32.load ${get('ps')}))`)}
    ${set('b', `(f64.sub (f64.promote_f32 (f32.load ${get('pt')})) ${get('a')})`)}
    ${set('sk', `(f64.add ${get('sk')} (f64.mul ${get('a')} ${get('a')}))`)}
    ${set('br', `(f64.add ${get('br')} (f64.mul ${get('b')} ${get('b')}))`)}
    ${set('ps', `(i32.add ${get('ps')} ${i32(4)})`)}
    ${set('pt', `(i32.add ${get('pt')} ${i32(4)})`)}`,
    'diffTail',
  )}
  (f64.store offset=0 ${get('out')} ${get('sk')})
  (f64.store offset=8 ${get('out')} ${get('br')}))`;
}

/** The statistics part of the module for one build. */
export function statsText({ fma }) {
  return `${gradStats(fma)}\n${diffSq(fma)}`;
}
