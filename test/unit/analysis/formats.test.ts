/**
 * Op roles per format: TF.js layer classes and TF.js graph ops classify like their ONNX
 * counterparts, and the same op name means different things in different formats.
 */
import { strict as assert } from 'node:assert';
import { analyzeSkips } from '../../../runtime/analysis/analyzeSkips';
import { nodeRole } from '../../../runtime/analysis/opRoles';
import type { SkipCounts } from '../../../runtime/analysis/skipTypes';
import { GraphBuilder } from '../helpers/graphBuilder';

function counts(c: Partial<SkipCounts>): SkipCounts {
  return { residual: 0, projection: 0, concat: 0, long: 0, gate: 0, parallel: 0, ...c };
}

/** A Keras layer with a [kh, kw, in, out] kernel and a bias, as the TF.js layers reader makes it. */
function layer(b: GraphBuilder, op: string, x: string, name: string, kernel?: number[], attrs = {}): string {
  const ins = [x];
  if (kernel) ins.push(b.init(`${name}/kernel`, kernel), b.init(`${name}/bias`, [kernel[kernel.length - 1]]));
  return b.op(op, ins, { name, attrs });
}

describe('op roles per format', () => {
  it('TF.js layers: Add, Concatenate, Multiply, UpSampling2D and a 1×1 Conv2D projection', () => {
    const b = new GraphBuilder('tfjs-layers');
    const x = layer(
      b,
      'Activation',
      layer(b, 'Conv2D', b.input('input'), 'stem_conv', [3, 3, 3, 8]),
      'stem_relu',
    );
    const c1 = layer(
      b,
      'Activation',
      layer(
        b,
        'BatchNormalization',
        layer(b, 'Conv2D', x, 'b1_conv1', [3, 3, 8, 8], { strides: [2, 2] }),
        'b1_bn1',
        [8],
      ),
      'b1_relu',
    );
    const c2 = layer(b, 'Conv2D', c1, 'b1_conv2', [3, 3, 8, 8]);
    const proj = layer(
      b,
      'BatchNormalization',
      layer(b, 'Conv2D', x, 'b1_proj', [1, 1, 8, 8], { strides: [2, 2] }),
      'b1_proj_bn',
      [8],
    );
    const add = layer(b, 'Add', c2, 'b1_add');
    b.nodes[b.nodes.length - 1].inputs.push(proj);
    const se = layer(b, 'Dense', layer(b, 'GlobalAveragePooling2D', add, 'se_pool'), 'se_dense', [8, 8]);
    const gated = b.op('Multiply', [add, layer(b, 'Reshape', se, 'se_reshape')], { name: 'se_mul' });
    const up = layer(b, 'UpSampling2D', gated, 'up', undefined, { size: [2, 2] });
    b.output(b.op('Concatenate', [x, up], { name: 'cat' }));
    const a = analyzeSkips(b.model());
    assert.deepEqual(a.counts, counts({ residual: 1, projection: 1, gate: 1, long: 1 }));
    const res = a.skips.find((s) => s.merge === 'b1_add')!;
    assert.deepEqual(res.skipNodes, ['b1_proj_bn', 'b1_proj']);
    assert.equal(res.skipInput, 1);
    const long = a.skips.find((s) => s.merge === 'cat')!;
    assert.deepEqual(long.resolution, { down: 2, up: 2 });
    assert.equal(long.sourceNode, 'stem_relu');
  });

  it('TF.js graph: _FusedConv2D, AddV2, ConcatV2 with a constant axis, AddN, MatMul and BiasAdd', () => {
    const b = new GraphBuilder('tfjs-graph');
    const conv = (x: string, k: number, name: string, strides = 1): string =>
      b.op('_FusedConv2D', [x, b.init(`${name}/filter`, [k, k, 4, 4]), b.init(`${name}/bias`, [4])], {
        name,
        attrs: { strides: [1, strides, strides, 1], fused_ops: ['BiasAdd', 'Relu'] },
      });
    const x = conv(b.input('input'), 3, 'stem');
    const r1 = b.op('AddV2', [x, conv(conv(x, 3, 'b1/c1'), 3, 'b1/c2')], { name: 'b1/add' });
    const r2 = b.op('AddN', [conv(conv(r1, 3, 'b2/c1'), 3, 'b2/c2'), conv(r1, 1, 'b2/proj')], {
      name: 'b2/add',
    });
    const axis = b.init('axis', [], [3]);
    const cat = b.op('ConcatV2', [r2, conv(conv(r2, 3, 'd/c1'), 3, 'd/c2'), axis], { name: 'dense/concat' });
    const flat = b.op('Reshape', [cat, b.init('shape', [2], [-1, 16])]);
    const fc = b.op('BiasAdd', [
      b.op('MatMul', [flat, b.init('fc/w', [16, 16])], { name: 'fc/MatMul' }),
      b.init('fc/b', [16]),
    ]);
    b.output(b.op('AddV2', [flat, fc], { name: 'head/add' }));
    const a = analyzeSkips(b.model());
    assert.deepEqual(a.counts, counts({ residual: 3, projection: 1, concat: 1 }));
    assert.deepEqual(
      a.merges.map((m) => [m.node, m.kind, m.dataInputs.length]),
      [
        ['b1/add', 'residual', 2],
        ['b2/add', 'residual', 2],
        ['dense/concat', 'concat', 2],
        ['head/add', 'residual', 2],
      ],
    );
    // b2/add: a 1×1 projection beside a branch of two convs is a projection shortcut.
    assert.deepEqual(a.skips[1].skipNodes, ['b2/proj']);
    // head/add: the MatMul with a weight (then BiasAdd) is the learned op bypassed.
    assert.equal(a.skips[3].bypassedKind, 'linear');
  });

  it('TF.js graph AddN with a 1×1 projection is a projection residual', () => {
    const b = new GraphBuilder('tfjs-graph');
    const x = b.input('input');
    const c = (y: string, k: number): string =>
      b.op('Conv2D', [y, b.init(`f${b.nodes.length}`, [k, k, 4, 4])]);
    b.output(b.op('AddN', [c(b.op('Relu', [c(x, 3)]), 3), c(x, 1)], { name: 'add' }));
    assert.deepEqual(analyzeSkips(b.model()).counts, counts({ residual: 1, projection: 1 }));
  });

  it('reads the same op name per format', () => {
    const b = new GraphBuilder('onnx');
    const x = b.input('x');
    const y = b.input('y');
    const n =
      b.nodes[
        b.nodes.push({
          index: 0,
          name: 'n',
          op: 'Conv2D',
          scope: [],
          attributes: {},
          inputs: [x],
          outputs: [],
          constant: false,
          shapeArith: false,
          params: 0,
          flops: 0,
        }) - 1
      ];
    assert.equal(nodeRole(n, b.graph(), 'onnx', [x]).role, 'other', 'Conv2D is no ONNX op');
    assert.equal(nodeRole(n, b.graph(), 'tfjs-layers', [x]).role, 'learned');
    const mm = { ...n, op: 'MatMul', inputs: [x, y] };
    assert.equal(
      nodeRole(mm, b.graph(), 'onnx', [x, y]).role,
      'other',
      'MatMul of two activations is not a layer',
    );
    const add = { ...n, op: 'Add', inputs: [x, y] };
    assert.equal(nodeRole(add, b.graph(), 'tfjs-graph', [x, y]).merge, 'add');
    assert.equal(nodeRole(add, b.graph(), 'tfjs-graph', [x]).role, 'carry', 'a bias add carries');
    assert.equal(nodeRole({ ...n, op: 'Concatenate' }, b.graph(), 'tfjs-layers', [x, y]).merge, 'concat');
    assert.equal(nodeRole({ ...n, op: 'Concatenate' }, b.graph(), 'onnx', [x, y]).role, 'other');
  });
});
