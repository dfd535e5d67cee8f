/**
 * Fixture table: every model in test/fixtures/expected.json opens with the expected format, node
 * count (as onnx counts them), parameter count (as PyTorch/TF.js count them) and input/output shapes.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openModel } from '../../../runtime/analysis/openModel';
import type { Model } from '../../../runtime/model/ir';

interface Row {
  file: string;
  format: string;
  torchParams?: number;
  tfjsParams?: number;
  params?: number;
  onnxNodes?: number;
  nodes?: number;
  onnxInitializerElements?: number;
  initializersArePytorchParams?: boolean;
  inputs?: Record<string, (number | string)[]>;
  outputs?: Record<string, (number | string)[]>;
  functions?: number;
  subgraphs?: Record<string, string[]>;
  graphNodes?: number;
  weights?: number;
}

const root = path.resolve(__dirname, '../../..');
const table = JSON.parse(fs.readFileSync(path.join(root, 'test/fixtures/expected.json'), 'utf8')) as {
  fixtures: Row[];
};

/** Elements of BatchNormalization running statistics: initializers in the file that PyTorch counts as buffers. */
function runningStats(m: Model): number {
  let n = 0;
  const seen = new Set<string>();
  for (const node of m.graph.nodes) {
    if (node.op !== 'BatchNormalization') continue;
    for (const name of node.inputs.slice(3, 5)) {
      const v = m.graph.values.get(name);
      if (v?.initializer && !seen.has(name)) {
        seen.add(name);
        n += v.initializer.shape.reduce((a, b) => a * b, 1);
      }
    }
  }
  return n;
}

describe('model readers: fixture table (test/fixtures/expected.json)', () => {
  for (const row of table.fixtures) {
    const file = path.join(root, row.file);
    it(`${row.file} opens as ${row.format}`, async function () {
      if (!fs.existsSync(file)) this.skip();
      const m = await openModel(file);
      assert.equal(m.format, row.format);
      const nodes = row.onnxNodes ?? row.nodes;
      if (nodes !== undefined) assert.equal(m.graph.nodes.length, nodes, 'node count');
      if (row.format === 'onnx') {
        if (row.initializersArePytorchParams)
          assert.equal(m.totalParams, row.torchParams, 'params = PyTorch parameters');
        // Exports with BatchNorm kept carry running statistics, which are buffers, not parameters.
        if (row.onnxInitializerElements !== undefined)
          assert.equal(
            m.totalParams,
            row.onnxInitializerElements - runningStats(m),
            'params = initializers − running stats',
          );
      } else {
        const expected = row.tfjsParams ?? row.params;
        if (expected !== undefined) assert.equal(m.totalParams, expected, 'params');
      }
      const initializers = [...m.graph.values.values()].filter((v) => v.initializer).length;
      // TF graph models: Const nodes become initializers and Placeholders graph inputs; together they are the GraphDef's nodes.
      if (row.graphNodes !== undefined)
        assert.equal(
          m.graph.nodes.length + initializers + m.graph.inputs.length,
          row.graphNodes,
          'GraphDef nodes',
        );
      if (row.weights !== undefined) assert.equal(initializers, row.weights, 'weights in the manifest');
      assert.deepEqual(
        m.graph.nodes.filter((n) => n.unknownOp).map((n) => n.op),
        [],
        'every op of a real fixture is known',
      );
      if (row.functions !== undefined) assert.equal(m.functions.length, row.functions, 'functions');
      for (const [nodeName, attrs] of Object.entries(row.subgraphs ?? {})) {
        const node = m.graph.nodes.find((n) => n.name === nodeName);
        assert.deepEqual(
          Object.keys(node?.subgraphs ?? {}).sort(),
          [...attrs].sort(),
          `${nodeName} subgraphs`,
        );
      }
      if (row.inputs) {
        // By position: TF.js numbers auto-named inputs per process, so names may differ from the generator's.
        const shapes = m.graph.inputs.map((n) => m.graph.values.get(n)?.shape);
        assert.deepEqual(shapes, Object.values(row.inputs), 'input shapes');
        if (row.format === 'onnx') assert.deepEqual(m.graph.inputs, Object.keys(row.inputs), 'input names');
      }
      for (const [name, shape] of Object.entries(row.outputs ?? {})) {
        assert.deepEqual(m.graph.values.get(name)?.shape, shape, `output ${name} shape`);
      }
      assert.ok(m.totalFlops > 0, 'FLOPs are counted');
      assert.equal(
        m.graph.nodes.reduce((t, n) => t + n.params, 0),
        m.totalParams,
        'node params add up to the total (control-flow nodes carry their bodies)',
      );
    });
  }
});
