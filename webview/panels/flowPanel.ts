/**
 * The Gradient flow panel under the graph: the chart of the layers in topological order (the same
 * drawing the reports write), a metric switch, runs A and B for comparison, what colours the
 * graph, Run and Export buttons, and the Diagnosis list. The chart is linked to the graph both
 * ways (hover a bar → its node lights up, click → the node is focused, a selected node → its bar
 * is marked) and usable by keyboard: arrows move between layers, Enter focuses the node, and a
 * live region reads each layer's values.
 */
import type { FlowLayer, FlowMetric, GradientOverlay } from '../../runtime/view/viewModel';
import { FLOW_METRICS, metricSpread, metricValue } from '../../runtime/view/flowLayers';
import { flowChart, type ChartGeometry, type ChartTheme } from '../../runtime/view/flowChart';
import { fill, h } from '../dom';
import { paintDrawing } from '../render/drawingCanvas';

/** What the overlay colours nodes by. */
export type ColourBy = 'metric' | 'ratio';

/** What the panel asks of the page. */
export interface FlowPanelEvents {
  hover(node: string | undefined): void;
  focus(nodes: string[]): void;
  changed(): void;
  compare(a: number, b?: number): void;
  run(): void;
  exportReport(): void;
}

const CHART_HEIGHT = 210;

const fmt = (v: number | undefined) =>
  v === undefined
    ? '—'
    : v === 0
      ? '0'
      : Math.abs(v) >= 1e4 || Math.abs(v) < 1e-2
        ? v.toExponential(2)
        : v.toPrecision(3);

/** The panel. */
export class FlowPanel {
  readonly el: HTMLElement;
  readonly canvas: HTMLCanvasElement;
  metric: FlowMetric = 'paramRms';
  colourBy: ColourBy = 'metric';
  runs: GradientOverlay[] = [];
  a?: number;
  b?: number;
  private geometry?: ChartGeometry;
  private focusIndex = -1;
  private markedNode?: string;
  private hoverIndex = -1;
  private readonly status: HTMLElement;
  private readonly runA: HTMLSelectElement;
  private readonly runB: HTMLSelectElement;
  private readonly colour: HTMLSelectElement;
  private readonly diagnosis: HTMLElement;
  private readonly empty: HTMLElement;
  /** Milliseconds the last chart draw took (the bench reads it). */
  lastDrawMs = 0;

  constructor(
    private readonly events: FlowPanelEvents,
    private readonly theme: () => ChartTheme,
  ) {
    const metric = h(
      'select',
      { id: 'flow-metric', 'aria-label': 'Chart and overlay metric' },
      ...FLOW_METRICS.map((m) => h('option', { value: m.id }, m.label)),
    );
    metric.addEventListener('change', () => {
      this.metric = metric.value as FlowMetric;
      this.draw();
      this.events.changed();
    });
    this.runA = h('select', { id: 'run-a', 'aria-label': 'Run A (shown)' });
    this.runB = h('select', { id: 'run-b', 'aria-label': 'Run B (compared with A)' });
    const pick = () =>
      this.events.compare(Number(this.runA.value), this.runB.value ? Number(this.runB.value) : undefined);
    this.runA.addEventListener('change', pick);
    this.runB.addEventListener('change', pick);
    this.colour = h(
      'select',
      { id: 'colour-by', 'aria-label': 'Colour the graph by' },
      h('option', { value: 'metric' }, 'Colour graph by metric'),
      h('option', { value: 'ratio' }, 'Colour graph by ratio B / A'),
    );
    this.colour.addEventListener('change', () => {
      this.colourBy = this.colour.value as ColourBy;
      this.events.changed();
    });
    const button = (id: string, label: string, run: () => void) => {
      const b = h('vscode-button', { id, secondary: true, 'aria-label': label }, label);
      b.addEventListener('click', run);
      return b;
    };
    this.canvas = h('canvas', {
      id: 'flow-chart',
      tabindex: 0,
      role: 'application',
      'aria-roledescription': 'gradient chart',
      'aria-label':
        'Gradient flow chart: one bar per layer in topological order. Left and right arrows move between layers, Home and End jump to the ends, Enter focuses the layer in the graph.',
      'aria-describedby': 'chart-status',
    });
    this.status = h('div', { id: 'chart-status', class: 'status-line chart-status', 'aria-live': 'polite' });
    this.empty = h(
      'p',
      { class: 'empty flow-empty' },
      'No gradient probe yet: Run sets one up (or Skipscope: Analyze Gradient Flow).',
    );
    this.diagnosis = h('div', {
      id: 'diagnosis',
      class: 'diagnosis',
      role: 'region',
      'aria-label': 'Diagnosis',
    });
    this.el = h(
      'section',
      { id: 'flow-panel', class: 'flow-panel', 'aria-label': 'Gradient flow' },
      h(
        'div',
        { class: 'flow-head' },
        h('h3', { class: 'side-title' }, 'Gradient flow'),
        metric,
        this.runA,
        this.runB,
        this.colour,
        button('run-probe', 'Run…', () => this.events.run()),
        button('export-report', 'Export report', () => this.events.exportReport()),
      ),
      h(
        'div',
        { class: 'flow-body' },
        h('div', { class: 'chart-wrap' }, this.empty, this.canvas, this.status),
        this.diagnosis,
      ),
    );
    this.bind();
    this.show();
  }

