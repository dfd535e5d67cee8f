// Draws media/icon.png (128×128): a rounded tile holding a small layer graph whose skip
// connection arcs around two layers into a merge node. Run: node scripts/makeIcon.mjs
import { PNG } from 'pngjs';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SIZE = 128;
const SS = 4; // supersampling per axis, for smooth edges
const out = join(dirname(fileURLToPath(import.meta.url)), '../media/icon.png');

const tile = [24, 33, 52];
const layer = [86, 156, 214];
const edge = [200, 210, 225];
const skip = [255, 170, 60];
const merge = [255, 170, 60];

/** Signed distance to a rounded rectangle centred at (cx, cy). */
function roundRect(x, y, cx, cy, hw, hh, r) {
  const qx = Math.abs(x - cx) - hw + r;
  const qy = Math.abs(y - cy) - hh + r;
  return Math.hypot(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0) - r;
}
/** Distance to the segment a–b. */
function segment(x, y, ax, ay, bx, by) {
  const t = Math.max(
    0,
    Math.min(1, ((x - ax) * (bx - ax) + (y - ay) * (by - ay)) / ((bx - ax) ** 2 + (by - ay) ** 2)),
  );
  return Math.hypot(x - ax - t * (bx - ax), y - ay - t * (by - ay));
}
/** Distance to the right half of an ellipse-like arc from (x0, y0) to (x0, y1) bulging by `w`. */
function arc(x, y, x0, y0, y1, w) {
  let best = Infinity;
  for (let i = 0; i <= 64; i++) {
    const t = (i / 64) * Math.PI;
    const px = x0 + w * Math.sin(t);
    const py = (y0 + y1) / 2 - ((y1 - y0) / 2) * Math.cos(t);
    best = Math.min(best, Math.hypot(x - px, y - py));
  }
  return best;
}

// Layers stacked top to bottom; the skip leaves after the first and re-enters at the merge.
const layers = [26, 50, 74];
const mergeY = 101;
const cx = 54;

/** Colour of one sub-sample, or undefined for transparent. */
function shade(x, y) {
  if (roundRect(x, y, 64, 64, 62, 62, 22) > 0) return undefined;
  let c = tile;
  if (segment(x, y, cx, layers[0], cx, mergeY) < 2.2) c = edge;
  if (arc(x, y, cx + 10, layers[0], mergeY, 44) < 4.2) c = skip;
  for (const ly of layers) if (roundRect(x, y, cx, ly, 26, 8, 4) <= 0) c = layer;
  if (Math.hypot(x - cx, y - mergeY) < 11) c = merge;
  if (segment(x, y, cx - 6, mergeY, cx + 6, mergeY) < 2 || segment(x, y, cx, mergeY - 6, cx, mergeY + 6) < 2)
    c = tile;
  return c;
}

const png = new PNG({ width: SIZE, height: SIZE });
for (let py = 0; py < SIZE; py++) {
  for (let px = 0; px < SIZE; px++) {
    let r = 0;
    let g = 0;
    let b = 0;
    let a = 0;
    for (let sy = 0; sy < SS; sy++) {
      for (let sx = 0; sx < SS; sx++) {
        const c = shade(px + (sx + 0.5) / SS, py + (sy + 0.5) / SS);
        if (!c) continue;
        r += c[0];
        g += c[1];
        b += c[2];
        a += 1;
      }
    }
    const i = (py * SIZE + px) * 4;
    png.data[i] = a ? Math.round(r / a) : 0;
    png.data[i + 1] = a ? Math.round(g / a) : 0;
    png.data[i + 2] = a ? Math.round(b / a) : 0;
    png.data[i + 3] = Math.round((255 * a) / (SS * SS));
  }
}
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, PNG.sync.write(png));
console.log(`wrote ${out}`);
