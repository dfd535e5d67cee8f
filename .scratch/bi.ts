import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../runtime/probe/backend';
const vals = (n: number, ph: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.7 + ph));
(async () => {
  const cases: [number[], number[], number[]][] = [
    // dyShape (n, d, h, w, co), filter [kd, kh, kw, ci, co], strides
    [[1, 2, 2, 2, 1], [2, 2, 2, 1, 1], [2, 2, 2]],
    [[1, 2, 2, 2, 2], [3, 3, 3, 3, 2], [2, 2, 2]],
    [[1, 2, 2, 2, 1], [3, 3, 3, 1, 1], [2, 2, 2]],
    [[1, 2, 2, 2, 1], [3, 3, 3, 1, 1], [1, 1, 1]],
    [[1, 3, 2, 2, 1], [3, 1, 1, 1, 1], [2, 1, 1]],
    [[1, 2, 3, 2, 1], [1, 3, 1, 1, 1], [1, 2, 1]],
    [[1, 2, 2, 3, 1], [1, 1, 3, 1, 1], [1, 1, 2]],
  ];
  for (const [dyS, fS, s] of cases) {
    const out: number[][] = [];
    for (const b of ['cpu', 'wasm'] as const) {
      await initBackend(b);
      const dy = tf.tensor(vals(dyS.reduce((a, c) => a * c), 0), dyS);
      const f = tf.tensor(vals(fS.reduce((a, c) => a * c), 1), fS);
      const full = [0, 1, 2].map((i) => s[i] * (dyS[1 + i] - 1) + fS[i]);
      const y = tf.engine().runKernel('Conv3DBackpropInputV2', { dy, filter: f }, { strides: s, pad: 'valid', inputShape: [dyS[0], ...full, fS[3]] }) as tf.Tensor;
      out.push(Array.from(y.dataSync()));
    }
    const err = Math.max(...out[0].map((v, i) => Math.abs(v - out[1][i])));
    console.log(JSON.stringify(dyS), JSON.stringify(fS), JSON.stringify(s), err);
  }
})();
