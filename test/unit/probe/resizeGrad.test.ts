/**
 * The gradient of nearest-neighbour resize on every backend is the adjoint of its forward op
 * (⟨resize(x), dy⟩ = ⟨x, grad(dy)⟩) for batches of several samples, up- and downsampling,
 * non-integer ratios, aligned corners and half-pixel centres. tfjs-backend-cpu 4.22's own kernel
 * fails this for every sample after the first; the probe's CPU backend registers a correct one.
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../runtime/probe/backend';

const cases: {
  x: [number, number, number, number];
  size: [number, number];
  align: boolean;
  half: boolean;
}[] = [
  { x: [2, 4, 4, 3], size: [8, 8], align: false, half: false },
  { x: [3, 5, 3, 2], size: [9, 7], align: false, half: false },
  { x: [2, 5, 5, 2], size: [9, 9], align: true, half: false },
  { x: [2, 4, 6, 2], size: [7, 11], align: false, half: true },
  { x: [2, 8, 8, 2], size: [3, 5], align: false, half: true },
];

function values(n: number, phase: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + phase) + 0.3 * Math.cos(i * 1.3));
}

describe('nearest resize gradient', () => {
  after(async () => {
    await initBackend('wasm');
  });
  for (const backend of ['cpu', 'wasm'] as const) {
    for (const c of cases) {
      it(`${backend}: ${c.x.join('×')} → ${c.size.join('×')}${c.align ? ' aligned' : ''}${c.half ? ' half-pixel' : ''} is the adjoint`, async () => {
        await initBackend(backend);
        const [fwd, back] = tf.tidy(() => {
          const x = tf.tensor4d(
            values(
              c.x.reduce((a, b) => a * b, 1),
              0,
            ),
            c.x,
          );
          const dy = tf.tensor4d(values(c.x[0] * c.size[0] * c.size[1] * c.x[3], 2), [
            c.x[0],
            ...c.size,
            c.x[3],
          ]);
          const f = (t: tf.Tensor) =>
            tf.image.resizeNearestNeighbor(t as tf.Tensor4D, c.size, c.align, c.half);
          const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t), dy)))(x);
          return [tf.sum(tf.mul(f(x), dy)).dataSync()[0], tf.sum(tf.mul(x, g)).dataSync()[0]];
        });
        assert.ok(
          Math.abs(fwd - back) <= 1e-4 * Math.max(1, Math.abs(fwd)),
          `⟨Rx, dy⟩ ${fwd}, ⟨x, Rᵀdy⟩ ${back}`,
        );
      });
    }
  }
});
