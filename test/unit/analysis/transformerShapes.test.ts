/**
 * Shapes of the ops transformer exports add (Einsum, ScatterND, Range), inferred on the committed
 * fixtures.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { openModel } from '../../../runtime/analysis/openModel';

const grads = path.resolve(__dirname, '../../../test/fixtures/grads');

describe('transformer op shapes', () => {
  it('infers Einsum, ScatterND and Range outputs of the opset-20 op graph', async () => {
    const m = await openModel(path.join(grads, 'tiny_xformer_ops.onnx'));
    const shape = (v: string) => m.graph.values.get(v)?.shape;
    assert.deepEqual(shape('q'), ['batch', 5, 4]); // bsd,de->bse
    assert.deepEqual(shape('scores'), ['batch', 5, 5]); // bqd,bkd->bqk
    assert.deepEqual(shape('sd'), [5, 4]); // bsd->sd
    assert.deepEqual(shape('scat'), [5, 4]); // ScatterND keeps the data's shape
    assert.deepEqual(shape('tr'), ['batch', 4, 5]); // bsd->bds
    assert.deepEqual(shape('pos'), [5]); // Range(0, Shape[1], 1)
    assert.deepEqual(shape('outer'), [5, 5]); // s,u->su
    assert.deepEqual(shape('y2'), ['batch', 5, 5]);
  });

  it('gives a Range over a symbolic sequence length that length', async () => {
    const m = await openModel(path.join(grads, 'gpt_tiny.onnx'));
    const range = m.graph.nodes.find((n) => n.op === 'Range')!;
    assert.deepEqual(m.graph.values.get(range.outputs[0])?.shape, ['seq']);
  });
});
