/**
 * Rasterises a Drawing into RGBA pixels and a PNG (pngjs), with no browser and no native code:
 * rectangles and circles by coverage, lines as filled quads (round joins by discs), text from the
 * embedded DejaVu Sans Mono coverage maps (bitmapFont.ts). Good enough for charts and graphs;
 * not a general SVG renderer.
 */
import { PNG } from 'pngjs';
import { BITMAP_FONT } from './bitmapFont';
import type { Colour, Drawing, Shape } from '../view/drawing';

/** An RGBA image being painted. */
interface Canvas {
  width: number;
  height: number;
  data: Uint8Array;
}

/** Parses "#rgb", "#rrggbb" and "rgba(r,g,b,a)" into [r, g, b, a(0..1)]. */
export function parseColour(c: Colour): [number, number, number, number] {
  if (c.startsWith('#')) {
    const hex = c.length === 4 ? c.slice(1).replace(/./g, (x) => x + x) : c.slice(1, 7);
    const v = parseInt(hex, 16);
    return [(v >> 16) & 255, (v >> 8) & 255, v & 255, 1];
  }
  const m = /rgba?\(([^)]+)\)/.exec(c);
  if (m) {
    const p = m[1].split(',').map((s) => Number(s.trim()));
    return [p[0], p[1], p[2], p[3] ?? 1];
  }
  return [0, 0, 0, 1];
}

/** Blends colour `rgba` into pixel (x, y) with coverage `cov` (0..1). */
function blend(cv: Canvas, x: number, y: number, rgba: [number, number, number, number], cov: number): void {
  if (x < 0 || y < 0 || x >= cv.width || y >= cv.height || cov <= 0) return;
  const a = Math.min(1, cov) * rgba[3];
  const i = (y * cv.width + x) * 4;
  const d = cv.data;
  d[i] = Math.round(d[i] + (rgba[0] - d[i]) * a);
  d[i + 1] = Math.round(d[i + 1] + (rgba[1] - d[i + 1]) * a);
  d[i + 2] = Math.round(d[i + 2] + (rgba[2] - d[i + 2]) * a);
  d[i + 3] = Math.round(d[i + 3] + (255 - d[i + 3]) * a);
}

/** Fills the axis-aligned box with exact area coverage at its edges. */
function fillRect(
  cv: Canvas,
  x0: number,
  y0: number,
  x1: number,
  y1: number,
  rgba: [number, number, number, number],
): void {
  const xa = Math.max(0, Math.floor(x0));
  const xb = Math.min(cv.width - 1, Math.ceil(x1) - 1);
  const ya = Math.max(0, Math.floor(y0));
  const yb = Math.min(cv.height - 1, Math.ceil(y1) - 1);
  for (let y = ya; y <= yb; y++) {
    const cy = Math.min(y + 1, y1) - Math.max(y, y0);
    for (let x = xa; x <= xb; x++) {
      const cx = Math.min(x + 1, x1) - Math.max(x, x0);
      blend(cv, x, y, rgba, cx * cy);
    }
  }
}

/** Fills a convex polygon (flat x, y pairs) with 4×4 supersampled coverage. */
function fillConvex(cv: Canvas, pts: number[], rgba: [number, number, number, number]): void {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (let i = 0; i < pts.length; i += 2) {
    x0 = Math.min(x0, pts[i]);
    x1 = Math.max(x1, pts[i]);
    y0 = Math.min(y0, pts[i + 1]);
    y1 = Math.max(y1, pts[i + 1]);
  }
  const k = pts.length / 2;
  // Orientation, so that "inside" is the same side of every edge.
  let area = 0;
  for (let i = 0; i < k; i++) {
    const j = (i + 1) % k;
    area += pts[2 * i] * pts[2 * j + 1] - pts[2 * j] * pts[2 * i + 1];
  }
  const sign = area >= 0 ? 1 : -1;
  const inside = (px: number, py: number) => {
    for (let i = 0; i < k; i++) {
      const j = (i + 1) % k;
      const ex = pts[2 * j] - pts[2 * i];
      const ey = pts[2 * j + 1] - pts[2 * i + 1];
      if (sign * (ex * (py - pts[2 * i + 1]) - ey * (px - pts[2 * i])) < 0) return false;
    }
    return true;
  };
  for (let y = Math.max(0, Math.floor(y0)); y <= Math.min(cv.height - 1, Math.ceil(y1)); y++)
    for (let x = Math.max(0, Math.floor(x0)); x <= Math.min(cv.width - 1, Math.ceil(x1)); x++) {
      // Whole pixel inside (all corners) or outside: no supersampling needed.
      const corners = +inside(x, y) + +inside(x + 1, y) + +inside(x, y + 1) + +inside(x + 1, y + 1);
      if (corners === 4) {
        blend(cv, x, y, rgba, 1);
        continue;
      }
      if (corners === 0 && !inside(x + 0.5, y + 0.5) && x1 - x0 > 2 && y1 - y0 > 2) continue;
      let hits = 0;
      for (let sy = 0; sy < 4; sy++)
        for (let sx = 0; sx < 4; sx++) if (inside(x + (sx + 0.5) / 4, y + (sy + 0.5) / 4)) hits++;
      if (hits) blend(cv, x, y, rgba, hits / 16);
    }
}

