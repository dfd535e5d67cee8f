/**
 * Search over node names and ops: case-insensitive substring matches, in graph order; an exact op
 * match ranks with the rest (the user steps through hits in graph order).
 */
import type { ViewModel } from '../../runtime/view/viewModel';

/** Indices of the nodes whose name or op contains `query` (hidden nodes only when shown). */
export function searchNodes(view: ViewModel, query: string, includeHidden: boolean): number[] {
  const q = query.trim().toLowerCase();
  if (!q) return [];
  const hits: number[] = [];
  view.nodes.forEach((n, i) => {
    if (n.hidden && !includeHidden) return;
    if (n.name.toLowerCase().includes(q) || n.op.toLowerCase().includes(q)) hits.push(i);
  });
  return hits;
}
