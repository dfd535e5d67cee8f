/**
 * The graph editor page: owns the view model, the grouping and collapse state, the layout jobs and
 * the canvas, and wires the toolbar, legend, panels, hover card and outline to them.
 */
import { CARD_NAME_MAX, displayName } from '../runtime/view/displayName';
import { formatCompact, formatCount, formatShape } from '../runtime/view/format';
import { nodeCard, type NodeCard } from '../runtime/view/nodeCard';
import type { GradientOverlay, SkipPath, ViewModel } from '../runtime/view/viewModel';
import { fill, h } from './dom';
import { blockGroups, defaultGrouping, initialCollapsed, scopeGroups, type GroupTree } from './graph/groups';
import { neighbour, type Direction } from './graph/neighbours';
import { buildScene, type Scene } from './graph/scene';
import { searchNodes } from './graph/search';
import { layoutInput, visibleGraph } from './graph/visibleGraph';
import type { LayoutClient } from './layout/layoutClient';
import { renderGroupDetails, renderNodeDetails, type DetailsContext } from './panels/detailsPanel';
import { HoverCard, type Box, type CardAction } from './panels/hoverCard';
import { drawnCounts, renderLegend } from './panels/legend';
import { publish, renderOutline } from './panels/outline';
import { renderSkipList } from './panels/skipList';
import type { ViewSettings } from './protocol';
import { GraphCanvas, type Highlight } from './render/graphCanvas';
import { Minimap } from './render/minimap';
import { DRAWN_KINDS, readTheme, type DrawnKind } from './render/theme';
import type { ExtensionLink } from './vscodeApi';
import { FlowPanel } from './panels/flowPanel';
import { mergeCountText } from '../runtime/view/mergeCounts';
import type { ChartTheme } from '../runtime/view/flowChart';
import { FLOW_METRICS, metricValue } from '../runtime/view/flowLayers';
import { decadeLabel, diverging, logDomain, logPosition, viridis } from '../runtime/view/colorScale';

/** The editor page for one model. */
export class GraphView {
  readonly canvas: GraphCanvas;
  private readonly minimap: Minimap;
  private readonly hover: HoverCard;
  private readonly outline: HTMLElement;
  private readonly details: HTMLElement;
  private readonly searchCount: HTMLElement;
  private readonly statusLine: HTMLElement;
  private readonly skipHost: HTMLElement;
  private readonly gradientLabel: HTMLElement;
  private tree: GroupTree;
  private collapsed: Uint8Array;
  private showHidden = false;
  private scene?: Scene;
  private generation = 0;
  private grads?: GradientOverlay;
  /** The Gradient flow panel (chart, runs, diagnosis). */
  readonly flow: FlowPanel;
  private readonly overlayLegend: HTMLElement;
  private selectedNode = -1;
  private selectedGroup = -1;
  private focusedSkip?: string;
  private hits: number[] = [];
  private hitAt = -1;
  /** Skip ids to light per view node (as merge, fork or carry op). */
  private readonly skipsOfNode = new Map<number, string[]>();
  private readonly nodeIndex: Map<string, number>;
  private readonly highlight: Highlight;
  private firstPaintDone = false;
  /** Milliseconds since the init message at each step of the first paint (the bench reads them). */
  private readonly marks: Record<string, number> = {};

