/**
 * The one-line summary of a model for the status bar: format, node count and skip counts.
 */
import type { ViewModel } from './viewModel';

/** What the status bar item says about one model. */
export interface ModelSummary {
  text: string;
  tooltip: string;
}

const FORMAT_NAMES = { onnx: 'ONNX', 'tfjs-layers': 'TF.js layers', 'tfjs-graph': 'TF.js graph' } as const;

/** The summary of a view model: "ONNX · 49 nodes · 8 residual (3 projection)". */
export function summarize(view: ViewModel): ModelSummary {
  const c = view.skips.counts;
  const nodes = view.nodes.filter((n) => !n.hidden).length;
  const parts: string[] = [];
  if (c.residual) parts.push(`${c.residual} residual${c.projection ? ` (${c.projection} projection)` : ''}`);
  if (c.concat) parts.push(`${c.concat} concat`);
  if (c.long) parts.push(`${c.long} long`);
  const skips = parts.length ? parts.join(', ') : 'no skips';
  const tooltip = [
    view.description,
    `${nodes} nodes (${view.nodes.length - nodes} constants/shape ops hidden)`,
    `Skips: ${c.residual} residual, ${c.projection} projection, ${c.concat} concat, ${c.long} long`,
    `Merges: ${c.gate} gates, ${c.parallel} parallel`,
  ].join('\n');
  return { text: `$(type-hierarchy) ${FORMAT_NAMES[view.format]} · ${nodes} nodes · ${skips}`, tooltip };
}
