/**
 * Draws a scene on a canvas and keeps it fast at 10,000 nodes: only what is in view is drawn,
 * edges are batched into one path, text and arrows appear only when big enough to read, and
 * frames are drawn on demand (one requestAnimationFrame per burst of changes).
 */
import { formatShape } from '../../runtime/view/format';
import type { Scene } from '../graph/scene';
import type { DrawnKind, Theme } from './theme';

/** What is highlighted on top of the scene. */
export interface Highlight {
  selected: number;
  hover: number;
  /** Skip ids lit (hovered merge, focused skip). */
  litSkips: Set<string>;
  hits: Set<number>;
  currentHit: number;
  /** Kinds whose skip paths are shown. */
  kinds: Record<DrawnKind, boolean>;
  /** Per item, 0..1 gradient heat (from a probe run), or undefined. */
  heat?: Float32Array;
  /** Per item, the overlay's fill colour (gradient metric on the colour scale) and a text colour readable on it. */
  fill?: (string | undefined)[];
  ink?: (string | undefined)[];
  /** Per skip id, the label written on its path at the merge (the skip share). */
  skipLabels?: Map<string, string>;
}

/** Screen = world × k + (x, y). */
export interface Viewport {
  x: number;
  y: number;
  k: number;
}

const MIN_K = 0.01;
const MAX_K = 4;

/** The graph canvas. */
export class GraphCanvas {
  readonly ctx: CanvasRenderingContext2D;
  scene?: Scene;
  vp: Viewport = { x: 0, y: 0, k: 1 };
  private pending = 0;
  private width = 0;
  private height = 0;
  /** Milliseconds the last frame took to draw, and frames drawn (the bench reads them). */
  lastDrawMs = 0;
  frames = 0;
  /** Called after each frame (the minimap follows the viewport). */
  onDraw?: () => void;

  constructor(
    readonly canvas: HTMLCanvasElement,
    public theme: Theme,
    public highlight: Highlight,
  ) {
    this.ctx = canvas.getContext('2d', { alpha: false })!;
  }

  /** Matches the backing store to the element size. */
  resize(): void {
    const dpr = window.devicePixelRatio || 1;
    const r = this.canvas.getBoundingClientRect();
    this.width = Math.max(1, r.width);
    this.height = Math.max(1, r.height);
    this.canvas.width = Math.round(this.width * dpr);
    this.canvas.height = Math.round(this.height * dpr);
    this.request();
  }

  /** The canvas size in CSS pixels. */
  size(): { width: number; height: number } {
    return { width: this.width, height: this.height };
  }

  /** Schedules a frame. */
  request(): void {
    if (this.pending) return;
    this.pending = requestAnimationFrame(() => {
      this.pending = 0;
      this.draw();
    });
  }

  /**
   * The first view: the whole graph when it can be read that way, else its top at a readable zoom
   * (the minimap shows the rest), as a long network is far taller than it is wide.
   */
  initialView(): void {
    if (!this.scene) return;
    const { width, height } = this.scene.layout;
    const fitK = Math.min(
      1,
      (this.width - 40) / Math.max(1, width),
      (this.height - 40) / Math.max(1, height),
    );
    if (fitK >= 0.5) return this.fit();
    const k = Math.max(MIN_K, Math.min(0.8, (this.width - 40) / Math.max(1, width)));
    this.vp = { k, x: (this.width - width * k) / 2, y: 20 };
    this.request();
  }

  /** Fits the whole graph in view (never zooming in past 1). */
  fit(): void {
    if (!this.scene) return;
    const { width, height } = this.scene.layout;
    const k = Math.max(
      MIN_K,
      Math.min(1, (this.width - 40) / Math.max(1, width), (this.height - 40) / Math.max(1, height)),
    );
    this.vp = { k, x: (this.width - width * k) / 2, y: Math.max(20, (this.height - height * k) / 2) };
    this.request();
  }