  constructor(
    app: HTMLElement,
    private readonly fileName: string,
    private readonly view: ViewModel,
    private readonly settings: ViewSettings,
    private readonly link: ExtensionLink,
    private readonly layoutClient: LayoutClient,
    private readonly t0: number,
  ) {
    this.mark('received');
    this.nodeIndex = new Map(view.nodes.map((n, i) => [n.name, i]));
    for (const s of view.skips.skips)
      for (const n of [s.merge, s.sourceNode, ...s.skipNodes]) {
        const i = this.nodeIndex.get(n);
        if (i !== undefined) this.skipsOfNode.set(i, [...(this.skipsOfNode.get(i) ?? []), s.id]);
      }
    this.tree = defaultGrouping(view);
    this.collapsed = initialCollapsed(this.tree, this.visibleCount(), settings.collapseAbove);
    this.highlight = {
      selected: -1,
      hover: -1,
      litSkips: new Set(),
      hits: new Set(),
      currentHit: -1,
      kinds: Object.fromEntries(DRAWN_KINDS.map((k) => [k, true])) as Record<DrawnKind, boolean>,
    };

    const canvasEl = h('canvas', {
      id: 'graph',
      tabindex: 0,
      role: 'application',
      'aria-roledescription': 'model graph',
      'aria-label': `Graph of ${fileName}. Arrow keys move between nodes, Enter expands or collapses a group, plus and minus zoom, 0 fits.`,
    });
    const minimapEl = h('canvas', { class: 'minimap', 'aria-hidden': 'true' });
    this.statusLine = h('div', { class: 'status-line', 'aria-live': 'polite' });
    const wrap = h('div', { class: 'canvas-wrap' }, canvasEl, minimapEl, this.statusLine);
    this.details = h(
      'div',
      { id: 'details', class: 'details' },
      h('p', { class: 'empty' }, 'Select a node to see its details.'),
    );
    const skipHost = h('div', { id: 'skip-list' });
    this.searchCount = h('span', { id: 'search-count', class: 'search-count', 'aria-live': 'polite' });
    this.outline = h('section', {
      id: 'outline',
      class: 'visually-hidden',
      'aria-label': 'Graph outline',
      'data-state': 'loading',
    });
    const legend = h('div', { id: 'legend', class: 'legend', role: 'group', 'aria-label': 'Skip kinds' });
    this.gradientLabel = h('span', { id: 'gradient-label', class: 'gradient-label', 'aria-live': 'polite' });
    this.overlayLegend = h('div', {
      id: 'overlay-legend',
      class: 'overlay-legend',
      role: 'img',
      hidden: true,
    });
    this.flow = new FlowPanel(
      {
        hover: (node) => this.hoverFromChart(node),
        focus: (nodes) => this.focusNodes(nodes),
        changed: () => this.refreshHighlight(),
        compare: (a, b) => this.link.post({ type: 'compare', a, b }),
        run: () => this.link.post({ type: 'runProbe' }),
        exportReport: () => this.link.post({ type: 'exportReport' }),
      },
      () => this.chartTheme(),
    );
    fill(
      app,
      this.toolbar(),
      h('div', { class: 'legend-row' }, legend, this.overlayLegend, this.gradientLabel),
      h(
        'div',
        { class: 'main' },
        wrap,
        h(
          'aside',
          { class: 'side', 'aria-label': 'Skip paths and details' },
          h('h3', { class: 'side-title' }, `Skip paths (${view.skips.skips.length})`),
          skipHost,
          h('h3', { class: 'side-title' }, 'Details'),
          this.details,
        ),
      ),
      this.flow.el,
      this.outline,
    );
    this.canvas = new GraphCanvas(canvasEl, readTheme(), this.highlight);
    this.minimap = new Minimap(minimapEl, this.canvas);
    this.canvas.onDraw = () => {
      this.minimap.draw();
      // Written only when it changes: a DOM write per frame would cost a style pass per frame.
      const text = `${Math.round(this.canvas.vp.k * 100)}% · ${this.scene?.graph.items.length ?? 0} items`;
      if (this.statusLine.textContent !== text) this.statusLine.textContent = text;
    };
    this.hover = new HoverCard(wrap, () => this.hoverItem(-1, NaN, NaN));
    renderLegend(legend, drawnCounts(view.skips.counts), this.highlight.kinds, (kind, on) => {
      this.highlight.kinds[kind] = on;
      this.publishCounts();
      this.canvas.request();
    });
    this.skipHost = skipHost;
    this.bindCanvas(canvasEl);
    new ResizeObserver(() => this.canvas.resize()).observe(wrap);
    new MutationObserver(() => {
      this.canvas.theme = readTheme();
      this.flow.draw();
      this.minimap.rebuild();
      this.canvas.request();
    }).observe(document.body, { attributes: true, attributeFilter: ['class'] });
    this.canvas.resize();
    this.mark('setup');
    void this.relayout(true);
  }

  private mark(step: string): void {
    if (!this.firstPaintDone) this.marks[step] = Math.round(performance.now() - this.t0);
  }

  private visibleCount(): number {
    return this.view.nodes.reduce((a, n) => a + (n.hidden && !this.showHidden ? 0 : 1), 0);
  }

