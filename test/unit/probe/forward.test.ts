/**
 * Forward outputs of the gradient executor against onnxruntime-node on every ONNX fixture
 * (the fixture table test/fixtures/expected.json plus the tiny probe graphs).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { openModel } from '../../../runtime/analysis/openModel';
import { Executor } from '../../../runtime/probe/executor';
import { initBackend } from '../../../runtime/probe/backend';
import { isModelError } from '../../../runtime/errors';
import { integerFill } from '../../../runtime/probe/integerInputs';
import { testBackends, useBackend } from '../helpers/testBackends';

const ort = require('onnxruntime-node') as typeof import('onnxruntime-node');

const root = path.resolve(__dirname, '../../..');
const table = JSON.parse(fs.readFileSync(path.join(root, 'test/fixtures/expected.json'), 'utf8')) as {
  fixtures: { file: string; format: string; error?: string }[];
};
const tiny = fs
  .readdirSync(path.join(root, 'test/fixtures/grads'))
  // Recurrent fixtures (rnn_*) have their own onnxruntime checks on every backend in recurrent.test.ts.
  .filter((f) => f.endsWith('.onnx') && !f.includes('unsupported') && !f.startsWith('rnn_'))
  .map((f) => `test/fixtures/grads/${f}`);
const files = [...table.fixtures.filter((f) => f.format === 'onnx' && !f.error).map((f) => f.file), ...tiny];

/** Deterministic, non-symmetric input values. */
function pattern(n: number, phase: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + phase) + 0.1 * Math.cos(i * 1.3));
}

describe('probe executor: forward vs onnxruntime', () => {
  before(async () => {
    await initBackend('wasm');
  });

  it('covers at least the ten ONNX fixtures of the table', () => {
    assert.ok(files.length >= 10, `only ${files.length} fixtures`);
  });

  for (const backend of testBackends)
    describe(`on ${backend}`, () => {
      before(async function () {
        await useBackend(this, backend);
      });
      after(async () => {
        await initBackend('wasm');
      });

      for (const file of files) {
        it(`${file} matches onnxruntime to 1e-4 relative`, async () => {
          const model = await openModel(path.join(root, file));
          const ex = new Executor(model);
          try {
            const feeds: Record<string, tf.Tensor> = {};
            const ortFeeds: Record<string, import('onnxruntime-node').Tensor> = {};
            model.graph.inputs.forEach((name, k) => {
              const v = model.graph.values.get(name)!;
              const shape = v.shape!.map((d) => (typeof d === 'number' ? d : 2));
              const n = shape.reduce((a, b) => a * b, 1);
              if (v.dtype === 'int64' || v.dtype === 'int32') {
                // Token ids within their tables and masks of ones, as synthetic batches draw them.
                const fill = integerFill(model, name);
                const ids = Int32Array.from({ length: n }, (_, i) =>
                  'below' in fill ? (i * 7 + k) % fill.below : 1,
                );
                feeds[name] = tf.tensor(ids, shape, 'int32');
                ortFeeds[name] =
                  v.dtype === 'int64'
                    ? new ort.Tensor(
                        'int64',
                        BigInt64Array.from(ids, (x) => BigInt(x)),
                        shape,
                      )
                    : new ort.Tensor('int32', ids, shape);
                return;
              }
              const data = pattern(n, k);
              feeds[name] = tf.tensor(data, shape);
              ortFeeds[name] = new ort.Tensor('float32', data, shape);
            });
            const outs = ex.forward(feeds);
            const session = await ort.InferenceSession.create(path.join(root, file));
            const ref = await session.run(ortFeeds);
            for (const [i, o] of model.graph.outputs.entries()) {
              assert.deepEqual(outs[i].shape, ref[o].dims.map(Number), `${o} shape`);
              const a = await outs[i].data(); // async: a GPU cannot be read synchronously
              const b = ref[o].data as Float32Array;
              let err = 0;
              let mag = 0;
              for (let j = 0; j < b.length; j++) {
                err = Math.max(err, Math.abs(a[j] - b[j]));
                mag = Math.max(mag, Math.abs(b[j]));
              }
              assert.ok(err <= 1e-4 * Math.max(mag, 1e-6), `${o}: max error ${err} vs max |y| ${mag}`);
            }
            tf.dispose([...outs, ...Object.values(feeds)]);
          } finally {
            ex.dispose();
          }
        });
      }
    });

  it('names unsupported ops before anything runs', async () => {
    const file = path.join(root, 'test/fixtures/grads/tiny_unsupported.onnx');
    const model = await openModel(file);
    assert.throws(
      () => new Executor(model),
      (e: unknown) =>
        isModelError(e) && /node "[^"]*TopK[^"]*" \(TopK\)/.test(e.message) && e.message.includes(file),
    );
  });

  it('reports a channel mismatch as a ModelError naming the conv node', async () => {
    const model = await openModel(path.join(root, 'test/fixtures/grads/tiny_conv.onnx'));
    const ex = new Executor(model);
    try {
      const bad = tf.zeros([1, 5, 16, 16]);
      assert.throws(
        () => ex.forward({ [model.graph.inputs[0]]: bad }),
        (e: unknown) =>
          isModelError(e) && /node "[^"]+" \(Conv\)/.test(e.message) && /channel/.test(e.message),
      );
      bad.dispose();
    } finally {
      ex.dispose();
    }
  });
});
