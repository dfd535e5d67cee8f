/**
 * The probe's statistics over passes and its diagnosis, on raw sums spanning float64's use: norms,
 * RMS, spread, grad/weight ratios and skip shares of sums of squares near 1e-90 and 1e86 (what
 * float32 gradients of 1e-45 and 1e38 give); vanishing (tiny but non-zero) told apart from exact
 * zeros; NaN/Inf kept out of the ratios and named in the summary.
 */
import { strict as assert } from 'node:assert';
import type { PassStats } from '../../../runtime/probe/gradPass';
import {
  activationStats,
  flowIssues,
  mergeStats,
  paramStats,
  summaryText,
} from '../../../runtime/probe/gradStats';
import type { Moments } from '../../../runtime/probe/statsKernels';

/** Moments of a gradient of `size` elements all equal to ±v. */
const flat = (v: number, size: number, zeros = 0): Moments & { size: number } => ({
  sumSq: v * v * (size - zeros),
  sumAbs: Math.abs(v) * (size - zeros),
  maxAbs: Math.abs(v),
  zeros,
  nonFinite: Number.isFinite(v) ? 0 : size,
  size,
});

const graph = {
  params: [
    { name: 'w0', shape: [1000], node: 'fc0' },
    { name: 'w1', shape: [1000], node: 'fc1' },
  ],
  nodes: [
    { name: 'fc0', outputs: ['y0'] },
    { name: 'fc1', outputs: ['y1'] },
  ],
};

function pass(g0: number, g1: number): PassStats {
  return {
    loss: 1,
    params: [flat(g0, 1000), flat(g1, 1000)],
    activations: new Map([
      ['y0', flat(g0, 64)],
      ['y1', flat(g1, 64)],
    ]),
    skips: [{ skipSq: g0 * g0 * 64, branchSq: 3 * g0 * g0 * 64, size: 64 }],
  };
}

const close = (a: number, b: number, what: string) =>
  assert.ok(Math.abs(a - b) <= 1e-12 * Math.abs(b), `${what}: ${a} vs ${b}`);

describe('probe statistics over passes (float64 throughout)', () => {
  it('norms, RMS, spread and grad/weight ratios of gradients near 1e-44 and 1e37', () => {
    const passes = [pass(1e-44, 1e37), pass(3e-44, 3e37)];
    const [p0, p1] = paramStats(graph, passes, [1e-40, 1e36]);
    close(p0.grad.l2, 2e-44 * Math.sqrt(1000), 'tiny L2 (mean of two)');
    close(p0.grad.rms, 2e-44, 'tiny RMS');
    close(p0.grad.l2Spread!, Math.SQRT2 * 1e-44 * Math.sqrt(1000), 'tiny spread');
    close(p0.ratio, (2e-44 * Math.sqrt(1000)) / 1e-40, 'tiny ratio');
    close(p1.grad.l2, 2e37 * Math.sqrt(1000), 'huge L2');
    close(p1.grad.maxAbs, 2e37, 'huge max');
    close(p1.grad.meanAbs, 2e37, 'huge mean');
    close(p1.grad.l2Spread!, Math.SQRT2 * 1e37 * Math.sqrt(1000), 'huge spread');
    close(p1.ratio, (2e37 * Math.sqrt(1000)) / 1e36, 'huge ratio');
    assert.equal(p0.grad.nonFinite, undefined);
    const [a0, a1] = activationStats(graph, passes, 2);
    close(a0.rms, 2e-44, 'activation RMS');
    close(a1.l2PerSample!, 2e37 * Math.sqrt(32), 'activation L2 per sample');
    const [m] = mergeStats([{ merge: 'add', source: 'y0' }], passes);
    close(m.skipRms, Math.sqrt(5e-88), 'skip RMS');
    close(m.skipShare, 0.25, 'skip share of 1e-88 sums');
  });

  it('a parameter with NaN/Inf in some batch says how many elements held them', () => {
    const [, p1] = paramStats(graph, [pass(1, 1), pass(1, Infinity)], [1, 1]);
    assert.equal(p1.grad.nonFinite, 1000);
    assert.equal(p1.grad.l2, Infinity);
  });
});

describe('probe diagnosis', () => {
  const layers = (rms: number[]) => rms.map((r, i) => ({ node: `fc${i}`, rms: r }));

  it('calls a gradient falling to 1e-35 vanishing, with the tiny value, and not dead', () => {
    const issues = flowIssues(layers([1e-35, 1e-20, 1e-5, 1]));
    assert.deepEqual(
      issues.map((i) => [i.kind, i.from, i.to]),
      [['vanishing', 'fc3', 'fc0']],
    );
    close(issues[0].factor, 1e-35, 'factor');
    assert.match(
      issues[0].message,
      /falls 1\.00e\+35× over 3 learned layers, to 1\.00e-35 per sample \(tiny, not zero\)/,
    );
  });

  it('leaves exact zeros (dead: the diagnosis names them) out of the ratios, but not tiny values', () => {
    const issues = flowIssues(layers([0, 0, 1e-30, 1, 0.5]));
    assert.deepEqual(
      issues.map((i) => [i.kind, i.from, i.to]),
      [['vanishing', 'fc3', 'fc2']],
    );
  });

  it('finds explosion to 1e30 and ignores NaN/Inf layers', () => {
    const issues = flowIssues(layers([1e30, NaN, 1e15, Infinity, 1]));
    assert.deepEqual(
      issues.map((i) => [i.kind, i.from, i.to]),
      [['exploding', 'fc4', 'fc0']],
    );
    close(issues[0].factor, 1e30, 'factor');
  });

  it('the summary starts with where NaN/Inf began and skips non-finite skip shares', () => {
    const l = layers([1, 2]);
    const text = summaryText(
      l,
      flowIssues(l),
      [
        { merge: 'a', skip: 'x', skipRms: 1, branchRms: 1, skipShare: 0.5 },
        { merge: 'b', skip: 'y', skipRms: NaN, branchRms: NaN, skipShare: NaN },
      ],
      {
        batch: 1,
        pass: 'backward',
        node: 'fc1',
        message: 'the gradient first holds NaN or Infinity at "fc1"',
      },
    );
    assert.match(text, /^NaN or Infinity in batch 2: the gradient first holds NaN or Infinity at "fc1"; /);
    assert.match(text, /Gradient flow looks healthy: across 2 learned layers .* within 2\.00×/);
    assert.match(
      text,
      /On average 50% of the gradient energy at the 1 skip forks arrives through the skips\.$/,
    );
  });
});