function fillDisc(
  cv: Canvas,
  cx: number,
  cy: number,
  r: number,
  rgba: [number, number, number, number],
): void {
  for (let y = Math.max(0, Math.floor(cy - r)); y <= Math.min(cv.height - 1, Math.ceil(cy + r)); y++)
    for (let x = Math.max(0, Math.floor(cx - r)); x <= Math.min(cv.width - 1, Math.ceil(cx + r)); x++) {
      const d = Math.hypot(x + 0.5 - cx, y + 0.5 - cy);
      blend(cv, x, y, rgba, Math.max(0, Math.min(1, r - d + 0.5)));
    }
}

function strokeRing(
  cv: Canvas,
  cx: number,
  cy: number,
  r: number,
  w: number,
  rgba: [number, number, number, number],
): void {
  for (let y = Math.max(0, Math.floor(cy - r - w)); y <= Math.min(cv.height - 1, Math.ceil(cy + r + w)); y++)
    for (
      let x = Math.max(0, Math.floor(cx - r - w));
      x <= Math.min(cv.width - 1, Math.ceil(cx + r + w));
      x++
    ) {
      const d = Math.abs(Math.hypot(x + 0.5 - cx, y + 0.5 - cy) - r);
      blend(cv, x, y, rgba, Math.max(0, Math.min(1, w / 2 - d + 0.5)));
    }
}

function strokeLine(
  cv: Canvas,
  pts: number[],
  w: number,
  rgba: [number, number, number, number],
  dash?: number[],
): void {
  const half = Math.max(0.5, w / 2);
  let on = true;
  let left = dash?.[0] ?? Infinity;
  let di = 0;
  for (let i = 0; i + 3 < pts.length; i += 2) {
    let ax = pts[i];
    let ay = pts[i + 1];
    const bx = pts[i + 2];
    const by = pts[i + 3];
    let len = Math.hypot(bx - ax, by - ay);
    if (len === 0) continue;
    const ux = (bx - ax) / len;
    const uy = (by - ay) / len;
    while (len > 0) {
      const step = Math.min(len, left);
      const ex = ax + ux * step;
      const ey = ay + uy * step;
      if (on && (ax === ex || ay === ey)) {
        // Axis-aligned (most of a layered graph's edges): a rectangle.
        fillRect(
          cv,
          Math.min(ax, ex) - (ax === ex ? half : 0),
          Math.min(ay, ey) - (ay === ey ? half : 0),
          Math.max(ax, ex) + (ax === ex ? half : 0),
          Math.max(ay, ey) + (ay === ey ? half : 0),
          rgba,
        );
      } else if (on) {
        const nx = -uy * half;
        const ny = ux * half;
        fillConvex(cv, [ax + nx, ay + ny, ex + nx, ey + ny, ex - nx, ey - ny, ax - nx, ay - ny], rgba);
        if (w > 2 && !dash) fillDisc(cv, ex, ey, half, rgba);
      }
      ax = ex;
      ay = ey;
      len -= step;
      left -= step;
      if (dash && left <= 0) {
        on = !on;
        di = (di + 1) % dash.length;
        left = dash[di];
      }
    }
  }
}

/** Replaces characters the ASCII glyphs lack with look-alikes. */
function asciiOf(text: string): string {
  const map: Record<string, string> = {
    '×': 'x',
    '→': '->',
    '▲': '^',
    '←': '<-',
    '±': '±',
    '…': '...',
    µ: 'u',
    '−': '-',
    '—': '-',
    '–': '-',
    '·': '.',
    '≥': '>=',
    '≤': '<=',
    '²': '2',
  };
  return text.replace(/[^\x20-\x7e±]/g, (c) => map[c] ?? '?');
}

/** Coverage of glyph `code` at font pixel (gx, gy), bilinear. */
function glyphAt(code: number, gx: number, gy: number, bytes: Uint8Array): number {
  const f = BITMAP_FONT;
  if (code < f.first || code > f.last) return 0;
  const base = (code - f.first) * f.width * f.height;
  const x0 = Math.floor(gx);
  const y0 = Math.floor(gy);
  const fx = gx - x0;
  const fy = gy - y0;
  const at = (x: number, y: number) =>
    x < 0 || y < 0 || x >= f.width || y >= f.height ? 0 : bytes[base + y * f.width + x];
  return (
    ((at(x0, y0) * (1 - fx) + at(x0 + 1, y0) * fx) * (1 - fy) +
      (at(x0, y0 + 1) * (1 - fx) + at(x0 + 1, y0 + 1) * fx) * fy) /
    255
  );
}

let glyphBytes: Uint8Array | undefined;

