import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../runtime/probe/backend';
(async () => {
  for (const b of ['cpu', 'wasm'] as const) {
    await initBackend(b);
    const x = tf.tensor5d([-1, -2, -3, -4, -5, -6, -7, -8], [1, 2, 2, 2, 1]);
    console.log(b, Array.from(tf.maxPool3d(x, 2, 1, 'valid').dataSync()), Array.from(tf.maxPool3d(tf.neg(x) as tf.Tensor5D, 2, 1, 'valid').dataSync()));
    const y = tf.tensor5d([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3, 1]);
    console.log(b, Array.from(tf.maxPool3d(y, [1, 2, 2], [1, 2, 2], 'valid').dataSync()), Array.from(tf.maxPool3d(y, [1, 3, 3], [1, 1, 1], 'valid').dataSync()));
  }
})();