  private toolbar(): HTMLElement {
    const v = this.view;
    const summary = `${v.description} · ${formatCount(this.visibleCount())} nodes · ${mergeCountText(v.skips)} · ${formatCompact(v.totalParams)} params · ${formatCompact(v.totalFlops)}${v.totalFlops >= 1000 ? '' : ' '}FLOPs`;
    const search = h('vscode-textfield', {
      id: 'search',
      placeholder: 'Search name or op',
      'aria-label': 'Search nodes by name or op',
    });
    search.addEventListener('input', () => this.search((search as unknown as { value: string }).value));
    search.addEventListener('keydown', (ev: KeyboardEvent) => {
      if (ev.key === 'Enter' || ev.key === 'F3') {
        ev.preventDefault();
        void this.stepHit(ev.shiftKey ? -1 : 1);
      } else if (ev.key === 'Escape') {
        (search as unknown as { value: string }).value = '';
        this.search('');
        this.canvas.canvas.focus();
      }
    });
    const button = (id: string, icon: string, label: string, run: () => void) => {
      const b = h('vscode-toolbar-button', { id, icon, label, title: label, 'aria-label': label });
      b.addEventListener('click', run);
      return b;
    };
    const grouping = h(
      'vscode-single-select',
      { id: 'grouping', 'aria-label': 'Group nodes by' },
      h('vscode-option', { value: 'scopes', selected: this.tree.mode === 'scopes' }, 'Group by name scope'),
      h('vscode-option', { value: 'blocks', selected: this.tree.mode === 'blocks' }, 'Group by skip block'),
    );
    grouping.addEventListener('change', () => {
      const mode = (grouping as unknown as { value: string }).value;
      this.tree = mode === 'blocks' ? blockGroups(this.view) : scopeGroups(this.view);
      this.collapsed = initialCollapsed(this.tree, this.visibleCount(), this.settings.collapseAbove);
      void this.relayout(true);
    });
    const hidden = h(
      'vscode-checkbox',
      { id: 'show-hidden', 'aria-label': 'Show constants and shape arithmetic' },
      'Constants',
    );
    hidden.addEventListener('change', () => {
      this.showHidden = (hidden as unknown as { checked: boolean }).checked;
      void this.relayout(false);
    });
    return h(
      'header',
      { class: 'toolbar' },
      h(
        'div',
        { class: 'title' },
        h('strong', {}, this.fileName),
        h('span', { class: 'summary', id: 'summary' }, summary),
      ),
      h(
        'div',
        { class: 'controls' },
        search,
        this.searchCount,
        button('prev-hit', 'arrow-up', 'Previous match (Shift+Enter)', () => void this.stepHit(-1)),
        button('next-hit', 'arrow-down', 'Next match (Enter)', () => void this.stepHit(1)),
        grouping,
        hidden,
        button('expand-all', 'expand-all', 'Expand all groups', () => this.setAll(0)),
        button('collapse-all', 'collapse-all', 'Collapse all groups', () => this.setAll(1)),
        button('fit', 'screen-full', 'Fit to view (0)', () => this.canvas.fit()),
      ),
    );
  }

  /** Lays out the current visible graph; `fit` resets the viewport, else `anchor` keeps its place. */
  private async relayout(fit: boolean, anchor?: { group: number; sx: number; sy: number }): Promise<void> {
    const gen = ++this.generation;
    const graph = visibleGraph(this.view, this.tree, this.collapsed, this.showHidden);
    this.mark('visibleGraph');
    const t = performance.now();
    const layout = await this.layoutClient.layout(layoutInput(graph));
    if (gen !== this.generation) return;
    const layoutMs = performance.now() - t;
    this.mark('layout');
    const scene = buildScene(this.view, this.tree, graph, layout);
    this.mark('scene');
    this.scene = scene;
    this.canvas.scene = scene;
    this.refreshHighlight();
    if (fit) this.canvas.initialView();
    else if (anchor) {
      const p = this.groupPoint(anchor.group);
      if (p) this.canvas.panBy(anchor.sx - p.sx, anchor.sy - p.sy);
    }
    this.minimap.rebuild();
    const state = {
      layoutMs: Math.round(layoutMs),
      layoutWhere: this.layoutClient.lastWhere,
      grouping: this.tree.mode,
      collapsedGroups: this.collapsed.reduce((a, c, g) => a + (c && graph.itemOfGroup[g] >= 0 ? 1 : 0), 0),
    };
    if (!this.firstPaintDone) {
      this.canvas.draw();
      this.mark('drawn');
      this.firstPaintDone = true;
      const firstPaintMs = Math.round(performance.now() - this.t0);
      publish(this.outline, { state: 'loading', ...state, firstPaintMs, timing: JSON.stringify(this.marks) });
      this.link.post({
        type: 'rendered',
        drawnNodes: graph.items.length,
        layoutMs: state.layoutMs,
        firstPaintMs,
      });
      // The skip list and the outline can hold thousands of entries: build them after the first paint.
      setTimeout(() => {
        renderSkipList(this.skipHost, this.view.skips.skips, {
          focus: (s) => void this.focusSkip(s),
          light: (s) => this.lightSkips(s ? [s.id] : []),
          // Exactly this skip (by its id): at a concat merge with several, the others stay.
          cut: (s) => this.link.post({ type: 'cutSkip', merges: [s.id] }),
        });
        renderOutline(this.outline, this.view, (i) => void this.revealNode(i));
        this.publishCounts();
        publish(this.outline, { state: 'ready' });
        void this.layoutClient
          .started()
          .then((ok) => publish(this.outline, { worker: ok ? 'ready' : 'failed' }));
      }, 0);
    } else {
      publish(this.outline, state);
      this.publishCounts();
      this.canvas.request();
    }
  }

  /** Drawn items and skip paths (those with a visible kind and at least one drawn edge). */
  private publishCounts(): void {
    const s = this.scene;
    if (!s) return;
    const drawnSkips = s.skips.filter((k) => k.edges.length > 0 && this.highlight.kinds[k.kind]).length;
    publish(this.outline, { drawnItems: s.graph.items.length, drawnSkips });
  }

  /** Where a group is on screen: its box when collapsed, its frame's top when expanded. */
  private groupPoint(g: number): { sx: number; sy: number } | undefined {
    const s = this.scene;
    if (!s) return undefined;
    const { vp } = this.canvas;
    const it = s.graph.itemOfGroup[g];
    if (it >= 0)
      return {
        sx: s.layout.x[it] * vp.k + vp.x,
        sy: (s.layout.y[it] - s.graph.items[it].height / 2) * vp.k + vp.y,
      };
    const f = s.frames.find((fr) => fr.group === g);
    if (f) return { sx: ((f.x0 + f.x1) / 2) * vp.k + vp.x, sy: f.y0 * vp.k + vp.y };
    return undefined;
  }

