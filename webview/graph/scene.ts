/**
 * Everything the canvas draws for one layout: items with their places, edge polylines and boxes,
 * frames of expanded groups, and the edges each skip path runs along.
 */
import { displayName } from '../../runtime/view/displayName';
import type { ViewModel } from '../../runtime/view/viewModel';
import type { LayoutOutput } from '../../runtime/view/layered';
import type { DrawnKind } from '../render/theme';
import type { GroupTree } from './groups';
import { opCategory, type OpCategory } from './opCategory';
import type { VisibleGraph } from './visibleGraph';

/** The frame drawn around an expanded group's members. */
export interface Frame {
  group: number;
  label: string;
  depth: number;
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** One skip path as drawn: the edges between items that it runs along. */
export interface DrawnSkip {
  id: string;
  kind: DrawnKind;
  merge: number;
  edges: number[];
}

/** A laid-out visible graph. */
export interface Scene {
  graph: VisibleGraph;
  layout: LayoutOutput;
  category: OpCategory[];
  /** The merge kind of each item that is a merge node (gate and parallel are styled apart). */
  mergeKind: (DrawnKind | undefined)[];
  /** Per edge: minX, minY, maxX, maxY, for culling. */
  edgeBox: Float64Array;
  frames: Frame[];
  skips: DrawnSkip[];
}

/** Builds the scene for a graph and its layout. */
export function buildScene(
  view: ViewModel,
  tree: GroupTree,
  graph: VisibleGraph,
  layout: LayoutOutput,
): Scene {
  const { items, edges } = graph;
  const category = items.map((it) =>
    it.kind === 'node' ? opCategory(view.nodes[it.ref].op) : it.kind === 'group' ? 'other' : 'io',
  );
  const nodeIndex = new Map(view.nodes.map((n, i) => [n.name, i]));
  const mergeKind: (DrawnKind | undefined)[] = new Array(items.length).fill(undefined);
  const skipById = new Map(view.skips.skips.map((s) => [s.id, s]));
  for (const m of view.skips.merges) {
    const i = nodeIndex.get(m.node);
    if (i === undefined) continue;
    const it = graph.itemOfNode[i];
    if (it < 0 || items[it].kind !== 'node') continue;
    const first = skipById.get(m.skips[0] ?? '');
    mergeKind[it] = first?.projection ? 'projection' : m.kind;
  }
  const { points, offsets } = layout;
  const edgeBox = new Float64Array(edges.length * 4);
  for (let e = 0; e < edges.length; e++) {
    let x0 = Infinity;
    let y0 = Infinity;
    let x1 = -Infinity;
    let y1 = -Infinity;
    for (let k = offsets[e]; k < offsets[e + 1]; k += 2) {
      x0 = Math.min(x0, points[k]);
      x1 = Math.max(x1, points[k]);
      y0 = Math.min(y0, points[k + 1]);
      y1 = Math.max(y1, points[k + 1]);
    }
    edgeBox.set([x0, y0, x1, y1], e * 4);
  }
  // Frames: the union of the boxes of the items inside each expanded group.
  const box = new Map<number, [number, number, number, number]>();
  for (let i = 0; i < view.nodes.length; i++) {
    const it = graph.itemOfNode[i];
    if (it < 0 || items[it].kind !== 'node') continue;
    const { width, height } = items[it];
    const x = layout.x[it];
    const y = layout.y[it];
    for (let g = tree.leaf[i]; g >= 0; g = tree.groups[g].parent) {
      const b = box.get(g);
      if (b) {
        b[0] = Math.min(b[0], x - width / 2);
        b[1] = Math.min(b[1], y - height / 2);
        b[2] = Math.max(b[2], x + width / 2);
        b[3] = Math.max(b[3], y + height / 2);
      } else box.set(g, [x - width / 2, y - height / 2, x + width / 2, y + height / 2]);
    }
  }
  // Collapsed groups nested in an expanded one widen its frame too.
  items.forEach((it, k) => {
    if (it.kind !== 'group') return;
    for (let g = tree.groups[it.ref].parent; g >= 0; g = tree.groups[g].parent) {
      const b = box.get(g);
      const x = layout.x[k];
      const y = layout.y[k];
      const r: [number, number, number, number] = [
        x - it.width / 2,
        y - it.height / 2,
        x + it.width / 2,
        y + it.height / 2,
      ];
      if (!b) box.set(g, r);
      else
        box.set(g, [Math.min(b[0], r[0]), Math.min(b[1], r[1]), Math.max(b[2], r[2]), Math.max(b[3], r[3])]);
    }
  });
  const frames: Frame[] = [];
  for (const [g, b] of box) {
    const group = tree.groups[g];
    const pad = 10;
    frames.push({
      group: g,
      label: displayName(group.label),
      depth: group.depth,
      x0: b[0] - pad,
      y0: b[1] - pad - 14,
      x1: b[2] + pad,
      y1: b[3] + pad,
    });
  }
  frames.sort((a, b) => a.depth - b.depth);
  // Skip paths: fork → carry ops → merge, along the drawn edges between their items.
  const edgeAt = new Map<number, number>();
  edges.forEach((e, k) => edgeAt.set(e.from * items.length + e.to, k));
  const inputItem = new Map(view.inputs.map((t, i) => [t.name, i]));
  const skips: DrawnSkip[] = [];
  for (const s of view.skips.skips) {
    const chain: number[] = [];
    const start = s.sourceNode ? nodeIndex.get(s.sourceNode) : undefined;
    if (start !== undefined) chain.push(graph.itemOfNode[start]);
    else if (inputItem.has(s.source)) chain.push(inputItem.get(s.source)!);
    // Carry ops in graph order (the analysis lists them walking back from the merge).
    const carried = s.skipNodes
      .map((n) => nodeIndex.get(n))
      .filter((i): i is number => i !== undefined)
      .sort((a, b) => a - b);
    const mergeAt = nodeIndex.get(s.merge);
    for (const i of mergeAt !== undefined ? [...carried, mergeAt] : carried) chain.push(graph.itemOfNode[i]);
    const path: number[] = [];
    for (let k = 0; k + 1 < chain.length; k++) {
      const e = edgeAt.get(chain[k] * items.length + chain[k + 1]);
      if (e !== undefined) path.push(e);
    }
    const mergeNode = nodeIndex.get(s.merge);
    const kind: DrawnKind = s.kind === 'residual' && s.projection ? 'projection' : s.kind;
    skips.push({
      id: s.id,
      kind,
      merge: mergeNode !== undefined ? graph.itemOfNode[mergeNode] : -1,
      edges: path,
    });
  }
  return { graph, layout, category, mergeKind, edgeBox, frames, skips };
}
