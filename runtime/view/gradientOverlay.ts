/**
 * Turns a probe result into the graph overlay the editor draws (per node gradient RMS, dead
 * fraction and NaN/Inf count, a recurrent node's gradient through time, per merge skip share, and
 * where NaN/Inf first appeared).
 */
import type { GradientOverlay, NodeGradient } from './viewModel';
import type { ProbeResult } from '../probe/probeTypes';
import { flowLayers } from './flowLayers';
import { runName } from '../probe/runName';
import { timeDecay } from '../probe/gradStats';

/** The overlay of `r`, keyed by node name. */
export function toGradientOverlay(r: ProbeResult): GradientOverlay {
  const nodes: Record<string, NodeGradient> = {};
  for (const a of r.activations) {
    if (!nodes[a.node])
      nodes[a.node] = {
        rms: a.rms,
        rmsSpread: a.rmsSpread,
        zeroFraction: a.zeroFraction,
        zeroFractionSpread: a.zeroFractionSpread,
        ...(a.nonFinite ? { nonFinite: a.nonFinite } : {}),
      };
  }
  for (const p of r.params) {
    const n = nodes[p.node];
    if (n && n.paramL2 === undefined) {
      n.paramL2 = p.grad.l2;
      n.paramRatio = p.ratio;
      if (p.weightL2 > 0 && p.grad.l2Spread !== undefined) n.paramRatioSpread = p.grad.l2Spread / p.weightL2;
    }
  }
  for (const t of r.timesteps ?? []) {
    const n = nodes[t.node];
    if (n) (n.timesteps ??= []).push({ direction: t.direction, l2: t.l2, decay: timeDecay(t) });
  }
  const merges: GradientOverlay['merges'] = {};
  for (const m of r.merges)
    merges[m.merge] = { skipRms: m.skipRms, branchRms: m.branchRms, skipShare: m.skipShare };
  return {
    label: `${r.backend.name}, loss ${r.loss.kind}, ${r.batches} × ${r.batchSize} samples`,
    nodes,
    merges,
    run: { id: 0, name: runName(r), backend: r.backend.name, device: r.backend.device, cut: r.cut ?? [] },
    layers: flowLayers(r),
    diagnosis: r.diagnosis,
    ...(r.nonFinite ? { nonFinite: { node: r.nonFinite.node, message: r.nonFinite.message } } : {}),
  };
}
