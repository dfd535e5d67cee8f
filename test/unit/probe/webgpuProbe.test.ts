/**
 * Whole probe runs on the webgpu backend (in CI on a software adapter), against the same runs on
 * WASM: every ONNX probe fixture through the executor, every TF.js layers fixture through its own
 * layers and both graph models through tfjs-converter — loss, every parameter's gradient
 * statistics and weight norm, the gradient at every node output (RMS and dead units), the
 * skip/branch split at every merge and the spread over batches. WASM is itself checked against
 * PyTorch float64 and the CPU kernels elsewhere.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { openModel } from '../../../runtime/analysis/openModel';
import { releaseExecutor, runProbe } from '../../../runtime/probe/runProbe';
import { initBackend } from '../../../runtime/probe/backend';
import type { LossKind, ProbeResult } from '../../../runtime/probe/probeTypes';
import { useBackend } from '../helpers/testBackends';

const root = path.resolve(__dirname, '../../..');
const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-30);

/** Asserts that a webgpu run reports what the WASM run does, to float32 accuracy. */
function assertSame(gpu: ProbeResult, ref: ProbeResult): void {
  assert.equal(gpu.backend.name, 'webgpu');
  assert.ok(gpu.backend.adapter, 'the run names its adapter');
  assert.match(gpu.backend.device, /WebGPU on .*(hardware|software)/);
  gpu.loss.values.forEach((l, i) =>
    assert.ok(rel(l, ref.loss.values[i]) <= 1e-4, `loss ${l} vs ${ref.loss.values[i]}`),
  );
  assert.equal(gpu.params.length, ref.params.length);
  const scale = Math.max(...ref.params.map((p) => p.grad.l2));
  gpu.params.forEach((p, i) => {
    const r = ref.params[i];
    assert.equal(p.name, r.name);
    assert.ok(rel(p.weightL2, r.weightL2) <= 1e-5, `${p.name}: weight L2 ${p.weightL2} vs ${r.weightL2}`);
    if (r.grad.l2 < 1e-7 * scale) return; // float32 noise
    assert.ok(rel(p.grad.l2, r.grad.l2) <= 1e-3, `${p.name}: grad L2 ${p.grad.l2} vs ${r.grad.l2}`);
    assert.ok(
      rel(p.grad.maxAbs, r.grad.maxAbs) <= 1e-3,
      `${p.name}: max |g| ${p.grad.maxAbs} vs ${r.grad.maxAbs}`,
    );
    assert.ok(rel(p.grad.meanAbs, r.grad.meanAbs) <= 1e-3, `${p.name}: mean |g|`);
    // The spread over batches is a difference of L2s: compare it on the scale of the L2.
    if (r.grad.l2Spread !== undefined)
      assert.ok(
        Math.abs(p.grad.l2Spread! - r.grad.l2Spread) <= 1e-3 * r.grad.l2,
        `${p.name}: spread over batches`,
      );
  });
  assert.equal(gpu.activations.length, ref.activations.length);
  const actScale = Math.max(...ref.activations.map((a) => a.rms));
  gpu.activations.forEach((a, i) => {
    const r = ref.activations[i];
    assert.equal(a.tensor, r.tensor);
    if (r.rms < 1e-6 * actScale) return;
    assert.ok(rel(a.rms, r.rms) <= 1e-3, `${a.tensor}: gradient RMS ${a.rms} vs ${r.rms}`);
    assert.ok(
      Math.abs(a.zeroFraction - r.zeroFraction) <= 1e-3,
      `${a.tensor}: dead units ${a.zeroFraction} vs ${r.zeroFraction}`,
    );
  });
  assert.deepEqual(
    gpu.merges.map((m) => [m.merge, m.skip]),
    ref.merges.map((m) => [m.merge, m.skip]),
  );
  gpu.merges.forEach((m, i) =>
    assert.ok(
      Math.abs(m.skipShare - ref.merges[i].skipShare) <= 1e-3,
      `${m.merge}: skip share ${m.skipShare} vs ${ref.merges[i].skipShare}`,
    ),
  );
  assert.equal(gpu.summary.issues.length, ref.summary.issues.length);
  assert.ok(gpu.timing.firstBatchMs! > 0 && gpu.timing.msPerBatch > 0);
}

const cases: { file: string; loss?: LossKind; batchSize?: number }[] = [
  ...['resnet18', 'densenet', 'mobilenetv2', 'se_resnet', 'transformer', 'unet'].map((m) => ({
    file: `test/fixtures/onnx/probe/${m}.onnx`,
  })),
  ...['sequential_cnn', 'resnet', 'densenet', 'resnet_uint8', 'unet', 'shared', 'nested'].map((m) => ({
    file: `test/fixtures/tfjs-layers/${m}/model.json`,
  })),
  // emotion ends in a softmax: cross-entropy keeps it from saturating on noise.
  { file: 'test/fixtures/tfjs-graph/emotion/emotion.json', loss: 'cross-entropy', batchSize: 1 },
  { file: 'test/fixtures/tfjs-graph/blazeface/blazeface.json', batchSize: 1 },
];

describe('probe runs on webgpu = on WASM (every probe, every runner)', function () {
  this.timeout(300_000);
  after(async () => {
    releaseExecutor();
    await initBackend('wasm');
  });

  for (const c of cases)
    it(`${c.file}`, async function () {
      await useBackend(this, 'webgpu');
      const model = await openModel(path.join(root, c.file));
      const opts = {
        source: { kind: 'synthetic' as const, seed: 7 },
        batchSize: c.batchSize ?? 2,
        batches: 2,
        loss: c.loss ?? ('mean-square' as const),
      };
      const gpu = await runProbe(model, { ...opts, backend: 'webgpu' });
      const ref = await runProbe(model, { ...opts, backend: 'wasm' });
      assertSame(gpu, ref);
    });
});
