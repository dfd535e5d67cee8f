/**
 * Timing helpers of the probe benchmarks (bench/probe.ts, bench/probeTfjs.ts): medians, and a
 * timer wrapped around every WASM kernel.
 */
import * as tf from '@tensorflow/tfjs-core';

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** One kernel's inclusive time over the timed stretch. */
export interface KernelTime {
  name: string;
  ms: number;
  calls: number;
}

/**
 * Wraps every WASM kernel with a timer (inclusive of kernels it calls) until `stop`, which puts
 * the kernels back and returns the `top` most expensive.
 */
export function timeKernels(): { stop(top: number): KernelTime[] } {
  const totals = new Map<string, { ms: number; calls: number }>();
  const originals = tf.getKernelsForBackend('wasm');
  for (const k of originals) {
    tf.unregisterKernel(k.kernelName, 'wasm');
    tf.registerKernel({
      ...k,
      kernelFunc: (a) => {
        const t0 = performance.now();
        const out = k.kernelFunc(a);
        const e = totals.get(k.kernelName) ?? { ms: 0, calls: 0 };
        e.ms += performance.now() - t0;
        e.calls++;
        totals.set(k.kernelName, e);
        return out;
      },
    });
  }
  return {
    stop(top) {
      for (const k of originals) {
        tf.unregisterKernel(k.kernelName, 'wasm');
        tf.registerKernel(k);
      }
      return [...totals]
        .sort((p, q) => q[1].ms - p[1].ms)
        .slice(0, top)
        .map(([name, v]) => ({ name, ms: Math.round(v.ms * 10) / 10, calls: v.calls }));
    },
  };
}
