/**
 * The model graph with its gradient overlay as a Drawing, for reports: the layered layout the
 * editor uses, node fills by the chosen metric on the viridis log scale (grey where there is no
 * value), skip paths drawn along their edges with the skip share written at each merge, and a
 * colour legend.
 */
import { CARD_NAME_MAX, displayName } from '../view/displayName';
import type { ViewModel } from '../view/viewModel';
import { layered } from '../view/layered';
import { decadeLabel, logDomain, logPosition, viridis } from '../view/colorScale';
import { FLOW_METRICS, metricValue, type FlowLayer, type FlowMetric } from '../view/flowLayers';
import { textWidth, type Drawing, type Shape } from '../view/drawing';
import { LIGHT_CHART, type ChartTheme } from '../view/flowChart';

const KIND_COLOURS: Record<string, string> = {
  residual: '#1f77b4',
  projection: '#9467bd',
  concat: '#2ca02c',
  long: '#ff7f0e',
};

const fmt = (v: number) => (v === 0 ? '0' : v >= 1e4 || v < 1e-2 ? v.toExponential(1) : v.toPrecision(2));

/** The graph of `view` coloured by `metric` of `layers`. */
export function graphOverlay(
  view: ViewModel,
  layers: FlowLayer[],
  metric: FlowMetric,
  theme: ChartTheme = LIGHT_CHART,
): Drawing {
  const info = FLOW_METRICS.find((m) => m.id === metric)!;
  const nodes = view.nodes.filter((n) => !n.hidden);
  const index = new Map(nodes.map((n, i) => [n.id, i]));
  const idOf = new Map(view.nodes.map((n) => [n.name, n.id]));
  const edges = view.edges.filter((e) => !e.hidden && index.has(e.from) && index.has(e.to));
  const widths = new Float64Array(nodes.length);
  const heights = new Float64Array(nodes.length).fill(34);
  nodes.forEach((n, i) => (widths[i] = Math.max(64, textWidth(displayName(n.op), 11) + 18)));
  const layout = layered({
    widths,
    heights,
    from: Int32Array.from(edges, (e) => index.get(e.from)!),
    to: Int32Array.from(edges, (e) => index.get(e.to)!),
  });
  const byNode = new Map(layers.map((l) => [l.node, l]));
  const domain = info.log ? logDomain(layers.map((l) => metricValue(l, metric) ?? NaN)) : undefined;
  const tOf = (v: number | undefined) =>
    v === undefined ? NaN : info.log ? (domain ? logPosition(domain, v) : NaN) : Math.max(0, Math.min(1, v));
  const margin = 20;
  const legendW = 150;
  const ox = margin;
  const oy = margin + 30;
  const shapes: Shape[] = [];
  shapes.push({
    kind: 'text',
    x: margin,
    y: margin + 6,
    text: `${view.file.split(/[\\/]/).pop()}: ${info.label}${info.log ? ' (log colour scale)' : ''}`,
    size: 12,
    fill: theme.foreground,
    bold: true,
  });
  const edgePts = (e: number) => {
    const pts: number[] = [];
    for (let k = layout.offsets[e]; k < layout.offsets[e + 1]; k += 2)
      pts.push(layout.points[k] + ox, layout.points[k + 1] + oy);
    return pts;
  };
  edges.forEach((_, e) => {
    const pts = edgePts(e);
    if (pts.length >= 4) shapes.push({ kind: 'line', points: pts, stroke: theme.arc, lineWidth: 1 });
  });
  // Skip paths along their edges, the share written where the path enters the merge.
  const edgeAt = new Map(edges.map((e, k) => [`${e.from}\u0000${e.to}`, k]));
  const order = new Map(view.nodes.map((n, i) => [n.name, i]));
  for (const s of view.skips.skips) {
    const chain = [
      s.sourceNode,
      ...[...s.skipNodes].sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0)),
      s.merge,
    ];
    const kind = s.kind === 'residual' && s.projection ? 'projection' : s.kind;
    const l = byNode.get(s.merge);
    const cut = l?.merge?.cut ?? false;
    let last: number[] | undefined;
    for (let k = 0; k + 1 < chain.length; k++) {
      const e = edgeAt.get(`${idOf.get(chain[k])}\u0000${idOf.get(chain[k + 1])}`);
      if (e === undefined) continue;
      last = edgePts(e);
      shapes.push({
        kind: 'line',
        points: last,
        stroke: cut ? theme.cut : KIND_COLOURS[kind],
        lineWidth: 3,
        dash: cut ? [5, 4] : undefined,
      });
    }
    if (last && l?.merge) {
      const x = last[last.length - 4] ?? last[0];
      const y = last[last.length - 3] ?? last[1];
      const text = cut ? 'cut' : `skip ${(l.merge.skipShare * 100).toFixed(0)}%`;
      shapes.push({
        kind: 'rect',
        x: x + 4,
        y: y - 10,
        w: textWidth(text, 10) + 6,
        h: 13,
        fill: theme.background,
        stroke: KIND_COLOURS[kind],
        lineWidth: 1,
      });
      shapes.push({ kind: 'text', x: x + 7, y: y, text, size: 10, fill: theme.foreground });
    }
  }
  nodes.forEach((n, i) => {
    const w = widths[i];
    const h = heights[i];
    const x = layout.x[i] + ox - w / 2;
    const y = layout.y[i] + oy - h / 2;
    const v = byNode.has(n.name) ? metricValue(byNode.get(n.name)!, metric) : undefined;
    const t = tOf(v);
    const fill = Number.isNaN(t) ? theme.grid : viridis(t);
    shapes.push({
      kind: 'rect',
      x,
      y,
      w,
      h,
      fill,
      stroke: theme.muted,
      lineWidth: 1,
      title: `${displayName(n.name, CARD_NAME_MAX)}${v !== undefined ? `: ${fmt(v)}` : ''}`,
    });
    const ink = !Number.isNaN(t) && t < 0.6 ? '#ffffff' : '#000000';
    shapes.push({
      kind: 'text',
      x: x + w / 2,
      y: y + 14,
      text: displayName(n.op),
      size: 11,
      fill: ink,
      anchor: 'middle',
      bold: true,
    });
    if (v !== undefined)
      shapes.push({
        kind: 'text',
        x: x + w / 2,
        y: y + 27,
        text: info.log ? fmt(v) : `${(v * 100).toFixed(0)}%`,
        size: 9,
        fill: ink,
        anchor: 'middle',
      });
  });
  // Legend: the colour ramp with decade (or percent) ticks.
  const lx = ox + layout.width + 30;
  const ly = oy;
  const lh = 160;
  for (let k = 0; k < 32; k++)
    shapes.push({
      kind: 'rect',
      x: lx,
      y: ly + lh - ((k + 1) * lh) / 32,
      w: 14,
      h: lh / 32 + 0.5,
      fill: viridis(k / 31),
    });
  const ticks: [number, string][] = domain
    ? Array.from({ length: domain.hi - domain.lo + 1 }, (_, k) => [
        k / (domain.hi - domain.lo),
        decadeLabel(domain.lo + k),
      ])
    : [0, 0.5, 1].map((t) => [t, `${t * 100}%`]);
  const every = Math.max(1, Math.ceil(ticks.length / 8));
  ticks.forEach(([t, label], k) => {
    if (k % every) return;
    shapes.push({
      kind: 'text',
      x: lx + 20,
      y: ly + lh - t * lh + 3,
      text: label,
      size: 10,
      fill: theme.foreground,
    });
  });
  shapes.push({ kind: 'text', x: lx, y: ly + lh + 16, text: 'no value', size: 10, fill: theme.muted });
  shapes.push({
    kind: 'rect',
    x: lx + 62,
    y: ly + lh + 7,
    w: 12,
    h: 10,
    fill: theme.grid,
    stroke: theme.muted,
    lineWidth: 1,
  });
  return {
    width: Math.ceil(lx + legendW),
    height: Math.ceil(Math.max(oy + layout.height + margin, ly + lh + 40)),
    background: theme.background,
    shapes,
    title: `Graph of ${view.file.split(/[\\/]/).pop()} coloured by ${info.label}`,
  };
}
