/**
 * Layout helpers shared by the op implementations: elementwise ops follow the NHWC layout of
 * their 4-D inputs so that conv → bias/activation → add chains never transpose.
 */
import * as tf from '@tensorflow/tfjs-core';
import { NHWC_AXIS, Val, nat, nhwc } from '../val';
import type { OpContext } from './opContext';

/**
 * Reads inputs `idx` for an elementwise (broadcasting) op. When some input is an NHWC tensor and
 * none has more than 4 dims, every input is brought to NHWC (lower ranks are padded with leading
 * 1s the way numpy broadcasting aligns them, then permuted); otherwise all come in ONNX layout.
 */
export function broadcastInputs(c: OpContext, idx: number[]): { ts: tf.Tensor[]; nhwc: boolean } {
  const vals = idx.map((i) => c.val(i));
  const useNhwc = vals.some((v) => v.nhwc) && vals.every((v) => v.rank <= 4);
  if (!useNhwc) return { ts: vals.map((v) => v.nat()), nhwc: false };
  const ts = vals.map((v) => {
    if (v.rank === 4) return v.phys();
    const t = v.nat();
    if (t.size === 1) return t.rank === 0 ? t : tf.reshape(t, []);
    const s4 = [...Array(4 - t.rank).fill(1), ...t.shape];
    return tf.transpose(tf.reshape(t, s4), [0, 2, 3, 1]);
  });
  return { ts, nhwc: true };
}

/** Wraps a result in the layout chosen by broadcastInputs. */
export function wrap(t: tf.Tensor, asNhwc: boolean): Val {
  return asNhwc && t.rank === 4 ? nhwc(t) : nat(t);
}

/** Maps a logical axis (possibly negative) to its physical axis in `v`. */
export function physAxis(v: Val, axis: number): number {
  const a = axis < 0 ? axis + v.rank : axis;
  return v.nhwc ? NHWC_AXIS[a] : a;
}

/** Normalises a possibly negative axis. */
export function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}
