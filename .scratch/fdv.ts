import * as tf from '@tensorflow/tfjs-core';
import { openModel } from '../runtime/model/open';
import { Executor } from '../runtime/probe/executor';
import { initBackend } from '../runtime/probe/backend';
import { makeLoss } from '../runtime/probe/losses';
(async () => {
  await initBackend(process.argv[2] as 'wasm');
  const model = await openModel('test/fixtures/grads/tiny_volume_variants.onnx');
  const ex = new Executor(model);
  const name = model.graph.inputs[0];
  const shape = [2, 2, 5, 7, 6];
  const n = shape.reduce((a, b) => a * b, 1);
  const base = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) + 0.01 * i);
  const loss = makeLoss('mean-square', {}, model.file);
  const outs = (x: tf.Tensor) => ex.run({ [name]: x }, { inputs: new Set([name]) }, new Map()).map((v) => v.nat());
  const x0 = tf.tensor(base, shape);
  const g = tf.grad((x: tf.Tensor) => loss(outs(x)))(x0).dataSync();
  // per-output contribution
  for (const idx of process.argv.slice(3).map(Number)) {
    const per = model.graph.outputs.map((o, k) => {
      const gk = tf.grad((x: tf.Tensor) => tf.mean(tf.square(outs(x)[k])))(x0).dataSync()[idx];
      const at = (d: number) => { const v = Float64Array.from(base); v[idx] += d; return tf.tidy(() => tf.mean(tf.square(outs(tf.tensor(Float32Array.from(v), shape))[k])).dataSync()[0]); };
      const fd = [1e-2, 1e-3].map((h) => (at(h) - at(-h)) / (2 * h));
      return `${o}: ${gk.toExponential(3)} fd ${fd.map((v) => v.toExponential(3)).join(' ')}`;
    });
    console.log(idx, g[idx], '\n ', per.filter((s) => !s.includes(' 0.000e+0 fd 0.000e+0 0.000e+0')).join('\n  '));
  }
})();
