/**
 * WebAssembly text of the ReLU gradient in one pass: dx = dy · step(x), with step(x) 1 where
 * x > 0, NaN where x is NaN and 0 elsewhere, as TF.js's gradient computes it in three kernels
 * (Step, Cast, Multiply: three passes over the activation and two temporaries). The same IEEE
 * product, so the same values: an infinite or NaN dy still gives NaN where x ≤ 0, a negative dy
 * −0. Four lanes at a time, the last n mod 4 one by one.
 */
import { get, set, stream } from './wat.mjs';

/** `step` of four lanes of x (v128): 1.0 where x > 0, the canonical NaN where x is NaN, else 0. */
const step4 = (x) =>
  `(v128.bitselect (v128.const i32x4 0x7fc00000 0x7fc00000 0x7fc00000 0x7fc00000)
      (v128.and (f32x4.gt ${x} (v128.const f32x4 0 0 0 0)) (v128.const f32x4 1 1 1 1)) (f32x4.ne ${x} ${x}))`;

export function reluGradText() {
  return `
(func $reluGrad (export "reluGrad") (param $dy i32) (param $x i32) (param $out i32) (param $n i32)
  (local $k i32) (local $v v128) (local $s f32)
  ${stream(
    'k',
    get('n'),
    ['dy', 'x', 'out'],
    `${set('v', `(v128.load ${get('x')})`)}
    (v128.store ${get('out')} (f32x4.mul (v128.load ${get('dy')}) ${step4(get('v'))}))`,
    `${set('s', `(f32.load ${get('x')})`)}
    ${set('s', `(select (f32.const nan) (select (f32.const 1) (f32.const 0) (f32.gt (local.get $s) (f32.const 0))) (f32.ne (local.get $s) (local.get $s)))`)}
    (f32.store ${get('out')} (f32.mul (f32.load ${get('dy')}) (local.get $s)))`,
    'floats',
  )})`;
}