  /** Centres the world box in view, zooming to make it readable. */
  focusBox(x0: number, y0: number, x1: number, y1: number, minK = 0.6): void {
    const k = Math.max(
      MIN_K,
      Math.min(
        1.2,
        Math.max(
          minK,
          Math.min((this.width - 80) / Math.max(1, x1 - x0), (this.height - 80) / Math.max(1, y1 - y0)),
        ),
      ),
    );
    this.vp = { k, x: this.width / 2 - ((x0 + x1) / 2) * k, y: this.height / 2 - ((y0 + y1) / 2) * k };
    this.request();
  }

  /** Centres item `i`. */
  focusItem(i: number): void {
    if (!this.scene) return;
    const it = this.scene.graph.items[i];
    const x = this.scene.layout.x[i];
    const y = this.scene.layout.y[i];
    this.focusBox(x - it.width / 2, y - it.height / 2, x + it.width / 2, y + it.height / 2, 0.9);
  }

  /** Zooms by `factor` around the screen point (sx, sy). */
  zoomAt(sx: number, sy: number, factor: number): void {
    const k = Math.min(MAX_K, Math.max(MIN_K, this.vp.k * factor));
    const f = k / this.vp.k;
    this.vp = { k, x: sx - (sx - this.vp.x) * f, y: sy - (sy - this.vp.y) * f };
    this.request();
  }

  /** Pans by a screen distance. */
  panBy(dx: number, dy: number): void {
    this.vp = { ...this.vp, x: this.vp.x + dx, y: this.vp.y + dy };
    this.request();
  }

  /** The item under the screen point, or -1. */
  hitTest(sx: number, sy: number): number {
    const s = this.scene;
    if (!s) return -1;
    const wx = (sx - this.vp.x) / this.vp.k;
    const wy = (sy - this.vp.y) / this.vp.k;
    const { items } = s.graph;
    for (let i = items.length - 1; i >= 0; i--) {
      const it = items[i];
      if (Math.abs(wx - s.layout.x[i]) <= it.width / 2 && Math.abs(wy - s.layout.y[i]) <= it.height / 2)
        return i;
    }
    return -1;
  }

  /** The expanded group whose frame title is under the screen point, or -1. */
  frameTitleAt(sx: number, sy: number): number {
    const s = this.scene;
    if (!s) return -1;
    const wx = (sx - this.vp.x) / this.vp.k;
    const wy = (sy - this.vp.y) / this.vp.k;
    for (let f = s.frames.length - 1; f >= 0; f--) {
      const fr = s.frames[f];
      if (wx >= fr.x0 && wx <= fr.x1 && wy >= fr.y0 && wy <= fr.y0 + 16) return fr.group;
    }
    return -1;
  }

  /** Draws one frame now. */
  draw(): void {
    const t0 = performance.now();
    const { ctx, theme: th } = this;
    const dpr = window.devicePixelRatio || 1;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = th.background;
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    const s = this.scene;
    if (s) {
      const { k } = this.vp;
      ctx.setTransform(dpr * k, 0, 0, dpr * k, dpr * this.vp.x, dpr * this.vp.y);
      const vx0 = -this.vp.x / k;
      const vy0 = -this.vp.y / k;
      const vx1 = vx0 + this.width / k;
      const vy1 = vy0 + this.height / k;
      this.drawFrames(s, vx0, vy0, vx1, vy1);
      this.drawEdges(s, vx0, vy0, vx1, vy1);
      this.drawSkips(s, vx0, vy0, vx1, vy1);
      this.drawItems(s, vx0, vy0, vx1, vy1);
    }
    this.lastDrawMs = performance.now() - t0;
    this.frames++;
    this.onDraw?.();
  }

