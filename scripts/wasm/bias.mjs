/**
 * WebAssembly text of a bias added in place: y[r·cols + c] += b[c] over a row-major rows × cols
 * block, as a convolution's output takes its bias (NHWC, a value per channel). The same float32
 * sums as an Add kernel's, without the output tensor and the pass over it that one makes.
 */
import { get, i32, repeat, set } from './wat.mjs';

export function biasText() {
  return `
(func $addBias (export "addBias") (param $y i32) (param $b i32) (param $rows i32) (param $cols i32)
  (local $r i32) (local $k i32) (local $p i32) (local $q i32)
  ${repeat(
    'r',
    get('rows'),
    `${set('q', get('b'))}
    ${repeat(
      'k',
      `(i32.shr_u ${get('cols')} ${i32(2)})`,
      `(v128.store ${get('y')} (f32x4.add (v128.load ${get('y')}) (v128.load ${get('q')})))
      ${set('y', `(i32.add ${get('y')} ${i32(16)})`)}
      ${set('q', `(i32.add ${get('q')} ${i32(16)})`)}`,
      'quads',
    )}
    ${repeat(
      'k',
      `(i32.and ${get('cols')} ${i32(3)})`,
      `(f32.store ${get('y')} (f32.add (f32.load ${get('y')}) (f32.load ${get('q')})))
      ${set('y', `(i32.add ${get('y')} ${i32(4)})`)}
      ${set('q', `(i32.add ${get('q')} ${i32(4)})`)}`,
      'rest',
    )}`,
    'rows',
  )})`;
}
