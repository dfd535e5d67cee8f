/**
 * The side panel listing every skip (kind, from → to, span); a click or Enter focuses it on the
 * graph, hovering lights it up. Each row has an inline action, as a VS Code tree row does (shown
 * on hover and keyboard focus): cut this skip, which probes the model with it replaced by zeros
 * and compares the run with the intact one.
 */
import { displayName, shortenName } from '../../runtime/view/displayName';
import type { SkipPath } from '../../runtime/view/viewModel';
import { skipKindLabel } from '../../runtime/view/nodeCard';
import { h } from '../dom';

/** Callbacks of the list. */
export interface SkipListEvents {
  focus(skip: SkipPath): void;
  light(skip: SkipPath | undefined): void;
  cut(skip: SkipPath): void;
}

/** Room for a name in a row: two share the panel's width. */
const ROUTE_NAME_MAX = 38;

/** Renders the list into `host`. */
export function renderSkipList(host: HTMLElement, skips: SkipPath[], events: SkipListEvents): void {
  if (!skips.length) {
    host.replaceChildren(h('p', { class: 'empty' }, 'No skip connections found.'));
    return;
  }
  const items = skips.map((s) => {
    const kind = s.kind === 'residual' && s.projection ? 'projection' : s.kind;
    const from = displayName(s.sourceNode || s.source);
    const merge = displayName(s.merge);
    const label = `${skipKindLabel(s)} from ${from} to ${merge}, bypasses ${s.span.learnedOps} learned ops over ${s.span.ops} ops`;
    const row = h(
      'div',
      { class: 'skip-row', tabindex: 0, role: 'button', 'aria-label': label, title: label },
      h('span', { class: `swatch kind-${kind}`, 'aria-hidden': 'true' }),
      h('span', { class: 'skip-kind' }, kind),
      h(
        'span',
        { class: 'skip-route' },
        `${shortenName(from, ROUTE_NAME_MAX)} → ${shortenName(merge, ROUTE_NAME_MAX)}`,
      ),
      h('span', { class: 'skip-span' }, `${s.span.learnedOps}/${s.span.ops}`),
    );
    const cutLabel = `Cut the ${skipKindLabel(s)} from ${from} to ${merge}: probe with it replaced by zeros and compare with the intact run`;
    const cut = h('vscode-toolbar-button', {
      class: 'skip-cut',
      icon: 'debug-disconnect',
      label: cutLabel,
      title: 'Cut this skip and compare',
      'aria-label': cutLabel,
    });
    const li = h('li', { 'data-skip': s.id, 'data-kind': kind }, row, cut);
    row.addEventListener('click', () => events.focus(s));
    row.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' || ev.key === ' ') {
        ev.preventDefault();
        events.focus(s);
      }
    });
    cut.addEventListener('click', () => events.cut(s));
    li.addEventListener('mouseenter', () => events.light(s));
    li.addEventListener('mouseleave', () => events.light(undefined));
    return li;
  });
  host.replaceChildren(h('ul', { class: 'skip-list', 'aria-label': 'Skip connections' }, ...items));
}
