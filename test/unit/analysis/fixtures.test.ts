/**
 * Every fixture with architecture-derived skip counts in test/fixtures/expected.json (written from
 * the model definitions, not from a run of this code) is analysed and must match exactly; the
 * analysis must also be internally consistent (skips, merges and blocks refer to each other).
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeSkips } from '../../../runtime/analysis/analyzeSkips';
import type { SkipAnalysis, SkipCounts } from '../../../runtime/analysis/skipTypes';
import type { Model } from '../../../runtime/model/ir';
import { openModel } from '../../../runtime/analysis/openModel';

const ROOT = join(__dirname, '..', '..', '..');

interface Row {
  file: string;
  model?: string;
  skips?: SkipCounts;
}

const rows = (
  JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'expected.json'), 'utf8')) as { fixtures: Row[] }
).fixtures.filter((r): r is Row & { skips: SkipCounts } => r.skips !== undefined);

/** Checks that ids, names and the block tree agree with each other and with the graph. */
function assertConsistent(model: Model, a: SkipAnalysis): void {
  const tally: SkipCounts = { residual: 0, projection: 0, concat: 0, long: 0, gate: 0, parallel: 0 };
  for (const m of a.merges) tally[m.kind]++;
  tally.projection = a.counts.projection;
  assert.deepEqual(a.counts, tally, 'counts tally the merges by kind');
  const merges = new Map(a.merges.map((m) => [m.node, m]));
  const blocks = new Map(a.blocks.map((b) => [b.id, b]));
  for (const s of a.skips) {
    const m = merges.get(s.merge);
    assert.ok(m, `${s.id}: its merge is listed`);
    assert.ok(m.skips.includes(s.id), `${s.id}: listed by its merge`);
    assert.ok(blocks.get(s.block)?.merge === s.merge, `${s.id}: its block closes at its merge`);
    assert.ok(s.span.learnedOps >= 1 && s.span.ops >= s.span.learnedOps, `${s.id}: span`);
    if (s.kind === 'long')
      assert.ok(s.resolution.down > 1 && s.resolution.up > 1, `${s.id}: long goes down and up`);
  }
  for (const b of a.blocks) {
    assert.equal(b.nodes[b.nodes.length - 1], b.merge, `${b.id}: ends at its merge`);
    for (const c of b.children) assert.equal(blocks.get(c)?.parent, b.id);
    if (b.parent) assert.ok(blocks.get(b.parent)!.nodes.includes(b.merge), `${b.id}: inside its parent`);
    else assert.ok(a.rootBlocks.includes(b.id));
  }
  const scoped = new Set<string>();
  const walk = (g: SkipAnalysis['scopes']): void => {
    for (const n of g.nodes) scoped.add(n);
    g.children.forEach(walk);
  };
  walk(a.scopes);
  assert.equal(scoped.size, model.graph.nodes.length, 'every node is in one scope group');
  // Every node name the analysis reports is a node of the file's graph (function calls included).
  const names = new Set(model.graph.nodes.map((n) => n.name));
  for (const s of a.skips)
    for (const n of [s.merge, ...s.skipNodes, ...(s.sourceNode ? [s.sourceNode] : [])])
      assert.ok(names.has(n), n);
  for (const b of a.blocks) for (const n of b.nodes) assert.ok(names.has(n), n);
}

describe('skip analysis on the fixtures (expected.json)', () => {
  it('has fixtures to check', () => assert.ok(rows.length >= 10));
  for (const row of rows) {
    it(`${row.file}: ${JSON.stringify(row.skips)}`, async () => {
      const model = await openModel(join(ROOT, row.file));
      const a = analyzeSkips(model);
      assert.deepEqual(a.counts, row.skips);
      assertConsistent(model, a);
    });
  }

  it('ResNet-18: projections are a 1×1 conv on the skip side, identities carry nothing', async () => {
    const a = analyzeSkips(await openModel(join(ROOT, 'test/fixtures/onnx/resnet18.onnx')));
    const proj = a.skips.filter((s) => s.projection);
    assert.equal(proj.length, 3);
    for (const s of proj) {
      assert.equal(s.skipNodes.length, 1);
      assert.match(s.skipNodes[0], /downsample.*Conv$/);
      assert.equal(s.resolution.down, 2);
    }
    for (const s of a.skips.filter((x) => !x.projection)) assert.deepEqual(s.skipNodes, []);
    assert.equal(a.rootBlocks.length, 8, 'residual blocks of a plain ResNet do not nest');
  });

  it('U-Net: the long skips nest from the outermost level inwards, around the bottleneck residual', async () => {
    const a = analyzeSkips(await openModel(join(ROOT, 'test/fixtures/onnx/unet.onnx')));
    const longs = a.skips.filter((s) => s.kind === 'long');
    assert.deepEqual(
      longs.map((s) => s.resolution.down),
      [2, 4, 8, 16],
    );
    assert.equal(a.rootBlocks.length, 1);
    let depth = 0;
    for (
      let b = a.blocks.find((x) => x.id === a.rootBlocks[0]);
      b;
      b = a.blocks.find((x) => x.id === b!.children[0])
    )
      depth++;
    assert.equal(depth, 5, '4 long blocks and the residual inside');
  });

  it('SE-ResNet: each gate multiplies the branch by its sigmoid, inside a residual block', async () => {
    const a = analyzeSkips(await openModel(join(ROOT, 'test/fixtures/onnx/se_resnet.onnx')));
    const gates = a.blocks.filter((b) => b.kind === 'gate');
    assert.equal(gates.length, 8);
    for (const g of gates) assert.equal(a.blocks.find((b) => b.id === g.parent)?.kind, 'residual');
  });

  it('transformer: both residuals of a layer bypass linear layers', async () => {
    const a = analyzeSkips(await openModel(join(ROOT, 'test/fixtures/onnx/transformer.onnx')));
    assert.equal(a.skips.length, 4);
    for (const s of a.skips) {
      assert.equal(s.bypassedKind, 'linear');
      assert.equal(s.span.learnedOps, 2);
    }
  });
});
