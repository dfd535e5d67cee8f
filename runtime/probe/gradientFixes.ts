/**
 * Gradient functions that replace wrong ones in tfjs-core 4.22. Cumsum's transposes its result
 * by the permutation that would move the summed axis last, although the op never transposed the
 * input, so the gradient of a cumulative sum over any axis but the last has the wrong shape (or,
 * for square tensors, wrong values). The right one is the cumulative sum of dy in the other
 * direction, over the same axis.
 */
import * as tf from '@tensorflow/tfjs-core';

let done = false;

/** Registers the corrected gradients (once). */
export function registerGradientFixes(): void {
  if (done) return;
  done = true;
  tf.registerGradient({
    kernelName: 'Cumsum',
    gradFunc: (dy: tf.Tensor | tf.Tensor[], _saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
      const { axis, exclusive, reverse } = attrs as unknown as {
        axis: number;
        exclusive: boolean;
        reverse: boolean;
      };
      const d = Array.isArray(dy) ? dy[0] : dy;
      return { x: () => tf.cumsum(d, axis, exclusive, !reverse) };
    },
  });
}
