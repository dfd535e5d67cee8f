/**
 * The one-line summary of a model for the status bar: format, node count and skip counts.
 */
import type { ViewModel } from './viewModel';
import { mergeCountText } from './mergeCounts';

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
  const skips = mergeCountText(view.skips);
  const tooltip = [
    view.description,
    `${nodes} nodes (${view.nodes.length - nodes} constants/shape ops hidden)`,
    `Merges with skips: ${c.residual} residual (${c.projection} projection), ${c.concat} concat, ${c.long} long; ${view.skips.skips.length} skip paths`,
    `Merges: ${c.gate} gates, ${c.parallel} parallel`,
  ].join('\n');
  return { text: `$(type-hierarchy) ${FORMAT_NAMES[view.format]} · ${nodes} nodes · ${skips}`, tooltip };
}
