/**
 * The hover card of one node — op, name, shapes, parameters, FLOPs, its skip role in words and
 * gradient stats once a probe has run — shared by the graph webview and the text view's hovers.
 */
import { describeSkipRole } from '../analysis/skipRole';
import type { SkipPath } from '../analysis/skipTypes';
import { formatCompact, formatCount, formatShape, formatStat } from './format';
import type { GradientOverlay, ViewModel, ViewNode } from './viewModel';

/** A node's card: a title, label/value rows and the skip role sentence when it has one. */
export interface NodeCard {
  title: string;
  rows: [string, string][];
  skipRole?: string;
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

/** The card for the node called `nodeName`, or undefined when there is none. */
export function nodeCard(view: ViewModel, nodeName: string, grads?: GradientOverlay): NodeCard | undefined {
  const node = nodeNamed(view, nodeName);
  if (!node) return undefined;
  const rows: [string, string][] = [['name', node.name]];
  const dataInputs = node.inputs.filter((i) => !i.isParam && !i.isConst && i.name);
  if (dataInputs.length) rows.push(['inputs', dataInputs.map((i) => formatShape(i.shape)).join(', ')]);
  if (node.outputs.length) rows.push(['outputs', node.outputs.map((o) => formatShape(o.shape)).join(', ')]);
  const weights = node.inputs.filter((i) => i.isParam);
  if (weights.length) rows.push(['weights', weights.map((w) => formatShape(w.shape)).join(', ')]);
  rows.push(['params', formatCount(node.params)]);
  rows.push(['FLOPs', formatCompact(node.flops)]);
  if (node.scope.length) rows.push(['scope', node.scope.join('/')]);
  const g = grads?.nodes[node.name];
  if (g) {
    rows.push(['grad RMS', formatStat(g.rms)]);
    if (g.zeroFraction > 0) rows.push(['dead units', `${(g.zeroFraction * 100).toFixed(1)}%`]);
    if (g.nonFinite) rows.push(['NaN/Inf', `${formatCount(g.nonFinite)} gradient elements`]);
    if (g.paramRatio !== undefined) rows.push(['grad/weight', formatStat(g.paramRatio)]);
  }
  if (grads?.nonFinite?.node === node.name) rows.push(['first NaN/Inf', grads.nonFinite.message]);
  const mg = grads?.merges[node.name];
  if (mg) rows.push(['skip share', `${(mg.skipShare * 100).toFixed(1)}% of the gradient`]);
  return { title: node.op, rows, skipRole: skipRoleOf(view, node.name) };
}

function mdEscape(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+!|<>]/g, (c) => `\\${c}`);
}

/** The card as Markdown (for VS Code hovers), or undefined when there is no such node. */
export function nodeCardMarkdown(
  view: ViewModel,
  nodeName: string,
  grads?: GradientOverlay,
): string | undefined {
  const card = nodeCard(view, nodeName, grads);
  if (!card) return undefined;
  const lines = [`**${mdEscape(card.title)}** — ${mdEscape(nodeName)}`, ''];
  if (card.skipRole) lines.push(`_${mdEscape(card.skipRole)}_`, '');
  lines.push('| | |', '|---|---|');
  for (const [k, v] of card.rows.slice(1)) lines.push(`| ${mdEscape(k)} | ${mdEscape(v)} |`);
  return lines.join('\n');
}
