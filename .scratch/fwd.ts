import * as tf from '@tensorflow/tfjs-core';
import { openModel } from '../runtime/model/open';
import { Executor } from '../runtime/probe/executor';
import { initBackend } from '../runtime/probe/backend';
const ort = require('onnxruntime-node');
(async () => {
  await initBackend((process.argv[3] as 'wasm' | 'cpu') ?? 'wasm');
  const model = await openModel(process.argv[2]);
  const ex = new Executor(model);
  const name = model.graph.inputs[0];
  const shape = model.graph.values.get(name)!.shape!.map((d) => (typeof d === 'number' ? d : 2));
  const n = shape.reduce((a, b) => a * b, 1);
  const data = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) + 0.1 * Math.cos(i * 1.3));
  const outs = ex.forward({ [name]: tf.tensor(data, shape) });
  const s = await ort.InferenceSession.create(process.argv[2]);
  const ref = await s.run({ [name]: new ort.Tensor('float32', data, shape) });
  model.graph.outputs.forEach((o, i) => {
    const a = outs[i].dataSync(); const b = ref[o].data as Float32Array;
    let err = 0, mag = 0;
    for (let j = 0; j < b.length; j++) { err = Math.max(err, Math.abs(a[j] - b[j])); mag = Math.max(mag, Math.abs(b[j])); }
    console.log(o, JSON.stringify(outs[i].shape), JSON.stringify(ref[o].dims), err.toExponential(2), mag.toFixed(3));
  });
})();
