/**
 * A small hand-built residual model in the graph IR (conv → relu → conv → add(skip) → relu), with
 * its skip analysis written by hand, for the view tests that must not wait on the readers.
 */
import type { Graph, Model, Node, TensorData, Value } from '../../../runtime/model/ir';
import type { SkipAnalysis } from '../../../runtime/analysis/skipTypes';

function tensor(shape: number[], values: number[]): TensorData {
  return { dtype: 'float32', shape, location: 'inline', read: () => Float32Array.from(values) };
}

/** The model and its analysis. */
export function tinyResidual(): { model: Model; analysis: SkipAnalysis } {
  const values = new Map<string, Value>();
  const val = (name: string, shape: number[] | null, extra: Partial<Value> = {}): void => {
    values.set(name, {
      name,
      dtype: 'float32',
      shape,
      consumers: [],
      constant: false,
      shapeArith: false,
      ...extra,
    });
  };
  val('x', ['batch' as unknown as number, 8, 4, 4], { isGraphInput: true });
  val('w1', [8, 8, 3, 3], { initializer: tensor([8, 8, 3, 3], []), constant: true });
  val('w2', [8, 8, 3, 3], { initializer: tensor([8, 8, 3, 3], []), constant: true });
  val('c1', [1, 8, 4, 4]);
  val('r1', [1, 8, 4, 4]);
  val('c2', [1, 8, 4, 4]);
  val('shape', [4], { constant: true });
  val('sum', [1, 8, 4, 4]);
  val('y', [1, 8, 4, 4]);
  const nodes: Node[] = [];
  const node = (name: string, op: string, inputs: string[], outputs: string[], extra: Partial<Node> = {}) => {
    const index = nodes.length;
    nodes.push({
      index,
      name,
      op,
      scope: name.split('/').filter(Boolean).slice(0, -1),
      attributes: {},
      inputs,
      outputs,
      constant: false,
      shapeArith: false,
      params: 0,
      flops: 0,
      ...extra,
    });
    for (const o of outputs) values.get(o)!.producer = index;
    for (const i of new Set(inputs)) values.get(i)?.consumers.push(index);
  };
  node('/layer1/conv1/Conv', 'Conv', ['x', 'w1'], ['c1'], {
    attributes: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1], group: 1 },
    params: 576,
    flops: 147456,
  });
  node('/layer1/relu/Relu', 'Relu', ['c1'], ['r1'], { flops: 128 });
  node('/layer1/conv2/Conv', 'Conv', ['r1', 'w2'], ['c2'], { params: 576, flops: 147456 });
  node('/Constant', 'Constant', [], ['shape'], {
    constant: true,
    attributes: { value: tensor([4], [1, 8, 4, 4]) },
  });
  node('/layer1/Add', 'Add', ['c2', 'x'], ['sum'], { flops: 128 });
  node('/Relu', 'Relu', ['sum', 'shape'], ['y'], { flops: 128 });
  const graph: Graph = { name: 'tiny', nodes, values, inputs: ['x'], outputs: ['y'] };
  const model: Model = {
    format: 'onnx',
    file: '/tmp/tiny.onnx',
    graph,
    metadata: { producer: 'hand', producerVersion: '1', description: 'ONNX v8 (opset 17)' },
    functions: [],
    totalParams: 1152,
    totalFlops: 295296,
  };
  const analysis: SkipAnalysis = {
    counts: { residual: 1, projection: 0, concat: 0, long: 0, gate: 0, parallel: 0 },
    skips: [
      {
        id: 'skip0',
        kind: 'residual',
        projection: false,
        merge: '/layer1/Add',
        source: 'x',
        sourceNode: '',
        skipInput: 1,
        skipNodes: [],
        span: { learnedOps: 2, ops: 3 },
        resolution: { down: 1, up: 1 },
        block: 'block0',
      },
    ],
    merges: [{ node: '/layer1/Add', op: 'Add', kind: 'residual', dataInputs: ['c2', 'x'], skips: ['skip0'] }],
    blocks: [
      {
        id: 'block0',
        merge: '/layer1/Add',
        source: 'x',
        kind: 'residual',
        nodes: ['/layer1/conv1/Conv', '/layer1/relu/Relu', '/layer1/conv2/Conv', '/layer1/Add'],
        children: [],
      },
    ],
    rootBlocks: ['block0'],
    scopes: { path: [], nodes: ['/Constant', '/Relu'], children: [] },
  };
  return { model, analysis };
}
