/**
 * Fork→merge regions ("blocks") and their nesting tree, for collapsing in the view: a U-Net long
 * skip's block contains the residual blocks inside it.
 *
 * Blocks are visited smallest first; each node remembers the innermost block that claimed it, and
 * a union-find over "topmost enclosing block" attaches whole finished subtrees at once, so the
 * tree costs the total region size (not blocks × nodes).
 */
import type { Block } from './skipTypes';
import type { RawMerge } from './skips';

/** Builds one block per classified merge (ids "block0"…, in merge order) and links the tree. */
export function buildBlocks(
  merges: RawMerge[],
  valueNames: string[],
  nodeCount: number,
  nameOf: (node: number) => string,
): { blocks: Block[]; rootBlocks: string[] } {
  const nb = merges.length;
  const blocks: Block[] = merges.map((m, i) => {
    // Inlined function bodies map many nodes to one call node: list each name once.
    const names = [...new Set(m.region.map(nameOf))];
    return {
      id: `block${i}`,
      merge: nameOf(m.node),
      source: valueNames[m.blockFork],
      kind: m.kind,
      nodes: names,
      children: [],
    };
  });
  const blockOfMerge = new Map<number, number>();
  merges.forEach((m, i) => blockOfMerge.set(m.node, i));
  const parent = new Int32Array(nb).fill(-1);
  const top = Int32Array.from({ length: nb }, (_, i) => i);
  const find = (x: number): number => {
    let r = x;
    while (top[r] !== r) r = top[r];
    while (top[x] !== r) {
      const next = top[x];
      top[x] = r;
      x = next;
    }
    return r;
  };
  const stamp = new Int32Array(nodeCount).fill(-1);
  const bySize = Array.from({ length: nb }, (_, i) => i).sort(
    (a, b) => merges[a].region.length - merges[b].region.length || merges[a].node - merges[b].node,
  );
  for (const b of bySize) {
    for (const n of merges[b].region) stamp[n] = b;
    for (const n of merges[b].region) {
      const a = blockOfMerge.get(n);
      if (a === undefined || a === b) continue;
      const r = find(a);
      // Attach the topmost finished block around `a` only when its merge lies inside b too:
      // regions that merely overlap (not nested) stay apart.
      if (r === b || parent[r] !== -1 || stamp[merges[r].node] !== b) continue;
      parent[r] = b;
      top[r] = b;
    }
  }
  const rootBlocks: string[] = [];
  for (let i = 0; i < nb; i++) {
    if (parent[i] >= 0) {
      blocks[i].parent = blocks[parent[i]].id;
      blocks[parent[i]].children.push(blocks[i].id);
    } else rootBlocks.push(blocks[i].id);
  }
  return { blocks, rootBlocks };
}
