/**
 * The words and groupings around the analysis: skip-role sentences for hover cards, name-scope
 * groups, inlined model-local functions and the `analyze` report.
 */
import { strict as assert } from 'node:assert';
import { analyzeSkips } from '../../../runtime/analysis/analyzeSkips';
import { inlineFunctions } from '../../../runtime/model/inlineFunctions';
import { buildScopes } from '../../../runtime/analysis/scopes';
import { describeSkipRole } from '../../../runtime/analysis/skipRole';
import type { ScopeGroup } from '../../../runtime/analysis/skipTypes';
import { join } from 'node:path';
import { analysisJson, analyzeCommand, formatAnalysis } from '../../../runtime/cli/analyzeCommand';
import { UsageError } from '../../../runtime/cli/args';
import { isModelError } from '../../../runtime/errors';
import type { Node } from '../../../runtime/model/ir';
import { GraphBuilder } from '../helpers/graphBuilder';

const ROOT = join(__dirname, '..', '..', '..');

/** stem → identity block → projection block (/layer2/downsample/Conv 1×1 stride 2). */
function resnetLike(): GraphBuilder {
  const b = new GraphBuilder();
  const x = b.op('Relu', [b.conv(b.input('input'), 3, { name: '/stem/Conv' })], { name: '/layer1/Relu' });
  const c = b.conv(
    b.op('Relu', [b.conv(x, 3, { name: '/layer1/layer1.0/conv1/Conv' })], { name: '/layer1/layer1.0/Relu' }),
    3,
    { name: '/layer1/layer1.0/conv2/Conv' },
  );
  const y = b.op('Relu', [b.op('Add', [c, x], { name: '/layer1/layer1.0/Add' })], {
    name: '/layer1/layer1.0/Relu_1',
  });
  const p = b.conv(y, 1, { name: '/layer2/downsample/Conv', stride: 2 });
  const c2 = b.conv(b.op('Relu', [b.conv(y, 3, { name: '/layer2/conv1/Conv', stride: 2 })]), 3, {
    name: '/layer2/conv2/Conv',
  });
  b.output(b.op('Add', [c2, p], { name: '/layer2/Add' }));
  return b;
}

function find(g: ScopeGroup, path: string[]): ScopeGroup | undefined {
  if (g.path.join('/') === path.join('/')) return g;
  for (const c of g.children) {
    const hit = find(c, path);
    if (hit) return hit;
  }
  return undefined;
}

