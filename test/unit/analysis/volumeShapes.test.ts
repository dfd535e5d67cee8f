/**
 * Shape inference and FLOPs on 5-D (volumetric and video) graphs: with the shapes the exporter
 * declared (value_info) removed, inference must find every one of them again; and the FLOPs of
 * the 3-D convolutions must equal the count scripts/volume_models.py makes from the tensors
 * PyTorch computes (expected.json `convFlops`).
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openModel } from '../../../runtime/analysis/openModel';
import { inferShapes } from '../../../runtime/analysis/shapes';
import type { Shape } from '../../../runtime/model/ir';

const ROOT = join(__dirname, '..', '..', '..');

const rows = (
  JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'expected.json'), 'utf8')) as {
    fixtures: { file: string; convFlops?: number }[];
  }
).fixtures.filter((r) => r.convFlops !== undefined);

const FILES = [
  'test/fixtures/onnx/probe/unet3d.onnx',
  'test/fixtures/onnx/probe/r3d18.onnx',
  'test/fixtures/grads/tiny_conv3d.onnx',
  'test/fixtures/grads/tiny_pool3d.onnx',
  'test/fixtures/grads/tiny_volume_variants.onnx',
];

describe('5-D shape inference and FLOPs', () => {
  for (const file of FILES)
    it(`${file}: inference alone recovers every shape the exporter declared`, async () => {
      const model = await openModel(join(ROOT, file));
      const g = model.graph;
      const declared = new Map<string, Shape>();
      for (const v of g.values.values())
        if (v.producer !== undefined && v.shape && !g.nodes[v.producer].constant) {
          declared.set(v.name, v.shape.slice());
          v.shape = null;
        }
      assert.ok(declared.size >= 10, `only ${declared.size} declared shapes`);
      inferShapes(g, 'onnx');
      let fiveD = 0;
      for (const [name, want] of declared) {
        // Numbers and the named batch must come back; the exporter's own unknowns ("unk__N",
        // where ONNX shape inference gave up) may be resolved to anything.
        const got = g.values.get(name)!.shape;
        assert.ok(got && got.length === want!.length, `${name}: rank of [${got}] vs [${want}]`);
        want!.forEach((d, i) => {
          if (typeof d !== 'string' || !d.startsWith('unk__'))
            assert.equal(got[i], d, `${name}[${i}]: [${got}] vs [${want}]`);
        });
        if (want!.length === 5) fiveD++;
      }
      assert.ok(fiveD >= 5, `only ${fiveD} 5-D values`);
    });

  it('has 3-D fixtures with convolution FLOPs', () => assert.ok(rows.length >= 2));
  for (const row of rows)
    it(`${row.file}: Conv and ConvTranspose FLOPs = ${row.convFlops} (PyTorch's tensors)`, async () => {
      const model = await openModel(join(ROOT, row.file));
      const convs = model.graph.nodes.filter((n) => n.op === 'Conv' || n.op === 'ConvTranspose');
      assert.ok(convs.some((n) => n.op === 'Conv'));
      assert.equal(
        convs.reduce((a, n) => a + n.flops, 0),
        row.convFlops,
      );
    });
});