  private drawFrames(s: Scene, vx0: number, vy0: number, vx1: number, vy1: number): void {
    const { ctx, theme: th } = this;
    const k = this.vp.k;
    ctx.lineWidth = 1 / k;
    for (const f of s.frames) {
      if (f.x1 < vx0 || f.x0 > vx1 || f.y1 < vy0 || f.y0 > vy1) continue;
      ctx.globalAlpha = 0.35;
      ctx.fillStyle = th.groupFill;
      ctx.fillRect(f.x0, f.y0, f.x1 - f.x0, f.y1 - f.y0);
      ctx.globalAlpha = 1;
      ctx.strokeStyle = th.nodeBorder;
      ctx.setLineDash([4 / k, 3 / k]);
      ctx.strokeRect(f.x0, f.y0, f.x1 - f.x0, f.y1 - f.y0);
      ctx.setLineDash([]);
      if (k * 11 >= 7) {
        ctx.fillStyle = th.muted;
        ctx.font = `11px ${th.font}`;
        ctx.textAlign = 'left';
        ctx.textBaseline = 'top';
        ctx.fillText(`▾ ${f.label}`, f.x0 + 4, f.y0 + 3, f.x1 - f.x0 - 8);
      }
    }
  }

  private tracePolyline(s: Scene, e: number): void {
    const { points, offsets } = s.layout;
    const a = offsets[e];
    const b = offsets[e + 1];
    if (b - a < 4) return;
    const ctx = this.ctx;
    ctx.moveTo(points[a], points[a + 1]);
    for (let p = a + 2; p < b; p += 2) {
      const x0 = points[p - 2];
      const y0 = points[p - 1];
      const x1 = points[p];
      const y1 = points[p + 1];
      if (x0 === x1) ctx.lineTo(x1, y1);
      else {
        const ym = (y0 + y1) / 2;
        ctx.bezierCurveTo(x0, ym, x1, ym, x1, y1);
      }
    }
  }

  private drawEdges(s: Scene, vx0: number, vy0: number, vx1: number, vy1: number): void {
    const { ctx, theme: th } = this;
    const k = this.vp.k;
    const box = s.edgeBox;
    const visible: number[] = [];
    ctx.beginPath();
    for (let e = 0; e < s.graph.edges.length; e++) {
      if (box[e * 4 + 2] < vx0 || box[e * 4] > vx1 || box[e * 4 + 3] < vy0 || box[e * 4 + 1] > vy1) continue;
      visible.push(e);
      this.tracePolyline(s, e);
    }
    ctx.strokeStyle = th.edge;
    ctx.lineWidth = Math.max(1 / k, 1);
    ctx.stroke();
    if (k < 0.45) return;
    // Arrow heads and, when zoomed in, the tensor shape on each edge.
    const { points, offsets } = s.layout;
    ctx.fillStyle = th.edge;
    ctx.beginPath();
    for (const e of visible) {
      const b = offsets[e + 1];
      if (b - offsets[e] < 4) continue;
      const x = points[b - 2];
      const y = points[b - 1];
      ctx.moveTo(x, y);
      ctx.lineTo(x - 4, y - 7);
      ctx.lineTo(x + 4, y - 7);
      ctx.closePath();
    }
    ctx.fill();
    if (k < 0.8 || visible.length > 600) return;
    ctx.font = `10px ${th.font}`;
    ctx.fillStyle = th.muted;
    ctx.textAlign = 'left';
    ctx.textBaseline = 'middle';
    for (const e of visible) {
      const a = offsets[e];
      const b = offsets[e + 1];
      if (b - a < 4) continue;
      const edge = s.graph.edges[e];
      const label = formatShape(edge.shape) + (edge.count > 1 ? ` ×${edge.count}` : '');
      ctx.fillText(label, points[a] + 5, points[a + 1] + 11);
    }
  }

