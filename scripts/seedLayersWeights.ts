/**
 * Seeded weights for generated TF.js layers models (scripts/make_tfjs_fixtures.ts and
 * bench/probeTfjs.ts), from the probe's own seeded generator so that they never depend on TF.js's
 * RNG: uniform convolution and dense kernels scaled by √(gain / fan-in), batch-norm variances
 * positive, gammas near 1, everything else small and signed.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { uniform } from '../runtime/probe/random';

export function seedLayersWeights(model: tfl.LayersModel, seed: number, gain: number): void {
  const next = uniform(seed);
  const values = model.weights.map((w) => {
    // Weights of a built model have fully known shapes.
    const shape = w.shape as number[];
    const n = shape.reduce((a, b) => a * b, 1);
    const fanIn = shape.length > 1 ? shape.slice(0, -1).reduce((a, b) => a * b, 1) : 1;
    const scale = shape.length > 1 ? Math.sqrt(gain / fanIn) : 0.1;
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const u = 2 * next() - 1;
      if (w.name.includes('moving_variance')) data[i] = 0.5 + next();
      else if (w.name.includes('gamma')) data[i] = 1 + 0.1 * u;
      else data[i] = scale * u;
    }
    return tf.tensor(data, shape);
  });
  model.setWeights(values);
  tf.dispose(values);
}
