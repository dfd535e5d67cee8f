/**
 * UnsortedSegmentSum on the CPU backend as one pass over the rows. TF.js's own kernel loops over
 * the segments and compares every id with each (a mask per segment): Gather's gradient into a
 * 10,000-row embedding table from 256 tokens of width 128 took 86 s; this takes well under a
 * millisecond. Ids outside [0, numSegments) are dropped, as TF.js's kernel drops them.
 */
import * as tf from '@tensorflow/tfjs-core';

/** The part of the CPU backend this kernel uses. */
interface CpuBackendIo {
  readSync(dataId: tf.DataId): tf.backend_util.BackendValues;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: tf.backend_util.BackendValues): tf.TensorInfo;
}

/** out[s, …] = Σ over rows r with ids[r] = s of x[r, …], with x's leading dims those of the ids. */
function unsortedSegmentSum(args: {
  inputs: { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  backend: unknown;
  attrs: { numSegments: number };
}): tf.TensorInfo {
  const { x, segmentIds } = args.inputs;
  const { numSegments } = args.attrs;
  const backend = args.backend as CpuBackendIo;
  const rows = tf.util.sizeFromShape(segmentIds.shape);
  const inner = rows === 0 ? 0 : tf.util.sizeFromShape(x.shape) / rows;
  const dtype = x.dtype === 'int32' ? 'int32' : 'float32';
  const shape = [numSegments, ...x.shape.slice(segmentIds.shape.length)];
  const out = dtype === 'int32' ? new Int32Array(numSegments * inner) : new Float32Array(numSegments * inner);
  const src = backend.readSync(x.dataId) as Float32Array | Int32Array;
  const ids = backend.readSync(segmentIds.dataId) as Int32Array;
  for (let r = 0; r < rows; r++) {
    const s = ids[r];
    if (s < 0 || s >= numSegments) continue;
    const o = s * inner;
    const i = r * inner;
    for (let k = 0; k < inner; k++) out[o + k] += src[i + k];
  }
  return backend.makeTensorInfo(shape, dtype, out);
}

let done = false;

/** Replaces the CPU backend's UnsortedSegmentSum (once). */
export function registerCpuSegmentSum(): void {
  if (done) return;
  done = true;
  const original = tf.getKernel('UnsortedSegmentSum', 'cpu');
  if (original) tf.unregisterKernel('UnsortedSegmentSum', 'cpu');
  tf.registerKernel({
    kernelName: 'UnsortedSegmentSum',
    backendName: 'cpu',
    kernelFunc: unsortedSegmentSum as unknown as tf.KernelFunc,
  });
}
