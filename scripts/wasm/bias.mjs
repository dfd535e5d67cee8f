/**
 * WebAssembly text of a bias added in place: y[r·cols + c] += b[c] over a row-major rows × cols
 * block, as a convolution's output takes its bias (NHWC, a value per channel). The same float32
 * sums as an Add kernel's, without the output tensor and the pass over it that one makes.
 */
import { get, repeat, set, stream } from './wat.mjs';

export function biasText() {
  return `
(func $addBias (export "addBias") (param $y i32) (param $b i32) (param $rows i32) (param $cols i32)
  (local $r i32) (local $k i32) (local $q i32)
  ${repeat(
    'r',
    get('rows'),
    `${set('q', get('b'))}
    ${stream(
      'k',
      get('cols'),
      ['y', 'q'],
      `(v128.store ${get('y')} (f32x4.add (v128.load ${get('y')}) (v128.load ${get('q')})))`,
      `(f32.store ${get('y')} (f32.add (f32.load ${get('y')}) (f32.load ${get('q')})))`,
      'cols',
    )}`,
    'rows',
  )})`;
}
