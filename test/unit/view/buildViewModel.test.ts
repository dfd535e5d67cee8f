import { strict as assert } from 'node:assert';
import { attributeText, buildViewModel } from '../../../runtime/view/buildViewModel';
import { tinyResidual } from './tinyModel';

describe('buildViewModel', () => {
  const { model, analysis } = tinyResidual();
  const view = buildViewModel(model, analysis);

  it('keeps every node with attributes in words and shapes', () => {
    assert.equal(view.nodes.length, model.graph.nodes.length);
    const conv = view.nodes.find((n) => n.name === '/layer1/conv1/Conv')!;
    assert.equal(conv.attributes.kernel_shape, '[3, 3]');
    assert.equal(conv.attributes.group, '1');
    assert.deepEqual(
      conv.inputs.map((i) => [i.name, i.isParam]),
      [
        ['x', false],
        ['w1', true],
      ],
    );
    assert.deepEqual(conv.outputs[0].shape, [1, 8, 4, 4]);
    assert.equal(conv.params, 576);
    assert.equal(conv.flops, 147456);
  });

  it('shows small constant tensors by value and hides constants', () => {
    const c = view.nodes.find((n) => n.op === 'Constant')!;
    assert.equal(c.attributes.value, 'float32 4 [1, 8, 4, 4]');
    assert.equal(c.hidden, true);
    const relu = view.nodes.find((n) => n.name === '/Relu')!;
    assert.equal(relu.inputs.find((i) => i.name === 'shape')!.isConst, true);
  });

  it('links producers to consumers with shapes, marking edges of hidden nodes', () => {
    const pairs = view.edges.map((e) => `${e.from}->${e.to}`);
    assert.deepEqual(pairs, ['0->1', '1->2', '2->4', '4->5', '3->5']);
    assert.equal(view.edges.find((e) => e.from === '3')!.hidden, true);
    assert.deepEqual(view.edges[0].shape, [1, 8, 4, 4]);
    assert.deepEqual(
      view.inputs.map((i) => i.name),
      ['x'],
    );
  });

  it('never carries weight values', () => {
    const json = JSON.stringify(view);
    assert.ok(!json.includes('read'));
    assert.deepEqual(view.skips.skips, analysis.skips);
    assert.deepEqual(view.skips.scopes.nodes, [], 'the scope tree is not repeated');
    assert.equal(view.producer, 'hand 1');
  });

  it('words every kind of attribute', () => {
    assert.equal(attributeText(3n), '3');
    assert.equal(attributeText(null), 'null');
    assert.equal(attributeText({ a: 1 }), '{"a":1}');
    assert.equal(attributeText('x'.repeat(500)).length, 401);
  });
});
