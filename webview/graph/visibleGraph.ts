/**
 * What is drawn for the current collapse state: real nodes, collapsed groups and graph input/output
 * terminals as items, with edges between items; and the layout input for them.
 */
import { displayName } from '../../runtime/view/displayName';
import { formatShape } from '../../runtime/view/format';
import type { Shape, ViewModel } from '../../runtime/view/viewModel';
import type { LayoutInput } from '../../runtime/view/layered';
import type { GroupTree } from './groups';

/** A box on the canvas. */
export interface Item {
  kind: 'node' | 'group' | 'input' | 'output';
  /** View node index (nodes), group index (groups), or input/output index. */
  ref: number;
  label: string;
  sub: string;
  width: number;
  height: number;
}

/** An edge between items; `count` edges of the model may fold into one. */
export interface ItemEdge {
  from: number;
  to: number;
  tensor: string;
  shape: Shape;
  count: number;
}

/** The drawn graph. */
export interface VisibleGraph {
  items: Item[];
  edges: ItemEdge[];
  /** Item drawing each view node (-1 when hidden). */
  itemOfNode: Int32Array;
  /** Item drawing each group (-1 when the group is expanded or inside a collapsed one). */
  itemOfGroup: Int32Array;
}

const CHAR_OP = 7.4;
const CHAR_SUB = 6.2;

function sized(kind: Item['kind'], ref: number, label: string, sub: string): Item {
  const width = Math.max(56, Math.ceil(label.length * CHAR_OP + 22), Math.ceil(sub.length * CHAR_SUB + 18));
  return { kind, ref, label, sub, width, height: kind === 'group' ? 44 : sub ? 36 : 26 };
}

/** The items and edges for `collapsed` (one flag per group); hidden nodes only when `showHidden`. */
export function visibleGraph(
  view: ViewModel,
  tree: GroupTree,
  collapsed: Uint8Array,
  showHidden: boolean,
): VisibleGraph {
  const { groups, leaf } = tree;
  // The outermost collapsed group at or above each group (-1 when all are expanded).
  const rep = new Int32Array(groups.length).fill(-1);
  for (const g of groups) {
    const up = g.parent >= 0 ? rep[g.parent] : -1;
    rep[g.index] = up >= 0 ? up : collapsed[g.index] ? g.index : -1;
  }
  const items: Item[] = [];
  const itemOfNode = new Int32Array(view.nodes.length).fill(-1);
  const itemOfGroup = new Int32Array(groups.length).fill(-1);
  const inputIndex = new Map(view.inputs.map((t, i) => [t.name, i]));
  // Labels are names from the file: shown as text, shortened (the hover card has the rest).
  view.inputs.forEach((t, i) => items.push(sized('input', i, displayName(t.name), formatShape(t.shape))));
  view.nodes.forEach((n, i) => {
    if (n.hidden && !showHidden) return;
    const g = leaf[i] >= 0 ? rep[leaf[i]] : -1;
    if (g >= 0) {
      if (itemOfGroup[g] < 0) {
        itemOfGroup[g] = items.length;
        const group = groups[g];
        items.push(sized('group', g, displayName(group.label), `${group.size} nodes`));
      }
      itemOfNode[i] = itemOfGroup[g];
      return;
    }
    itemOfNode[i] = items.length;
    items.push(
      sized(
        'node',
        i,
        displayName(n.op),
        n.outputs.length ? displayName(formatShape(n.outputs[0].shape)) : '',
      ),
    );
  });
  const firstOutput = items.length;
  view.outputs.forEach((t, i) => items.push(sized('output', i, displayName(t.name), formatShape(t.shape))));

  const edges: ItemEdge[] = [];
  const seen = new Map<number, number>();
  const add = (from: number, to: number, tensor: string, shape: Shape) => {
    if (from < 0 || to < 0 || from === to) return;
    const key = from * items.length + to;
    const at = seen.get(key);
    if (at !== undefined) {
      edges[at].count++;
      return;
    }
    seen.set(key, edges.length);
    edges.push({ from, to, tensor, shape, count: 1 });
  };
  for (const e of view.edges) {
    if (e.hidden && !showHidden) continue;
    add(itemOfNode[Number(e.from)], itemOfNode[Number(e.to)], e.tensor, e.shape);
  }
  const producer = new Map<string, number>();
  view.nodes.forEach((n, i) => {
    for (const o of n.outputs) producer.set(o.name, i);
    for (const inp of n.inputs) {
      const k = inputIndex.get(inp.name);
      if (k !== undefined) add(k, itemOfNode[i], inp.name, inp.shape);
    }
  });
  view.outputs.forEach((t, i) => {
    const p = producer.get(t.name);
    if (p !== undefined) add(itemOfNode[p], firstOutput + i, t.name, t.shape);
  });
  return { items, edges, itemOfNode, itemOfGroup };
}

/** The layout input for a visible graph (items are in topological order of their first node). */
export function layoutInput(g: VisibleGraph): LayoutInput {
  return {
    widths: Float64Array.from(g.items, (i) => i.width),
    heights: Float64Array.from(g.items, (i) => i.height),
    from: Int32Array.from(g.edges, (e) => e.from),
    to: Int32Array.from(g.edges, (e) => e.to),
  };
}
