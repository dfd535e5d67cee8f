import * as tf from '@tensorflow/tfjs-core';
import { openModel } from '../runtime/model/open';
import { Executor } from '../runtime/probe/executor';
import { initBackend } from '../runtime/probe/backend';
const ort = require('onnxruntime-node');
(async () => {
  await initBackend((process.argv[4] as 'wasm' | 'cpu') ?? 'wasm');
  require('../runtime/probe/convGrad3d').volumeSettings.ownKernels = process.env.OWN !== '0';
  const model = await openModel(process.argv[2]);
  const full = process.argv[3];
  const ex = new Executor(model);
  const name = model.graph.inputs[0];
  const shape = model.graph.values.get(name)!.shape!.map((d) => (typeof d === 'number' ? d : 2));
  const n = shape.reduce((a, b) => a * b, 1);
  const data = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) + 0.1 * Math.cos(i * 1.3));
  const vals = new Map<string, Float32Array>();
  const shapes = new Map<string, number[]>();
  tf.tidy(() => {
    ex.run({ [name]: tf.tensor(data, shape) }, { value: (nm, t) => t });
  });
  // re-run capturing nat values via hooks on Val: use value hook (physical); rank-5 are nat
  tf.tidy(() => {
    ex.run({ [name]: tf.tensor(data, shape) }, { value: (nm, t) => { vals.set(nm, t.dataSync() as Float32Array); shapes.set(nm, t.shape); return t; } });
  });
  const s = await ort.InferenceSession.create(full);
  const ref = await s.run({ [name]: new ort.Tensor('float32', data, shape) });
  for (const node of model.graph.nodes) {
    for (const o of node.outputs) {
      const a = vals.get(o); const r = ref[o];
      if (!a || !r) continue;
      let err = 0, mag = 0;
      const b = r.data as Float32Array;
      for (let j = 0; j < b.length; j++) { err = Math.max(err, Math.abs(a[j] - b[j])); mag = Math.max(mag, Math.abs(b[j])); }
      console.log(node.op.padEnd(22), o.padEnd(40), JSON.stringify(shapes.get(o)), JSON.stringify(r.dims), err.toExponential(2), mag.toFixed(3));
    }
  }
})();
