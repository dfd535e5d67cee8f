/**
 * The probe's per-tensor statistics on the WASM backend, read where the tensors lie on the heap by
 * the SIMD kernels of scripts/wasm/stats.mjs: one pass per tensor (exact in f64 over float32's
 * whole range) and plain numbers out, instead of a chain of TF.js ops each writing a full-size
 * temporary. Tensors the kernels do not take (other dtypes, shapes that differ) go to `fallback`.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { StatsKernels } from '../statsKernels';
import { opStats } from '../opStats';
import { heapAddress, type WasmBackendHeap } from './heap';
import { wasmKernels, type WasmKernels } from './wasmKernels';

/** The statistics on the current backend when it is WASM with SIMD, else undefined. */
export function heapStats(fallback: StatsKernels = opStats): StatsKernels | undefined {
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
    moments(t) {
      if (!usable(t)) return fallback.moments(t);
      const [sumSq, sumAbs, maxAbs, zeros, nonFinite] = kernels.gradStats(heapAddress(backend, t), t.size);
      return { now: { sumSq, sumAbs, maxAbs, zeros, nonFinite } };
    },
    split(skip, total) {
      if (!usable(skip) || !usable(total) || !tf.util.arraysEqual(skip.shape, total.shape))
        return fallback.split(skip, total);
      const [skipSq, branchSq] = kernels.diffSq(
        heapAddress(backend, total),
        heapAddress(backend, skip),
        total.size,
      );
      // As on every backend: a NaN or Inf anywhere leaves the split undefined (NaN).
      if (!Number.isFinite(skipSq + branchSq)) return { now: { skipSq: NaN, branchSq: NaN } };
      return { now: { skipSq, branchSq } };
    },
  };
}