describe('skip roles, scopes, functions and the report', () => {
  it('describes merges, forks and skip-side nodes in one sentence each', () => {
    const a = analyzeSkips(resnetLike().model());
    assert.equal(
      describeSkipRole(a, '/layer1/layer1.0/Add'),
      'Merges a residual skip from /layer1/Relu that bypasses 2 convs.',
    );
    assert.equal(
      describeSkipRole(a, '/layer2/Add'),
      'Merges a projection shortcut from /layer1/layer1.0/Relu_1 that bypasses 2 convs.',
    );
    assert.equal(describeSkipRole(a, '/layer1/Relu'), 'Forks a residual skip to /layer1/layer1.0/Add.');
    assert.equal(
      describeSkipRole(a, '/layer2/downsample/Conv'),
      'Carries the projection shortcut from /layer1/layer1.0/Relu_1 to /layer2/Add.',
    );
    assert.equal(
      describeSkipRole(a, '/layer2/conv1/Conv'),
      'Lies inside the residual block that closes at /layer2/Add.',
    );
    assert.equal(describeSkipRole(a, '/stem/Conv'), undefined);
  });

  it('groups nodes by PyTorch name scopes', () => {
    const b = resnetLike();
    const root = buildScopes(b.graph(), 'onnx');
    assert.deepEqual(
      root.children.map((c) => c.path.join('/')),
      ['stem', 'layer1', 'layer2'],
    );
    assert.deepEqual(find(root, ['layer1', 'layer1.0', 'conv1'])?.nodes, ['/layer1/layer1.0/conv1/Conv']);
    assert.deepEqual(find(root, ['layer1', 'layer1.0'])?.nodes, [
      '/layer1/layer1.0/Relu',
      '/layer1/layer1.0/Add',
      '/layer1/layer1.0/Relu_1',
    ]);
  });

  it('groups TF.js layers by shared underscore prefixes, not by class names', () => {
    const b = new GraphBuilder('tfjs-layers');
    let h = b.input('input');
    for (const [op, name] of [
      ['Conv2D', 'conv2_block1_1_conv'],
      ['BatchNormalization', 'conv2_block1_1_bn'],
      ['Conv2D', 'conv2_block1_2_conv'],
      ['Add', 'conv2_block1_add'],
      ['Conv2D', 'conv2d_3'],
      ['Conv2D', 'conv2d_4'],
      ['BatchNormalization', 'batch_normalization_1'],
    ]) {
      const n = b.nodes.length;
      h = b.op(op, [h], { name });
      b.nodes[n].scope = [];
    }
    const root = buildScopes(b.graph(), 'tfjs-layers');
    assert.deepEqual(find(root, ['conv2', 'conv2_block1', 'conv2_block1_1'])?.nodes, [
      'conv2_block1_1_conv',
      'conv2_block1_1_bn',
    ]);
    assert.deepEqual(find(root, ['conv2', 'conv2_block1'])?.nodes, [
      'conv2_block1_2_conv',
      'conv2_block1_add',
    ]);
    assert.deepEqual(root.nodes, ['conv2d_3', 'conv2d_4', 'batch_normalization_1']);
  });

  it('inlines model-local functions so that a residual inside one is found', () => {
    const b = new GraphBuilder();
    const x = b.op('Relu', [b.conv(b.input('input'))], { name: '/stem' });
    const w1 = b.init('w1', [4, 4, 3, 3]);
    const w2 = b.init('w2', [4, 4, 3, 3]);
    const call = b.op('Block', [x, w1, w2], { name: '/layer1/Block' });
    b.nodes[b.nodes.length - 1].domain = 'local';
    b.output(call);
    const mk = (name: string, op: string, inputs: string[], outputs: string[]): Node => ({
      index: 0,
      name,
      op,
      scope: [],
      attributes: op === 'Conv' ? { kernel_shape: [3, 3] } : {},
      inputs,
      outputs,
      constant: false,
      shapeArith: false,
      params: 0,
      flops: 0,
    });
    const body = [
      mk('c1', 'Conv', ['in0', 'in1'], ['t1']),
      mk('r', 'Relu', ['t1'], ['t2']),
      mk('c2', 'Conv', ['t2', 'in2'], ['t3']),
      mk('add', 'Add', ['t3', 'in0'], ['out0']),
    ];
    const model = b.model();
    model.functions = [
      {
        name: 'Block',
        domain: 'local',
        inputs: ['in0', 'in1', 'in2'],
        outputs: ['out0'],
        attributes: [],
        nodes: body,
      },
    ];
    const { graph: flat, visibleName } = inlineFunctions(model.graph, model.functions);
    assert.deepEqual(flat.nodes.map((n) => n.name).slice(-4), [
      '/layer1/Block/c1',
      '/layer1/Block/r',
      '/layer1/Block/c2',
      '/layer1/Block/add',
    ]);
    assert.equal(flat.values.get(call)?.producer, flat.nodes.length - 1);
    assert.deepEqual(visibleName.slice(-4), [
      '/layer1/Block',
      '/layer1/Block',
      '/layer1/Block',
      '/layer1/Block',
    ]);
    const a = analyzeSkips(model);
    assert.equal(a.counts.residual, 1);
    // Reported against the call node, which is what the file's graph (and the view) shows.
    assert.equal(a.skips[0].merge, '/layer1/Block');
    assert.equal(a.skips[0].sourceNode, '/stem');
    assert.deepEqual(a.blocks[0].nodes, ['/layer1/Block']);
    assert.equal(
      describeSkipRole(a, '/layer1/Block'),
      'Merges a residual skip from /stem that bypasses 2 convs.',
    );
  });

  it('prints a table of skips with the counts, and JSON with the contract keys', () => {
    const model = resnetLike().model();
    const a = analyzeSkips(model);
    const text = formatAnalysis(model, a);
    assert.match(text, /residual\s+\/layer1\/Relu\s+→\s+\/layer1\/layer1\.0\/Add\s+2 learned \/ 3 ops/);
    assert.match(
      text,
      /projection\s+\/layer1\/layer1\.0\/Relu_1\s+→\s+\/layer2\/Add\s+2 learned \/ 3 ops, down ×2/,
    );
    assert.match(text, /Merges: 2 residual merges \(1 projection\); 0 gate, 0 parallel/);
    const json = JSON.parse(JSON.stringify(analysisJson(model, a))) as Record<string, unknown>;
    for (const key of ['format', 'nodes', 'edges', 'params', 'flops', 'counts', 'skips', 'merges', 'blocks'])
      assert.ok(key in json, key);
    assert.deepEqual(json.counts, { residual: 2, projection: 1, concat: 0, long: 0, gate: 0, parallel: 0 });
    assert.equal((json.skips as unknown[]).length, 2);
    assert.equal(json.edges, 14);
  });
});

describe('skipscope analyze', () => {
  async function run(args: string[]): Promise<string> {
    const lines: string[] = [];
    const log = console.log;
    console.log = (...a: unknown[]) => void lines.push(a.join(' '));
    try {
      assert.equal(await analyzeCommand.run(args), 0);
    } finally {
      console.log = log;
    }
    return lines.join('\n');
  }

  it('prints the sample model with its skip table', async () => {
    const out = await run([join(ROOT, 'samples', 'sample.onnx')]);
    assert.match(out, /format\s+ONNX/);
    assert.match(out, /Skip connections \(4\):/);
    assert.match(out, /long\s+\/Relu\s+→\s+\/Concat\s+\d+ learned \/ \d+ ops, down ×2, up ×2/);
  });

  it('writes the JSON contract with --json', async () => {
    const doc = JSON.parse(await run([join(ROOT, 'samples', 'sample.onnx'), '--json'])) as {
      counts: object;
      skips: { kind: string }[];
      merges: unknown[];
      blocks: unknown[];
    };
    assert.deepEqual(doc.counts, { residual: 2, projection: 1, concat: 1, long: 1, gate: 0, parallel: 0 });
    assert.deepEqual(
      doc.skips.map((s) => s.kind),
      ['residual', 'residual', 'concat', 'long'],
    );
    assert.equal(doc.merges.length, 4);
    assert.equal(doc.blocks.length, 4);
  });

  it('lists parallel merges and gates, which have no skip rows', async () => {
    const out = await run([join(ROOT, 'test', 'fixtures', 'onnx', 'inception.onnx')]);
    assert.match(out, /Skip connections: none/);
    assert.match(out, /Gates and parallel merges \(3\):/);
    assert.match(out, /parallel\s+\/inception3a\/Concat\s+\S+\s+4/);
  });

  it('rejects bad usage and unreadable files with the project errors', async () => {
    await assert.rejects(analyzeCommand.run([]), UsageError);
    await assert.rejects(analyzeCommand.run([join(ROOT, 'package.json')]), (e: unknown) => isModelError(e));
  });
});
