/**
 * Probes of TF.js graph models through tfjs-converter's executor: parameters named as in the
 * weights manifest, gradients that agree with central finite differences of the same executor's
 * loss on a real graph model (emotion), a gradient at every node output, and the whole probe
 * run (statistics, the skip/branch split at every skip, WASM against the reference CPU kernels)
 * on both graph fixtures.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { openModel } from '../../../runtime/analysis/openModel';
import { analyzeSkips } from '../../../runtime/analysis/analyzeSkips';
import type { Model } from '../../../runtime/model/ir';
import { initBackend } from '../../../runtime/probe/backend';
import {
  disposeGraphRunner,
  graphGradPass,
  graphLoss,
  loadGraphRunner,
} from '../../../runtime/probe/graphRunner';
import { makeLoss } from '../../../runtime/probe/losses';
import { releaseExecutor, runProbe } from '../../../runtime/probe/runProbe';

const root = path.resolve(__dirname, '../../..');
const fixtures = ['emotion/emotion.json', 'blazeface/blazeface.json'].map((f) =>
  path.join(root, 'test/fixtures/tfjs-graph', f),
);

/** Floating-point weights of the manifest, by name. */
function manifestFloats(file: string): Map<string, number[]> {
  const json = JSON.parse(fs.readFileSync(file, 'utf8')) as {
    weightsManifest: { weights: { name: string; dtype: string; shape: number[] }[] }[];
  };
  return new Map(
    json.weightsManifest
      .flatMap((g) => g.weights)
      .filter((w) => w.dtype === 'float32')
      .map((w) => [w.name, w.shape]),
  );
}

