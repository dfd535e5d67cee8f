/**
 * The hover card of one node — op, name, shapes, parameters, FLOPs, its skip role in words and
 * gradient stats once a probe has run — shared by the graph webview and the text view's hovers.
 */
import { describeSkipRole } from '../analysis/skipRole';
import type { SkipPath } from '../analysis/skipTypes';
import { CARD_NAME_MAX, displayName, markdownText } from './displayName';
import { formatCompact, formatCount, formatShape, formatStat } from './format';
import { sparkline } from './sparkline';
import type { GradientOverlay, TimeGradient, ViewModel, ViewNode } from './viewModel';

/**
 * A node's card: a title, label/value rows and the skip role sentence when it has one. Every text
 * from the model file in it has gone through displayName(): shown, not interpreted, and shortened
 * (`fullName` holds the whole name, made visible, when the `name` row is shortened).
 */
export interface NodeCard {
  title: string;
  rows: [string, string][];
  skipRole?: string;
  fullName?: string;
}

/** "residual skip", "projection shortcut", "concat skip", "long skip". */
export function skipKindLabel(s: Pick<SkipPath, 'kind' | 'projection'>): string {
  if (s.kind === 'residual') return s.projection ? 'projection shortcut' : 'residual skip';
  return `${s.kind} skip`;
}

const byName = new WeakMap<ViewModel, Map<string, ViewNode>>();

function nodeNamed(view: ViewModel, name: string): ViewNode | undefined {
  let m = byName.get(view);
  if (!m) {
    m = new Map(view.nodes.map((n) => [n.name, n]));
    byName.set(view, m);
  }
  return m.get(name);
}

/** The node's role among the skip paths in words (from the analysis), or undefined when it plays none. */
export function skipRoleOf(view: ViewModel, nodeName: string): string | undefined {
  return describeSkipRole(view.skips, nodeName);
}

/**
 * A recurrent direction's gradient through time as a card row: the norm at the last step it
 * processes and at the first, their ratio in words, and a sparkline over t (t = 0 on the left).
 */
function timeRow(t: TimeGradient, named: boolean): [string, string] {
  const rev = t.direction === 'reverse';
  const first = rev ? t.l2[t.l2.length - 1] : t.l2[0];
  const last = rev ? t.l2[0] : t.l2[t.l2.length - 1];
  const change =
    !(t.decay > 0) || !Number.isFinite(t.decay)
      ? ''
      : t.decay < 1
        ? `, ${formatStat(1 / t.decay)}× smaller`
        : `, ${formatStat(t.decay)}× larger`;
  return [
    named ? `grad through time (${t.direction})` : 'grad through time',
    `${formatStat(last)} at the last of ${t.l2.length} steps → ${formatStat(first)} at the first${change} ${sparkline(t.l2, 24)}`,
  ];
}

/** The card for the node called `nodeName`, or undefined when there is none. */
export function nodeCard(view: ViewModel, nodeName: string, grads?: GradientOverlay): NodeCard | undefined {
  const node = nodeNamed(view, nodeName);
  if (!node) return undefined;
  const shown = displayName(node.name, CARD_NAME_MAX);
  const rows: [string, string][] = [['name', shown]];
  const dataInputs = node.inputs.filter((i) => !i.isParam && !i.isConst && i.name);
  if (dataInputs.length) rows.push(['inputs', dataInputs.map((i) => formatShape(i.shape)).join(', ')]);
  if (node.outputs.length) rows.push(['outputs', node.outputs.map((o) => formatShape(o.shape)).join(', ')]);
  const weights = node.inputs.filter((i) => i.isParam);
  if (weights.length) rows.push(['weights', weights.map((w) => formatShape(w.shape)).join(', ')]);
  rows.push(['params', formatCount(node.params)]);
  rows.push(['FLOPs', formatCompact(node.flops)]);
  if (node.scope.length) rows.push(['scope', displayName(node.scope.join('/'), CARD_NAME_MAX)]);
  const g = grads?.nodes[node.name];
  if (g) {
    // Means over the batches, ± their spread where there were several.
    const pm = (x: number, spread: number | undefined, f: (v: number) => string) =>
      spread ? `${f(x)} ± ${f(spread)}` : f(x);
    const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
    rows.push(['grad RMS', pm(g.rms, g.rmsSpread, formatStat)]);
    if (g.zeroFraction > 0) rows.push(['dead units', pm(g.zeroFraction, g.zeroFractionSpread, pct)]);
    if (g.nonFinite) rows.push(['NaN/Inf', `${formatCount(g.nonFinite)} gradient elements`]);
    if (g.paramRatio !== undefined)
      rows.push(['grad/weight', pm(g.paramRatio, g.paramRatioSpread, formatStat)]);
    for (const t of g.timesteps ?? []) rows.push(timeRow(t, g.timesteps!.length > 1));
  }
  if (grads?.nonFinite?.node === node.name)
    rows.push(['first NaN/Inf', displayName(grads.nonFinite.message, CARD_NAME_MAX)]);
  const mg = grads?.merges[node.name];
  if (mg) rows.push(['skip share', `${(mg.skipShare * 100).toFixed(1)}% of the gradient`]);
  const role = skipRoleOf(view, node.name);
  return {
    title: displayName(node.op),
    rows,
    skipRole: role === undefined ? undefined : displayName(role, CARD_NAME_MAX),
    fullName: shown.length < node.name.length ? displayName(node.name, Infinity) : undefined,
  };
}

/** The card as Markdown (for VS Code hovers), or undefined when there is no such node. */
export function nodeCardMarkdown(
  view: ViewModel,
  nodeName: string,
  grads?: GradientOverlay,
): string | undefined {
  const card = nodeCard(view, nodeName, grads);
  if (!card) return undefined;
  // The card's texts are visible and shortened already; markdownText escapes what is left.
  const lines = [`**${markdownText(card.title)}** — ${markdownText(card.rows[0][1])}`, ''];
  if (card.skipRole) lines.push(`_${markdownText(card.skipRole)}_`, '');
  lines.push('| | |', '|---|---|');
  for (const [k, v] of card.rows.slice(1)) lines.push(`| ${markdownText(k)} | ${markdownText(v)} |`);
  return lines.join('\n');
}
