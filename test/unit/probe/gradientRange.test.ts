/**
 * Gradient statistics across float32's whole range, end to end through runProbe on every test
 * backend, against PyTorch float64 (test/fixtures/grads/range/, written by
 * scripts/make_grad_refs.py): a 40-layer sigmoid MLP whose first-layer gradient vanishes to
 * ~1e-34, a 40-layer ReLU MLP with weights ×6 whose gradients explode to ~1e30, and a 24-block
 * ResNet without normalization (stem gradient ~1e25). Sums of squares of such gradients leave
 * float32's range, so every statistic must come from range-safe sums: each parameter's L2, RMS,
 * max and mean |g|, each learned node's output gradient and each skip/branch split agree to 1e-3
 * relative with no exemption for tiny values, and the JSON carries them all as finite numbers.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openModel } from '../../../runtime/analysis/openModel';
import { runProbe } from '../../../runtime/probe/runProbe';
import { initBackend } from '../../../runtime/probe/backend';
import { probeJson } from '../../../runtime/probe/probeJson';
import type { ProbeResult } from '../../../runtime/probe/probeTypes';
import { testBackends } from '../helpers/testBackends';

const root = path.resolve(__dirname, '../../..');
const refDir = path.join(root, 'test/fixtures/grads/range');

interface RangeRef {
  model: string;
  input: string;
  inputShape: number[];
  loss: { value: number };
  params: { name: string; weightL2: number; l2: number; rms: number; maxAbs: number; meanAbs: number }[];
  activations: { node: string; tensor: string; l2: number; zeros: number; size: number }[];
  merges: { merge: string; skipRms: number; branchRms: number }[];
}

const FIXTURES = ['mlp_sigmoid40', 'mlp_relu40', 'resnet_nonorm'];
const ref = (name: string) =>
  JSON.parse(fs.readFileSync(path.join(refDir, `${name}.json`), 'utf8')) as RangeRef;

/** Relative error, with no floor: 1e-35 against 1.0001e-35 is 1e-4. */
const rel = (got: number, want: number) => Math.abs(got - want) / Math.abs(want);

/** The worst relative error of each kind, for the report. */
const worst = new Map<string, number>();

/** Asserts `got` within 1e-3 of `want` and keeps the worst error of `kind`. */
function close(got: number, want: number, kind: string, what: string): void {
  const e = rel(got, want);
  worst.set(kind, Math.max(worst.get(kind) ?? 0, e));
  assert.ok(e <= 1e-3, `${what}: ${got} vs float64 ${want} (relative error ${e.toExponential(2)})`);
}

