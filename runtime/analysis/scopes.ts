/**
 * Name-scope grouping, the second way to collapse a graph: PyTorch exports name nodes
 * "/layer1/layer1.0/conv1/Conv" (the readers store ["layer1", "layer1.0", "conv1"] as the scope);
 * TF.js graph nodes use "model/block1/conv/Conv2D"; TF.js layer names carry their structure in
 * underscores ("conv2_block1_1_conv" → conv2 › conv2_block1 › conv2_block1_1).
 */
import type { Graph, ModelFormat } from '../model/ir';
import type { ScopeGroup } from './skipTypes';

/** Tokens of a layer name without Keras' automatic "_N" numbering ("conv2d_3" → ["conv2d"]). */
function nameTokens(name: string): string[] {
  const tokens = name.split('_').filter((t) => t.length > 0);
  if (tokens.length > 1 && /^\d+$/.test(tokens[tokens.length - 1])) tokens.pop();
  return tokens;
}

/**
 * Scopes for TF.js layers models from underscore prefixes: a prefix becomes a group when at least
 * two layers share it and it is not simply the layer's class name ("batch_normalization_4").
 */
function layerNameScopes(graph: Graph): Map<number, string[]> {
  const count = new Map<string, number>();
  const prefixes: string[][] = graph.nodes.map((node) => {
    const tokens = nameTokens(node.name);
    const out: string[] = [];
    for (let i = 1; i < tokens.length; i++) out.push(tokens.slice(0, i).join('_'));
    for (const p of out) count.set(p, (count.get(p) ?? 0) + 1);
    return out;
  });
  const classNames = new Set(
    graph.nodes.map((n) => n.op.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase()),
  );
  const out = new Map<number, string[]>();
  prefixes.forEach((mine, i) => {
    const scope = mine.filter((p) => (count.get(p) ?? 0) >= 2 && !classNames.has(p));
    if (scope.length > 0) out.set(i, scope);
  });
  return out;
}

/** Groups the graph's nodes by name scope into a tree rooted at the empty path. */
export function buildScopes(graph: Graph, format: ModelFormat): ScopeGroup {
  const root: ScopeGroup = { path: [], nodes: [], children: [] };
  const childIndex = new Map<ScopeGroup, Map<string, ScopeGroup>>();
  const derived = format === 'tfjs-layers' ? layerNameScopes(graph) : undefined;
  graph.nodes.forEach((node, i) => {
    let scope = node.scope;
    if (scope.length === 0 && node.name.includes('/'))
      scope = node.name
        .split('/')
        .filter((p) => p)
        .slice(0, -1);
    if (scope.length === 0 && derived) scope = derived.get(i) ?? [];
    let group = root;
    for (const part of scope) {
      let kids = childIndex.get(group);
      if (!kids) {
        kids = new Map();
        childIndex.set(group, kids);
      }
      let next = kids.get(part);
      if (!next) {
        next = { path: [...group.path, part], nodes: [], children: [] };
        kids.set(part, next);
        group.children.push(next);
      }
      group = next;
    }
    group.nodes.push(node.name);
  });
  return root;
}
