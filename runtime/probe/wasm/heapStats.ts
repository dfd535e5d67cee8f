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
import { queuedTensors } from './queuedTensors';
import { taskSettings } from './kernelTasks';

/**
 * The statistics on the current backend when it is WASM with SIMD, else undefined. With `queue`
 * and more than one kernel thread, each call is queued for the workers (wasm/queuedTensors.ts: the
 * tensor is held until it is read) and comes back as a `value` thunk; `settle` waits for them.
 */
export function heapStats(fallback: StatsKernels = opStats, queue = false): StatsKernels | undefined {
  if (tf.getBackend() !== 'wasm') return undefined;
  const backend = tf.backend() as unknown as WasmBackendHeap;
  let kernels: WasmKernels;
  try {
    kernels = wasmKernels(backend.wasm);
  } catch {
    return undefined; // no WebAssembly SIMD in this engine
  }
  const usable = (t: tf.Tensor) => t.dtype === 'float32' && !t.isDisposed;
  const queued = queue ? queuedTensors() : undefined;
  // Queued when large enough to pay for queuing, and, while the workers sleep, for waking one
  // (as much as the threads' immediate form needs).
  const queues = (bytes: number) =>
    queued?.queues && bytes >= (queued.later.cold ? taskSettings.minStatsBytes : taskSettings.minQueueBytes);
  return {
    settle: () => queued?.settle(),
    moments(t) {
      if (!usable(t)) return fallback.moments(t);
      // A tensor queued calls still write (a weight gradient) is queued after them whatever its
      // size: read now, it would wait for the whole queue.
      const pending = queued?.pending(t) ?? false;
      if (queued && (pending || queues(4 * t.size))) {
        const r = queued.later.gradStats(queued.address(t), t.size, pending, queued.hold([t]));
        return {
          value: () => {
            const [sumSq, sumAbs, maxAbs, zeros, nonFinite] = r();
            return { sumSq, sumAbs, maxAbs, zeros, nonFinite };
          },
        };
      }
      const [sumSq, sumAbs, maxAbs, zeros, nonFinite] = kernels.gradStats(heapAddress(backend, t), t.size);
      return { now: { sumSq, sumAbs, maxAbs, zeros, nonFinite } };
    },
    split(skip, total) {
      if (!usable(skip) || !usable(total) || !tf.util.arraysEqual(skip.shape, total.shape))
        return fallback.split(skip, total);
      // As on every backend: a NaN or Inf anywhere leaves the split undefined (NaN).
      const split = ([skipSq, branchSq]: [number, number]) =>
        Number.isFinite(skipSq + branchSq) ? { skipSq, branchSq } : { skipSq: NaN, branchSq: NaN };
      if (queued && queues(8 * total.size)) {
        const after = queued.pending(total) || queued.pending(skip);
        const r = queued.later.diffSq(
          queued.address(total),
          queued.address(skip),
          total.size,
          after,
          queued.hold([total, skip]),
        );
        return { value: () => split(r()) };
      }
      return {
        now: split(kernels.diffSq(heapAddress(backend, total), heapAddress(backend, skip), total.size)),
      };
    },
  };
}
