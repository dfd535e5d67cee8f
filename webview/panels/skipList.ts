/**
 * The side panel listing every skip (kind, from → to, span); a click or Enter focuses it on the
 * graph, hovering lights it up.
 */
import type { SkipPath } from '../../runtime/view/viewModel';
import { skipKindLabel } from '../../runtime/view/nodeCard';
import { h } from '../dom';

/** Callbacks of the list. */
export interface SkipListEvents {
  focus(skip: SkipPath): void;
  light(skip: SkipPath | undefined): void;
}

function shortName(name: string): string {
  return name.length > 38 ? `…${name.slice(-37)}` : name;
}

/** Renders the list into `host`. */
export function renderSkipList(host: HTMLElement, skips: SkipPath[], events: SkipListEvents): void {
  if (!skips.length) {
    host.replaceChildren(h('p', { class: 'empty' }, 'No skip connections found.'));
    return;
  }
  const items = skips.map((s) => {
    const kind = s.kind === 'residual' && s.projection ? 'projection' : s.kind;
    const from = s.sourceNode || s.source;
    const label = `${skipKindLabel(s)} from ${from} to ${s.merge}, bypasses ${s.span.learnedOps} learned ops over ${s.span.ops} ops`;
    const li = h(
      'li',
      {
        tabindex: 0,
        role: 'button',
        'aria-label': label,
        'data-skip': s.id,
        'data-kind': kind,
        title: label,
      },
      h('span', { class: `swatch kind-${kind}`, 'aria-hidden': 'true' }),
      h('span', { class: 'skip-kind' }, kind),
      h('span', { class: 'skip-route' }, `${shortName(from)} → ${shortName(s.merge)}`),
      h('span', { class: 'skip-span' }, `${s.span.learnedOps}/${s.span.ops}`),
    );
    li.addEventListener('click', () => events.focus(s));
    li.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' || ev.key === ' ') {
        ev.preventDefault();
        events.focus(s);
      }
    });
    li.addEventListener('mouseenter', () => events.light(s));
    li.addEventListener('mouseleave', () => events.light(undefined));
    return li;
  });
  host.replaceChildren(h('ul', { class: 'skip-list', 'aria-label': 'Skip connections' }, ...items));
}
