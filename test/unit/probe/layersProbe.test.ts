/**
 * Probes of TF.js layers models run through their own layers: parameters named as in the weights
 * manifest, a gradient at every layer, and the WASM backend (with the registered gradient
 * kernels) agreeing with TF.js's reference CPU kernels.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openModel } from '../../../runtime/model/open';
import { runProbe, releaseExecutor } from '../../../runtime/probe/runProbe';
import { initBackend } from '../../../runtime/probe/backend';
import type { ProbeOptions } from '../../../runtime/probe/probeTypes';

const root = path.resolve(__dirname, '../../..');
const opts: ProbeOptions = {
  source: { kind: 'synthetic', seed: 3 },
  batchSize: 2,
  batches: 1,
  loss: 'mean-square',
};

describe('probes of TF.js layers models', () => {
  after(async () => {
    releaseExecutor();
    await initBackend('wasm');
  });

  for (const name of ['sequential_cnn', 'resnet', 'densenet', 'resnet_uint8']) {
    it(`${name}: manifest-named parameters, per-layer gradients, WASM = CPU`, async () => {
      const file = path.join(root, 'test/fixtures/tfjs-layers', name, 'model.json');
      const manifest = JSON.parse(fs.readFileSync(file, 'utf8')).weightsManifest.flatMap(
        (g: { weights: { name: string }[] }) => g.weights.map((w) => w.name),
      ) as string[];
      const model = await openModel(file);
      const wasm = await runProbe(model, { ...opts, backend: 'wasm' });
      const cpu = await runProbe(model, { ...opts, backend: 'cpu' });
      assert.equal(wasm.backend.name, 'wasm');
      assert.equal(cpu.backend.name, 'cpu');
      assert.ok(wasm.params.length > 0);
      for (const p of wasm.params) assert.ok(manifest.includes(p.name), `${p.name} is not a manifest weight`);
      assert.ok(wasm.activations.length >= wasm.params.length / 2);
      assert.ok(Math.abs(wasm.loss.values[0] - cpu.loss.values[0]) <= 1e-4 * Math.abs(cpu.loss.values[0]));
      wasm.params.forEach((p, i) => {
        const c = cpu.params[i];
        assert.equal(p.name, c.name);
        if (c.grad.l2 < 1e-9) return;
        assert.ok(
          Math.abs(p.grad.l2 - c.grad.l2) <= 1e-3 * c.grad.l2,
          `${p.name}: ${p.grad.l2} vs ${c.grad.l2}`,
        );
      });
    });
  }
});