  /** Collapses or expands group `g`, keeping it where it is on screen. */
  toggleGroup(g: number): void {
    const p = this.groupPoint(g);
    this.collapsed[g] = this.collapsed[g] ? 0 : 1;
    if (this.collapsed[g]) this.selectedGroup = g;
    void this.relayout(false, p ? { group: g, ...p } : undefined);
  }

  private setAll(state: 0 | 1): void {
    this.collapsed.fill(state);
    void this.relayout(true);
  }

  /** Expands every collapsed group around node `i`; true when the layout must change. */
  private expandAround(i: number): boolean {
    let changed = false;
    for (let g = this.tree.leaf[i]; g >= 0; g = this.tree.groups[g].parent) {
      if (this.collapsed[g]) {
        this.collapsed[g] = 0;
        changed = true;
      }
    }
    return changed;
  }

  /** Shows node `i`: expands its groups, selects it and centres it. */
  async revealNode(i: number): Promise<void> {
    // The view moves: a hover card would stand where its item no longer is.
    this.hover.hide();
    if (this.view.nodes[i].hidden && !this.showHidden) {
      this.showHidden = true;
      const box = document.getElementById('show-hidden') as (HTMLElement & { checked: boolean }) | null;
      if (box) box.checked = true;
    }
    if (this.expandAround(i) || !this.scene || this.scene.graph.itemOfNode[i] < 0) await this.relayout(false);
    this.select(i, -1);
    const it = this.scene!.graph.itemOfNode[i];
    if (it >= 0) this.canvas.focusItem(it);
  }

  /** Reveals a node by name (from the text view); false when there is none. */
  revealByName(name: string): boolean {
    const i = this.nodeIndex.get(name);
    if (i === undefined) return false;
    void this.revealNode(i);
    return true;
  }

  /** Where node `name` is drawn, in canvas CSS pixels (tests hover it there), if it is in view. */
  pointOfNode(name: string): { x: number; y: number } | undefined {
    const i = this.nodeIndex.get(name);
    const s = this.scene;
    if (i === undefined || !s) return undefined;
    return this.pointOfItem(s.graph.itemOfNode[i]);
  }

  /** Where the first collapsed group is drawn, and its id. */
  pointOfFirstGroup(): { x: number; y: number; id: string } | undefined {
    const s = this.scene;
    const item = s?.graph.items.findIndex((it) => it.kind === 'group') ?? -1;
    const p = this.pointOfItem(item);
    return p && s ? { ...p, id: this.tree.groups[s.graph.items[item].ref].id } : undefined;
  }

  private pointOfItem(item: number): { x: number; y: number } | undefined {
    const s = this.scene;
    if (!s || item < 0) return undefined;
    const { vp } = this.canvas;
    const { width, height } = this.canvas.size();
    const x = s.layout.x[item] * vp.k + vp.x;
    const y = s.layout.y[item] * vp.k + vp.y;
    return x >= 0 && y >= 0 && x <= width && y <= height ? { x, y } : undefined;
  }

  private async focusSkip(s: SkipPath): Promise<void> {
    const ends = [s.merge, s.sourceNode, ...s.skipNodes]
      .map((n) => this.nodeIndex.get(n))
      .filter((i): i is number => i !== undefined);
    let changed = false;
    for (const i of ends) changed = this.expandAround(i) || changed;
    if (changed) await this.relayout(false);
    const scene = this.scene!;
    this.focusedSkip = s.id;
    this.refreshHighlight();
    const drawn = scene.skips.find((d) => d.id === s.id);
    const pts = scene.layout.points;
    let x0 = Infinity;
    let y0 = Infinity;
    let x1 = -Infinity;
    let y1 = -Infinity;
    for (const e of drawn?.edges ?? []) {
      for (let k = scene.layout.offsets[e]; k < scene.layout.offsets[e + 1]; k += 2) {
        x0 = Math.min(x0, pts[k]);
        x1 = Math.max(x1, pts[k]);
        y0 = Math.min(y0, pts[k + 1]);
        y1 = Math.max(y1, pts[k + 1]);
      }
    }
    const merge = this.nodeIndex.get(s.merge);
    if (merge !== undefined) this.select(merge, -1);
    if (Number.isFinite(x0)) this.canvas.focusBox(x0, y0, x1, y1, 0.4);
    else if (merge !== undefined && scene.graph.itemOfNode[merge] >= 0)
      this.canvas.focusItem(scene.graph.itemOfNode[merge]);
    publish(this.outline, { selected: s.merge });
  }

  private lightSkips(ids: string[]): void {
    this.highlight.litSkips = new Set(ids);
    if (this.focusedSkip) this.highlight.litSkips.add(this.focusedSkip);
    this.canvas.request();
  }

