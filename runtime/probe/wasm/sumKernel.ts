/**
 * Sum on the WASM backend for reductions over leading axes — the whole tensor, or [N, H, W, C]
 * over N, H, W as in every bias and BatchNorm gradient and every broadcast Add/Mul gradient — as
 * SIMD column sums of the tensor in place (scripts/wasm/reduce.mjs). TF.js's own kernel
 * transposes the reduced axes to the end first (a full copy) and then sums with a scalar loop; it
 * still takes every other case (other axis sets, non-float32 tensors, empty tensors).
 */
import * as tf from '@tensorflow/tfjs-core';
import { heapAddress, type WasmBackendHeap } from './heap';
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

/** The Sum kernel; `fallback` (the backend's own) takes what this one does not. */
export function sumKernel(fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { axis, keepDims } = args.attrs as unknown as { axis: number | number[] | null; keepDims: boolean };
    const axes = tf.util.parseAxisParam(axis as number | number[], x.shape);
    const split = leadingSplit(x, axes);
    const backend = args.backend as unknown as WasmBackendHeap;
    const kernels = split && wasmKernelsIfAvailable(backend.wasm);
    if (!split || !kernels) return fallback(args);
    const k = axes.length;
    const kept = x.shape.slice(k);
    const out = backend.makeOutput(keepDims ? [...new Array<number>(k).fill(1), ...kept] : kept, 'float32');
    kernels.colSum(heapAddress(backend, x), split.rows, split.cols, heapAddress(backend, out));
    return out;
  };
}
