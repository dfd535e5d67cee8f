/**
 * The minimap: the whole graph in small, the viewport as a rectangle; click or drag to move there.
 */
import type { GraphCanvas } from './graphCanvas';

const W = 180;
const H = 130;

/** A minimap bound to one graph canvas. */
export class Minimap {
  private readonly ctx: CanvasRenderingContext2D;
  private image?: HTMLCanvasElement;
  private scale = 1;
  private ox = 0;
  private oy = 0;

  constructor(
    readonly canvas: HTMLCanvasElement,
    private readonly graph: GraphCanvas,
  ) {
    const dpr = window.devicePixelRatio || 1;
    canvas.width = W * dpr;
    canvas.height = H * dpr;
    this.ctx = canvas.getContext('2d')!;
    const move = (ev: PointerEvent) => {
      const r = canvas.getBoundingClientRect();
      const wx = (ev.clientX - r.left - this.ox) / this.scale;
      const wy = (ev.clientY - r.top - this.oy) / this.scale;
      const { width, height } = graph.size();
      graph.vp = { ...graph.vp, x: width / 2 - wx * graph.vp.k, y: height / 2 - wy * graph.vp.k };
      graph.request();
    };
    canvas.addEventListener('pointerdown', (ev) => {
      canvas.setPointerCapture(ev.pointerId);
      move(ev);
    });
    canvas.addEventListener('pointermove', (ev) => {
      if (canvas.hasPointerCapture(ev.pointerId)) move(ev);
    });
  }

  /** Re-renders the graph thumbnail (after a layout or a theme change). */
  rebuild(): void {
    const s = this.graph.scene;
    if (!s) return;
    const dpr = window.devicePixelRatio || 1;
    this.scale = Math.min((W - 8) / Math.max(1, s.layout.width), (H - 8) / Math.max(1, s.layout.height));
    this.ox = (W - s.layout.width * this.scale) / 2;
    this.oy = (H - s.layout.height * this.scale) / 2;
    const img = document.createElement('canvas');
    img.width = W * dpr;
    img.height = H * dpr;
    const c = img.getContext('2d')!;
    c.setTransform(dpr * this.scale, 0, 0, dpr * this.scale, dpr * this.ox, dpr * this.oy);
    const th = this.graph.theme;
    const { items } = s.graph;
    const byColour = new Map<string, number[]>();
    items.forEach((_, i) => {
      const colour = th.category[s.category[i]];
      byColour.set(colour, [...(byColour.get(colour) ?? []), i]);
    });
    const minSize = 1.5 / this.scale;
    for (const [colour, list] of byColour) {
      c.fillStyle = colour;
      c.beginPath();
      for (const i of list) {
        const it = items[i];
        c.rect(
          s.layout.x[i] - it.width / 2,
          s.layout.y[i] - it.height / 2,
          Math.max(minSize, it.width),
          Math.max(minSize, it.height),
        );
      }
      c.fill();
    }
    this.image = img;
    this.draw();
  }

  /** Draws the thumbnail and the viewport rectangle. */
  draw(): void {
    const dpr = window.devicePixelRatio || 1;
    const c = this.ctx;
    c.setTransform(dpr, 0, 0, dpr, 0, 0);
    c.clearRect(0, 0, W, H);
    if (this.image) c.drawImage(this.image, 0, 0, W, H);
    const { vp } = this.graph;
    const { width, height } = this.graph.size();
    const x = this.ox + (-vp.x / vp.k) * this.scale;
    const y = this.oy + (-vp.y / vp.k) * this.scale;
    c.strokeStyle = this.graph.theme.focus;
    c.lineWidth = 1.5;
    c.strokeRect(x, y, (width / vp.k) * this.scale, (height / vp.k) * this.scale);
  }
}
