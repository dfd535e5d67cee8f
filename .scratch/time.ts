import * as tf from '@tensorflow/tfjs-core';
import * as path from 'node:path';
import { openModel } from '../runtime/model/open';
import { Executor } from '../runtime/probe/executor';
import { initBackend } from '../runtime/probe/backend';
import { gradPass } from '../runtime/probe/gradPass';
import { makeLoss } from '../runtime/probe/losses';
import { readNpy } from '../runtime/probe/npy';
import { volumeSettings } from '../runtime/probe/convGrad3d';
(async () => {
  for (const [b, own] of [['wasm', true], ['wasm', false], ['cpu', false]] as const) {
    await initBackend(b);
    volumeSettings.ownKernels = own;
    for (const name of ['unet3d', 'r3d18', 'tiny_conv3d', 'tiny_pool3d']) {
      const ref = require(path.resolve(`test/fixtures/grads/${name}.json`));
      const model = await openModel(path.resolve(ref.model));
      const ex = new Executor(model);
      const x = readNpy(path.resolve(ref.input));
      const feeds = { [model.graph.inputs[0]]: tf.tensor(x.data, x.shape) };
      const t0 = Date.now();
      const s = gradPass(ex, feeds, makeLoss('mean-square', {}, model.file), []);
      const t1 = Date.now();
      gradPass(ex, feeds, makeLoss('mean-square', {}, model.file), []);
      console.log(b, own, name, t1 - t0, Date.now() - t1, 'ms', s.loss, ref.loss.value);
      ex.dispose();
    }
  }
})();
