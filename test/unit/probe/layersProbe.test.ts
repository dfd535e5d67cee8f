/**
 * Probes of TF.js layers models run through their own layers: parameters named as in the weights
 * manifest, a gradient at every layer, and the WASM backend (with the registered gradient
 * kernels) agreeing with TF.js's reference CPU kernels; at each skip the gradient at the fork
 * split into what came along the skip and what came through the branch.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openModel } from '../../../runtime/analysis/openModel';
import { analyzeSkips } from '../../../runtime/analysis/analyzeSkips';
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

  for (const name of ['sequential_cnn', 'resnet', 'densenet', 'resnet_uint8', 'unet']) {
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

  // The per-merge split, on the skips the analysis finds (one batch: means are that batch's values).
  const skipCases: { name: string; merges: number }[] = [
    { name: 'resnet', merges: 2 },
    { name: 'densenet', merges: 3 },
    { name: 'unet', merges: 2 },
    { name: 'shared', merges: 1 },
  ];
  for (const { name, merges } of skipCases) {
    it(`${name}: the gradient at each skip fork is split into skip and branch, WASM = CPU`, async () => {
      const file = path.join(root, 'test/fixtures/tfjs-layers', name, 'model.json');
      const model = await openModel(file);
      const skips = analyzeSkips(model).skips;
      const wasm = await runProbe(model, { ...opts, backend: 'wasm' });
      // The U-Net's upsampling needs the corrected ResizeNearestNeighborGrad (resizeGradKernels.ts).
      const cpu = await runProbe(model, { ...opts, backend: 'cpu' });
      assert.equal(wasm.merges.length, merges);
      assert.deepEqual(
        wasm.merges.map((m) => [m.merge, m.skip]),
        skips.map((s) => [s.merge, s.source]),
      );
      const act = new Map(wasm.activations.map((a) => [a.tensor, a]));
      wasm.merges.forEach((m, i) => {
        assert.ok(m.skipRms > 0 && m.branchRms > 0, `${m.merge}: both paths carry gradient`);
        assert.ok(Math.abs(m.skipShare - m.skipRms ** 2 / (m.skipRms ** 2 + m.branchRms ** 2)) < 1e-9);
        // skip + branch is the whole gradient at the fork: |skip − branch| ≤ total ≤ skip + branch.
        const total = act.get(m.skip)!.rms;
        assert.ok(total <= (m.skipRms + m.branchRms) * (1 + 1e-4), `${m.merge}: total ${total}`);
        assert.ok(total >= Math.abs(m.skipRms - m.branchRms) * (1 - 1e-4), `${m.merge}: total ${total}`);
        const s = skips[i];
        if (s.kind === 'residual' && !s.projection && s.skipNodes.length === 0) {
          // An identity skip into an Add carries exactly the gradient at the Add's output.
          const out = act.get(m.merge)!.rms;
          assert.ok(
            Math.abs(m.skipRms - out) <= 1e-5 * out,
            `${m.merge}: skip ${m.skipRms}, Add output ${out}`,
          );
        }
      });
      wasm.merges.forEach((m, i) => {
        const c = cpu.merges[i];
        assert.equal(m.merge, c.merge);
        assert.ok(
          Math.abs(m.skipShare - c.skipShare) <= 1e-3,
          `${m.merge}: ${m.skipShare} vs ${c.skipShare}`,
        );
      });
    });
  }
});
