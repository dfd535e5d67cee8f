/**
 * The gradient-flow chart as a Drawing: one bar per layer in topological order on a log scale
 * (dead fraction: linear), whiskers for the spread over batches, merges marked under their bars,
 * skips as arcs from fork to merge above the plot, and an optional second run (B) beside each bar
 * of the first (A). The editor paints the same drawing on a canvas and hit-tests its geometry.
 */
import { FLOW_METRICS, metricSpread, metricValue, type FlowLayer, type FlowMetric } from './flowLayers';
import { decadeLabel, logDomain, logPosition, viridis, type LogDomain } from './colorScale';
import { quadratic, textWidth, type Drawing, type Shape } from './drawing';

/** Colours of the chart (the report uses LIGHT_CHART; the editor passes its theme's). */
export interface ChartTheme {
  background: string;
  foreground: string;
  muted: string;
  grid: string;
  /** Run A and run B bars when comparing (blue and orange: distinct for colour-blind readers). */
  barA: string;
  barB: string;
  arc: string;
  cut: string;
  focus: string;
}

/** The report's light theme. */
export const LIGHT_CHART: ChartTheme = {
  background: '#ffffff',
  foreground: '#1f1f1f',
  muted: '#616161',
  grid: '#e0e0e0',
  barA: '#1f77b4',
  barB: '#ff7f0e',
  arc: '#7f7f7f',
  cut: '#d62728',
  focus: '#0066cc',
};

/** What to draw. */
export interface ChartInput {
  layers: FlowLayer[];
  /** A second run of the same model (compare): matched to `layers` by node name. */
  compare?: FlowLayer[];
  metric: FlowMetric;
  width: number;
  height: number;
  theme?: ChartTheme;
  title?: string;
  /** Labels of runs A and B for the legend when comparing. */
  labels?: [string, string];
  /** Layer indices to mark (selection, hover). */
  marked?: number[];
}

/** Where things are, for hit tests and keyboard focus. */
export interface ChartGeometry {
  plot: { x0: number; y0: number; x1: number; y1: number };
  /** Width of one layer's slot; slot i spans x0 + i·step … + step. */
  step: number;
  domain?: LogDomain;
  log: boolean;
}

const PAD_LEFT = 56;
const PAD_RIGHT = 12;
const ARC_BAND = 46;
const PAD_BOTTOM = 36;

