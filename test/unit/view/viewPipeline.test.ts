/**
 * The model editor's pipeline on every real fixture of the fixture table, without a browser:
 * sidecar side (open → analyse → view model) and webview side (groups → visible graph → layout →
 * scene). Expected counts come from test/fixtures/expected.json.
 */
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeSkips } from '../../../runtime/analysis/analyzeSkips';
import { openModelSync } from '../../../runtime/analysis/openModel';
import { buildViewModel } from '../../../runtime/view/buildViewModel';
import { nodeCard } from '../../../runtime/view/nodeCard';
import { tensorStats } from '../../../runtime/view/tensorStats';
import { blockGroups, defaultGrouping, initialCollapsed, scopeGroups } from '../../../webview/graph/groups';
import { buildScene } from '../../../webview/graph/scene';
import { layoutInput, visibleGraph } from '../../../webview/graph/visibleGraph';
import { layered } from '../../../runtime/view/layered';

const root = join(__dirname, '../../..');
interface Row {
  file: string;
  format: string;
  onnxNodes?: number;
  skips: Record<string, number>;
}
const rows = (
  JSON.parse(readFileSync(join(root, 'test/fixtures/expected.json'), 'utf8')) as { fixtures: Row[] }
).fixtures.filter((r) => existsSync(join(root, r.file)));

describe('model editor pipeline on the fixtures', () => {
  for (const row of rows) {
    it(row.file, () => {
      const model = openModelSync(join(root, row.file));
      const view = buildViewModel(model, analyzeSkips(model));
      assert.equal(view.format, row.format);
      if (row.onnxNodes !== undefined) assert.equal(view.nodes.length, row.onnxNodes);
      for (const k of Object.keys(row.skips))
        assert.equal(view.skips.counts[k as 'residual'], row.skips[k], k);
      // Standard ops are known (the details panel would say "op not known to Skipscope").
      if (row.format === 'onnx')
        assert.deepEqual(
          view.nodes.filter((n) => n.unknownOp && !n.group).map((n) => n.op),
          [],
        );
      // Never weights: the message stays small next to the parameters it describes.
      assert.ok(JSON.stringify(view).length < 2000 + view.nodes.length * 2000);

      const names = new Set(view.nodes.map((n) => n.name));
      for (const tree of [scopeGroups(view), blockGroups(view)]) {
        const graph = visibleGraph(view, tree, new Uint8Array(tree.groups.length), false);
        view.nodes.forEach((n, i) => assert.equal(graph.itemOfNode[i] >= 0, !n.hidden, n.name));
        const layout = layered(layoutInput(graph));
        const scene = buildScene(view, tree, graph, layout);
        // Every skip between drawn nodes is drawn along at least one edge, and its merge is a node box.
        for (const s of scene.skips) {
          const v = view.skips.skips.find((k) => k.id === s.id)!;
          if (!names.has(v.merge) || (v.sourceNode && !names.has(v.sourceNode))) continue;
          assert.ok(s.edges.length > 0, `${s.id} ${v.sourceNode} → ${v.merge} is drawn`);
          assert.equal(graph.items[s.merge].kind, 'node');
        }
        for (let e = 0; e < graph.edges.length; e++) {
          const { from, to } = graph.edges[e];
          if (from < to) assert.ok(layout.y[to] > layout.y[from], 'edges point down');
        }
      }
      // Collapsed by default above the budget: fewer boxes, every node still inside one.
      const tree = defaultGrouping(view);
      const visible = view.nodes.filter((n) => !n.hidden).length;
      const collapsed = initialCollapsed(tree, visible, 20);
      const small = visibleGraph(view, tree, collapsed, false);
      if (tree.groups.length && visible > 20)
        assert.ok(small.items.length < visible + view.inputs.length + view.outputs.length);
      view.nodes.forEach((n, i) => assert.equal(small.itemOfNode[i] >= 0, !n.hidden));
      // A merge's card says what it merges.
      const merge = view.skips.merges.find(
        (m) => m.kind !== 'parallel' && m.kind !== 'gate' && names.has(m.node),
      );
      if (merge) assert.match(nodeCard(view, merge.node)!.skipRole ?? '', /skip|shortcut/);
    });
  }

  it('computes weight statistics on demand', () => {
    const model = openModelSync(join(root, 'test/fixtures/onnx/resnet18.onnx'));
    const conv = model.graph.nodes.find((n) => n.op === 'Conv')!;
    const s = tensorStats(model, conv.inputs[1]);
    const values = model.graph.values.get(conv.inputs[1])!.initializer!.read() as Float32Array;
    assert.equal(
      s.shape.reduce((a, b) => a * b, 1),
      values.length,
    );
    assert.equal(s.min, Math.min(...values));
    assert.equal(s.max, Math.max(...values));
    assert.ok(s.std > 0 && s.min < s.mean && s.mean < s.max);
    assert.throws(() => tensorStats(model, 'no such tensor'), /no stored tensor named no such tensor/);
  });
});
