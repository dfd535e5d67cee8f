/**
 * The legend: one checkbox per skip/merge kind, in its colour, with its count; unchecking hides
 * that kind's paths.
 */
import type { SkipCounts } from '../../runtime/view/viewModel';
import { h } from '../dom';
import { DRAWN_KINDS, type DrawnKind } from '../render/theme';

const LABELS: Record<DrawnKind, string> = {
  residual: 'Residual',
  projection: 'Projection',
  concat: 'Concat',
  long: 'Long',
  gate: 'Gate',
  parallel: 'Parallel',
};

/** Counts per drawn kind: residual excludes projection shortcuts, which have their own entry. */
export function drawnCounts(c: SkipCounts): Record<DrawnKind, number> {
  return { ...c, residual: Math.max(0, c.residual - c.projection) };
}

/** Renders the legend into `host`; `toggle` is called with the kind and its new state. */
export function renderLegend(
  host: HTMLElement,
  counts: Record<DrawnKind, number>,
  shown: Record<DrawnKind, boolean>,
  toggle: (kind: DrawnKind, on: boolean) => void,
): void {
  const entries = DRAWN_KINDS.map((kind) => {
    const box = h(
      'vscode-checkbox',
      { 'data-kind': kind, checked: shown[kind], 'aria-label': `Show ${LABELS[kind]} (${counts[kind]})` },
      h('span', { class: `swatch kind-${kind}`, 'aria-hidden': 'true' }),
      ` ${LABELS[kind]} `,
      h('span', { class: 'count' }, String(counts[kind])),
    );
    box.addEventListener('change', () => toggle(kind, (box as unknown as { checked: boolean }).checked));
    return box;
  });
  host.replaceChildren(...entries);
}
