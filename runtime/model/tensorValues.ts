/**
 * Turning stored bytes into typed arrays: element sizes, little-endian decoding, float16/bfloat16
 * widening, and element counts guarded against overflow.
 */
import type { DType, TensorValues } from './ir';

/** Bytes per element, or 0 where the size is not fixed (strings) or unknown. */
export function dtypeSize(dtype: DType): number {
  switch (dtype) {
    case 'float32':
    case 'int32':
    case 'uint32':
      return 4;
    case 'float16':
    case 'bfloat16':
    case 'int16':
    case 'uint16':
      return 2;
    case 'float64':
    case 'int64':
    case 'uint64':
    case 'complex64':
      return 8;
    case 'complex128':
      return 16;
    case 'int8':
    case 'uint8':
    case 'bool':
      return 1;
    default:
      return 0;
  }
}

/** True for the floating-point dtypes (what counts as a learnable parameter). */
export function isFloat(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float16' || dtype === 'bfloat16' || dtype === 'float64';
}

/** Element count of `shape`, or -1 when a dim is negative, fractional or the product overflows 2^53. */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) return -1;
    n *= d;
    if (!Number.isSafeInteger(n)) return -1;
  }
  return n;
}

/** Widens IEEE half-precision bits to a float. */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** Decodes little-endian bytes of `count` elements of `dtype` (float16/bfloat16 widen to float32). */
export function decodeBytes(bytes: Uint8Array, dtype: DType, count: number): TensorValues {
  const size = dtypeSize(dtype);
  // A buffer the caller allocated for exactly these bytes is used as is; anything else (a window
  // that moves, a pooled or unaligned slice) is copied into a fresh, aligned one.
  const exact =
    bytes.byteOffset === 0 && bytes.byteLength === count * size && bytes.buffer.byteLength === count * size;
  const own = exact ? bytes : new Uint8Array(count * size);
  if (!exact) own.set(bytes.subarray(0, count * size));
  const ab = own.buffer;
  switch (dtype) {
    case 'float32':
      return new Float32Array(ab);
    case 'float64':
      return new Float64Array(ab);
    case 'int8':
      return new Int8Array(ab);
    case 'uint8':
    case 'bool':
      return own;
    case 'int16':
      return new Int16Array(ab);
    case 'uint16':
      return new Uint16Array(ab);
    case 'int32':
      return new Int32Array(ab);
    case 'uint32':
      return new Uint32Array(ab);
    case 'int64':
      return new BigInt64Array(ab);
    case 'uint64':
      return new BigUint64Array(ab);
    case 'float16': {
      const h = new Uint16Array(ab);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = halfToFloat(h[i]);
      return out;
    }
    case 'bfloat16': {
      const h = new Uint16Array(ab);
      const out = new Float32Array(count);
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) u[i] = h[i] << 16;
      return out;
    }
    case 'complex64':
      return new Float32Array(ab);
    case 'complex128':
      return new Float64Array(ab);
    default:
      return own;
  }
}

/** Values as plain numbers (bigints narrowed), for shape arithmetic on small int tensors. */
export function toNumbers(v: TensorValues): number[] {
  const out: number[] = [];
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    out.push(typeof x === 'bigint' ? Number(x) : typeof x === 'string' ? NaN : x);
  }
  return out;
}
