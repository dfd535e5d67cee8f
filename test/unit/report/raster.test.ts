/**
 * The report's rasteriser and PNG encoder: PNGs decode (pngjs, an independent decoder) to exactly
 * the pixels encoded, for noise, repeated rows and a buffer at an odd offset; a slanted thick
 * stroke covers every pixel near its centre line and none far from it (the scanline spans must not
 * clip it); an opaque fill and the background are exact.
 */
import { strict as assert } from 'node:assert';
import { PNG } from 'pngjs';
import { encodePng } from '../../../runtime/report/pngEncode';
import { rasterize } from '../../../runtime/report/raster';

/** Seeded bytes in 0..255. */
function noise(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

function decodes(width: number, height: number, rgba: Uint8Array): void {
  const png = PNG.sync.read(encodePng(width, height, rgba));
  assert.equal(png.width, width);
  assert.equal(png.height, height);
  assert.ok(Buffer.from(rgba).equals(png.data), 'the decoded pixels are the encoded ones');
}

describe('report PNG encoder', () => {
  it('round-trips noise, repeated rows, and pixels at an odd byte offset', () => {
    decodes(37, 23, noise(37 * 23 * 4, 1));
    // Runs of equal rows (what "up" turns into zeros) between rows of noise.
    const rows = new Uint8Array(50 * 40 * 4);
    const line = noise(50 * 4, 2);
    for (let y = 0; y < 40; y++) rows.set(y % 7 === 3 ? noise(50 * 4, y) : line, y * 50 * 4);
    decodes(50, 40, rows);
    const shifted = new Uint8Array(1 + 9 * 5 * 4).subarray(1);
    shifted.set(noise(9 * 5 * 4, 3));
    decodes(9, 5, shifted);
    decodes(1, 1, new Uint8Array([1, 2, 3, 4]));
  });

  it('refuses a buffer of the wrong size', () => {
    assert.throws(() => encodePng(4, 4, new Uint8Array(10)), /10 bytes for a 4×4 RGBA image/);
  });
});

describe('report rasteriser', () => {
  it('a slanted thick stroke covers the pixels near its centre line and no others', () => {
    const [ax, ay, bx, by] = [10, 5, 70, 195];
    const w = 6;
    const cv = rasterize({
      width: 80,
      height: 200,
      background: '#ffffff',
      shapes: [{ kind: 'line', points: [ax, ay, bx, by], stroke: '#000000', lineWidth: w }],
    });
    const len = Math.hypot(bx - ax, by - ay);
    let near = 0;
    for (let y = 0; y < 200; y++)
      for (let x = 0; x < 80; x++) {
        const px = x + 0.5;
        const py = y + 0.5;
        const t = ((px - ax) * (bx - ax) + (py - ay) * (by - ay)) / (len * len);
        if (t < 0.02 || t > 0.98) continue; // leave the end caps out
        const d = Math.abs((px - ax) * (by - ay) - (py - ay) * (bx - ax)) / len;
        const v = cv.data[(y * 80 + x) * 4];
        if (d < w / 2 - 1) {
          near++;
          assert.equal(v, 0, `pixel (${x}, ${y}) at ${d.toFixed(2)} px from the line is inked`);
        } else if (d > w / 2 + 1) assert.equal(v, 255, `pixel (${x}, ${y}) at ${d.toFixed(2)} px is blank`);
      }
    assert.ok(near > 500, `${near} pixels checked inside the stroke`);
  });

  it('fills opaque boxes and the background exactly', () => {
    const cv = rasterize({
      width: 20,
      height: 10,
      background: 'rgba(10, 20, 30, 1)',
      shapes: [{ kind: 'rect', x: 2, y: 2, w: 5, h: 5, fill: '#336699' }],
    });
    const at = (x: number, y: number) => Array.from(cv.data.subarray((y * 20 + x) * 4, (y * 20 + x) * 4 + 4));
    assert.deepEqual(at(0, 0), [10, 20, 30, 255]);
    assert.deepEqual(at(4, 4), [0x33, 0x66, 0x99, 255]);
    assert.deepEqual(at(19, 9), [10, 20, 30, 255]);
  });
});