  private select(node: number, group: number): void {
    this.selectedNode = node;
    this.selectedGroup = group;
    const ctx = this.detailsContext();
    if (node >= 0) renderNodeDetails(this.details, ctx, node);
    else if (group >= 0) {
      const members: number[] = [];
      this.view.nodes.forEach((n, i) => {
        if (n.hidden && !this.showHidden) return;
        for (let g = this.tree.leaf[i]; g >= 0; g = this.tree.groups[g].parent)
          if (g === group) members.push(i);
      });
      renderGroupDetails(this.details, ctx, this.tree.groups[group].label, members, () =>
        this.toggleGroup(group),
      );
    }
    publish(this.outline, {
      selected: node >= 0 ? this.view.nodes[node].name : group >= 0 ? this.tree.groups[group].id : undefined,
    });
    this.flow.mark(node >= 0 ? this.view.nodes[node].name : undefined);
    if (node >= 0) this.addCutButton(node);
    this.refreshHighlight();
  }

  /** In the details of a merge with skips: "Cut this skip", a cut run compared with the intact one. */
  private addCutButton(node: number): void {
    const name = this.view.nodes[node].name;
    const merge = this.view.skips.merges.find((m) => m.node === name && m.skips.length > 0);
    if (!merge) return;
    const b = h(
      'vscode-button',
      {
        id: 'cut-skip',
        secondary: true,
        title: 'Probe again with this skip input replaced by zeros, and compare',
      },
      merge.skips.length > 1 ? `Cut these ${merge.skips.length} skips` : 'Cut this skip',
    );
    b.addEventListener('click', () => this.link.post({ type: 'cutSkip', merges: [name] }));
    this.details.append(h('div', { class: 'cut-row' }, b));
  }

  /** The chart's colours from the VS Code theme (bars A/B: blue and orange, safe for colour-blind readers). */
  private chartTheme(): ChartTheme {
    const th = this.canvas.theme;
    return {
      background: th.background,
      foreground: th.foreground,
      muted: th.muted,
      grid: th.highContrast ? th.nodeBorder : th.groupFill,
      barA: '#3a87c8',
      barB: '#ff8c1a',
      arc: th.edge,
      cut: th.kind.gate,
      focus: th.focus,
    };
  }

  /** Lights the node of a hovered bar (undefined: none). */
  private hoverFromChart(node: string | undefined): void {
    const i = node === undefined ? undefined : this.nodeIndex.get(node);
    const it = i === undefined || !this.scene ? -1 : this.scene.graph.itemOfNode[i];
    this.highlight.hover = it;
    this.lightSkips(i !== undefined ? (this.skipsOfNode.get(i) ?? []) : []);
    this.canvas.request();
  }

  /** Focuses the first of `nodes` and marks the others as hits (a diagnosis finding's from → to). */
  focusNodes(nodes: string[]): void {
    const idx = nodes.map((n) => this.nodeIndex.get(n)).filter((i): i is number => i !== undefined);
    if (!idx.length) return;
    this.hits = idx;
    this.hitAt = -1;
    void this.revealNode(idx[0]);
  }

  /** Shows the model's runs: run A on the graph and in the chart, compared with run B. */
  setRuns(runs: GradientOverlay[], a?: number, b?: number): void {
    const shown = runs.find((r) => r.run?.id === a) ?? runs.at(-1);
    this.grads = shown;
    this.gradientLabel.textContent = shown ? `Gradient overlay: ${shown.run?.name ?? shown.label}` : '';
    this.flow.setRuns(runs, shown?.run?.id, b);
    if (this.selectedNode >= 0) {
      renderNodeDetails(this.details, this.detailsContext(), this.selectedNode);
      this.addCutButton(this.selectedNode);
    }
    this.refreshHighlight();
  }

