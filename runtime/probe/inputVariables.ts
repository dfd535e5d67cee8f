/**
 * TF.js runners differentiate with tf.variableGrads, which refuses an empty list: a model without
 * parameters then differentiates with respect to its float inputs, held for the pass in
 * temporary variables, so that the gradients at its node outputs still flow and are measured.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ModelError } from '../errors';

/**
 * The inputs to feed (float ones as variables), the variables and the position of each among the
 * inputs (so that its gradient is recorded as the input's); call dispose() after the pass.
 */
export function inputVariables(
  inputs: tf.Tensor[],
  file: string,
): { feeds: tf.Tensor[]; vars: tf.Variable[]; index: number[]; dispose(): void } {
  const vars: tf.Variable[] = [];
  const index: number[] = [];
  const feeds = inputs.map((t, i) => {
    if (t.dtype !== 'float32') return t;
    const v = tf.variable(t, true);
    vars.push(v);
    index.push(i);
    return v;
  });
  if (vars.length === 0)
    throw new ModelError(
      `${file}: the model has no parameters and no floating-point input, so there is no gradient to measure.`,
      file,
    );
  return { feeds, vars, index, dispose: () => vars.forEach((v) => v.dispose()) };
}
