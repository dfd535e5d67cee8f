/**
 * Slice, Unpack (tf.unstack) and SplitV on the WASM backend as row copies on the heap. The
 * backend's own kernels read their input through readSync, which copies the whole tensor out of
 * the heap for every slice: unstacking a [32, 8, 1024] input projection into its 32 steps copied
 * 32 MB, and a recurrent net does that (and splits its gates) at every layer and step, forward
 * and backward. Here each output is filled straight from a view of the input's heap memory.
 * Strings and complex numbers go to the backend's kernels.
 */
import * as tf from '@tensorflow/tfjs-core';

/** The part of the WASM backend these kernels use. */
interface SliceBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

type Heap = Float32Array | Int32Array | Uint8Array;

/**
 * Copies the box `begin` + `size` of `src` (shape `shape`) to `dst` from `at`, in row-major
 * order: one copy per run of elements that are contiguous in both.
 */
function copyBox(src: Heap, shape: number[], begin: number[], size: number[], dst: Heap, at: number): void {
  const rank = shape.length;
  const strides = tf.util.computeStrides(shape);
  const stride = (i: number) => (i === rank - 1 ? 1 : strides[i]);
  // The innermost axis that the box does not cover whole: runs span it and everything inside.
  let k = rank - 1;
  while (k >= 0 && size[k] === shape[k]) k--;
  if (k < 0) {
    dst.set(src.subarray(0, tf.util.sizeFromShape(shape)), at);
    return;
  }
  const run = size[k] * (k === rank - 1 ? 1 : strides[k]);
  let base = 0;
  for (let i = 0; i <= k; i++) base += begin[i] * stride(i);
  const outer = size.slice(0, k);
  const n = tf.util.sizeFromShape(outer);
  const idx = new Array<number>(k).fill(0);
  let offset = base;
  for (let r = 0; r < n; r++) {
    if (run >= 16) dst.set(src.subarray(offset, offset + run), at);
    else for (let j = 0; j < run; j++) dst[at + j] = src[offset + j];
    at += run;
    for (let ax = k - 1; ax >= 0; ax--) {
      idx[ax]++;
      offset += stride(ax);
      if (idx[ax] < outer[ax]) break;
      offset -= stride(ax) * outer[ax];
      idx[ax] = 0;
    }
  }
}

const onHeap = (t: tf.TensorInfo) => t.dtype !== 'string' && t.dtype !== 'complex64';

/** Slice; `fallback` (the backend's own) takes what does not live on the heap as numbers. */
export function sliceKernel(fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    if (!onHeap(x)) return fallback(args);
    const { begin, size } = args.attrs as unknown as { begin: number | number[]; size: number | number[] };
    const [b, s] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size);
    const backend = args.backend as SliceBackend;
    const out = backend.makeOutput(s, x.dtype);
    // Views after makeOutput: an allocation may grow (and move) the heap.
    if (tf.util.sizeFromShape(s) > 0)
      copyBox(backend.typedArrayFromHeap(x), x.shape, b, s, backend.typedArrayFromHeap(out), 0);
    return out;
  };
}

/** Unpack (unstack) along any axis. */
export function unpackKernel(fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { value } = args.inputs as { value: tf.TensorInfo };
    if (!onHeap(value)) return fallback(args);
    const rank = value.shape.length;
    let { axis } = args.attrs as unknown as { axis: number };
    if (axis < 0) axis += rank;
    const backend = args.backend as SliceBackend;
    const outShape = value.shape.filter((_, i) => i !== axis);
    const outs = Array.from({ length: value.shape[axis] }, () => backend.makeOutput(outShape, value.dtype));
    if (tf.util.sizeFromShape(outShape) === 0) return outs;
    const src = backend.typedArrayFromHeap(value);
    const size = value.shape.slice();
    size[axis] = 1;
    const begin = new Array<number>(rank).fill(0);
    outs.forEach((o, i) => {
      begin[axis] = i;
      copyBox(src, value.shape, begin, size, backend.typedArrayFromHeap(o), 0);
    });
    return outs;
  };
}

/** SplitV (tf.split) along any axis. */
export function splitVKernel(fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    if (!onHeap(x)) return fallback(args);
    const { numOrSizeSplits, axis } = args.attrs as unknown as {
      numOrSizeSplits: number | number[];
      axis: number;
    };
    const a = tf.util.parseAxisParam(axis, x.shape)[0];
    const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, a);
    const backend = args.backend as SliceBackend;
    const outs = sizes.map((n) =>
      backend.makeOutput(
        x.shape.map((d, i) => (i === a ? n : d)),
        x.dtype,
      ),
    );
    const src = backend.typedArrayFromHeap(x);
    const begin = new Array<number>(x.shape.length).fill(0);
    outs.forEach((o) => {
      if (tf.util.sizeFromShape(o.shape) > 0)
        copyBox(src, x.shape, begin, o.shape, backend.typedArrayFromHeap(o), 0);
      begin[a] += o.shape[a];
    });
    return outs;
  };
}