  /** Per item fill colours of the overlay (metric of run A, or the ratio B / A) and the legend. */
  private overlayFills(s: Scene): void {
    const hl = this.highlight;
    const layers = this.flow.layers;
    hl.fill = undefined;
    hl.ink = undefined;
    hl.skipLabels = undefined;
    if (!layers) {
      this.overlayLegend.hidden = true;
      return;
    }
    const metric = this.flow.metric;
    const info = FLOW_METRICS.find((m) => m.id === metric)!;
    const value = new Map<string, number>();
    const b = this.flow.compareLayers;
    const ratio = this.flow.colourBy === 'ratio' && b;
    if (ratio) {
      const bv = new Map(b.map((l) => [l.node, metricValue(l, metric)]));
      for (const l of layers) {
        const va = metricValue(l, metric);
        const vb = bv.get(l.node);
        if (va && vb && va > 0 && vb > 0) value.set(l.node, vb / va);
      }
    } else
      for (const l of layers) {
        const v = metricValue(l, metric);
        if (v !== undefined) value.set(l.node, v);
      }
    let span = 1;
    if (ratio) for (const v of value.values()) span = Math.max(span, Math.ceil(Math.abs(Math.log10(v))));
    const domain = !ratio && info.log ? logDomain(value.values()) : undefined;
    const tOf = (v: number) =>
      ratio
        ? 0.5 + Math.max(-0.5, Math.min(0.5, Math.log10(v) / (2 * span)))
        : domain
          ? logPosition(domain, v)
          : v;
    const fills: (string | undefined)[] = new Array(s.graph.items.length).fill(undefined);
    const ink: (string | undefined)[] = new Array(s.graph.items.length).fill(undefined);
    s.graph.items.forEach((it, k) => {
      if (it.kind !== 'node') return;
      const v = value.get(this.view.nodes[it.ref].name);
      if (v === undefined || (info.log && !(v > 0))) return;
      const t = tOf(v);
      if (Number.isNaN(t)) return;
      fills[k] = ratio ? diverging(t) : viridis(t);
      // Dark viridis and the diverging ends want white text; the light middle wants black.
      ink[k] = ratio ? (Math.abs(t - 0.5) > 0.3 ? '#ffffff' : '#000000') : t < 0.6 ? '#ffffff' : '#000000';
    });
    hl.fill = fills;
    hl.ink = ink;
    const labels = new Map<string, string>();
    const byNode = new Map(layers.map((l) => [l.node, l]));
    for (const sk of this.view.skips.skips) {
      const m = byNode.get(sk.merge)?.merge;
      if (m) labels.set(sk.id, m.cut ? 'cut' : `skip ${(m.skipShare * 100).toFixed(0)}%`);
    }
    hl.skipLabels = labels;
    // The legend: the scale's ramp with its ends, the metric, and what grey means.
    const stops = Array.from({ length: 9 }, (_, i) => (ratio ? diverging(i / 8) : viridis(i / 8)));
    const [lo, hi] = ratio
      ? [`B/A 1e-${span}`, `1e${span}`]
      : domain
        ? [decadeLabel(domain.lo), decadeLabel(domain.hi)]
        : ['0%', '100%'];
    const title = ratio ? `Ratio B / A of ${info.label}` : `${info.label}${info.log ? ' (log)' : ''}`;
    fill(
      this.overlayLegend,
      h('span', { class: 'legend-title' }, title),
      h('span', { class: 'legend-end' }, lo),
      h('span', { class: 'ramp', style: `background: linear-gradient(to right, ${stops.join(', ')})` }),
      h('span', { class: 'legend-end' }, hi),
      h('span', { class: 'swatch no-value', 'aria-hidden': 'true' }),
      h('span', { class: 'legend-end' }, 'no value'),
    );
    this.overlayLegend.setAttribute(
      'aria-label',
      `Node colours: ${title}, from ${lo} to ${hi}; grey: no value.`,
    );
    this.overlayLegend.hidden = false;
  }

  /** What the overlay shows per node now: the value and the fill colour (tests read it). */
  overlayValues(): Record<string, { value?: number; fill?: string }> {
    const s = this.scene;
    const out: Record<string, { value?: number; fill?: string }> = {};
    const layers = new Map((this.flow.layers ?? []).map((l) => [l.node, l]));
    if (!s) return out;
    s.graph.items.forEach((it, k) => {
      if (it.kind !== 'node') return;
      const name = this.view.nodes[it.ref].name;
      const l = layers.get(name);
      out[name] = { value: l ? metricValue(l, this.flow.metric) : undefined, fill: this.highlight.fill?.[k] };
    });
    return out;
  }

  private detailsContext(): DetailsContext {
    return { view: this.view, grads: this.grads, tensorStats: (t) => this.link.tensorStats(t) };
  }

  /** Maps the selection, search hits and gradient heat onto the current items. */
  private refreshHighlight(): void {
    const s = this.scene;
    if (!s) return;
    const hl = this.highlight;
    hl.selected =
      this.selectedNode >= 0
        ? s.graph.itemOfNode[this.selectedNode]
        : this.selectedGroup >= 0
          ? s.graph.itemOfGroup[this.selectedGroup]
          : -1;
    hl.hits = new Set(this.hits.map((i) => s.graph.itemOfNode[i]).filter((it) => it >= 0));
    hl.currentHit = this.hitAt >= 0 ? s.graph.itemOfNode[this.hits[this.hitAt]] : -1;
    hl.litSkips = new Set(this.focusedSkip ? [this.focusedSkip] : []);
    hl.heat = this.heat(s);
    this.overlayFills(s);
    this.canvas.request();
  }

  private heat(s: Scene): Float32Array | undefined {
    const g = this.grads;
    if (!g) return undefined;
    const logs = Object.values(g.nodes)
      .map((n) => Math.log10(n.rms))
      .filter(Number.isFinite);
    if (!logs.length) return undefined;
    const lo = Math.min(...logs);
    const hi = Math.max(...logs);
    const heat = new Float32Array(s.graph.items.length).fill(NaN);
    s.graph.items.forEach((it, k) => {
      if (it.kind !== 'node') return;
      const r = g.nodes[this.view.nodes[it.ref].name]?.rms;
      // NaN or Infinity: the hottest bar (the hover card says which).
      if (r !== undefined && !Number.isFinite(r)) heat[k] = 1;
      else if (r !== undefined && r > 0) heat[k] = hi > lo ? (Math.log10(r) - lo) / (hi - lo) : 1;
    });
    return heat;
  }

