/**
 * The probe's per-tensor statistics on the WASM backend, read where the tensors lie on the heap by
 * the SIMD kernels of scripts/wasm/stats.mjs: one pass per tensor and plain numbers out, instead
 * of a chain of TF.js ops (square, abs, step, sum, max) each writing a full-size temporary.
 */
import * as tf from '@tensorflow/tfjs-core';
import { heapAddress, type WasmBackendHeap } from './heap';
import { wasmKernels, type WasmKernels } from './wasmKernels';

/** Statistics of live float32 tensors; undefined for a tensor they do not take (other dtypes, shapes that differ). */
export interface HeapStats {
  /** [Σx², Σ|x|, max |x|, count(x = 0)]. */
  grad(t: tf.Tensor): [number, number, number, number] | undefined;
  /** [Σ skip², Σ (total − skip)²]. */
  split(skip: tf.Tensor, total: tf.Tensor): [number, number] | undefined;
}

/** The statistics on the current backend when it is WASM, else undefined (the caller uses TF.js ops). */
export function heapStats(): HeapStats | undefined {
  if (tf.getBackend() !== 'wasm') return undefined;
  const backend = tf.backend() as unknown as WasmBackendHeap;
  let kernels: WasmKernels;
  try {
    kernels = wasmKernels(backend.wasm);
  } catch {
    return undefined; // no WebAssembly SIMD in this engine
  }
  const usable = (t: tf.Tensor) => t.dtype === 'float32' && !t.isDisposed;
  return {
    grad: (t) => (usable(t) ? kernels.gradStats(heapAddress(backend, t), t.size) : undefined),
    split: (skip, total) =>
      usable(skip) && usable(total) && tf.util.arraysEqual(skip.shape, total.shape)
        ? kernels.diffSq(heapAddress(backend, total), heapAddress(backend, skip), total.size)
        : undefined,
  };
}
