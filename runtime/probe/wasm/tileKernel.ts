/**
 * Tile on the WASM backend by block copies on the heap: each input row goes to its place in the
 * output, then the filled block of every axis is doubled along that axis with copyWithin
 * (memmove speed), innermost axis first. The backend's own kernel computes every output
 * element's source index in a scalar loop: some 13 ms to tile a 64-channel vector over an
 * 8×16×16 batch, which TF.js's batch-norm gradient does once per layer (it tiles 1/√(var + ε)
 * to the input's shape). Tiles of many short rows, and strings, go to the backend's kernel.
 */
import * as tf from '@tensorflow/tfjs-core';

/** The part of the WASM backend this kernel uses. */
interface TileBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

/** Whether this kernel runs (benchmarks compare both ways in one process). */
export const tileSettings = { enabled: true };

/** Calls `f` with the offset Σ idx[i]·strides[i] for every index below `extents` (row-major). */
function forEachOffset(extents: number[], strides: number[], f: (offset: number) => void): void {
  const idx = new Array<number>(extents.length).fill(0);
  let offset = 0;
  for (;;) {
    f(offset);
    let ax = extents.length - 1;
    for (; ax >= 0; ax--) {
      idx[ax]++;
      offset += strides[ax];
      if (idx[ax] < extents[ax]) break;
      offset -= strides[ax] * extents[ax];
      idx[ax] = 0;
    }
    if (ax < 0) return;
  }
}

/** The Tile kernel; `fallback` (the backend's own) takes strings and tiles of many short rows. */
export function tileKernel(fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { reps } = args.attrs as { reps: number[] };
    const rank = x.shape.length;
    const outShape = x.shape.map((s, i) => s * reps[i]);
    const size = tf.util.sizeFromShape(outShape);
    const inner = x.shape[rank - 1];
    const rows = size ? tf.util.sizeFromShape(x.shape) / inner : 0;
    const copies = rows * (1 + Math.ceil(Math.log2(Math.max(1, reps[rank - 1] ?? 1))));
    if (
      !tileSettings.enabled ||
      x.dtype === 'string' ||
      x.dtype === 'complex64' ||
      rank === 0 ||
      reps.length !== rank ||
      copies > size / 16
    )
      return fallback(args);
    const backend = args.backend as TileBackend;
    const out = backend.makeOutput(outShape, x.dtype);
    if (!size) return out;
    // Views after the allocation: growing the heap detaches older ones.
    const src = backend.typedArrayFromHeap(x);
    const dst = backend.typedArrayFromHeap(out);
    const strides = new Array<number>(rank);
    for (let i = rank - 1, s = 1; i >= 0; i--) {
      strides[i] = s;
      s *= outShape[i];
    }
    let r = 0;
    forEachOffset(x.shape.slice(0, -1), strides.slice(0, -1), (offset) => {
      dst.set(src.subarray(r, r + inner), offset);
      r += inner;
    });
    // Axis a: the block of the first x.shape[a] entries (filled) is copied reps[a] − 1 times after itself.
    for (let a = rank - 1; a >= 0; a--) {
      if (reps[a] === 1) continue;
      const chunk = x.shape[a] * strides[a];
      const total = chunk * reps[a];
      forEachOffset(x.shape.slice(0, a), strides.slice(0, a), (offset) => {
        for (let filled = chunk; filled < total;) {
          const n = Math.min(filled, total - filled);
          dst.copyWithin(offset + filled, offset, offset + n);
          filled += n;
        }
      });
    }
    return out;
  };
}
