/**
 * The CSV report: a header and one row per layer (runtime/probe/flowLayers.ts), RFC 4180 quoting.
 */
import type { FlowLayer } from '../view/flowLayers';

/** The columns, in order. */
export const CSV_COLUMNS = [
  'index',
  'node',
  'tensor',
  'learned',
  'param_grad_rms',
  'param_grad_rms_spread',
  'act_grad_rms',
  'act_grad_rms_spread',
  'grad_weight_ratio',
  'grad_weight_ratio_spread',
  'dead_fraction',
  'merge_skip_share',
  'skip_cut',
];

function cell(v: string | number | boolean | undefined): string {
  if (v === undefined) return '';
  // NaN and Infinity by name, as in the JSON (an empty cell would read as "not measured").
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The CSV text of `layers`. */
export function layersCsv(layers: FlowLayer[]): string {
  const rows = layers.map((l, i) =>
    [
      i,
      l.node,
      l.tensor,
      l.learned,
      l.paramRms,
      l.paramSpread,
      l.actRms,
      l.actSpread,
      l.ratio,
      l.ratioSpread,
      l.dead,
      l.merge?.skipShare,
      l.merge ? l.merge.cut : undefined,
    ]
      .map(cell)
      .join(','),
  );
  return [CSV_COLUMNS.join(','), ...rows].join('\r\n') + '\r\n';
}
