/**
 * The probe's tensor statistics as TF.js ops, for every backend without kernels of its own (CPU,
 * native TensorFlow, WebGPU). Squares of float32 values overflow past ~1.8e19 and underflow below
 * ~1e-19, so the sums are taken of x / m, m the largest magnitude (as BLAS nrm2 scales), and
 * multiplied back by m² in float64 once read: exact wherever the result is, whatever the backend's
 * float32 accumulation. Nothing is read here: the scalars wait for the recorder's single transfer.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Moments, Split, StatsKernels } from './statsKernels';

/** x as float32. */
const float = (x: tf.Tensor) => (x.dtype === 'float32' ? x : tf.cast(x, 'float32'));

/** m where positive, else 1 (all zeros, or m NaN/Inf, whose results `finish` replaces). */
const divisor = (m: tf.Tensor) => tf.where(tf.greater(m, 0), m, tf.onesLike(m));

/** Sum of a boolean tensor as a float32 count. */
const count = (b: tf.Tensor) => tf.sum(tf.cast(b, 'float32'));

/** Moments and splits by TF.js ops, scaled by the largest magnitude. */
export const opStats: StatsKernels = {
  moments(t) {
    // An empty tensor has no largest magnitude to scale by (its max is −Infinity).
    if (t.size === 0) return { now: { sumSq: 0, sumAbs: 0, maxAbs: 0, zeros: 0, nonFinite: 0 } };
    const tensor = tf.tidy(() => {
      const x = float(t);
      const a = tf.abs(x);
      const m = tf.max(a);
      const r = tf.div(a, divisor(m));
      return tf.stack([
        m,
        tf.sum(tf.square(r)),
        tf.sum(r),
        count(tf.equal(a, 0)),
        tf.sub(x.size, count(tf.isFinite(x))),
        // NaN exactly when some x is NaN (a sum of magnitudes gains no NaN of its own).
        tf.sum(a),
      ]) as tf.Tensor1D;
    });
    return {
      tensor,
      finish: (v): Moments => {
        const [m, sq, ab, zeros, nonFinite, plain] = Array.from(v);
        if (nonFinite > 0) {
          const bad = Number.isNaN(plain) ? NaN : Infinity;
          return { sumSq: bad, sumAbs: bad, maxAbs: bad, zeros, nonFinite };
        }
        return { sumSq: m * m * sq, sumAbs: m * ab, maxAbs: m, zeros, nonFinite };
      },
    };
  },

  split(skip, total) {
    if (total.size === 0) return { now: { skipSq: 0, branchSq: 0 } };
    const tensor = tf.tidy(() => {
      const [s, t] = [float(skip), float(total)];
      const m = tf.maximum(tf.max(tf.abs(s)), tf.max(tf.abs(t)));
      const d = divisor(m);
      const sk = tf.div(s, d);
      // t/m − s/m cannot overflow where t − s could.
      const br = tf.sub(tf.div(t, d), sk);
      return tf.stack([m, tf.sum(tf.square(sk)), tf.sum(tf.square(br))]) as tf.Tensor1D;
    });
    return {
      tensor,
      finish: (v): Split => {
        const [m, sk, br] = Array.from(v);
        // A NaN or Inf anywhere leaves the split undefined: NaN, which the report names as such.
        if (!Number.isFinite(m)) return { skipSq: NaN, branchSq: NaN };
        return { skipSq: m * m * sk, branchSq: m * m * br };
      },
    };
  },
};
