/**
 * The diagnosis: a deep plain CNN (no skips) is found vanishing from its head back to its stem,
 * the residual ResNet of the same depth is not, and dead layers and skip shares are judged by the
 * stated thresholds (checked on a result whose numbers are set by hand).
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { openModel } from '../../../runtime/analysis/openModel';
import { runProbe } from '../../../runtime/probe/runProbe';
import { initBackend } from '../../../runtime/probe/backend';
import { DEFAULT_THRESHOLDS, diagnose } from '../../../runtime/probe/diagnosis';
import type { ProbeOptions, ProbeResult } from '../../../runtime/probe/probeTypes';

const root = path.resolve(__dirname, '../../..');
const opts: ProbeOptions = {
  source: { kind: 'synthetic', seed: 0 },
  batchSize: 2,
  batches: 2,
  loss: 'mean-square',
  backend: 'wasm',
};

/** A result with learned layers of the given per-sample gradient norms (input side first). */
function synthetic(norms: number[], extra: Partial<ProbeResult> = {}): ProbeResult {
  const nodes = norms.map((_, i) => `conv${i}`);
  return {
    model: 'x.onnx',
    backend: { name: 'cpu', device: 'cpu', threads: 1 },
    loss: { kind: 'mean-square', values: [1] },
    batchSize: 1,
    batches: 1,
    params: nodes.map((n) => ({
      name: `${n}.w`,
      shape: [1],
      node: n,
      grad: { l2: 1, rms: 1, maxAbs: 1, meanAbs: 1 },
      weightL2: 1,
      ratio: 1,
    })),
    activations: nodes.map((n, i) => ({
      node: n,
      tensor: `${n}_out`,
      rms: norms[i],
      l2PerSample: norms[i],
      zeroFraction: 0,
    })),
    merges: [],
    summary: { issues: [], text: '' },
    timing: { msPerBatch: 1, firstBatchMs: 1, totalMs: 1 },
    ...extra,
  };
}

describe('diagnosis', () => {
  before(async () => {
    await initBackend('wasm');
  });

  it('finds the deep plain CNN vanishing from its head back to its stem, and the ResNet not', async () => {
    const plain = await runProbe(
      await openModel(path.join(root, 'test/fixtures/onnx/probe/plain_deep.onnx')),
      opts,
    );
    const van = plain.diagnosis!.findings.filter((f) => f.kind === 'vanishing');
    assert.equal(van.length, 1, plain.diagnosis!.text);
    assert.equal(van[0].from, '/fc/Gemm');
    assert.equal(van[0].to, '/stem/Conv');
    assert.ok(van[0].factor! > 1e5, `factor ${van[0].factor}`);
    assert.equal(van[0].layers, 19);
    assert.match(plain.diagnosis!.text, /^Gradient vanishes from \/fc\/Gemm back to \/stem\/Conv/);
    const resnet = await runProbe(
      await openModel(path.join(root, 'test/fixtures/onnx/probe/resnet18.onnx')),
      opts,
    );
    assert.ok(
      !resnet.diagnosis!.findings.some((f) => f.kind === 'vanishing' || f.kind === 'exploding'),
      resnet.diagnosis!.text,
    );
    assert.match(resnet.diagnosis!.text, /^No vanishing or exploding stretch: across 21 learned layers/);
  });

  it('finds separate stretches, each with its own ends and factor, strongest first', () => {
    // Grows toward the input all the way: one stretch from the last layer back to the first.
    const d = diagnose(synthetic([1e4, 1e2, 1, 1, 1, 1e-2, 1e-4, 1e-3]));
    assert.deepEqual(
      d.findings.map((f) => [f.kind, f.from, f.to, Math.round(Math.log10(f.factor!))]),
      [['exploding', 'conv6', 'conv0', 8]],
    );
    // Toward the input: falls (conv3 → conv2), recovers (conv2 → conv1), falls again (conv1 → conv0).
    const v = diagnose(synthetic([1e-4, 1, 1e-4, 1]));
    assert.deepEqual(
      v.findings.map((f) => `${f.kind} ${f.from}→${f.to} ${Math.round(Math.log10(f.factor!))}`).sort(),
      ['exploding conv2→conv1 4', 'vanishing conv1→conv0 4', 'vanishing conv3→conv2 4'],
    );
  });

  it('judges dead layers, layers without gradient and skip shares by the thresholds it reports', () => {
    const r = synthetic([1, 1, 1], {
      merges: [
        { merge: 'conv1', skip: 'conv0_out', skipRms: 1, branchRms: 0.1, skipShare: 0.99 },
        { merge: 'conv2', skip: 'conv1_out', skipRms: 0.1, branchRms: 1, skipShare: 0.01 },
      ],
    });
    r.activations[0].zeroFraction = 0.95;
    r.params[1].grad.l2 = 0;
    const d = diagnose(r);
    assert.deepEqual(d.thresholds, DEFAULT_THRESHOLDS);
    const kinds = d.findings.map((f) => `${f.kind}:${f.nodes[0]}`);
    assert.deepEqual(kinds.sort(), ['dead:conv0', 'no-gradient:conv1', 'skip-all:conv1', 'skip-none:conv2']);
    assert.match(
      d.findings.find((f) => f.kind === 'dead')!.message,
      /95% of its output gradient is exactly zero \(threshold 90%\)/,
    );
    // A cut merge carries nothing by construction: not a finding.
    assert.ok(!diagnose({ ...r, cut: ['conv2'] }).findings.some((f) => f.kind === 'skip-none'));
    assert.equal(
      diagnose(r, { ...DEFAULT_THRESHOLDS, deadFraction: 0.99 }).findings.filter((f) => f.kind === 'dead')
        .length,
      0,
    );
  });
});