  /** Shows gradient statistics from a probe run (null clears them). */
  setGradients(overlay: GradientOverlay | null): void {
    if (overlay?.layers) return this.setRuns([overlay], overlay.run?.id);
    this.grads = overlay ?? undefined;
    // The orange bar under each node is its gradient RMS on a log scale across the model.
    this.gradientLabel.textContent = overlay
      ? `Gradient RMS (bars, log scale): ${overlay.label}${overlay.nonFinite ? ` — NaN/Infinity: ${overlay.nonFinite.message}` : ''}`
      : '';
    if (this.selectedNode >= 0) renderNodeDetails(this.details, this.detailsContext(), this.selectedNode);
    this.refreshHighlight();
  }

  private search(query: string): void {
    this.hits = searchNodes(this.view, query, this.showHidden);
    this.hitAt = -1;
    this.searchCount.textContent = query.trim() ? `${this.hits.length} found` : '';
    this.refreshHighlight();
  }

  private async stepHit(step: number): Promise<void> {
    if (!this.hits.length) return;
    this.hitAt = (this.hitAt + step + this.hits.length) % this.hits.length;
    this.searchCount.textContent = `${this.hitAt + 1} of ${this.hits.length}`;
    await this.revealNode(this.hits[this.hitAt]);
  }

  private cardOf(item: number): { card: NodeCard; name: string } | undefined {
    const s = this.scene!;
    const it = s.graph.items[item];
    if (it.kind === 'node') {
      const name = this.view.nodes[it.ref].name;
      const card = nodeCard(this.view, name, this.grads);
      return card ? { card, name } : undefined;
    }
    if (it.kind === 'group') {
      const g = this.tree.groups[it.ref];
      return {
        name: g.id,
        card: {
          title: this.tree.mode === 'blocks' ? 'Block' : 'Scope',
          rows: [
            ['name', displayName(g.label, CARD_NAME_MAX)],
            ['nodes', formatCount(g.size)],
          ],
          skipRole: 'Collapsed: double-click or press Enter to expand.',
        },
      };
    }
    const t = it.kind === 'input' ? this.view.inputs[it.ref] : this.view.outputs[it.ref];
    return {
      name: t.name,
      card: {
        title: it.kind === 'input' ? 'Input' : 'Output',
        rows: [
          ['name', displayName(t.name, CARD_NAME_MAX)],
          ['shape', displayName(formatShape(t.shape), CARD_NAME_MAX)],
          ['dtype', t.dtype],
        ],
      },
    };
  }

  private hoverItem(item: number, sx: number, sy: number): void {
    // A card with an action stays while the pointer travels from its item onto it (over its own
    // item or empty graph: another item under the pointer gets its own card).
    if ((item < 0 || item === this.highlight.hover) && this.hover.holds(sx, sy)) return;
    if (item === this.highlight.hover && item < 0) return;
    this.highlight.hover = item;
    const s = this.scene;
    if (item < 0 || !s) {
      this.hover.hide();
      this.lightSkips([]);
      return;
    }
    const c = this.cardOf(item);
    if (c) this.hover.show(c.card, c.name, sx, sy, this.cardActions(item), this.itemBox(item));
    const it = s.graph.items[item];
    this.lightSkips(it.kind === 'node' ? (this.skipsOfNode.get(it.ref) ?? []) : []);
  }

  /** The actions of an item's card: at a merge with skips, cut them (as the Details button does). */
  private cardActions(item: number): CardAction[] {
    const it = this.scene?.graph.items[item];
    if (it?.kind !== 'node') return [];
    const name = this.view.nodes[it.ref].name;
    const merge = this.view.skips.merges.find((m) => m.node === name && m.skips.length > 0);
    if (!merge) return [];
    return [
      {
        id: 'card-cut-skip',
        label: merge.skips.length > 1 ? `Cut these ${merge.skips.length} skips` : 'Cut this skip',
        title:
          'Probe again with the skip input of this merge replaced by zeros, and compare with the intact run (from the keyboard: select the merge, then its Details panel has the same button)',
        run: () => this.link.post({ type: 'cutSkip', merges: [name] }),
      },
    ];
  }

  /** The screen box of item `item`, in canvas CSS pixels. */
  private itemBox(item: number): Box | undefined {
    const s = this.scene;
    if (!s || item < 0) return undefined;
    const { vp } = this.canvas;
    const it = s.graph.items[item];
    const x = s.layout.x[item] * vp.k + vp.x;
    const y = s.layout.y[item] * vp.k + vp.y;
    const hw = (it.width / 2) * vp.k;
    const hh = (it.height / 2) * vp.k;
    return { x0: x - hw, y0: y - hh, x1: x + hw, y1: y + hh };
  }

