/**
 * Gradient functions TF.js lacks for ops whose outputs carry no gradient (comparisons, logic,
 * arg-max): without them, a Where whose condition depends on a parameter stops the whole backward
 * pass. Their inputs get zeros, as in PyTorch.
 */
import * as tf from '@tensorflow/tfjs-core';

const BINARY = [
  'Equal',
  'NotEqual',
  'Greater',
  'GreaterEqual',
  'Less',
  'LessEqual',
  'LogicalAnd',
  'LogicalOr',
  'LogicalXor',
];
const UNARY = ['LogicalNot', 'IsNan', 'IsInf', 'IsFinite', 'ArgMax', 'ArgMin'];

let done = false;

/** Registers the zero gradients once (only where TF.js has none). */
export function registerZeroGradients(): void {
  if (done) return;
  done = true;
  for (const kernelName of BINARY) {
    if (tf.getGradient(kernelName)) continue;
    tf.registerGradient({
      kernelName,
      inputsToSave: ['a', 'b'],
      gradFunc: (_dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => ({
        a: () => tf.zerosLike(saved[0]),
        b: () => tf.zerosLike(saved[1]),
      }),
    });
  }
  for (const kernelName of UNARY) {
    if (tf.getGradient(kernelName)) continue;
    tf.registerGradient({
      kernelName,
      inputsToSave: ['x'],
      gradFunc: (_dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => ({ x: () => tf.zerosLike(saved[0]) }),
    });
  }
}
