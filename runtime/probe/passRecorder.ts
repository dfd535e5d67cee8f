/**
 * Collects the statistics of one probe pass while the backward pass runs, through the backend's
 * statistics kernels (statsKernels.ts): on WASM the numbers are computed at once, in place on the
 * heap; elsewhere they wait as small tensors that are read back in one transfer at the end (one
 * GPU sync per pass, not one per value). Shared by the ONNX executor's pass and the TF.js layers
 * and graph runners.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { PassStats } from './gradPass';
import type { Direction } from './probeTypes';
import { statsKernels, type Later, type Moments, type Split, type StatsKernels } from './statsKernels';

/** A statistic being recorded: its value once known. */
interface Slot<T> {
  value?: T;
}

const NONE: Moments = { sumSq: 0, sumAbs: 0, maxAbs: 0, zeros: 0, nonFinite: 0 };

/** Records gradients (moments, skip splits) and turns them into PassStats. */
export class PassRecorder {
  /** Statistics whose scalars are still on the backend. */
  private readonly pending: { tensor: tf.Tensor1D; finish(v: ArrayLike<number>): void }[] = [];
  private readonly params: { m: Slot<Moments>; size: number }[] = [];
  /** By value name, in the order the gradients arrived (the backward order). */
  private readonly acts = new Map<string, { m: Slot<Moments>; size: number }>();
  private readonly skips: { s: Slot<Split>; size: number }[];
  /** Per recurrent node and direction: the gradient at each step's hidden state (sequence order). */
  private readonly steps = new Map<string, { node: string; direction: Direction; m: Slot<Moments>[] }>();
  /** Queued for the kernel threads where more than one runs (the pass goes on meanwhile). */
  private readonly kernels: StatsKernels = statsKernels(true);
  /** Statistics computed by queued kernel calls, read once the queue settles. */
  private readonly queued: (() => void)[] = [];

  /** `skipCount` skips will be split (indices 0 … skipCount − 1). */
  constructor(skipCount: number) {
    this.skips = Array.from({ length: skipCount }, () => ({ s: {}, size: 0 }));
  }

  private slot<T>(v: Later<T>): Slot<T> {
    if ('now' in v) return { value: v.now };
    if ('value' in v) {
      const slot: Slot<T> = {};
      this.queued.push(() => (slot.value = v.value()));
      return slot;
    }
    const slot: Slot<T> = {};
    this.pending.push({ tensor: tf.keep(v.tensor), finish: (x) => (slot.value = v.finish(x)) });
    return slot;
  }

  /** The gradient `dy` arriving at node output `name`: its energy, exact zeros and NaN/Inf. */
  activation(name: string, dy: tf.Tensor): void {
    this.acts.set(name, { m: this.slot(this.kernels.moments(dy)), size: dy.size });
  }

  /** Skip `i`: the gradient that came back along the skip edge versus the rest of the total at the fork. */
  skip(i: number, skipDy: tf.Tensor, totalDy: tf.Tensor): void {
    this.skips[i] = { s: this.slot(this.kernels.split(skipDy, totalDy)), size: totalDy.size };
  }

  /** Step `t` of a recurrent node's direction ran in the forward pass (its gradient may follow). */
  step(node: string, direction: Direction, t: number): void {
    const key = `${node}\u0000${direction}`;
    let e = this.steps.get(key);
    if (!e) this.steps.set(key, (e = { node, direction, m: [] }));
    while (e.m.length <= t) e.m.push({});
  }

  /** The gradient `dy` reaching the hidden state of step `t` (see step()). */
  timestep(node: string, direction: Direction, t: number, dy: tf.Tensor): void {
    const e = this.steps.get(`${node}\u0000${direction}`);
    if (e) e.m[t] = this.slot(this.kernels.moments(dy));
  }

  /** The next parameter's gradient (call in parameter order). */
  param(g: tf.Tensor): void {
    this.params.push({ m: this.slot(this.kernels.moments(g)), size: g.size });
  }

  /** Whether every queued kernel call of the pass is known done (settle() ran since). */
  private settled = false;

  /**
   * Waits for every queued kernel call (this pass's and any later one's), and throws when one
   * failed. A later pass calls it between its forward and backward passes (gradPass.ts).
   */
  settle(): void {
    this.kernels.settle?.();
    this.settled = true;
  }

  /** Reads every recorded value (the pending scalars in one transfer, awaited: a GPU cannot be read synchronously). */
  async read(loss: number): Promise<PassStats> {
    // Settled already by a later pass: waiting again would wait for that pass's queued calls too.
    if (!this.settled) this.settle();
    for (const f of this.queued.splice(0)) f();
    if (this.pending.length) {
      const joined = tf.tidy(() => tf.concat(this.pending.map((p) => p.tensor)));
      let all: Float32Array;
      try {
        all = (await joined.data()) as Float32Array;
      } finally {
        joined.dispose();
      }
      let at = 0;
      for (const p of this.pending) {
        p.finish(all.subarray(at, at + p.tensor.size));
        at += p.tensor.size;
      }
    }
    const m = (s: Slot<Moments>) => s.value ?? NONE;
    return {
      loss,
      params: this.params.map((p) => ({ ...m(p.m), size: p.size })),
      activations: new Map([...this.acts].map(([k, v]) => [k, { ...m(v.m), size: v.size }])),
      skips: this.skips.map((s) => ({ ...(s.s.value ?? { skipSq: 0, branchSq: 0 }), size: s.size })),
      timesteps: [...this.steps.values()].map((e) => ({
        node: e.node,
        direction: e.direction,
        sumSq: e.m.map((x) => m(x).sumSq),
      })),
    };
  }

  /** Frees the pending scalars (after the queued statistics, which read tensors of the pass). */
  dispose(): void {
    this.queued.length = 0;
    try {
      if (!this.settled) this.settle();
    } catch {
      // A failed kernel thread has failed the pass already, or read() reported it.
    }
    tf.dispose(this.pending.map((p) => p.tensor));
    this.pending.length = 0;
  }
}
