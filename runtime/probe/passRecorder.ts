/**
 * Collects the statistics of one probe pass while the backward pass runs. On the WASM backend the
 * numbers are computed at once, in place on the heap (wasm/heapStats.ts); elsewhere they are kept
 * as scalar tensors and read back in one transfer at the end (one GPU sync per pass, not one per
 * value). Shared by the ONNX executor's pass and the TF.js layers and graph runners.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { PassStats } from './gradPass';
import { heapStats, type HeapStats } from './wasm/heapStats';

/** Index into the recorded values, or -1 when nothing was recorded. */
type Slot = number;

/** Records gradients as scalars (Σg², max |g|, Σ|g|, zeros) and turns them into PassStats. */
export class PassRecorder {
  /** Numbers computed at once, or scalar tensors to read at the end. */
  private readonly values: (number | tf.Tensor)[] = [];
  private readonly params: { sumSq: Slot; maxAbs: Slot; sumAbs: Slot; size: number }[] = [];
  private readonly acts = new Map<string, { sumSq: Slot; zeros: Slot; size: number }>();
  private readonly skips: { skipSq: Slot; branchSq: Slot; size: number }[];
  private readonly heap: HeapStats | undefined = heapStats();

  /** `skipCount` skips will be split (indices 0 … skipCount − 1). */
  constructor(skipCount: number) {
    this.skips = Array.from({ length: skipCount }, () => ({ skipSq: -1, branchSq: -1, size: 0 }));
  }

  private keep(t: tf.Tensor | number): Slot {
    this.values.push(typeof t === 'number' ? t : tf.keep(t));
    return this.values.length - 1;
  }

  /** The gradient `dy` arriving at node output `name`: its energy and its exact zeros. */
  activation(name: string, dy: tf.Tensor): void {
    const s = this.heap?.grad(dy);
    this.acts.set(name, {
      sumSq: this.keep(s ? s[0] : tf.sum(tf.square(dy))),
      // size − Σ step(|g|): WASM's unary kernels beat its broadcasting Equal.
      zeros: this.keep(s ? s[3] : tf.sub(dy.size, tf.sum(tf.step(tf.abs(dy))))),
      size: dy.size,
    });
  }

  /** Skip `i`: the gradient that came back along the skip edge versus the rest of the total at the fork. */
  skip(i: number, skipDy: tf.Tensor, totalDy: tf.Tensor): void {
    const s = this.heap?.split(skipDy, totalDy);
    this.skips[i] = {
      skipSq: this.keep(s ? s[0] : tf.sum(tf.square(skipDy))),
      branchSq: this.keep(s ? s[1] : tf.sum(tf.square(tf.sub(totalDy, skipDy)))),
      size: totalDy.size,
    };
  }

  /** The next parameter's gradient (call in parameter order). */
  param(g: tf.Tensor): void {
    const s = this.heap?.grad(g);
    this.params.push({
      sumSq: this.keep(s ? s[0] : tf.sum(tf.square(g))),
      maxAbs: this.keep(s ? s[2] : tf.max(tf.abs(g))),
      sumAbs: this.keep(s ? s[1] : tf.sum(tf.abs(g))),
      size: g.size,
    });
  }

  /** Reads every recorded value (the kept scalars in one transfer, awaited: a GPU cannot be read synchronously). */
  async read(loss: number): Promise<PassStats> {
    const kept = this.values.filter((v): v is tf.Tensor => typeof v !== 'number');
    let read: ArrayLike<number> = new Float32Array();
    if (kept.length) {
      const all = tf.tidy(() => tf.stack(kept.map((s) => tf.cast(tf.reshape(s, []), 'float32'))));
      try {
        read = await all.data();
      } finally {
        all.dispose();
      }
    }
    let next = 0;
    const vals = this.values.map((v) => (typeof v === 'number' ? v : read[next++]));
    const at = (i: Slot) => (i >= 0 ? vals[i] : 0);
    return {
      loss,
      params: this.params.map((p) => ({
        sumSq: at(p.sumSq),
        maxAbs: at(p.maxAbs),
        sumAbs: at(p.sumAbs),
        size: p.size,
        finite: Number.isFinite(at(p.sumSq)),
      })),
      activations: new Map(
        [...this.acts].map(([k, v]) => [k, { sumSq: at(v.sumSq), zeros: at(v.zeros), size: v.size }]),
      ),
      skips: this.skips.map((s) => ({ skipSq: at(s.skipSq), branchSq: at(s.branchSq), size: s.size })),
    };
  }

  /** Frees the kept scalars. */
  dispose(): void {
    tf.dispose(this.values.filter((v): v is tf.Tensor => typeof v !== 'number'));
  }
}
