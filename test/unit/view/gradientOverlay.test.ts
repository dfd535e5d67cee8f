import { strict as assert } from 'node:assert';
import type { ProbeResult } from '../../../runtime/probe/probeTypes';
import { gradientOverlay } from '../../../runtime/view/gradientOverlay';

describe('gradientOverlay', () => {
  const result: ProbeResult = {
    model: 'm.onnx',
    backend: { name: 'wasm', device: 'cpu', threads: 2 },
    loss: { kind: 'mean-square', values: [1] },
    batchSize: 4,
    batches: 2,
    params: [
      {
        name: 'w1',
        shape: [8],
        node: 'conv',
        grad: { l2: 3, rms: 1, maxAbs: 2, meanAbs: 1 },
        weightL2: 6,
        ratio: 0.5,
      },
      {
        name: 'b1',
        shape: [8],
        node: 'conv',
        grad: { l2: 9, rms: 1, maxAbs: 2, meanAbs: 1 },
        weightL2: 1,
        ratio: 9,
      },
    ],
    activations: [
      { node: 'conv', tensor: 'c', rms: 0.25, zeroFraction: 0 },
      { node: 'relu', tensor: 'r', rms: 0.125, zeroFraction: 0.5 },
    ],
    merges: [
      { merge: 'cat', skip: 's0', skipRms: 3, branchRms: 4, skipShare: 9 / 25 },
      { merge: 'cat', skip: 's1', skipRms: 4, branchRms: 4, skipShare: 0.5 },
    ],
    summary: { issues: [], text: '' },
    timing: { msPerBatch: 1, totalMs: 2 },
  };

  it('keeps per node gradient RMS, dead units and the first weight', () => {
    const o = gradientOverlay(result);
    assert.deepEqual(o.nodes.conv, { rms: 0.25, zeroFraction: 0, paramL2: 3, paramRatio: 0.5 });
    assert.deepEqual(o.nodes.relu, { rms: 0.125, zeroFraction: 0.5 });
    assert.equal(o.label, 'wasm, loss mean-square, 2 × 4 samples');
  });

  it('combines the skips of one merge into one share', () => {
    const m = gradientOverlay(result).merges.cat;
    assert.equal(m.skipRms, 5);
    assert.equal(m.branchRms, 4);
    assert.equal(m.skipShare, 25 / 41);
  });
});