/** The chart of `input` and its geometry. */
export function flowChart(input: ChartInput): { drawing: Drawing; geometry: ChartGeometry } {
  const th = input.theme ?? LIGHT_CHART;
  const { layers, metric, width, height } = input;
  const info = FLOW_METRICS.find((m) => m.id === metric)!;
  const titleH = input.title ? 22 : 6;
  const legendH = input.compare ? 16 : 0;
  const plot = {
    x0: PAD_LEFT,
    y0: titleH + legendH + ARC_BAND,
    x1: Math.max(PAD_LEFT + 10, width - PAD_RIGHT),
    y1: Math.max(titleH + legendH + ARC_BAND + 20, height - PAD_BOTTOM),
  };
  const n = Math.max(1, layers.length);
  const step = (plot.x1 - plot.x0) / n;
  const shapes: Shape[] = [];
  const byNode = new Map(input.compare?.map((l) => [l.node, l]) ?? []);
  const values: number[] = [];
  for (const l of layers) {
    const v = metricValue(l, metric);
    if (v !== undefined)
      values.push(v + metricSpread(l, metric), Math.max(v - metricSpread(l, metric), v / 10));
    const b = byNode.get(l.node);
    const w = b ? metricValue(b, metric) : undefined;
    if (w !== undefined) values.push(w);
  }
  const domain = info.log ? logDomain(values) : undefined;
  const yOf = (v: number): number => {
    if (!info.log) return plot.y1 - Math.max(0, Math.min(1, v)) * (plot.y1 - plot.y0);
    const t = domain ? logPosition(domain, v) : NaN;
    return Number.isNaN(t) ? plot.y1 : plot.y1 - t * (plot.y1 - plot.y0);
  };
  if (input.title)
    shapes.push({ kind: 'text', x: 8, y: 15, text: input.title, size: 12, fill: th.foreground, bold: true });
  // Grid and y axis: decades (log) or tenths (dead fraction).
  const ticks: { y: number; label: string }[] = [];
  if (domain) {
    const every = Math.max(1, Math.ceil((domain.hi - domain.lo) / 8));
    for (let e = domain.lo; e <= domain.hi; e += every)
      ticks.push({ y: yOf(10 ** e), label: decadeLabel(e) });
  } else if (!info.log) for (let k = 0; k <= 4; k++) ticks.push({ y: yOf(k / 4), label: `${k * 25}%` });
  for (const t of ticks) {
    shapes.push({ kind: 'line', points: [plot.x0, t.y, plot.x1, t.y], stroke: th.grid, lineWidth: 1 });
    shapes.push({
      kind: 'text',
      x: plot.x0 - 6,
      y: t.y + 3.5,
      text: t.label,
      size: 10,
      fill: th.muted,
      anchor: 'end',
    });
  }
  shapes.push({
    kind: 'text',
    x: 12,
    y: (plot.y0 + plot.y1) / 2,
    text: `${info.label}${info.log ? ' (log)' : ''}`,
    size: 10,
    fill: th.muted,
    anchor: 'middle',
    rotate: -90,
  });
  // Marked slots behind the bars.
  for (const i of input.marked ?? [])
    if (i >= 0 && i < layers.length)
      shapes.push({
        kind: 'rect',
        x: plot.x0 + i * step,
        y: plot.y0,
        w: Math.max(step, 2),
        h: plot.y1 - plot.y0,
        fill: th.grid,
      });
  // Bars (A, and B beside it), whiskers.
  const compare = !!input.compare;
  const gap = step > 4 ? Math.min(2, step * 0.2) : 0;
  const barW = Math.max(0.5, (step - gap) / (compare ? 2 : 1));
  const whiskers: number[][] = [];
  // Narrower than a pixel (thousands of layers): one bar per pixel column, the column's largest
  // value, so that a 10,000-layer chart draws ~1,000 bars and loses no peak.
  const perColumn = step < 1 && !compare ? Math.ceil(1 / step) : 1;
  layers.forEach((l, i) => {
    if (perColumn > 1) {
      if (i % perColumn) return;
      let best: FlowLayer | undefined;
      for (let k = i; k < Math.min(layers.length, i + perColumn); k++) {
        const v = metricValue(layers[k], metric);
        if (v !== undefined && (!best || v > (metricValue(best, metric) ?? -Infinity))) best = layers[k];
      }
      const value = best ? metricValue(best, metric) : undefined;
      if (value === undefined || !(value > 0 || !info.log)) return;
      const top = yOf(value);
      const fill = domain ? viridis(logPosition(domain, value)) : viridis(value);
      shapes.push({
        kind: 'rect',
        x: plot.x0 + i * step,
        y: top,
        w: Math.max(1, perColumn * step),
        h: Math.max(1, plot.y1 - top),
        fill,
      });
      return;
    }
    const x = plot.x0 + i * step + gap / 2;
    const v = metricValue(l, metric);
    const runs: [FlowLayer | undefined, number, string][] = [[l, x, th.barA]];
    if (compare) runs.push([byNode.get(l.node), x + barW, th.barB]);
    for (const [layer, bx, colour] of runs) {
      const value = layer ? metricValue(layer, metric) : undefined;
      if (value === undefined || !(value > 0 || !info.log)) continue;
      const top = yOf(value);
      const fill = compare ? colour : domain ? viridis(logPosition(domain, value)) : viridis(value);
      shapes.push({ kind: 'rect', x: bx, y: top, w: barW, h: Math.max(1, plot.y1 - top), fill });
      const spread = metricSpread(layer!, metric);
      if (spread > 0 && barW >= 2) {
        const cx = bx + barW / 2;
        const hi = yOf(value + spread);
        const lo = yOf(Math.max(value - spread, info.log ? value / 1e3 : 0));
        whiskers.push(
          [cx, hi, cx, lo],
          [cx - barW / 4, hi, cx + barW / 4, hi],
          [cx - barW / 4, lo, cx + barW / 4, lo],
        );
      }
    }
    void v;
  });
  for (const w of whiskers) shapes.push({ kind: 'line', points: w, stroke: th.foreground, lineWidth: 1 });
  // Merges marked under the axis; skips as arcs fork → merge above the plot.
  const indexOfTensor = new Map(layers.map((l, i) => [l.tensor, i]));
  layers.forEach((l, i) => {
    if (!l.merge) return;
    const cx = plot.x0 + (i + 0.5) * step;
    const colour = l.merge.cut ? th.cut : th.foreground;
    shapes.push({
      kind: 'line',
      points: [cx - 4, plot.y1 + 9, cx, plot.y1 + 3, cx + 4, plot.y1 + 9, cx - 4, plot.y1 + 9],
      stroke: colour,
      lineWidth: 1.2,
    });
    const from = indexOfTensor.get(l.merge.fork);
    const fx = from !== undefined ? plot.x0 + (from + 0.5) * step : plot.x0;
    const lift = Math.min(ARC_BAND - 6, 8 + Math.abs(cx - fx) * 0.25);
    shapes.push({
      kind: 'line',
      points: quadratic(fx, plot.y0 - 2, (fx + cx) / 2, plot.y0 - 2 - lift * 2, cx, plot.y0 - 2),
      stroke: l.merge.cut ? th.cut : th.arc,
      lineWidth: 1.2,
      dash: l.merge.cut ? [4, 3] : undefined,
    });
  });
  shapes.push({ kind: 'line', points: [plot.x0, plot.y1, plot.x1, plot.y1], stroke: th.muted, lineWidth: 1 });
  shapes.push({
    kind: 'text',
    x: (plot.x0 + plot.x1) / 2,
    y: plot.y1 + 26,
    text: `${layers.length} layers in topological order (input → output); ▲ merge, arcs: skips fork → merge`,
    size: 10,
    fill: th.muted,
    anchor: 'middle',
  });
  if (compare && input.labels) {
    let x = plot.x0;
    const y = titleH + 12;
    for (const [label, colour] of [
      [`A: ${input.labels[0]}`, th.barA],
      [`B: ${input.labels[1]}`, th.barB],
    ]) {
      shapes.push({ kind: 'rect', x, y: y - 9, w: 10, h: 10, fill: colour });
      shapes.push({ kind: 'text', x: x + 14, y, text: label, size: 10, fill: th.foreground });
      x += 24 + textWidth(label, 10);
    }
  }
  return {
    drawing: {
      width,
      height,
      background: th.background,
      shapes,
      title: `${info.label} per layer${input.title ? ` — ${input.title}` : ''}`,
    },
    geometry: { plot, step, domain, log: info.log },
  };
}
