/**
 * Keras shape rules checked against TF.js itself: every layer of every TF.js layers fixture,
 * rebuilt by @tensorflow/tfjs-layers from the same topology, has the output shape Skipscope
 * infers (a null batch is our symbol "batch"; unknown dims are allowed, wrong ones are not).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';
import * as tfc from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// Recurrent layers' default orthogonal initializer calls tensor methods while a model is built.
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
import { openModel } from '../../../runtime/analysis/openModel';
import type { Dim } from '../../../runtime/model/ir';

const dir = path.resolve(__dirname, '../../../test/fixtures/tfjs-layers');
const models = fs.existsSync(dir)
  ? fs.readdirSync(dir).filter((d) => fs.existsSync(path.join(dir, d, 'model.json')))
  : [];

/** Layer name (scoped like our node names) → TF.js output shape, nested models included. */
function layerShapes(model: tfl.LayersModel, prefix: string, out: Map<string, (number | null)[]>): void {
  for (const layer of model.layers) {
    if (layer instanceof tfl.LayersModel) {
      layerShapes(layer, `${prefix}${layer.name}/`, out);
      continue;
    }
    if (layer.getClassName() === 'InputLayer') continue; // graph inputs, not nodes
    const s = layer.outputShape;
    if (Array.isArray(s) && (s.length === 0 || !Array.isArray(s[0])))
      out.set(prefix + layer.name, s as (number | null)[]);
  }
}

describe('Keras shape rules agree with TF.js', function () {
  this.timeout(60000);
  // Other suites may register a faster backend; building layers needs one ready, and the CPU one always is.
  let previous: string | null = null;
  before(async () => {
    previous = tfc.engine().backendName;
    await tfc.setBackend('cpu');
  });
  after(async () => {
    if (previous && previous !== 'cpu') await tfc.setBackend(previous);
  });
  for (const name of models) {
    it(`${name}: inferred layer output shapes match tfjs-layers`, async () => {
      const file = path.join(dir, name, 'model.json');
      const json = JSON.parse(fs.readFileSync(file, 'utf8'));
      const ref = await tfl.models.modelFromJSON({ modelTopology: json.modelTopology });
      const expected = new Map<string, (number | null)[]>();
      layerShapes(ref, '', expected);
      const m = await openModel(file);
      let compared = 0;
      let knownDims = 0;
      for (const node of m.graph.nodes) {
        const exp = expected.get(node.name);
        const got = m.graph.values.get(node.outputs[0])?.shape;
        if (!exp || !got) continue;
        compared++;
        assert.equal(
          got.length,
          exp.length,
          `${node.name} rank: ${JSON.stringify(got)} vs ${JSON.stringify(exp)}`,
        );
        got.forEach((d: Dim, i) => {
          if (d === null) return;
          knownDims++;
          assert.equal(
            d,
            exp[i] === null ? 'batch' : exp[i],
            `${node.name} dim ${i}: ${JSON.stringify(got)} vs ${JSON.stringify(exp)}`,
          );
        });
      }
      if (process.env.SKIPSCOPE_VERBOSE) console.log(`      ${compared} layers, ${knownDims} dims`);
      ref.dispose();
      assert.ok(compared >= Math.min(3, expected.size), `compared ${compared} of ${expected.size} layers`);
      assert.ok(knownDims > 0);
    });
  }
});
