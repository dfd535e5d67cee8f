/**
 * Collapsible groups over the nodes: the block tree from the skip analysis (fork → merge regions)
 * or the name-scope tree (`/layer1/layer1.0/conv1/Conv`). Each node belongs to its innermost group.
 */
import type { MergeKind, ViewModel } from '../../runtime/view/viewModel';

/** How nodes are grouped. */
export type GroupingMode = 'scopes' | 'blocks';

/** One collapsible group. */
export interface Group {
  /** Index in GroupTree.groups. */
  index: number;
  id: string;
  label: string;
  /** Parent group index, -1 at the top. */
  parent: number;
  children: number[];
  depth: number;
  /** Number of visible (not hidden) nodes inside, nested groups included. */
  size: number;
  /** For blocks: the kind of the merge that closes it. */
  kind?: MergeKind;
}

/** Groups and, per node index, its innermost group (-1 for none). */
export interface GroupTree {
  mode: GroupingMode;
  groups: Group[];
  leaf: Int32Array;
}

function finish(
  mode: GroupingMode,
  groups: Group[],
  leaf: Int32Array,
  hidden: (i: number) => boolean,
): GroupTree {
  for (const g of groups) if (g.parent >= 0) groups[g.parent].children.push(g.index);
  for (const g of groups) g.depth = g.parent >= 0 ? groups[g.parent].depth + 1 : 0;
  for (let i = 0; i < leaf.length; i++) {
    if (hidden(i)) continue;
    for (let g = leaf[i]; g >= 0; g = groups[g].parent) groups[g].size++;
  }
  return { mode, groups, leaf };
}

/** The block tree: each block holds the nodes between its fork and its merge. */
export function blockGroups(view: ViewModel): GroupTree {
  const index = new Map(view.nodes.map((n, i) => [n.name, i]));
  const leaf = new Int32Array(view.nodes.length).fill(-1);
  const groups: Group[] = [];
  // Largest first, so a smaller block nested inside a larger one overrides it and finds its parent.
  const blocks = view.skips.blocks.slice().sort((a, b) => b.nodes.length - a.nodes.length);
  for (const b of blocks) {
    const members = b.nodes.map((n) => index.get(n)).filter((i): i is number => i !== undefined);
    if (members.length < 2) continue;
    const mergeIndex = index.get(b.merge);
    const g = groups.length;
    const parent = mergeIndex !== undefined ? leaf[mergeIndex] : -1;
    const merge = mergeIndex !== undefined ? view.nodes[mergeIndex] : undefined;
    groups.push({
      index: g,
      id: b.id,
      label: `${b.kind} block → ${merge ? merge.name : b.merge}`,
      parent,
      children: [],
      depth: 0,
      size: 0,
      kind: b.kind,
    });
    for (const i of members) leaf[i] = g;
  }
  return finish('blocks', groups, leaf, (i) => view.nodes[i].hidden);
}

/** The name-scope tree; scopes holding a single node are not groups, and single-child chains fold. */
export function scopeGroups(view: ViewModel): GroupTree {
  interface Trie {
    name: string;
    kids: Map<string, Trie>;
    nodes: number[];
    total: number;
  }
  const root: Trie = { name: '', kids: new Map(), nodes: [], total: 0 };
  view.nodes.forEach((n, i) => {
    let t = root;
    t.total++;
    for (const s of n.scope) {
      let k = t.kids.get(s);
      if (!k) {
        k = { name: s, kids: new Map(), nodes: [], total: 0 };
        t.kids.set(s, k);
      }
      k.total++;
      t = k;
    }
    t.nodes.push(i);
  });
  const groups: Group[] = [];
  const leaf = new Int32Array(view.nodes.length).fill(-1);
  const visit = (t: Trie, parent: number, path: string[]) => {
    // Fold a scope whose only content is one sub-scope into it: "features/denseblock1".
    let label = [...path];
    while (t.nodes.length === 0 && t.kids.size === 1) {
      t = t.kids.values().next().value as Trie;
      label = [...label, t.name];
    }
    let g = parent;
    if (t.total >= 2 && label.length > 0) {
      g = groups.length;
      groups.push({
        index: g,
        id: `scope:${label.join('/')}`,
        label: label.join('/'),
        parent,
        children: [],
        depth: 0,
        size: 0,
      });
      label = [];
    }
    for (const i of t.nodes) leaf[i] = g;
    for (const k of t.kids.values()) visit(k, g, [...label, k.name]);
  };
  for (const i of root.nodes) leaf[i] = -1;
  for (const k of root.kids.values()) visit(k, -1, [k.name]);
  // Labels were relative to the parent group; a group's full path is still in its id.
  return finish('scopes', groups, leaf, (i) => view.nodes[i].hidden);
}

/** The grouping to start with: scopes when the names carry a hierarchy, else blocks. */
export function defaultGrouping(view: ViewModel): GroupTree {
  const scopes = scopeGroups(view);
  if (scopes.groups.length >= 2 || view.skips.blocks.length === 0) return scopes;
  return blockGroups(view);
}

/**
 * Which groups start collapsed: none when the model is small; otherwise all, then groups are opened
 * top-down, biggest first, while the number of drawn items stays within `budget`.
 */
export function initialCollapsed(tree: GroupTree, visibleNodes: number, budget: number): Uint8Array {
  const collapsed = new Uint8Array(tree.groups.length);
  if (visibleNodes <= budget) return collapsed;
  collapsed.fill(1);
  // Items drawn with everything collapsed: top-level groups plus ungrouped visible nodes.
  const directNodes = new Int32Array(tree.groups.length);
  let items = 0;
  const topNodes = visibleNodes - tree.groups.filter((g) => g.parent < 0).reduce((a, g) => a + g.size, 0);
  items += topNodes + tree.groups.filter((g) => g.parent < 0).length;
  for (const g of tree.groups) {
    const inKids = g.children.reduce((a, c) => a + tree.groups[c].size, 0);
    directNodes[g.index] = g.size - inKids;
  }
  let frontier = tree.groups.filter((g) => g.parent < 0);
  while (frontier.length) {
    frontier.sort((a, b) => b.size - a.size);
    const next: Group[] = [];
    for (const g of frontier) {
      const grow = directNodes[g.index] + g.children.length - 1;
      if (items + grow > budget) continue;
      items += grow;
      collapsed[g.index] = 0;
      for (const c of g.children) next.push(tree.groups[c]);
    }
    frontier = next;
  }
  return collapsed;
}