  private activate(item: number): void {
    const s = this.scene;
    if (!s || item < 0) return;
    const it = s.graph.items[item];
    if (it.kind === 'group') this.toggleGroup(it.ref);
  }

  private clickItem(item: number): void {
    const s = this.scene;
    this.focusedSkip = undefined;
    if (!s || item < 0) {
      this.select(-1, -1);
      return;
    }
    const it = s.graph.items[item];
    if (it.kind === 'node') this.select(it.ref, -1);
    else if (it.kind === 'group') this.select(-1, it.ref);
  }

  private bindCanvas(el: HTMLCanvasElement): void {
    let drag: { x: number; y: number; moved: boolean; id: number } | undefined;
    const local = (ev: MouseEvent) => {
      const r = el.getBoundingClientRect();
      return { sx: ev.clientX - r.left, sy: ev.clientY - r.top };
    };
    el.addEventListener('pointerdown', (ev) => {
      el.focus();
      drag = { x: ev.clientX, y: ev.clientY, moved: false, id: ev.pointerId };
      el.setPointerCapture(ev.pointerId);
    });
    el.addEventListener('pointermove', (ev) => {
      const { sx, sy } = local(ev);
      if (drag && el.hasPointerCapture(drag.id)) {
        const dx = ev.clientX - drag.x;
        const dy = ev.clientY - drag.y;
        if (drag.moved || Math.abs(dx) + Math.abs(dy) > 3) {
          drag.moved = true;
          drag.x = ev.clientX;
          drag.y = ev.clientY;
          this.hover.hide();
          this.canvas.panBy(dx, dy);
          return;
        }
      }
      this.hoverItem(this.canvas.hitTest(sx, sy), sx, sy);
    });
    el.addEventListener('pointerup', (ev) => {
      const d = drag;
      drag = undefined;
      if (!d || d.moved) return;
      const { sx, sy } = local(ev);
      const frame = this.canvas.frameTitleAt(sx, sy);
      const item = this.canvas.hitTest(sx, sy);
      if (item < 0 && frame >= 0) this.toggleGroup(frame);
      else this.clickItem(item);
    });
    el.addEventListener('pointerleave', (ev) => {
      // Onto the hover card: it stays (it has an action the pointer is heading for).
      if (ev.relatedTarget instanceof Node && this.hover.el.contains(ev.relatedTarget)) return;
      this.hoverItem(-1, NaN, NaN);
    });
    el.addEventListener('dblclick', (ev) => {
      const { sx, sy } = local(ev);
      this.activate(this.canvas.hitTest(sx, sy));
    });
    el.addEventListener(
      'wheel',
      (ev) => {
        ev.preventDefault();
        const { sx, sy } = local(ev);
        this.hover.hide();
        if (ev.shiftKey) this.canvas.panBy(-ev.deltaY, 0);
        else this.canvas.zoomAt(sx, sy, Math.exp(-ev.deltaY * (ev.ctrlKey ? 0.01 : 0.0015)));
      },
      { passive: false },
    );
    el.addEventListener('keydown', (ev) => this.onKey(ev));
  }

  private onKey(ev: KeyboardEvent): void {
    const { width, height } = this.canvas.size();
    const arrows: Record<string, Direction> = {
      ArrowDown: 'down',
      ArrowUp: 'up',
      ArrowLeft: 'left',
      ArrowRight: 'right',
    };
    const s = this.scene;
    const dir = arrows[ev.key];
    if (dir && s) {
      ev.preventDefault();
      if (ev.shiftKey) {
        const d = 60;
        this.canvas.panBy(
          dir === 'left' ? d : dir === 'right' ? -d : 0,
          dir === 'up' ? d : dir === 'down' ? -d : 0,
        );
        return;
      }
      const from = this.highlight.selected >= 0 ? this.highlight.selected : 0;
      const to = this.highlight.selected >= 0 ? neighbour(s, from, dir) : 0;
      this.clickItem(to);
      this.canvas.focusItem(to);
      const c = this.cardOf(to);
      if (c) this.statusLine.textContent = `${c.card.title} ${displayName(c.name)}`;
      return;
    }
    if (ev.key === 'Enter' || ev.key === ' ') {
      ev.preventDefault();
      if (this.highlight.selected >= 0) this.activate(this.highlight.selected);
      else if (this.selectedNode >= 0) {
        const g = this.tree.leaf[this.selectedNode];
        if (g >= 0) this.toggleGroup(g);
      }
    } else if (ev.key === '+' || ev.key === '=') this.canvas.zoomAt(width / 2, height / 2, 1.25);
    else if (ev.key === '-') this.canvas.zoomAt(width / 2, height / 2, 0.8);
    else if (ev.key === '0') this.canvas.fit();
    else if (ev.key === 'Escape') {
      this.focusedSkip = undefined;
      this.select(-1, -1);
    } else if ((ev.ctrlKey || ev.metaKey) && ev.key === 'f') {
      ev.preventDefault();
      (document.getElementById('search') as HTMLElement | null)?.focus();
    }
  }
}