  private drawSkips(s: Scene, vx0: number, vy0: number, vx1: number, vy1: number): void {
    const { ctx, theme: th, highlight: h } = this;
    const k = this.vp.k;
    const box = s.edgeBox;
    const byKind = new Map<DrawnKind, number[]>();
    const lit: number[] = [];
    for (const sk of s.skips) {
      if (!h.kinds[sk.kind]) continue;
      const list = byKind.get(sk.kind) ?? [];
      byKind.set(sk.kind, list);
      const isLit = h.litSkips.has(sk.id);
      for (const e of sk.edges) {
        if (box[e * 4 + 2] < vx0 || box[e * 4] > vx1 || box[e * 4 + 3] < vy0 || box[e * 4 + 1] > vy1)
          continue;
        (isLit ? lit : list).push(e);
      }
    }
    ctx.lineCap = 'round';
    for (const [kind, list] of byKind) {
      if (!list.length) continue;
      ctx.beginPath();
      for (const e of list) this.tracePolyline(s, e);
      ctx.strokeStyle = th.kind[kind];
      ctx.globalAlpha = h.litSkips.size ? 0.45 : 0.9;
      ctx.lineWidth = Math.max(2.5, 2.5 / k);
      ctx.stroke();
    }
    ctx.globalAlpha = 1;
    if (lit.length) {
      for (const sk of s.skips) {
        if (!h.litSkips.has(sk.id) || !h.kinds[sk.kind]) continue;
        ctx.beginPath();
        for (const e of sk.edges) this.tracePolyline(s, e);
        ctx.strokeStyle = th.focus;
        ctx.lineWidth = Math.max(7, 7 / k);
        ctx.stroke();
        ctx.strokeStyle = th.kind[sk.kind];
        ctx.lineWidth = Math.max(4, 4 / k);
        ctx.stroke();
      }
    }
    ctx.lineCap = 'butt';
    this.drawSkipLabels(s, vx0, vy0, vx1, vy1);
  }

  /** The skip share written on each skip path where it enters its merge, when zoomed in enough to read. */
  private drawSkipLabels(s: Scene, vx0: number, vy0: number, vx1: number, vy1: number): void {
    const labels = this.highlight.skipLabels;
    const k = this.vp.k;
    if (!labels?.size || k < 0.35) return;
    const { ctx, theme: th } = this;
    const { points, offsets } = s.layout;
    ctx.font = `600 10px ${th.font}`;
    ctx.textAlign = 'left';
    ctx.textBaseline = 'middle';
    for (const sk of s.skips) {
      const text = labels.get(sk.id);
      const e = sk.edges.at(-1);
      if (!text || e === undefined || !this.highlight.kinds[sk.kind]) continue;
      const b = offsets[e + 1];
      if (b - offsets[e] < 4) continue;
      // A little above the arrow head on the last segment into the merge.
      const x = (points[b - 4] + points[b - 2]) / 2;
      const y = (points[b - 3] + points[b - 1]) / 2;
      if (x < vx0 || x > vx1 || y < vy0 || y > vy1) continue;
      const w = ctx.measureText(text).width + 8;
      ctx.fillStyle = th.background;
      ctx.strokeStyle = th.kind[sk.kind];
      ctx.lineWidth = 1 / k;
      ctx.fillRect(x + 4, y - 7, w, 14);
      ctx.strokeRect(x + 4, y - 7, w, 14);
      ctx.fillStyle = th.foreground;
      ctx.fillText(text, x + 8, y);
    }
  }

