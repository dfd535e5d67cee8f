/**
 * Turns a probe result into the graph overlay the editor draws (per node gradient RMS and dead
 * fraction, per merge skip share).
 */
import type { GradientOverlay, NodeGradient } from './viewModel';
import type { ProbeResult } from '../probe/probeTypes';

/** The overlay of `r`, keyed by node name. */
export function toGradientOverlay(r: ProbeResult): GradientOverlay {
  const nodes: Record<string, NodeGradient> = {};
  for (const a of r.activations) {
    if (!nodes[a.node]) nodes[a.node] = { rms: a.rms, zeroFraction: a.zeroFraction };
  }
  for (const p of r.params) {
    const n = nodes[p.node];
    if (n && n.paramL2 === undefined) {
      n.paramL2 = p.grad.l2;
      n.paramRatio = p.ratio;
    }
  }
  const merges: GradientOverlay['merges'] = {};
  for (const m of r.merges)
    merges[m.merge] = { skipRms: m.skipRms, branchRms: m.branchRms, skipShare: m.skipShare };
  return {
    label: `${r.backend.name}, loss ${r.loss.kind}, ${r.batches} × ${r.batchSize} samples`,
    nodes,
    merges,
  };
}