describe('gradient statistics across float32’s range vs PyTorch float64', () => {
  after(async () => {
    await initBackend('wasm');
    if (process.env.SKIPSCOPE_RANGE_REPORT)
      console.log(JSON.stringify(Object.fromEntries([...worst].map(([k, v]) => [k, +v.toExponential(2)]))));
  });

  it('the references span float32’s range (vanishing below 1e-30, exploding above 1e25)', () => {
    const l2s = (n: string) => ref(n).params.map((p) => p.l2);
    assert.ok(Math.min(...l2s('mlp_sigmoid40')) < 1e-30);
    assert.ok(Math.max(...l2s('mlp_relu40')) > 1e29);
    assert.ok(Math.max(...l2s('resnet_nonorm')) > 1e25);
  });

  for (const backend of testBackends)
    for (const name of FIXTURES)
      it(`${name} on ${backend}: every statistic within 1e-3 relative, with no exemption for tiny values`, async () => {
        const r = ref(name);
        const model = await openModel(path.join(root, r.model));
        const result = await runProbe(model, {
          source: { kind: 'npy', files: { input: path.join(root, r.input) } },
          batchSize: r.inputShape[0],
          batches: 1,
          loss: 'mean-square',
          backend,
        });
        assert.equal(result.backend.name, backend);
        close(result.loss.values[0], r.loss.value, `${name} loss`, 'loss');
        const params = new Map(result.params.map((p) => [p.name, p]));
        for (const p of r.params) {
          const got = params.get(p.name);
          assert.ok(got, `no parameter ${p.name}`);
          close(got.weightL2, p.weightL2, `${name} weightL2`, `${p.name} weight L2 (stale reference?)`);
          close(got.grad.l2, p.l2, `${name} ${backend} l2`, `${p.name} grad L2`);
          close(got.grad.rms, p.rms, `${name} ${backend} rms`, `${p.name} grad RMS`);
          close(got.grad.maxAbs, p.maxAbs, `${name} ${backend} maxAbs`, `${p.name} max |g|`);
          close(got.grad.meanAbs, p.meanAbs, `${name} ${backend} meanAbs`, `${p.name} mean |g|`);
          close(got.ratio, p.l2 / p.weightL2, `${name} ${backend} ratio`, `${p.name} grad/weight`);
          assert.equal(got.grad.nonFinite, undefined, `${p.name}: no NaN or Inf`);
        }
        const acts = new Map(result.activations.map((a) => [a.tensor, a]));
        for (const a of r.activations) {
          const got = acts.get(a.tensor);
          assert.ok(got, `no activation statistics at ${a.tensor}`);
          close(
            got.rms,
            a.l2 / Math.sqrt(a.size),
            `${name} ${backend} activation rms`,
            `${a.node} output gradient RMS`,
          );
          // ReLU masks agree between float32 and float64 but for values within rounding of zero.
          assert.ok(
            Math.abs(got.zeroFraction * a.size - a.zeros) <= Math.max(1, 0.002 * a.size),
            `${a.node}: ${got.zeroFraction * a.size} exact zeros vs ${a.zeros}`,
          );
        }
        const merges = new Map(result.merges.map((m) => [m.merge, m]));
        for (const m of r.merges) {
          const got = merges.get(m.merge);
          assert.ok(got, `no split at ${m.merge}`);
          close(got.skipRms, m.skipRms, `${name} ${backend} skipRms`, `${m.merge} skip RMS`);
          close(got.branchRms, m.branchRms, `${name} ${backend} branchRms`, `${m.merge} branch RMS`);
        }
        assert.equal(result.nonFinite, undefined);
        // The JSON carries every statistic as a finite number (none became null or 0).
        const json = JSON.parse(probeJson(result)) as ProbeResult;
        for (const p of json.params) {
          for (const v of [p.grad.l2, p.grad.rms, p.grad.maxAbs, p.grad.meanAbs, p.ratio])
            assert.ok(typeof v === 'number' && v > 0 && Number.isFinite(v), `${p.name}: ${v} in the JSON`);
        }
      });

  it('mlp_sigmoid40: the summary and the diagnosis call the tiny first-layer gradient vanishing, not dead', async () => {
    const r = ref('mlp_sigmoid40');
    const result = await runProbe(await openModel(path.join(root, r.model)), {
      source: { kind: 'npy', files: { input: path.join(root, r.input) } },
      batchSize: 2,
      batches: 1,
      loss: 'mean-square',
      backend: 'wasm',
    });
    const kinds = result.summary.issues.map((i) => i.kind);
    assert.deepEqual(kinds, ['vanishing']);
    const findings = result.diagnosis!.findings.map((f) => f.kind);
    assert.ok(findings.includes('vanishing'), `findings ${findings}`);
    assert.ok(
      !findings.some((k) => k === 'dead' || k === 'no-gradient' || k === 'non-finite'),
      `findings ${findings}`,
    );
    const v = result.summary.issues[0];
    assert.equal(v.to, '/layers/layers.0/Gemm');
    assert.ok(v.factor < 1e-20, `factor ${v.factor}`);
    assert.ok(result.activations.every((a) => a.zeroFraction === 0 && a.rms > 0));
    assert.match(result.summary.text, /vanishes .*\(tiny, not zero\)/);
  });
});