  private drawItems(s: Scene, vx0: number, vy0: number, vx1: number, vy1: number): void {
    const { ctx, theme: th } = this;
    const k = this.vp.k;
    const { items } = s.graph;
    const { x, y } = s.layout;
    const showText = k * 12 >= 6;
    const detailed = k >= 0.3;
    const visible: number[] = [];
    for (let i = 0; i < items.length; i++) {
      const it = items[i];
      const hw = it.width / 2;
      const hh = it.height / 2;
      if (x[i] + hw < vx0 || x[i] - hw > vx1 || y[i] + hh < vy0 || y[i] - hh > vy1) continue;
      visible.push(i);
    }
    // Fills and borders batched: one path for all boxes.
    ctx.beginPath();
    for (const i of visible) {
      const it = items[i];
      ctx.rect(x[i] - it.width / 2, y[i] - it.height / 2, it.width, it.height);
    }
    ctx.fillStyle = th.nodeFill;
    ctx.fill();
    ctx.strokeStyle = th.nodeBorder;
    ctx.lineWidth = 1 / k;
    ctx.stroke();
    // Category stripe on the left of each box (group boxes get a dashed border instead).
    const byColour = new Map<string, number[]>();
    for (const i of visible) {
      const c = th.category[s.category[i]];
      const list = byColour.get(c);
      if (list) list.push(i);
      else byColour.set(c, [i]);
    }
    for (const [colour, list] of byColour) {
      ctx.fillStyle = colour;
      ctx.beginPath();
      for (const i of list) {
        const it = items[i];
        ctx.rect(x[i] - it.width / 2, y[i] - it.height / 2, detailed ? 4 : it.width, it.height);
      }
      ctx.fill();
    }
    const fills = this.highlight.fill;
    if (fills) {
      // The overlay's colour inside the box, right of the category stripe.
      for (const i of visible) {
        const c = fills[i];
        if (!c) continue;
        const it = items[i];
        ctx.fillStyle = c;
        ctx.fillRect(
          x[i] - it.width / 2 + (detailed ? 4 : 0),
          y[i] - it.height / 2,
          it.width - (detailed ? 4 : 0),
          it.height,
        );
      }
    }
    for (const i of visible) this.decorate(s, i, detailed);
    if (!showText) return;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    for (const i of visible) {
      const it = items[i];
      const top = y[i] - it.height / 2;
      ctx.fillStyle = this.highlight.ink?.[i] ?? th.foreground;
      ctx.font = `${it.kind === 'node' ? '600 ' : ''}12px ${th.font}`;
      const label = it.kind === 'group' ? `▸ ${it.label}` : it.label;
      ctx.fillText(label, x[i] + 2, it.sub ? top + 12 : y[i], it.width - 10);
      if (it.sub && k * 10 >= 6) {
        ctx.fillStyle = this.highlight.ink?.[i] ?? th.muted;
        ctx.font = `10px ${th.font}`;
        ctx.fillText(it.sub, x[i] + 2, top + (it.kind === 'group' ? 30 : 26), it.width - 10);
      }
    }
  }

  /** Merge styling, selection, hover, search hits and gradient heat of one item. */
  private decorate(s: Scene, i: number, detailed: boolean): void {
    const { ctx, theme: th, highlight: h } = this;
    const k = this.vp.k;
    const it = s.graph.items[i];
    const x0 = s.layout.x[i] - it.width / 2;
    const y0 = s.layout.y[i] - it.height / 2;
    if (h.hits.has(i)) {
      ctx.fillStyle = th.hit;
      ctx.fillRect(x0, y0, it.width, it.height);
    }
    const mk = s.mergeKind[i];
    if (mk && h.kinds[mk]) {
      ctx.strokeStyle = th.kind[mk];
      ctx.lineWidth = Math.max(2, 2 / k);
      // Gates are dashed and parallel merges doubled: merges, but not skips.
      if (mk === 'gate') ctx.setLineDash([5, 3]);
      ctx.strokeRect(x0, y0, it.width, it.height);
      if (mk === 'parallel') ctx.strokeRect(x0 + 3, y0 + 3, it.width - 6, it.height - 6);
      ctx.setLineDash([]);
    }
    if (it.kind === 'group' && detailed) {
      ctx.strokeStyle = th.muted;
      ctx.lineWidth = 1 / k;
      ctx.setLineDash([3, 2]);
      ctx.strokeRect(x0 + 3, y0 + 3, it.width - 6, it.height - 6);
      ctx.setLineDash([]);
    }
    const heat = h.heat?.[i];
    if (heat !== undefined && !Number.isNaN(heat) && !h.fill) {
      ctx.fillStyle = th.kind.long;
      ctx.fillRect(x0, y0 + it.height - 3, it.width * Math.max(0.02, Math.min(1, heat)), 3);
    }
    const ring =
      i === h.selected ? th.focus : i === h.currentHit ? th.currentHit : i === h.hover ? th.foreground : '';
    if (ring) {
      ctx.strokeStyle = ring;
      ctx.lineWidth = Math.max(2, 2 / k);
      ctx.strokeRect(x0 - 2, y0 - 2, it.width + 4, it.height + 4);
    }
  }
}
