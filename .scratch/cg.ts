import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../runtime/probe/backend';
const vals = (n: number, ph: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.7 + ph));
(async () => {
  const cases: [number[], number[], number[]][] = [
    [[1, 5, 5, 5, 2], [3, 3, 3, 2, 3], [1, 1, 1]],
    [[1, 5, 5, 5, 2], [3, 3, 3, 2, 3], [2, 2, 2]],
    [[2, 4, 6, 5, 3], [2, 2, 2, 3, 2], [2, 2, 2]],
    [[1, 5, 5, 5, 1], [1, 1, 1, 1, 1], [2, 1, 1]],
  ];
  for (const [xS, fS, s] of cases) {
    const out: number[][][] = [];
    for (const b of ['cpu', 'wasm'] as const) {
      await initBackend(b);
      const x = tf.tensor(vals(xS.reduce((a, c) => a * c), 0), xS) as tf.Tensor5D;
      const f = tf.tensor(vals(fS.reduce((a, c) => a * c), 1), fS) as tf.Tensor5D;
      const g = tf.grads((a: tf.Tensor, w: tf.Tensor) => tf.sum(tf.square(tf.conv3d(a as tf.Tensor5D, w as tf.Tensor5D, s as [number, number, number], 'valid'))))([x, f]);
      const y = tf.conv3d(x, f, s as [number, number, number], 'valid');
      out.push([Array.from(y.dataSync()), Array.from(g[0].dataSync()), Array.from(g[1].dataSync())]);
    }
    const err = (k: number) => Math.max(...out[0][k].map((v, i) => Math.abs(v - out[1][k][i])));
    console.log(JSON.stringify(xS), JSON.stringify(fS), JSON.stringify(s), 'y', err(0), 'dx', err(1), 'dw', err(2));
  }
  // pools
  for (const b of ['cpu', 'wasm'] as const) {
    await initBackend(b);
    const x = tf.tensor(vals(2 * 5 * 6 * 7 * 3, 0), [2, 5, 6, 7, 3]) as tf.Tensor5D;
    const ga = tf.grad((a: tf.Tensor) => tf.sum(tf.square(tf.avgPool3d(a as tf.Tensor5D, [2, 3, 2], [2, 1, 2], 'valid'))))(x);
    const gm = tf.grad((a: tf.Tensor) => tf.sum(tf.square(tf.maxPool3d(a as tf.Tensor5D, [2, 3, 2], [2, 1, 2], 'valid'))))(x);
    console.log(b, 'avg grad sum', tf.sum(tf.abs(ga)).dataSync()[0], tf.sum(tf.mul(ga, x)).dataSync()[0], 'max grad', tf.sum(tf.mul(gm, x)).dataSync()[0]);
  }
})();
