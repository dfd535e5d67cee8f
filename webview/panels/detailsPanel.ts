/**
 * The details panel of the selected node: attributes, inputs and outputs with shapes, parameters,
 * FLOPs, gradient stats, and per weight its shape, dtype and — on demand, from the sidecar — its
 * min/max/mean/std.
 */
import { CARD_NAME_MAX, displayName, visibleName } from '../../runtime/view/displayName';
import { formatCompact, formatCount, formatShape, formatStat } from '../../runtime/view/format';
import { nodeCard } from '../../runtime/view/nodeCard';
import type { GradientOverlay, ViewModel } from '../../runtime/view/viewModel';
import { fill, h } from '../dom';
import type { TensorStats } from '../protocol';

/** What the panel needs from its surroundings. */
export interface DetailsContext {
  view: ViewModel;
  grads?: GradientOverlay;
  tensorStats(tensor: string): Promise<{ stats?: TensorStats; error?: string }>;
}

function table(caption: string, rows: (HTMLElement | null)[]): HTMLElement {
  return h(
    'table',
    { class: 'details-table' },
    h('caption', {}, caption),
    ...rows.filter((r): r is HTMLElement => r !== null),
  );
}

function row(k: string | HTMLElement, ...v: (Node | string)[]): HTMLElement {
  return h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, ...v));
}

/** A name from the model as text (see displayName), its whole visible form as the tooltip. */
function nameText(name: string, max = CARD_NAME_MAX): HTMLElement {
  const shown = displayName(name, max);
  return h(
    'span',
    { class: 'model-name', title: shown.length < name.length ? visibleName(name) : undefined },
    shown,
  );
}

function statsButton(ctx: DetailsContext, tensor: string): HTMLElement {
  const out = h('span', { class: 'tensor-stats', 'data-tensor': tensor });
  const button = h(
    'vscode-button',
    { secondary: true, 'aria-label': `Compute statistics of ${displayName(tensor)}` },
    'Stats',
  );
  const run = async () => {
    out.replaceChildren(h('vscode-progress-ring', { 'aria-label': 'Computing' }));
    const r = await ctx.tensorStats(tensor);
    if (r.stats) {
      const s = r.stats;
      out.replaceChildren(
        `min ${formatStat(s.min)} · max ${formatStat(s.max)} · mean ${formatStat(s.mean)} · std ${formatStat(s.std)}`,
      );
      out.dataset.loaded = 'true';
    } else out.replaceChildren(h('span', { class: 'error' }, r.error ?? 'no statistics'));
  };
  button.addEventListener('click', () => void run());
  out.append(button);
  return out;
}

/** Renders the node with view index `i` into `host`. */
export function renderNodeDetails(host: HTMLElement, ctx: DetailsContext, i: number): void {
  const n = ctx.view.nodes[i];
  const card = nodeCard(ctx.view, n.name, ctx.grads);
  const attrs = Object.entries(n.attributes).map(([k, v]) =>
    row(nameText(k), h('code', {}, displayName(v, CARD_NAME_MAX))),
  );
  const inputs = n.inputs.map((inp) =>
    row(
      inp.isParam ? h('span', {}, nameText(inp.name), ' (weight)') : nameText(inp.name),
      `${formatShape(inp.shape)} ${inp.dtype}`,
      inp.isParam ? ' ' : '',
      inp.isParam ? statsButton(ctx, inp.name) : '',
    ),
  );
  const outputs = n.outputs.map((o) => row(nameText(o.name), `${formatShape(o.shape)} ${o.dtype}`));
  const grads =
    card?.rows.filter(([k]) =>
      ['grad RMS', 'dead units', 'NaN/Inf', 'first NaN/Inf', 'grad/weight', 'skip share'].includes(k),
    ) ?? [];
  fill(
    host,
    h(
      'h3',
      { class: 'details-title' },
      displayName(n.op),
      ' ',
      h('span', { class: 'details-name' }, nameText(n.name)),
    ),
    card?.skipRole ? h('p', { class: 'card-role' }, card.skipRole) : null,
    table('Summary', [
      row('params', formatCount(n.params)),
      row('FLOPs', `${formatCompact(n.flops)} (${formatCount(n.flops)})`),
      n.scope.length ? row('scope', nameText(n.scope.join('/'))) : null,
      n.hidden ? row('note', 'constant or shape arithmetic (hidden in the graph)') : null,
      n.unknownOp ? row('note', 'op not known to Skipscope') : null,
    ]),
    attrs.length ? table('Attributes', attrs) : null,
    inputs.length ? table('Inputs', inputs) : null,
    table('Outputs', outputs),
    grads.length
      ? table(
          'Gradients',
          grads.map(([k, v]) => row(k, v)),
        )
      : null,
  );
  host.dataset.node = n.name;
}

/** Renders a collapsed group's summary into `host`, with a button to expand it. */
export function renderGroupDetails(
  host: HTMLElement,
  ctx: DetailsContext,
  label: string,
  members: number[],
  expand: () => void,
): void {
  let params = 0;
  let flops = 0;
  for (const i of members) {
    params += ctx.view.nodes[i].params;
    flops += ctx.view.nodes[i].flops;
  }
  const button = h('vscode-button', { 'aria-label': `Expand ${displayName(label)}` }, 'Expand');
  button.addEventListener('click', expand);
  const list = members
    .slice(0, 60)
    .map((i) => h('li', {}, displayName(ctx.view.nodes[i].op), ' ', nameText(ctx.view.nodes[i].name, 80)));
  host.replaceChildren(
    h('h3', { class: 'details-title' }, nameText(label)),
    table('Summary', [
      row('nodes', formatCount(members.length)),
      row('params', formatCount(params)),
      row('FLOPs', formatCompact(flops)),
    ]),
    button,
    h(
      'ul',
      { class: 'member-list' },
      ...list,
      members.length > 60 ? h('li', {}, `… ${members.length - 60} more`) : null,
    ),
  );
  delete host.dataset.node;
}
