/**
 * Shapes of the ops transformer exports add (Einsum, ScatterND, Range), inferred on the committed
 * fixtures; and Swin's window padding, whose pads come out of shape arithmetic through Mod,
 * ConstantOfShape, a reversed 2-D Slice, Transpose and Where(Equal(…)) on known values.
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

  it("infers every tensor shape of Swin's shifted windows (pads and masks from shape arithmetic)", async () => {
    const m = await openModel(path.join(grads, 'swin_tiny.onnx'));
    const unknown = m.graph.nodes.filter((n) => n.outputs.some((o) => o && !m.graph.values.get(o)?.shape));
    assert.deepEqual(
      unknown.map((n) => `${n.op} ${n.name}`),
      [],
      'nodes whose output shape is unknown',
    );
    // The first window attention pads its 8×8 map by nothing (8 is a multiple of the window of 4).
    const pad = m.graph.nodes.find((n) => n.op === 'Pad')!;
    const [x, y] = [pad.inputs[0], pad.outputs[0]].map((v) => m.graph.values.get(v)?.shape);
    assert.deepEqual(y, x);
    assert.ok(m.totalFlops > 300_000, `FLOPs ${m.totalFlops}: the attention's MatMuls are counted`);
  });
});