  /** Run A's layers (undefined before any run). */
  get layers(): FlowLayer[] | undefined {
    return this.runs.find((r) => r.run?.id === this.a)?.layers;
  }

  /** Run B's layers when comparing. */
  get compareLayers(): FlowLayer[] | undefined {
    return this.b === undefined ? undefined : this.runs.find((r) => r.run?.id === this.b)?.layers;
  }

  /** Takes the model's runs and the pair shown. */
  setRuns(runs: GradientOverlay[], a?: number, b?: number): void {
    this.runs = runs;
    this.a = a ?? runs.at(-1)?.run?.id;
    this.b = b;
    const option = (r: GradientOverlay, selected: boolean) =>
      h('option', { value: String(r.run?.id), selected }, `#${r.run?.id} ${r.run?.name ?? r.label}`);
    this.runA.replaceChildren(...runs.map((r) => option(r, r.run?.id === this.a)));
    this.runB.replaceChildren(
      h('option', { value: '', selected: this.b === undefined }, 'Compare with… (none)'),
      ...runs.filter((r) => r.run?.id !== this.a).map((r) => option(r, r.run?.id === this.b)),
    );
    if (this.b === undefined && this.colourBy === 'ratio') {
      this.colourBy = 'metric';
      this.colour.value = 'metric';
    }
    this.show();
    this.renderDiagnosis();
    this.draw();
  }

  /** Marks the bar of `node` (the graph's selection). */
  mark(node: string | undefined): void {
    this.markedNode = node;
    this.draw();
  }

  private show(): void {
    const has = !!this.layers;
    this.empty.hidden = has;
    this.canvas.hidden = !has;
    for (const el of [this.runA, this.runB, this.colour]) el.hidden = !has;
  }

  private renderDiagnosis(): void {
    const run = this.runs.find((r) => r.run?.id === this.a);
    const d = run?.diagnosis;
    if (!d) {
      this.diagnosis.replaceChildren();
      return;
    }
    const items = d.findings.map((f) =>
      h(
        'li',
        { class: `finding ${f.severity}`, 'data-kind': f.kind },
        h(
          'button',
          { class: 'link', 'data-nodes': f.nodes.join('\n'), title: 'Focus in the graph' },
          f.message,
        ),
      ),
    );
    for (const li of items)
      li.querySelector('button')!.addEventListener('click', (ev) => {
        const nodes = ((ev.currentTarget as HTMLElement).dataset.nodes ?? '').split('\n');
        this.events.focus(nodes);
      });
    const t = d.thresholds;
    fill(
      this.diagnosis,
      h('h4', {}, 'Diagnosis'),
      h('p', { id: 'diagnosis-text' }, d.text),
      items.length ? h('ul', { class: 'findings' }, ...items) : null,
      h(
        'p',
        { class: 'thresholds' },
        `Thresholds: vanishing/exploding at ${t.vanishingFactor}× change of the per-sample gradient norm; dead at ${t.deadFraction * 100}% zeros; a skip carries almost all from ${t.skipAll * 100}%, almost none up to ${t.skipNone * 100}%.`,
      ),
    );
  }

  /** The values the chart shows now, per layer (tests and screen readers read them). */
  shownValues(): { node: string; value?: number; spread: number; compare?: number }[] {
    const layers = this.layers ?? [];
    const b = new Map(this.compareLayers?.map((l) => [l.node, l]) ?? []);
    return layers.map((l) => ({
      node: l.node,
      value: metricValue(l, this.metric),
      spread: metricSpread(l, this.metric),
      compare: b.has(l.node) ? metricValue(b.get(l.node)!, this.metric) : undefined,
    }));
  }

