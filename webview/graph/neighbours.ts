/**
 * Keyboard moves over the laid-out graph: to a successor, a predecessor, or the nearest item left
 * or right in the same row.
 */
import type { Scene } from './scene';

/** Where the arrow keys go from an item. */
export type Direction = 'down' | 'up' | 'left' | 'right';

/** The item reached from `from` in direction `dir`, or `from` when there is none. */
export function neighbour(s: Scene, from: number, dir: Direction): number {
  const { x, y } = s.layout;
  if (dir === 'down' || dir === 'up') {
    let best = -1;
    for (const e of s.graph.edges) {
      const next = dir === 'down' ? (e.from === from ? e.to : -1) : e.to === from ? e.from : -1;
      if (next < 0) continue;
      // The closest in x wins: the main path before side branches.
      if (best < 0 || Math.abs(x[next] - x[from]) < Math.abs(x[best] - x[from])) best = next;
    }
    return best < 0 ? from : best;
  }
  let best = -1;
  for (let i = 0; i < s.graph.items.length; i++) {
    if (i === from || Math.abs(y[i] - y[from]) > 1) continue;
    const dx = x[i] - x[from];
    if (dir === 'right' ? dx <= 0 : dx >= 0) continue;
    if (best < 0 || Math.abs(dx) < Math.abs(x[best] - x[from])) best = i;
  }
  return best < 0 ? from : best;
}
