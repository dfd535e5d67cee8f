/**
 * The layers of a probe result as the gradient-flow chart, the CSV report and the graph overlay
 * read them: one row per probed node in topological order (input side first), with each metric's
 * mean over batches and its spread, and the merges' skip share.
 */
import type { ProbeResult } from '../probe/probeTypes';

/** The metrics a chart or overlay can show. */
export type FlowMetric = 'paramRms' | 'actRms' | 'ratio' | 'dead';

/** Every metric, in menu order, with its label and whether it is drawn on a log scale. */
export const FLOW_METRICS: { id: FlowMetric; label: string; log: boolean }[] = [
  { id: 'paramRms', label: 'Parameter-gradient RMS', log: true },
  { id: 'actRms', label: 'Activation-gradient RMS', log: true },
  { id: 'ratio', label: 'Gradient / weight ratio', log: true },
  { id: 'dead', label: 'Dead fraction', log: false },
];

/** One layer. Parameter metrics are those of the node's first parameter (its weight). */
export interface FlowLayer {
  node: string;
  /** Output tensor whose gradient is measured. */
  tensor: string;
  learned: boolean;
  actRms: number;
  actSpread: number;
  paramRms?: number;
  paramSpread?: number;
  ratio?: number;
  ratioSpread?: number;
  dead: number;
  /** At a merge: the skip share and whether the skip was cut. */
  merge?: { skipShare: number; skipRms: number; branchRms: number; fork: string; cut: boolean };
}

/** The rows of `r`, in topological order. */
export function flowLayers(r: ProbeResult): FlowLayer[] {
  const firstParam = new Map<string, ProbeResult['params'][number]>();
  for (const p of r.params) if (!firstParam.has(p.node)) firstParam.set(p.node, p);
  const merges = new Map(r.merges.map((m) => [m.merge, m]));
  const cut = new Set(r.cut ?? []);
  const seen = new Set<string>();
  const out: FlowLayer[] = [];
  for (const a of r.activations) {
    if (seen.has(a.node)) continue;
    seen.add(a.node);
    const p = firstParam.get(a.node);
    const size = p
      ? Math.max(
          1,
          p.shape.reduce((x, y) => x * y, 1),
        )
      : 1;
    const m = merges.get(a.node);
    out.push({
      node: a.node,
      tensor: a.tensor,
      learned: !!p,
      actRms: a.rms,
      actSpread: a.rmsSpread ?? 0,
      paramRms: p?.grad.rms,
      paramSpread: p ? (p.grad.l2Spread ?? 0) / Math.sqrt(size) : undefined,
      ratio: p?.ratio,
      ratioSpread: p && p.weightL2 > 0 ? (p.grad.l2Spread ?? 0) / p.weightL2 : undefined,
      dead: a.zeroFraction,
      merge:
        m || cut.has(a.node)
          ? {
              skipShare: m?.skipShare ?? 0,
              skipRms: m?.skipRms ?? 0,
              branchRms: m?.branchRms ?? 0,
              fork: m?.skip ?? '',
              cut: cut.has(a.node),
            }
          : undefined,
    });
  }
  return out;
}

/** The value of `metric` on `l` (undefined where the layer has none, e.g. no parameters). */
export function metricValue(l: FlowLayer, metric: FlowMetric): number | undefined {
  return metric === 'paramRms'
    ? l.paramRms
    : metric === 'actRms'
      ? l.actRms
      : metric === 'ratio'
        ? l.ratio
        : l.dead;
}

/** The spread over batches of `metric` on `l` (0 where none was measured). */
export function metricSpread(l: FlowLayer, metric: FlowMetric): number {
  return (
    (metric === 'paramRms'
      ? l.paramSpread
      : metric === 'actRms'
        ? l.actSpread
        : metric === 'ratio'
          ? l.ratioSpread
          : 0) ?? 0
  );
}
