/**
 * WebAssembly text of the probe's statistics kernels: one streaming pass over a float32 tensor for
 * what the probe records of it (Σx², Σ|x|, max |x|, exact zeros), and Σs², Σ(t−s)² of a skip split.
 * Lanes sum in f32 over blocks of BLOCK floats; each block's partial sums then add into f64, so the
 * error stays that of a short f32 sum however long the tensor. Results go to `out` as f64.
 */
import { get, i32, range, repeat, set } from './wat.mjs';

/** Floats per block summed in f32 lanes before the partial sums are added in f64. */
export const BLOCK = 512;

/** Sum of the four f32 lanes of v128 `v`, in f64. */
export const hsum64 = (v) => {
  const lane = (k) => `(f64.promote_f32 (f32x4.extract_lane ${k} ${v}))`;
  return `(f64.add (f64.add ${lane(0)} ${lane(1)}) (f64.add ${lane(2)} ${lane(3)}))`;
};

/** a·b + c in f32 lanes: fused where the build has relaxed SIMD. */
export const madd = (fma, a, b, c) =>
  fma ? `(f32x4.relaxed_madd ${a} ${b} ${c})` : `(f32x4.add (f32x4.mul ${a} ${b}) ${c})`;

/**
 * gradStats(p, n, out): out[0..3] (f64) = Σx², Σ|x|, max |x|, count(x = 0) over n floats at p.
 * NaN anywhere makes Σx², Σ|x| and max |x| NaN (max lanes use pmax, so NaN is put back from Σ|x|,
 * which is NaN exactly when some x is: |x| ≥ 0 adds no NaN of its own); ±Inf gives Inf.
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
  const sumAll = (pre) =>
    range(U)
      .slice(1)
      .reduce((acc, u) => `(f32x4.add ${acc} ${get(`${pre}${u}`)})`, get(`${pre}0`));
  const iSumAll = range(U)
    .slice(1)
    .reduce((acc, u) => `(i32x4.add ${acc} ${get(`z${u}`)})`, get('z0'));
  const zero = (pre) =>
    range(U)
      .map((u) => set(`${pre}${u}`, '(v128.const i32x4 0 0 0 0)'))
      .join(' ');
  const maxAll = range(U)
    .slice(1)
    .reduce((acc, u) => `(f32x4.pmax ${acc} ${get(`m${u}`)})`, get('m0'));
  const lanesMax = `(f32.max (f32.max (f32x4.extract_lane 0 ${get('t')}) (f32x4.extract_lane 1 ${get('t')}))
      (f32.max (f32x4.extract_lane 2 ${get('t')}) (f32x4.extract_lane 3 ${get('t')})))`;
  const v128Locals = ['v', 's', 'a', 'm', 'z'].flatMap((p) => range(U).map((u) => `(local $${p}${u} v128)`));
  return `
(func (export "gradStats") (param $p i32) (param $n i32) (param $out i32)
  (local $len i32) (local $k i32) (local $x f32) (local $mx f32)
  (local $sq f64) (local $ab f64) (local $zc i32) (local $t v128)
  ${v128Locals.join(' ')}
  (block $done (loop $blocks
    (br_if $done (i32.lt_u ${get('n')} ${i32(4 * U)}))
    ${set('len', `(i32.and ${get('n')} ${i32(-4 * U)})`)}
    (if (i32.gt_u ${get('len')} ${i32(BLOCK)}) (then ${set('len', i32(BLOCK))}))
    ${set('n', `(i32.sub ${get('n')} ${get('len')})`)}
    ${zero('s')} ${zero('a')} ${zero('z')}
    ${repeat('k', `(i32.shr_u ${get('len')} ${i32(Math.log2(4 * U))})`, body, 'stats')}
    ${set('t', sumAll('s'))}
    ${set('sq', `(f64.add ${get('sq')} ${hsum64(get('t'))})`)}
    ${set('t', sumAll('a'))}
    ${set('ab', `(f64.add ${get('ab')} ${hsum64(get('t'))})`)}
    ${set('t', iSumAll)}
    ${set(
      'zc',
      `(i32.add ${get('zc')} (i32.add (i32.add (i32x4.extract_lane 0 ${get('t')}) (i32x4.extract_lane 1 ${get('t')}))
      (i32.add (i32x4.extract_lane 2 ${get('t')}) (i32x4.extract_lane 3 ${get('t')}))))`,
    )}
    (br $blocks)))
  ${set('t', maxAll)}
  ${set('mx', lanesMax)}
  ${repeat(
    'k',
    get('n'),
    `${set('x', `(f32.abs (f32.load ${get('p')}))`)}
    ${set('sq', `(f64.add ${get('sq')} (f64.promote_f32 (f32.mul ${get('x')} ${get('x')})))`)}
    ${set('ab', `(f64.add ${get('ab')} (f64.promote_f32 ${get('x')}))`)}
    ${set('mx', `(f32.max ${get('mx')} ${get('x')})`)}
    ${set('zc', `(i32.add ${get('zc')} (f32.eq ${get('x')} (f32.const 0)))`)}
    ${set('p', `(i32.add ${get('p')} ${i32(4)})`)}`,
    'statsTail',
  )}
  (f64.store offset=0 ${get('out')} ${get('sq')})
  (f64.store offset=8 ${get('out')} ${get('ab')})
  (f64.store offset=16 ${get('out')} (select (f64.const nan) (f64.promote_f32 ${get('mx')}) (f64.ne ${get('ab')} ${get('ab')})))
  (f64.store offset=24 ${get('out')} (f64.convert_i32_u ${get('zc')})))`;
}

/** diffSq(pt, ps, n, out): out[0..1] (f64) = Σ s², Σ (t − s)² over n floats at ps and pt. */
function diffSq(fma) {
  const U = 2;
  const body = [
    ...range(U).map((u) => set(`s${u}`, `(v128.load offset=${16 * u} ${get('ps')})`)),
    ...range(U).map((u) =>
      set(`d${u}`, `(f32x4.sub (v128.load offset=${16 * u} ${get('pt')}) ${get(`s${u}`)})`),
    ),
    ...range(U).map((u) => set(`ss${u}`, madd(fma, get(`s${u}`), get(`s${u}`), get(`ss${u}`)))),
    ...range(U).map((u) => set(`dd${u}`, madd(fma, get(`d${u}`), get(`d${u}`), get(`dd${u}`)))),
    set('ps', `(i32.add ${get('ps')} ${i32(16 * U)})`),
    set('pt', `(i32.add ${get('pt')} ${i32(16 * U)})`),
  ].join('\n      ');
  const sumAll = (pre) =>
    range(U)
      .slice(1)
      .reduce((acc, u) => `(f32x4.add ${acc} ${get(`${pre}${u}`)})`, get(`${pre}0`));
  const zero = (pre) =>
    range(U)
      .map((u) => set(`${pre}${u}`, '(v128.const i32x4 0 0 0 0)'))
      .join(' ');
  const v128Locals = ['s', 'd', 'ss', 'dd'].flatMap((p) => range(U).map((u) => `(local $${p}${u} v128)`));
  return `
(func (export "diffSq") (param $pt i32) (param $ps i32) (param $n i32) (param $out i32)
  (local $len i32) (local $k i32) (local $x f32) (local $y f32) (local $sk f64) (local $br f64)
  ${v128Locals.join(' ')}
  (block $done (loop $blocks
    (br_if $done (i32.lt_u ${get('n')} ${i32(4 * U)}))
    ${set('len', `(i32.and ${get('n')} ${i32(-4 * U)})`)}
    (if (i32.gt_u ${get('len')} ${i32(BLOCK)}) (then ${set('len', i32(BLOCK))}))
    ${set('n', `(i32.sub ${get('n')} ${get('len')})`)}
    ${zero('ss')} ${zero('dd')}
    ${repeat('k', `(i32.shr_u ${get('len')} ${i32(Math.log2(4 * U))})`, body, 'diff')}
    ${set('s0', sumAll('ss'))}
    ${set('sk', `(f64.add ${get('sk')} ${hsum64(get('s0'))})`)}
    ${set('s0', sumAll('dd'))}
    ${set('br', `(f64.add ${get('br')} ${hsum64(get('s0'))})`)}
    (br $blocks)))
  ${repeat(
    'k',
    get('n'),
    `${set('x', `(f32.load ${get('ps')})`)}
    ${set('y', `(f32.sub (f32.load ${get('pt')}) ${get('x')})`)}
    ${set('sk', `(f64.add ${get('sk')} (f64.promote_f32 (f32.mul ${get('x')} ${get('x')})))`)}
    ${set('br', `(f64.add ${get('br')} (f64.promote_f32 (f32.mul ${get('y')} ${get('y')})))`)}
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
