import { strict as assert } from 'node:assert';
import { buildViewModel } from '../../../runtime/view/buildViewModel';
import type { ViewModel } from '../../../runtime/view/viewModel';
import { blockGroups, initialCollapsed, scopeGroups } from '../../../webview/graph/groups';
import { searchNodes } from '../../../webview/graph/search';
import { visibleGraph } from '../../../webview/graph/visibleGraph';
import { tinyResidual } from './tinyModel';

/** A view whose nodes sit in scopes /a/x/…, /a/y/…, /b/… (three per leaf scope). */
function scoped(): ViewModel {
  const { model, analysis } = tinyResidual();
  const view = buildViewModel(model, analysis);
  const proto = view.nodes[1];
  const scopes = [['a', 'x'], ['a', 'x'], ['a', 'x'], ['a', 'y'], ['a', 'y'], ['b'], ['b'], ['single']];
  view.nodes = scopes.map((scope, i) => ({
    ...proto,
    id: String(i),
    name: `/${scope.join('/')}/n${i}`,
    scope,
    hidden: false,
  }));
  view.edges = scopes
    .slice(1)
    .map((_, i) => ({ from: String(i), to: String(i + 1), tensor: `t${i}`, shape: null }));
  view.inputs = [];
  view.outputs = [];
  return view;
}

describe('groups, visible graph and search', () => {
  it('builds the scope tree, skipping single-node scopes', () => {
    const tree = scopeGroups(scoped());
    const labels = tree.groups.map((g) => `${g.label}:${g.size}:${g.parent}`);
    assert.deepEqual(labels, ['a:5:-1', 'x:3:0', 'y:2:0', 'b:2:-1']);
    assert.equal(tree.leaf[7], -1, 'the node alone in its scope is ungrouped');
  });

  it('opens groups top-down while the drawn boxes fit the budget', () => {
    const view = scoped();
    const tree = scopeGroups(view);
    // Everything collapsed: a, b and the lone node = 3 boxes; opening a gives x, y, b, lone = 4.
    assert.deepEqual(Array.from(initialCollapsed(tree, 8, 3)), [1, 1, 1, 1]);
    assert.deepEqual(Array.from(initialCollapsed(tree, 8, 4)), [0, 1, 1, 1]);
    assert.deepEqual(Array.from(initialCollapsed(tree, 8, 8)), [0, 0, 0, 0]);
    const g = visibleGraph(view, tree, initialCollapsed(tree, 8, 4), false);
    assert.deepEqual(
      g.items.map((it) => it.label),
      ['x', 'y', 'b', 'Relu'],
    );
    // Edges inside a collapsed group vanish; edges between groups fold into one.
    assert.deepEqual(
      g.edges.map((e) => `${e.from}->${e.to}`),
      ['0->1', '1->2', '2->3'],
    );
  });

  it('nests blocks by size and finds nodes by name or op', () => {
    const { model, analysis } = tinyResidual();
    const view = buildViewModel(model, analysis);
    const tree = blockGroups(view);
    assert.equal(tree.groups.length, 1);
    assert.equal(tree.groups[0].size, 4);
    assert.deepEqual(searchNodes(view, 'conv', false), [0, 2]);
    assert.deepEqual(searchNodes(view, 'CONSTANT', false), []);
    assert.deepEqual(searchNodes(view, 'CONSTANT', true), [3]);
    assert.deepEqual(searchNodes(view, '  ', false), []);
  });
});