function drawText(cv: Canvas, s: Extract<Shape, { kind: 'text' }>): void {
  glyphBytes ??= Uint8Array.from(Buffer.from(BITMAP_FONT.data, 'base64'));
  const f = BITMAP_FONT;
  const text = asciiOf(s.text).replace(/±/g, '+-');
  const scale = s.size / f.size;
  const adv = f.advance * s.size;
  const total = adv * text.length;
  const start = s.anchor === 'middle' ? -total / 2 : s.anchor === 'end' ? -total : 0;
  const rgba = parseColour(s.fill);
  const rad = ((s.rotate ?? 0) * Math.PI) / 180;
  const cos = Math.cos(rad);
  const sin = Math.sin(rad);
  // Text box in text space: u from start to start + total, v from −ascent to descent (baseline 0).
  const top = -f.ascent * scale;
  const bottom = (f.height - f.ascent) * scale;
  const corners = [
    [start, top],
    [start + total, top],
    [start, bottom],
    [start + total, bottom],
  ].map(([u, v]) => [s.x + u * cos - v * sin, s.y + u * sin + v * cos]);
  const xs = corners.map((c) => c[0]);
  const ys = corners.map((c) => c[1]);
  for (
    let y = Math.max(0, Math.floor(Math.min(...ys)));
    y <= Math.min(cv.height - 1, Math.ceil(Math.max(...ys)));
    y++
  )
    for (
      let x = Math.max(0, Math.floor(Math.min(...xs)));
      x <= Math.min(cv.width - 1, Math.ceil(Math.max(...xs)));
      x++
    ) {
      // Back to text space (inverse rotation), then to glyph pixels.
      const dx = x + 0.5 - s.x;
      const dy = y + 0.5 - s.y;
      const u = dx * cos + dy * sin - start;
      const v = -dx * sin + dy * cos - top;
      if (u < 0 || v < 0 || u >= total || v >= bottom - top) continue;
      const ci = Math.floor(u / adv);
      const code = text.charCodeAt(ci);
      let cov = glyphAt(code, (u - ci * adv) / scale - 0.5, v / scale - 0.5, glyphBytes);
      if (s.bold) cov = Math.min(1, cov * 1.6);
      if (cov > 0.02) blend(cv, x, y, rgba, cov);
    }
}

/** Paints `d` at `scale` (2 for a sharper PNG) into an RGBA buffer. */
export function rasterize(d: Drawing, scale = 1): Canvas {
  const width = Math.max(1, Math.round(d.width * scale));
  const height = Math.max(1, Math.round(d.height * scale));
  const cv: Canvas = { width, height, data: new Uint8Array(width * height * 4) };
  const bg = parseColour(d.background);
  for (let i = 0; i < width * height; i++) cv.data.set([bg[0], bg[1], bg[2], Math.round(bg[3] * 255)], i * 4);
  const k = scale;
  for (const s of d.shapes) {
    switch (s.kind) {
      case 'rect':
        if (s.fill && s.fill !== 'none')
          fillRect(cv, s.x * k, s.y * k, (s.x + s.w) * k, (s.y + s.h) * k, parseColour(s.fill));
        if (s.stroke) {
          const w = (s.lineWidth ?? 1) * k;
          const x0 = s.x * k;
          const y0 = s.y * k;
          const x1 = (s.x + s.w) * k;
          const y1 = (s.y + s.h) * k;
          const c = parseColour(s.stroke);
          fillRect(cv, x0 - w / 2, y0 - w / 2, x1 + w / 2, y0 + w / 2, c);
          fillRect(cv, x0 - w / 2, y1 - w / 2, x1 + w / 2, y1 + w / 2, c);
          fillRect(cv, x0 - w / 2, y0 + w / 2, x0 + w / 2, y1 - w / 2, c);
          fillRect(cv, x1 - w / 2, y0 + w / 2, x1 + w / 2, y1 - w / 2, c);
        }
        break;
      case 'line':
        strokeLine(
          cv,
          s.points.map((v) => v * k),
          s.lineWidth * k,
          parseColour(s.stroke),
          s.dash?.map((v) => v * k),
        );
        break;
      case 'circle':
        if (s.fill) fillDisc(cv, s.x * k, s.y * k, s.r * k, parseColour(s.fill));
        if (s.stroke)
          strokeRing(cv, s.x * k, s.y * k, s.r * k, (s.lineWidth ?? 1) * k, parseColour(s.stroke));
        break;
      case 'text':
        drawText(cv, { ...s, x: s.x * k, y: s.y * k, size: s.size * k });
        break;
    }
  }
  return cv;
}

/** The PNG file of `d`. */
export function toPng(d: Drawing, scale = 1): Buffer {
  const cv = rasterize(d, scale);
  const png = new PNG({ width: cv.width, height: cv.height });
  png.data = Buffer.from(cv.data.buffer, cv.data.byteOffset, cv.data.byteLength);
  return PNG.sync.write(png);
}
