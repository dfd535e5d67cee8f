/**
 * A closed model gives its probe runner back: the parameters the runner keeps in backend memory
 * for the next probe go when the model is closed, right away or, when a run is using them, as
 * soon as that run ends (a close in the middle of a run does not pull the weights from under it).
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { openModel } from '../../../runtime/analysis/openModel';
import { releaseExecutor, releaseRunnerOf, runProbe } from '../../../runtime/probe/runProbe';
import type { ProbeOptions } from '../../../runtime/probe/probeTypes';
import { useBackend } from '../helpers/testBackends';

const root = path.resolve(__dirname, '../../..');
const opts: ProbeOptions = {
  source: { kind: 'synthetic', seed: 1 },
  batchSize: 2,
  batches: 3,
  loss: 'mean-square',
  backend: 'wasm',
  threads: 1,
};

describe('the probe runner of a closed model', () => {
  before(async function () {
    await useBackend(this, 'wasm');
  });

  for (const file of [
    'test/fixtures/grads/tiny_conv.onnx',
    'test/fixtures/tfjs-layers/sequential_cnn/model.json',
  ])
    it(`is freed when ${path.basename(path.dirname(file))}/${path.basename(file)} closes, after the run using it`, async () => {
      releaseExecutor(); // the runner an earlier test left, which the first run here would free
      const tensors = tf.memory().numTensors;
      const model = await openModel(path.join(root, file));
      await runProbe(model, opts);
      assert.ok(tf.memory().numTensors > tensors, 'the runner keeps its parameters for the next probe');
      releaseRunnerOf(model);
      assert.equal(tf.memory().numTensors, tensors);

      // Closed during a run: the run goes on to the end on its weights, which go afterwards.
      let during = -1;
      const result = await runProbe(model, opts, {
        onProgress: (done) => {
          if (done !== 1) return;
          releaseRunnerOf(model);
          during = tf.memory().numTensors;
        },
      });
      assert.equal(result.loss.values.length, 3);
      assert.ok(during > tensors, 'the weights stayed while the run used them');
      assert.equal(tf.memory().numTensors, tensors);
    });
});