  /** Redraws the chart at the panel's width. */
  draw(): void {
    const layers = this.layers;
    if (!layers) return;
    const t0 = performance.now();
    const width = Math.max(320, this.canvas.parentElement?.clientWidth ?? 800);
    const marked = [this.hoverIndex, this.focusIndex, layers.findIndex((l) => l.node === this.markedNode)];
    const labels = this.b !== undefined ? this.runLabels() : undefined;
    const { drawing, geometry } = flowChart({
      layers,
      compare: this.compareLayers,
      metric: this.metric,
      width,
      height: CHART_HEIGHT,
      theme: this.theme(),
      labels,
      marked: marked.filter((i) => i >= 0),
    });
    this.geometry = geometry;
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${CHART_HEIGHT}px`;
    paintDrawing(this.canvas, drawing);
    this.canvas.dataset.layers = String(layers.length);
    this.canvas.dataset.metric = this.metric;
    this.canvas.dataset.compare = this.b !== undefined ? 'true' : 'false';
    this.lastDrawMs = performance.now() - t0;
  }

  private runLabels(): [string, string] {
    const name = (id?: number) => this.runs.find((r) => r.run?.id === id)?.run?.name ?? '';
    return [`#${this.a} ${name(this.a)}`, `#${this.b} ${name(this.b)}`];
  }

  private indexAt(x: number): number {
    const g = this.geometry;
    const n = this.layers?.length ?? 0;
    if (!g || x < g.plot.x0 || x > g.plot.x1) return -1;
    return Math.min(n - 1, Math.floor((x - g.plot.x0) / g.step));
  }

  /** Where bar `i` is, in canvas CSS pixels (tests hover it there). */
  pointOfLayer(i: number): { x: number; y: number } | undefined {
    const g = this.geometry;
    if (!g) return undefined;
    return { x: g.plot.x0 + (i + 0.5) * g.step, y: g.plot.y1 - 4 };
  }

  /** One sentence about layer `i`: its name and the metric's mean ± spread (and B when comparing). */
  describe(i: number): string {
    const l = this.layers?.[i];
    if (!l) return '';
    const info = FLOW_METRICS.find((m) => m.id === this.metric)!;
    const v = metricValue(l, this.metric);
    const s = metricSpread(l, this.metric);
    const value = info.log
      ? `${fmt(v)}${s ? ` ± ${fmt(s)}` : ''}`
      : v === undefined
        ? '—'
        : `${(v * 100).toFixed(1)}%`;
    const b = this.compareLayers?.find((x) => x.node === l.node);
    const bv = b ? metricValue(b, this.metric) : undefined;
    const cmp = b
      ? `; B ${info.log ? fmt(bv) : `${((bv ?? 0) * 100).toFixed(1)}%`}${v && bv ? ` (${fmt(bv / v)}× A)` : ''}`
      : '';
    const merge = l.merge
      ? l.merge.cut
        ? '; merge, skip cut'
        : `; merge, skip share ${(l.merge.skipShare * 100).toFixed(1)}%`
      : '';
    return `Layer ${i + 1} of ${this.layers!.length}: ${l.node}, ${info.label} ${value}${cmp}${merge}`;
  }

  private setFocus(i: number): void {
    const n = this.layers?.length ?? 0;
    if (!n) return;
    this.focusIndex = Math.max(0, Math.min(n - 1, i));
    this.status.textContent = this.describe(this.focusIndex);
    this.events.hover(this.layers![this.focusIndex].node);
    this.draw();
  }

  private bind(): void {
    const c = this.canvas;
    const x = (ev: MouseEvent) => ev.clientX - c.getBoundingClientRect().left;
    c.addEventListener('pointermove', (ev) => {
      const i = this.indexAt(x(ev));
      if (i === this.hoverIndex) return;
      this.hoverIndex = i;
      this.status.textContent = i >= 0 ? this.describe(i) : '';
      this.events.hover(i >= 0 ? this.layers![i].node : undefined);
      this.draw();
    });
    c.addEventListener('pointerleave', () => {
      this.hoverIndex = -1;
      this.events.hover(undefined);
      this.draw();
    });
    c.addEventListener('click', (ev) => {
      const i = this.indexAt(x(ev));
      if (i < 0) return;
      this.focusIndex = i;
      this.events.focus([this.layers![i].node]);
    });
    c.addEventListener('keydown', (ev) => {
      const n = this.layers?.length ?? 0;
      if (!n) return;
      const at = this.focusIndex < 0 ? 0 : this.focusIndex;
      const step = ev.ctrlKey || ev.metaKey ? 10 : 1;
      if (ev.key === 'ArrowRight') this.setFocus(this.focusIndex < 0 ? 0 : at + step);
      else if (ev.key === 'ArrowLeft') this.setFocus(at - step);
      else if (ev.key === 'Home') this.setFocus(0);
      else if (ev.key === 'End') this.setFocus(n - 1);
      else if (ev.key === 'Enter' || ev.key === ' ') {
        if (this.focusIndex >= 0) this.events.focus([this.layers![this.focusIndex].node]);
      } else return;
      ev.preventDefault();
    });
    c.addEventListener('focus', () => {
      if (this.focusIndex < 0) this.setFocus(0);
    });
    new ResizeObserver(() => this.draw()).observe(this.el);
  }
}
