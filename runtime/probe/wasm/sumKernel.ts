/**
 * Sum on the WASM backend for reductions over leading axes — the whole tensor, or [N, H, W, C]
 * over N, H, W as in every bias and BatchNorm gradient and every broadcast Add/Mul gradient — as
 * SIMD column sums of the tensor in place (scripts/wasm/reduce.mjs). Also reductions over leading
 * and trailing axes that keep a middle block, [N, C, D, H, W] over N, D, H, W as in the bias
 * gradient of a channels-first (3-D, 1-D) convolution: the column sums over the leading axes, then
 * each kept element's contiguous run summed as one stream. TF.js's own kernel transposes the
 * reduced axes to the end first (a full copy) and then sums with a scalar loop (half of a 3-D
 * U-Net's probe pass); it still takes every other case (other axis sets, non-float32 tensors,
 * empty tensors, trailing runs shorter than MIN_RUN).
 */
import * as tf from '@tensorflow/tfjs-core';
import { heapAddress, withScratch, type WasmBackendHeap } from './heap';
import { wasmKernelsIfAvailable } from './wasmKernels';

/** When `axes` (any order) are exactly 0 … k−1 of a non-empty float32 `x`: rows (their size) and columns. */
export function leadingSplit(x: tf.TensorInfo, axes: number[]): { rows: number; cols: number } | undefined {
  const k = axes.length;
  const sorted = new Set(axes);
  if (x.dtype !== 'float32' || k === 0 || sorted.size !== k) return undefined;
  for (let i = 0; i < k; i++) if (!sorted.has(i)) return undefined;
  const rows = tf.util.sizeFromShape(x.shape.slice(0, k));
  const cols = tf.util.sizeFromShape(x.shape.slice(k));
  return rows > 0 && cols > 0 ? { rows, cols } : undefined;
}

/** Calls that ran here rather than in TF.js's kernel (tests check that a path was taken). */
export const sumKernelRuns = { leading: 0, around: 0 };

/** Trailing runs shorter than this stay with TF.js's kernel (one call per kept element). */
export const MIN_RUN = 8;

/**
 * When `axes` are 0 … a−1 and b … rank−1 of a non-empty float32 `x` with b − a ≥ 1 kept axes and
 * at least one trailing axis: the sizes of the leading block, the kept block and the trailing run.
 */
export function outerInnerSplit(
  x: tf.TensorInfo,
  axes: number[],
): { outer: number; kept: number; inner: number } | undefined {
  const rank = x.shape.length;
  const set = new Set(axes);
  if (x.dtype !== 'float32' || set.size !== axes.length || !set.has(rank - 1)) return undefined;
  let a = 0;
  while (set.has(a)) a++;
  let b = rank;
  while (set.has(b - 1)) b--;
  if (a + (rank - b) !== set.size || b <= a) return undefined;
  const outer = tf.util.sizeFromShape(x.shape.slice(0, a));
  const kept = tf.util.sizeFromShape(x.shape.slice(a, b));
  const inner = tf.util.sizeFromShape(x.shape.slice(b));
  return outer > 0 && kept > 0 && inner >= MIN_RUN ? { outer, kept, inner } : undefined;
}

/** The Sum kernel; `fallback` (the backend's own) takes what this one does not. */
export function sumKernel(fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { axis, keepDims } = args.attrs as unknown as { axis: number | number[] | null; keepDims: boolean };
    const axes = tf.util.parseAxisParam(axis as number | number[], x.shape);
    const split = leadingSplit(x, axes);
    const backend = args.backend as unknown as WasmBackendHeap;
    const around = split ? undefined : outerInnerSplit(x, axes);
    const kernels = (split || around) && wasmKernelsIfAvailable(backend.wasm);
    if (!kernels) return fallback(args);
    if (around) {
      sumKernelRuns.around++;
      const shape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
      const out = backend.makeOutput(
        keepDims ? shape : x.shape.filter((_, i) => !axes.includes(i)),
        'float32',
      );
      const { outer, kept, inner } = around;
      const o = heapAddress(backend, out);
      withScratch(backend.wasm, (alloc) => {
        // Σ over the leading axes first ([outer, kept·inner] → [kept·inner]), unless there are none.
        let p = heapAddress(backend, x);
        if (outer > 1) {
          const sums = alloc(kept * inner);
          kernels.colSum(p, outer, kept * inner, sums);
          p = sums;
        }
        for (let i = 0; i < kept; i++) kernels.colSum(p + 4 * i * inner, inner, 1, o + 4 * i);
      });
      return out;
    }
    if (!split) return fallback(args);
    sumKernelRuns.leading++;
    const k = axes.length;
    const kept = x.shape.slice(k);
    const out = backend.makeOutput(keepDims ? [...new Array<number>(k).fill(1), ...kept] : kept, 'float32');
    kernels.colSum(heapAddress(backend, x), split.rows, split.cols, heapAddress(backend, out));
    return out;
  };
}
