/**
 * TF.js runners differentiate with tf.variableGrads, which refuses an empty list: a model without
 * parameters then differentiates with respect to its float inputs, held for the pass in
 * temporary variables, so that the gradients at its node outputs still flow and are measured.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ModelError } from '../errors';

/** The inputs to feed (float ones as variables) and the variables; call dispose() after the pass. */
export function inputVariables(
  inputs: tf.Tensor[],
  file: string,
): { feeds: tf.Tensor[]; vars: tf.Variable[]; dispose(): void } {
  const vars: tf.Variable[] = [];
  const feeds = inputs.map((t) => {
    if (t.dtype !== 'float32') return t;
    const v = tf.variable(t, true);
    vars.push(v);
    return v;
  });
  if (vars.length === 0)
    throw new ModelError(
      `${file}: the model has no parameters and no floating-point input, so there is no gradient to measure.`,
      file,
    );
  return { feeds, vars, dispose: () => vars.forEach((v) => v.dispose()) };
}
