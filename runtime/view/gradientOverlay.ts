/**
 * Turns a probe run's result into the gradient overlay the graph editor draws: per node the
 * gradient RMS at its output (and its weight's gradient), per merge the share arriving by the skip.
 */
import type { ProbeResult } from '../probe/probeTypes';
import type { GradientOverlay, MergeGradient, NodeGradient } from './viewModel';

/** The overlay for `result`, labelled with its backend, loss and batches. */
export function gradientOverlay(result: ProbeResult): GradientOverlay {
  const nodes: Record<string, NodeGradient> = {};
  for (const a of result.activations) {
    // A node with several outputs shows its first.
    nodes[a.node] ??= { rms: a.rms, zeroFraction: a.zeroFraction };
  }
  for (const p of result.params) {
    const n = (nodes[p.node] ??= { rms: NaN, zeroFraction: 0 });
    if (n.paramL2 === undefined) {
      n.paramL2 = p.grad.l2;
      n.paramRatio = p.ratio;
    }
  }
  // A merge with several skips (a dense concat) shows their combined share.
  const sums = new Map<string, { skip2: number; branchRms: number }>();
  for (const m of result.merges) {
    const s = sums.get(m.merge) ?? { skip2: 0, branchRms: m.branchRms };
    s.skip2 += m.skipRms * m.skipRms;
    sums.set(m.merge, s);
  }
  const merges: Record<string, MergeGradient> = {};
  for (const [name, s] of sums) {
    const total = s.skip2 + s.branchRms * s.branchRms;
    merges[name] = {
      skipRms: Math.sqrt(s.skip2),
      branchRms: s.branchRms,
      skipShare: total > 0 ? s.skip2 / total : 0,
    };
  }
  const label = `${result.backend.name}, loss ${result.loss.kind}, ${result.batches} × ${result.batchSize} samples`;
  return { label, nodes, merges };
}
