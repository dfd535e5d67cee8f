/**
 * UnsortedSegmentSum on the WASM backend, which has none: the gradient of Gather (every embedding
 * table, every token or position lookup in a transformer) sums the rows of dy into the table rows
 * their indices name. A row-by-row loop over the heap; ids outside [0, numSegments) are dropped, as
 * TF.js's CPU kernel drops them.
 */
import * as tf from '@tensorflow/tfjs-core';

/** The part of the WASM backend this kernel uses. */
interface SegmentBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

/** out[s, …] = Σ over rows r with ids[r] = s of x[r, …], with x's leading dims those of the ids. */
export function unsortedSegmentSumKernel(args: {
  inputs: { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  backend: unknown;
  attrs: { numSegments: number };
}): tf.TensorInfo {
  const { x, segmentIds } = args.inputs;
  const { numSegments } = args.attrs;
  const backend = args.backend as SegmentBackend;
  const rows = tf.util.sizeFromShape(segmentIds.shape);
  const inner = rows === 0 ? 0 : tf.util.sizeFromShape(x.shape) / rows;
  const dtype = x.dtype === 'int32' ? 'int32' : 'float32';
  const out = backend.makeOutput([numSegments, ...x.shape.slice(segmentIds.shape.length)], dtype);
  // Views after the allocation: growing the heap detaches older ones.
  const dst = backend.typedArrayFromHeap(out);
  dst.fill(0);
  const src = backend.typedArrayFromHeap(x);
  const ids = backend.typedArrayFromHeap(segmentIds);
  for (let r = 0; r < rows; r++) {
    const s = ids[r];
    if (s < 0 || s >= numSegments) continue;
    const o = s * inner;
    const i = r * inner;
    for (let k = 0; k < inner; k++) dst[o + k] += src[i + k];
  }
  return out;
}
