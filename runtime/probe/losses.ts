/**
 * The losses a probe differentiates (DESIGN.md): mean-square (default), sum, cross-entropy
 * against seeded or given labels, mse against a given target.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ModelError } from '../errors';
import type { LossKind } from './probeTypes';
import type { LossFn } from './gradPass';

/** What a loss needs besides the outputs. */
export interface LossInputs {
  /** Class index per sample (cross-entropy). */
  labels?: Int32Array;
  /** Target for mse, same shape as the first output. */
  target?: tf.Tensor;
}

/** Moves the class axis (1) last and flattens: [N, C, …] → [N·…, C]. */
function classLast(logits: tf.Tensor): tf.Tensor2D {
  if (logits.rank === 2) return logits as tf.Tensor2D;
  const perm = [0, ...Array.from({ length: logits.rank - 2 }, (_, i) => i + 2), 1];
  return tf.reshape(tf.transpose(logits, perm), [-1, logits.shape[1]!]) as tf.Tensor2D;
}

/**
 * mean(x²), whose value overflows or underflows only where the mean itself leaves float32's range:
 * squares of float32 values overflow past ~1.8e19, so the mean is taken of (x/m)², m = max |x|,
 * and scaled back as (m · rms)². Its gradient is the plain 2x/n.
 */
export function meanSquare(x: tf.Tensor): tf.Scalar {
  const f = tf.customGrad(((v: tf.Tensor, save: (ts: tf.Tensor[]) => void) => {
    save([v]);
    const value = tf.tidy(() => {
      const m = tf.max(tf.abs(v));
      const d = tf.where(tf.greater(m, 0), m, tf.onesLike(m));
      // A sum then one division, not tf.mean: the WASM backend's Mean adds in float32 one value
      // after the other (off by 1.6e-3 over a GPT head's 2M logits), its Sum of every value in f64
      // blocks (wasm/sumKernel.ts).
      const sq = tf.sum(tf.square(tf.div(v, d)));
      const scaled = tf.square(tf.mul(d, tf.sqrt(tf.div(sq, v.size))));
      // An infinite x makes x/m NaN; the mean of its square is infinite.
      return tf.where(tf.isInf(m), m, scaled);
    });
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, tf.mul(saved[0], 2 / saved[0].size)),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x) as tf.Scalar;
}

/** Inputs one addN takes at most: the WASM backend's AddN overruns its heap past ~16,000. */
const ADD_N_MAX = 1024;

/** The sum of `ts` (of one shape), in addN calls of at most ADD_N_MAX inputs (a model may have 100,000 outputs). */
function addMany(ts: tf.Tensor[]): tf.Tensor {
  if (ts.length === 0) throw new Error('addMany of no tensors');
  if (ts.length <= ADD_N_MAX) return ts.length === 1 ? ts[0] : tf.addN(ts);
  const parts: tf.Tensor[] = [];
  for (let i = 0; i < ts.length; i += ADD_N_MAX) parts.push(addMany(ts.slice(i, i + ADD_N_MAX)));
  return addMany(parts);
}

/** Builds the loss function; `file` names the model in errors. */
export function makeLoss(kind: LossKind, extra: LossInputs, file: string): LossFn {
  switch (kind) {
    case 'mean-square':
      // Each output's share divided first, so that the sum of K shares cannot overflow where their mean does not.
      return (outs) => addMany(outs.map((y) => tf.div(meanSquare(y), outs.length))) as tf.Scalar;
    case 'sum':
      return (outs) => addMany(outs.map((y) => tf.sum(y))) as tf.Scalar;
    case 'cross-entropy':
      return (outs) => {
        const logits = classLast(outs[0]);
        const [rows, classes] = logits.shape;
        const labels = extra.labels;
        if (!labels || labels.length !== rows)
          throw new ModelError(
            `${file}: cross-entropy needs ${rows} labels (one per sample${outs[0].rank > 2 ? ' and position' : ''}), got ${labels?.length ?? 0}.`,
            file,
          );
        const bad = labels.findIndex((l) => l < 0 || l >= classes);
        if (bad >= 0)
          throw new ModelError(
            `${file}: label ${labels[bad]} (sample ${bad}) is outside 0…${classes - 1}.`,
            file,
          );
        const onehot = tf.oneHot(tf.tensor1d(labels, 'int32'), classes);
        return tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(logits), onehot), 1))) as tf.Scalar;
      };
    case 'mse':
      return (outs) => {
        const t = extra.target;
        if (!t)
          throw new ModelError(
            `${file}: the mse loss needs a target (.npy with the first output's shape).`,
            file,
          );
        if (t.shape.join(',') !== outs[0].shape.join(','))
          throw new ModelError(
            `${file}: the mse target has shape [${t.shape}] but the first output has shape [${outs[0].shape}].`,
            file,
          );
        return meanSquare(tf.sub(outs[0], t));
      };
  }
}
