/**
 * Cut skips: a probe with skips cut (their merge inputs read zeros) agrees with PyTorch float64
 * autograd on the same surgery (test/fixtures/grads/cut/*.json, scripts/make_grad_refs.py), names
 * the cut merges in `cut[]`, and refuses names that are not merges with skips.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openModel } from '../../../runtime/analysis/openModel';
import { runProbe } from '../../../runtime/probe/runProbe';
import { initBackend } from '../../../runtime/probe/backend';
import { resolveCuts } from '../../../runtime/probe/cuts';
import { analyzeSkips } from '../../../runtime/analysis/analyzeSkips';
import { isModelError } from '../../../runtime/errors';
import type { ProbeOptions } from '../../../runtime/probe/probeTypes';

const root = path.resolve(__dirname, '../../..');
const refDir = path.join(root, 'test/fixtures/grads/cut');

interface CutRef {
  model: string;
  input: string;
  cut: string[] | 'all';
  loss: { value: number };
  params: { name: string; l2: number; maxAbs: number; meanAbs: number; weightL2: number }[];
}

const refs = fs
  .readdirSync(refDir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => ({ file: f, ref: JSON.parse(fs.readFileSync(path.join(refDir, f), 'utf8')) as CutRef }));

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-30);

function options(ref: CutRef, cut: ProbeOptions['cut']): ProbeOptions {
  return {
    source: { kind: 'npy', files: { '': path.join(root, ref.input) } },
    batchSize: 2,
    batches: 1,
    loss: 'mean-square',
    backend: 'wasm',
    cut,
  };
}

describe('cut skips vs PyTorch float64 on the same surgery', () => {
  before(async () => {
    await initBackend('wasm');
  });

  it('has a reference cutting every skip of a ResNet and one cutting Concat parts of a DenseNet', () => {
    assert.deepEqual(refs.map((r) => r.file).sort(), ['densenet_cut_two.json', 'resnet18_cut_all.json']);
  });

  for (const { file, ref } of refs)
    it(`${file}: loss and every parameter's gradient within 1e-3 relative`, async () => {
      const model = await openModel(path.join(root, ref.model));
      const r = await runProbe(model, options(ref, ref.cut));
      const expected = resolveCuts(model, ref.cut).merges;
      assert.ok(expected.length >= 2);
      assert.deepEqual(r.cut, expected, 'the JSON names the cut merges');
      assert.ok(
        rel(r.loss.values[0], ref.loss.value) < 1e-4,
        `loss ${r.loss.values[0]} vs ${ref.loss.value}`,
      );
      const byName = new Map(r.params.map((p) => [p.name, p]));
      const scale = Math.max(...ref.params.map((p) => p.l2));
      let compared = 0;
      let zeros = 0;
      for (const p of ref.params) {
        const mine = byName.get(p.name);
        assert.ok(mine, `parameter ${p.name}`);
        assert.ok(rel(mine.weightL2, p.weightL2) < 1e-5, `${p.name}: weights differ from the reference`);
        if (p.l2 === 0) {
          // Only a cut skip used it (a projection shortcut): exactly no gradient, as in PyTorch.
          assert.equal(mine.grad.l2, 0, `${p.name}: gradient should be exactly zero`);
          zeros++;
          continue;
        }
        if (p.l2 < 1e-7 * scale) continue; // float32 noise dominates
        assert.ok(rel(mine.grad.l2, p.l2) <= 1e-3, `${p.name}: grad L2 ${mine.grad.l2} vs ${p.l2}`);
        assert.ok(
          rel(mine.grad.maxAbs, p.maxAbs) <= 1e-3,
          `${p.name}: max |g| ${mine.grad.maxAbs} vs ${p.maxAbs}`,
        );
        assert.ok(
          rel(mine.grad.meanAbs, p.meanAbs) <= 1e-3,
          `${p.name}: mean |g| ${mine.grad.meanAbs} vs ${p.meanAbs}`,
        );
        compared++;
      }
      assert.ok(compared >= ref.params.length * 0.7, `only ${compared}/${ref.params.length} compared`);
      if (ref.cut === 'all' && file.startsWith('resnet18'))
        assert.equal(zeros, 6, 'the 3 projections (conv weight, bias) get no gradient');
      // At a cut merge no gradient takes the skip.
      for (const m of r.merges.filter((x) => r.cut!.includes(x.merge))) assert.equal(m.skipShare, 0);
    });

  it('an intact run differs from the cut one, and cutting every skip lowers the early layers’ gradient', async () => {
    const ref = refs.find((r) => r.file === 'resnet18_cut_all.json')!.ref;
    const model = await openModel(path.join(root, ref.model));
    const intact = await runProbe(model, options(ref, undefined));
    const cut = await runProbe(model, options(ref, 'all'));
    assert.deepEqual(intact.cut, []);
    const first = (r: typeof intact) => r.params.find((p) => p.name === 'conv1.weight')!.grad.rms;
    assert.ok(first(cut) < first(intact) / 100, `conv1: cut ${first(cut)} vs intact ${first(intact)}`);
    assert.ok(cut.diagnosis!.findings.some((f) => f.kind === 'vanishing'));
    assert.ok(!intact.diagnosis!.findings.some((f) => f.kind === 'vanishing'));
  });

  it('resolves merge names and skip ids, and refuses anything else in one sentence naming the file', async () => {
    const model = await openModel(path.join(root, 'test/fixtures/onnx/probe/densenet.onnx'));
    const skips = analyzeSkips(model).skips;
    assert.deepEqual(
      resolveCuts(model, 'all').merges,
      skips.map((s) => s.merge),
    );
    assert.deepEqual(resolveCuts(model, [skips[1].id]).merges, [skips[1].merge]);
    assert.throws(
      () => resolveCuts(model, ['/features/norm5/Relu']),
      (e: unknown) =>
        isModelError(e) && /densenet\.onnx: cannot cut "\/features\/norm5\/Relu"/.test(e.message),
    );
  });
});