describe('probes of TF.js graph models', function () {
  this.timeout(120_000);
  let emotion: Model;
  before(async () => {
    await initBackend('wasm');
    emotion = await openModel(fixtures[0]);
  });
  after(async () => {
    releaseExecutor();
    await initBackend('wasm');
  });

  it('emotion: every float manifest weight is a parameter; gradients match finite differences', async () => {
    const runner = await loadGraphRunner(emotion);
    try {
      const floats = manifestFloats(emotion.file);
      assert.deepEqual(new Set(runner.params.map((p) => p.name)), new Set(floats.keys()));
      for (const p of runner.params) assert.deepEqual(p.shape, floats.get(p.name), p.name);
      // Images in [0, 1] (a face crop) and labels: cross-entropy keeps the softmax from saturating.
      const n = 2 * 64 * 64;
      const x = tf.tensor4d(
        Float32Array.from({ length: n }, (_, i) => 0.5 + 0.45 * Math.sin(i * 0.37) * Math.cos(i * 0.011)),
        [2, 64, 64, 1],
      );
      const loss = makeLoss('cross-entropy', { labels: Int32Array.from([3, 5]) }, emotion.file);
      const grads = new Map<string, Float32Array>();
      const stats = await graphGradPass(runner, { input_1: x }, loss, [], (name, g) =>
        grads.set(name, g.dataSync() as Float32Array),
      );
      const base = await graphLoss(runner, { input_1: x }, loss);
      assert.ok(Math.abs(stats.loss - base) <= 1e-6 * Math.abs(base), `${stats.loss} vs ${base}`);
      // The pass statistics are those of the gradients.
      runner.params.forEach((p, i) => {
        const g = grads.get(p.name)!;
        const sumSq = g.reduce((a, v) => a + v * v, 0);
        assert.ok(Math.abs(stats.params[i].sumSq - sumSq) <= 1e-4 * sumSq + 1e-30, p.name);
      });
      // Every non-constant node's output got a gradient.
      const tapped = runner.nodes.filter((nd) => stats.activations.has(nd.outputs[0]));
      assert.ok(
        tapped.length >= runner.nodes.length - 1,
        `${tapped.length} of ${runner.nodes.length} tapped`,
      );

      // Central differences at the largest-gradient element of several kinds of weight.
      const checked = [
        'StatefulPartitionedCall/model_1/conv2d_1/Conv2D_weights',
        'StatefulPartitionedCall/model_1/conv2d_2/Conv2D_bn_offset',
        'unknown_9', // depthwise kernel
        'StatefulPartitionedCall/model_1/separable_conv2d_3/separable_conv2d_weights',
        'unknown_43', // the last conv
        'unknown_44',
      ];
      for (const name of checked) {
        const p = runner.params.find((q) => q.name === name);
        assert.ok(p, `${name} is a parameter`);
        const g = grads.get(name)!;
        let k = 0;
        g.forEach((v, i) => (Math.abs(v) > Math.abs(g[k]) ? (k = i) : 0));
        const w = p.tensor.dataSync() as Float32Array;
        const at = async (d: number) => {
          const v = Float32Array.from(w);
          v[k] += d;
          const t = tf.tensor(v, p.shape);
          try {
            return await graphLoss(runner, { input_1: x }, loss, { [name]: t });
          } finally {
            t.dispose();
          }
        };
        assert.ok(Math.abs(g[k]) > 1e-4, `${name}: gradient ${g[k]} is not tiny`);
        // Float32 central differences: the step trades the rounding of the two losses (÷ step)
        // against curvature and ReLU kinks (× step), so a few steps are tried; one must agree
        // within 1% plus the rounding bound.
        const tries: { h: number; fd: number; ok: boolean }[] = [];
        for (const s of [1e-2, 3e-3, 1e-3]) {
          const h = s * Math.max(1, Math.abs(w[k]));
          const fd = ((await at(h)) - (await at(-h))) / (2 * h);
          const tol = 1e-2 * Math.abs(g[k]) + (2 * 2 ** -23 * Math.abs(base)) / h;
          tries.push({ h, fd, ok: Math.abs(fd - g[k]) <= tol });
        }
        assert.ok(
          tries.some((t) => t.ok),
          `${name}[${k}]: autodiff ${g[k]}, differences ${tries.map((t) => `${t.fd} (step ${t.h})`).join(', ')}`,
        );
      }
      x.dispose();
    } finally {
      disposeGraphRunner(runner);
    }
  });

  for (const file of fixtures) {
    it(`${path.basename(file)}: a probe run names manifest weights, reaches every node, WASM = CPU`, async function () {
      const model = await openModel(file);
      const floats = manifestFloats(file);
      // emotion ends in a softmax (its mean square saturates on noise); blazeface has four heads.
      const loss = file.includes('emotion') ? ('cross-entropy' as const) : ('mean-square' as const);
      const opts = { source: { kind: 'synthetic' as const, seed: 5 }, batchSize: 1, batches: 1, loss };
      const wasm = await runProbe(model, { ...opts, backend: 'wasm' });
      assert.equal(wasm.backend.name, 'wasm');
      assert.equal(wasm.params.length, floats.size);
      for (const p of wasm.params) {
        assert.deepEqual(p.shape, floats.get(p.name), p.name);
        assert.ok(Number.isFinite(p.grad.l2) && p.weightL2 > 0, p.name);
      }
      const nodes = new Set(model.graph.nodes.map((n) => n.name));
      for (const p of wasm.params) assert.ok(nodes.has(p.node), `${p.name} is read by ${p.node}`);
      assert.ok(wasm.activations.length >= model.graph.nodes.filter((n) => !n.constant).length - 1);
      assert.ok(wasm.params.some((p) => p.grad.l2 > 0));
      // Every skip of the analysis is split at its fork into skip and branch.
      const skips = analyzeSkips(model).skips;
      assert.ok(skips.length > 0);
      assert.deepEqual(
        wasm.merges.map((m) => [m.merge, m.skip]),
        skips.map((s) => [s.merge, s.source]),
      );
      const act = new Map(wasm.activations.map((a) => [a.tensor, a.rms]));
      let identities = 0;
      wasm.merges.forEach((m, i) => {
        assert.ok(m.skipRms > 0 && m.branchRms > 0, `${m.merge}: both paths carry gradient`);
        // skip + branch is the whole gradient at the fork: |skip − branch| ≤ total ≤ skip + branch.
        const total = act.get(m.skip)!;
        assert.ok(total <= (m.skipRms + m.branchRms) * (1 + 1e-4), `${m.merge}: total ${total}`);
        assert.ok(total >= Math.abs(m.skipRms - m.branchRms) * (1 - 1e-4), `${m.merge}: total ${total}`);
        const s = skips[i];
        const merge = model.graph.nodes.find((n) => n.name === s.merge)!;
        if (s.kind === 'residual' && s.skipNodes.length === 0 && merge.inputs[s.skipInput] === s.source) {
          // An identity skip into an Add carries exactly the gradient at the Add's output.
          identities++;
          const out = act.get(merge.outputs[0])!;
          assert.ok(
            Math.abs(m.skipRms - out) <= 1e-5 * out,
            `${m.merge}: skip ${m.skipRms}, Add output ${out}`,
          );
        }
      });
      if (file.includes('blazeface')) assert.ok(identities > 0);
      // The reference CPU kernels are slow on convolutions: compare on the small model only.
      if (!file.includes('emotion')) return;
      const cpu = await runProbe(model, { ...opts, backend: 'cpu' });
      wasm.params.forEach((p, i) => {
        const c = cpu.params[i];
        assert.equal(p.name, c.name);
        if (c.grad.l2 < 1e-9) return;
        assert.ok(
          Math.abs(p.grad.l2 - c.grad.l2) <= 1e-3 * c.grad.l2,
          `${p.name}: ${p.grad.l2} vs ${c.grad.l2}`,
        );
      });
      wasm.merges.forEach((m, i) => {
        const c = cpu.merges[i];
        assert.ok(
          Math.abs(m.skipShare - c.skipShare) <= 1e-3,
          `${m.merge}: ${m.skipShare} vs ${c.skipShare}`,
        );
      });
    });
  }
});
