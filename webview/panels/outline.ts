/**
 * The accessible outline: a DOM list of nodes and skips for screen readers, with counts in data
 * attributes that the end-to-end tests read.
 */
import { displayName } from '../../runtime/view/displayName';
import type { ViewModel } from '../../runtime/view/viewModel';
import { formatShape } from '../../runtime/view/format';
import { skipKindLabel } from '../../runtime/view/nodeCard';
import { h } from '../dom';

/** Counts and state published on the outline element. */
export interface OutlineState {
  state: 'loading' | 'ready' | 'error';
  drawnItems?: number;
  drawnSkips?: number;
  layoutMs?: number;
  firstPaintMs?: number;
  layoutWhere?: string;
  /** Whether the layout worker started ('ready') or could not ('failed'). */
  worker?: 'ready' | 'failed';
  selected?: string;
  grouping?: string;
  collapsedGroups?: number;
  /** JSON: milliseconds since the init message at each step of the first paint. */
  timing?: string;
}

/** Writes `state` into the outline's data attributes. */
export function publish(outline: HTMLElement, state: Partial<OutlineState>): void {
  for (const [k, v] of Object.entries(state)) {
    const attr = k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    if (v === undefined) outline.removeAttribute(`data-${attr}`);
    else outline.setAttribute(`data-${attr}`, String(v));
  }
}

/** Fills the outline with the model's counts, its skips and its (visible) nodes. */
export function renderOutline(outline: HTMLElement, view: ViewModel, select: (node: number) => void): void {
  const c = view.skips.counts;
  const visible = view.nodes.filter((n) => !n.hidden).length;
  const skipTotal = view.skips.skips.length;
  Object.assign(outline.dataset, {
    nodeCount: String(visible),
    allNodeCount: String(view.nodes.length),
    edgeCount: String(view.edges.filter((e) => !e.hidden).length),
    skipCount: String(skipTotal),
    residual: String(c.residual),
    projection: String(c.projection),
    concat: String(c.concat),
    long: String(c.long),
    gate: String(c.gate),
    parallel: String(c.parallel),
    format: view.format,
  });
  const skips = view.skips.skips.map((s) =>
    h(
      'li',
      { 'data-skip': s.id, 'data-kind': s.kind, 'data-merge': s.merge },
      `${skipKindLabel(s)} from ${displayName(s.sourceNode || s.source)} to ${displayName(s.merge)}, bypassing ${s.span.learnedOps} learned ops`,
    ),
  );
  const nodes: HTMLElement[] = [];
  view.nodes.forEach((n, i) => {
    if (n.hidden) return;
    const shapes = n.outputs.map((o) => formatShape(o.shape)).join(', ');
    const b = h(
      'button',
      {
        type: 'button',
        'data-node': n.name,
        'data-op': n.op,
        'aria-label': `${displayName(n.op)} ${displayName(n.name)}, output ${displayName(shapes)}`,
      },
      `${displayName(n.op)} ${displayName(n.name)}`,
    );
    b.addEventListener('click', () => select(i));
    nodes.push(h('li', {}, b));
  });
  outline.replaceChildren(
    h('h2', {}, `${view.format} model: ${visible} nodes, ${skipTotal} skip connections`),
    h('h3', {}, 'Skip connections'),
    h('ul', { class: 'outline-skips' }, ...skips),
    h('h3', {}, 'Nodes'),
    h('ul', { class: 'outline-nodes' }, ...nodes),
  );
}
