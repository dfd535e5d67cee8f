/**
 * Tensors under background kernel jobs (wasmKernels.ts's LaterKernels): what a queued call reads
 * is held (a reference on the backend's data, so that TF.js freeing the tensor leaves its bytes
 * in place until the call is done), and what it writes is fenced: any access to that tensor
 * through the TF.js WASM backend (a kernel reading it, a read-back, freeing it) first waits for
 * the queue. The fence sits in the backend's data map, which every WASM kernel, read and free
 * goes through, so no TF.js code can see a half-written tensor.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { WasmBackendHeap } from './heap';
import { wasmKernels, type LaterKernels } from './wasmKernels';

/** The backend's per-tensor record (the fields used here). */
interface TensorData {
  memoryOffset: number;
  refCount: number;
}

/** The WASM backend with the data map and free the fence needs. */
interface FencedBackend extends WasmBackendHeap {
  dataIdMap: { get(id: tf.DataId): TensorData };
  disposeData(id: tf.DataId, force?: boolean): boolean;
}

/** Tuning of the queue. */
export const queueSettings = {
  /**
   * The most bytes queued calls may hold (their scratch, and the tensors they read, which TF.js
   * may free meanwhile): a call that would pass it first waits for the queue, so that a probe's
   * peak memory grows by this much at most. A pass's queue runs on beside the next pass's forward
   * pass (gradPass.ts), so two passes' holds meet: ResNet-18 at batch 8, 64×64, held up to 100 MB.
   * At 64 MB that cap was met in every pass, and the wait it forced left the workers idle through
   * much of the next forward pass (78% busy over a probe against 91% with room; two-thread batches
   * 3–5% slower, paired).
   */
  maxHeldBytes: 256 << 20,
};

/** The queued tensors of one WASM backend. */
export class QueuedTensors {
  private readonly writes = new Set<tf.DataId>();
  /** Bytes held by queued calls (see queueSettings.maxHeldBytes). */
  private heldBytes = 0;
  /** Set while a hold is released or the queue settles: no access then needs (or may start) a wait. */
  private quiet = false;
  private readonly rawGet: (id: tf.DataId) => TensorData;

  constructor(
    private readonly backend: FencedBackend,
    readonly later: LaterKernels,
  ) {
    const map = backend.dataIdMap;
    const get = map.get;
    this.rawGet = (id) => get.call(map, id);
    map.get = (id: tf.DataId) => {
      if (this.writes.size && !this.quiet && this.writes.has(id)) this.settle();
      return get.call(map, id);
    };
  }

  /** Whether calls queue (more than one kernel thread runs); otherwise they run at once. */
  get queues(): boolean {
    return this.later.queues;
  }

  /** The heap address of `t`, without waiting for the calls that write it. */
  address(t: tf.TensorInfo): number {
    return this.rawGet(t.dataId).memoryOffset;
  }

  /** Whether queued calls may still write `t`. */
  pending(t: tf.TensorInfo): boolean {
    return this.writes.has(t.dataId);
  }

  /**
   * Keeps the data of `ts` in place until the release returned is called (by the `done` of the
   * last queued call that reads them), whatever TF.js does with the tensors meanwhile; with
   * `scratchBytes` of the call's own scratch, counted against queueSettings.maxHeldBytes (the
   * queue is waited for first when they would pass it). Call it before allocating that scratch.
   */
  hold(ts: tf.TensorInfo[], scratchBytes = 0): () => void {
    const bytes = scratchBytes + ts.reduce((sum, t) => sum + 4 * tf.util.sizeFromShape(t.shape), 0);
    if (this.heldBytes > 0 && this.heldBytes + bytes > queueSettings.maxHeldBytes) this.settle();
    this.heldBytes += bytes;
    const ids = ts.map((t) => t.dataId);
    for (const id of ids) this.rawGet(id).refCount++;
    // Its last reader is done; a call still writing it would have been waited for when TF.js freed it.
    return () => {
      this.heldBytes -= bytes;
      const quiet = this.quiet;
      this.quiet = true;
      try {
        for (const id of ids) this.backend.disposeData(id);
      } finally {
        this.quiet = quiet;
      }
    };
  }

  /**
   * `t` is written by queued calls: until the release returned is called (by the `done` of the
   * last of them), any access to it through the backend waits for the queue.
   */
  writing(t: tf.TensorInfo): () => void {
    const id = t.dataId;
    this.writes.add(id);
    return () => this.writes.delete(id);
  }

  /** Waits for every queued call; throws when one failed. */
  settle(): void {
    const quiet = this.quiet;
    this.quiet = true;
    try {
      this.later.settle();
    } finally {
      this.writes.clear();
      this.quiet = quiet;
    }
  }
}

const byBackend = new WeakMap<object, QueuedTensors>();

/**
 * The queued tensors of the current backend when it is TF.js's WASM backend with the probe's
 * kernels (made once per backend), else undefined.
 */
export function queuedTensors(): QueuedTensors | undefined {
  if (tf.getBackend() !== 'wasm') return undefined;
  const backend = tf.backend() as unknown as FencedBackend;
  let q = byBackend.get(backend);
  if (!q) {
    let later: LaterKernels;
    try {
      later = wasmKernels(backend.wasm).later;
    } catch {
      return undefined; // no WebAssembly SIMD in this engine
    }
    q = new QueuedTensors(backend, later);
    byBackend.set(backend, q);
  }
  return q;
}
