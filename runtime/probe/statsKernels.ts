/**
 * The statistics the probe records of a tensor (sums of squares and magnitudes, the largest
 * magnitude, exact zeros, NaN/Inf count) behind one interface with a path per backend: on WASM,
 * Skipscope's own kernels read the tensor where it lies on the heap (wasm/heapStats.ts); on any
 * other backend, TF.js ops (opStats.ts). Every path is exact in float64 over float32's whole
 * range: a gradient of 1e-35 or 1e30 has a finite, non-zero sum of squares (DESIGN.md).
 */
import * as tf from '@tensorflow/tfjs-core';
import { opStats } from './opStats';
import { heapStats } from './wasm/heapStats';

/** What the probe records of one tensor, in float64. */
export interface Moments {
  /** Σx² (NaN when some x is NaN, Infinity when some x is ±Infinity; likewise the next two). */
  sumSq: number;
  /** Σ|x|. */
  sumAbs: number;
  /** max |x|. */
  maxAbs: number;
  /** Elements exactly zero (dead units: a gradient of 1e-40 is not one). */
  zeros: number;
  /** Elements that are NaN or ±Infinity. */
  nonFinite: number;
}

/** A skip split at a fork: Σ skip², Σ (total − skip)², in float64. */
export interface Split {
  skipSq: number;
  branchSq: number;
}

/**
 * A statistic known now, or a 1-D tensor of scalars that the recorder reads together with every
 * other pending one (one transfer per pass on a GPU) and turns into the statistic with `finish`.
 */
export type Later<T> =
  | { now: T }
  | { tensor: tf.Tensor1D; finish(values: ArrayLike<number>): T }
  /** Computed by a queued kernel call (wasm/queuedTensors.ts): `value` waits for it if need be. */
  | { value(): T };

/** The statistics of one backend. */
export interface StatsKernels {
  /** The moments of `t` (any dtype; integer tensors are read as float32). */
  moments(t: tf.Tensor): Later<Moments>;
  /** The split of gradient `total` at a fork into the part `skip` that came along the skip edge and the rest. */
  split(skip: tf.Tensor, total: tf.Tensor): Later<Split>;
  /** Waits for the statistics still being computed (queued ones: see statsKernels' `queue`). */
  settle?(): void;
}

/**
 * The statistics of the current backend: its own kernels where it has them, else TF.js ops. With
 * `queue`, on the WASM backend with more than one kernel thread, they are queued for the workers
 * (the caller goes on) and come as `value` thunks; `settle` waits for them all.
 */
export function statsKernels(queue = false): StatsKernels {
  return heapStats(opStats, queue) ?? opStats;
}

/** The value of `v`, read back asynchronously (a GPU cannot be read synchronously). */
export async function readLater<T>(v: Later<T>): Promise<T> {
  if ('now' in v) return v.now;
  if ('value' in v) return v.value();
  try {
    return v.finish(await v.tensor.data());
  } finally {
    v.tensor.dispose();
  }
}

/** Reads a statistic at once (one transfer when it is pending). */
export function readNow<T>(v: Later<T>): T {
  if ('now' in v) return v.now;
  if ('value' in v) return v.value();
  try {
    return v.finish(v.tensor.dataSync());
  } finally {
    v.tensor.dispose();
  }
}
