/**
 * Image-folder batches: PNG and JPEG files decode, resize and normalise to the values their
 * pixels imply; a file that is not an image is a ModelError naming it.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { initBackend } from '../../../runtime/probe/backend';
import { defaultNorm, listImages, loadImageBatch } from '../../../runtime/probe/images';
import { isModelError } from '../../../runtime/errors';

/** RGBA bytes of a w×h image of one colour. */
function solid(w: number, h: number, rgb: [number, number, number]): Buffer {
  const data = Buffer.alloc(w * h * 4);
  for (let i = 0; i < w * h; i++) data.set([...rgb, 255], i * 4);
  return data;
}

describe('image-folder batches', () => {
  let dir: string;
  const colour: [number, number, number] = [255, 0, 128];

  before(async () => {
    await initBackend('cpu');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skipscope-images-'));
    const png = new PNG({ width: 20, height: 10 });
    solid(20, 10, colour).copy(png.data);
    fs.writeFileSync(path.join(dir, 'a.png'), PNG.sync.write(png));
    const jpg = jpeg.encode({ width: 30, height: 12, data: solid(30, 12, colour) }, 95);
    fs.writeFileSync(path.join(dir, 'b.jpg'), jpg.data);
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'not an image');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('decodes PNG and JPEG, resizes to the input and normalises per channel', () => {
    const files = listImages(dir);
    assert.deepEqual(
      files.map((f) => path.basename(f)),
      ['a.png', 'b.jpg'],
    );
    const norm = defaultNorm(3);
    const batch = loadImageBatch(files, 3, 8, 8, norm);
    assert.deepEqual(batch.shape, [2, 3, 8, 8]);
    const v = batch.arraySync() as number[][][][];
    for (let n = 0; n < 2; n++)
      for (let c = 0; c < 3; c++) {
        const want = (colour[c] / 255 - norm.mean[c]) / norm.std[c];
        // JPEG is lossy: a few levels of 255 off, which normalisation scales by 1/std.
        const tol = n === 0 ? 1e-5 : 6 / 255 / norm.std[c];
        for (const row of v[n][c])
          for (const x of row) assert.ok(Math.abs(x - want) <= tol, `${n},${c}: ${x} vs ${want}`);
      }
    batch.dispose();
  });

  it('averages to one channel for gray models', () => {
    const batch = loadImageBatch(listImages(dir).slice(0, 1), 1, 4, 4, { mean: [0], std: [1] });
    const want = (colour[0] + colour[1] + colour[2]) / 3 / 255;
    for (const x of batch.dataSync()) assert.ok(Math.abs(x - want) < 1e-5);
    batch.dispose();
  });

  it('names a file that does not decode', () => {
    const bad = path.join(dir, 'c.jpg');
    fs.writeFileSync(bad, 'not a jpeg at all');
    try {
      assert.throws(
        () => loadImageBatch([bad], 3, 4, 4, defaultNorm(3)),
        (e: unknown) => isModelError(e) && e.message.startsWith(`${bad}: cannot decode the image`),
      );
    } finally {
      fs.rmSync(bad);
    }
  });
});
