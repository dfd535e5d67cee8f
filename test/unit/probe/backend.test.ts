/**
 * Backend selection: the native `tensorflow` backend is loaded at run time only from the
 * configured folder (here a stand-in package that registers a "tensorflow" backend the way
 * tfjs-node does, on the global TF.js engine), reported with its device; absent, auto falls back
 * to WASM; a missing named backend is a clear ModelError.
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { backendAvailability, initBackend } from '../../../runtime/probe/backend';
import { openModel } from '../../../runtime/analysis/openModel';
import { runProbe } from '../../../runtime/probe/runProbe';
import { isModelError } from '../../../runtime/errors';

const root = path.resolve(__dirname, '../../..');

/** A folder with node_modules/@tensorflow/tfjs-node whose entry registers "tensorflow" (backed by the CPU kernels). */
function fakeNative(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skipscope-native-'));
  const pkg = path.join(dir, 'node_modules/@tensorflow/tfjs-node');
  fs.mkdirSync(pkg, { recursive: true });
  fs.writeFileSync(
    path.join(pkg, 'package.json'),
    JSON.stringify({ name: '@tensorflow/tfjs-node', version: '4.22.0', main: 'index.js' }),
  );
  const core = require.resolve('@tensorflow/tfjs-core', { paths: [root] });
  const cpu = require.resolve('@tensorflow/tfjs-backend-cpu', { paths: [root] });
  fs.writeFileSync(
    path.join(pkg, 'index.js'),
    `const tf = require(${JSON.stringify(core)});
const { MathBackendCPU } = require(${JSON.stringify(cpu)});
for (const k of tf.getKernelsForBackend('cpu')) tf.registerKernel({ ...k, backendName: 'tensorflow' });
tf.registerBackend('tensorflow', () => new MathBackendCPU(), 3);
module.exports = { version: { 'tfjs-node': '4.22.0' } };`,
  );
  return dir;
}

describe('probe backends', () => {
  after(async () => {
    await initBackend('wasm');
  });

  it('reports native TensorFlow unavailable without a configured folder, WASM and CPU available', async () => {
    const av = await backendAvailability({});
    assert.equal(av.find((b) => b.name === 'tensorflow')?.available, false);
    assert.match(av.find((b) => b.name === 'tensorflow')!.detail, /nativeBackendPath/);
    assert.equal(av.find((b) => b.name === 'wasm')?.available, true);
    assert.equal(av.find((b) => b.name === 'cpu')?.available, true);
  });

  it('keeps TF.js advice off the console (stdout and stderr belong to the CLI and the sidecar)', async () => {
    const warnings: unknown[] = [];
    const warn = console.warn;
    console.warn = (...a: unknown[]) => warnings.push(a);
    try {
      await initBackend('cpu');
      // tfjs-backend-cpu advises installing tfjs-node on its first tensor in Node unless in PROD mode.
      tf.tensor1d([1, 2, 3]).dispose();
      assert.equal(tf.env().getBool('PROD'), true);
      assert.deepEqual(warnings, []);
    } finally {
      console.warn = warn;
      await initBackend('wasm');
    }
  });

  it('auto picks WASM when no native package is configured, and names a missing tensorflow backend', async () => {
    assert.equal((await initBackend('auto', {})).name, 'wasm');
    await assert.rejects(
      initBackend('tensorflow', { nativePath: path.join(os.tmpdir(), 'nowhere') }),
      (e: unknown) => isModelError(e) && /tensorflow/.test(e.message),
    );
  });

  it('loads @tensorflow/tfjs-node from the configured folder and runs probes on it', async () => {
    const dir = fakeNative();
    try {
      const av = await backendAvailability({ nativePath: dir });
      assert.equal(av.find((b) => b.name === 'tensorflow')?.available, true);
      const info = await initBackend('auto', { nativePath: dir });
      assert.equal(info.name, 'tensorflow');
      assert.match(info.device, /libtensorflow/);
      const model = await openModel(path.join(root, 'test/fixtures/grads/tiny_conv.onnx'));
      const r = await runProbe(model, {
        source: { kind: 'synthetic' },
        batchSize: 2,
        batches: 1,
        loss: 'mean-square',
        backend: 'tensorflow',
        nativePath: dir,
      });
      assert.equal(r.backend.name, 'tensorflow');
      assert.ok(r.params.every((p) => p.grad.l2 > 0));
    } finally {
      await initBackend('wasm');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
