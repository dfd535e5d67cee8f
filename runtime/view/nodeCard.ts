/**
 * The hover card of one node — op, name, shapes, parameters, FLOPs, its skip role in words and
 * gradient stats once a probe has run — shared by the graph webview and the text view's hovers.
 */
import type { MergeInfo, SkipPath } from '../analysis/skipTypes';
import { formatCompact, formatCount, formatShape, formatStat } from './format';
import type { GradientOverlay, ViewModel, ViewNode } from './viewModel';

/** A node's card: a title, label/value rows and the skip role sentence when it has one. */
export interface NodeCard {
  title: string;
  rows: [string, string][];
  skipRole?: string;
}

/** Lookups over one view model, built once per model. */
interface CardIndex {
  byName: Map<string, ViewNode>;
  merges: Map<string, MergeInfo>;
  skipsById: Map<string, SkipPath>;
  /** Skips that fork from the node (by source node name). */
  forks: Map<string, SkipPath[]>;
  /** Skips whose skip side runs through the node (carry ops, projection). */
  carries: Map<string, SkipPath[]>;
}

const indexes = new WeakMap<ViewModel, CardIndex>();

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

function indexOf(view: ViewModel): CardIndex {
  let ix = indexes.get(view);
  if (ix) return ix;
  ix = {
    byName: new Map(view.nodes.map((n) => [n.name, n])),
    merges: new Map(view.skips.merges.map((m) => [m.node, m])),
    skipsById: new Map(view.skips.skips.map((s) => [s.id, s])),
    forks: new Map(),
    carries: new Map(),
  };
  for (const s of view.skips.skips) {
    if (s.sourceNode) push(ix.forks, s.sourceNode, s);
    for (const n of s.skipNodes) push(ix.carries, n, s);
  }
  indexes.set(view, ix);
  return ix;
}

/** "residual skip", "projection shortcut", "dense (concat) skip", "long skip". */
export function skipKindLabel(s: Pick<SkipPath, 'kind' | 'projection'>): string {
  if (s.kind === 'residual') return s.projection ? 'projection shortcut' : 'residual skip';
  if (s.kind === 'concat') return 'concat skip';
  return 'long skip';
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function fromWhere(s: SkipPath): string {
  return s.sourceNode || `input ${s.source}`;
}

function mergeSentence(m: MergeInfo, ix: CardIndex): string {
  if (m.kind === 'gate')
    return `gates its input by multiplying with a learned branch (a gate, not counted as a skip)`;
  if (m.kind === 'parallel') return `merges ${m.dataInputs.length} parallel branches (no skip)`;
  const parts = m.skips
    .map((id) => ix.skipsById.get(id))
    .filter((s): s is SkipPath => s !== undefined)
    .map((s) => {
      let text = `a ${skipKindLabel(s)} from ${fromWhere(s)} that bypasses ${plural(s.span.learnedOps, 'learned op')}`;
      if (s.kind === 'long' && (s.resolution.down > 1 || s.resolution.up > 1))
        text += ` (down ×${s.resolution.down}, up ×${s.resolution.up})`;
      return text;
    });
  const verb = m.kind === 'concat' ? 'concatenates' : 'merges';
  return parts.length ? `${verb} ${parts.join(' and ')}` : `merges a ${m.kind} skip`;
}

/** The node's role among the skip paths in words, or undefined when it plays none. */
export function skipRoleOf(view: ViewModel, nodeName: string): string | undefined {
  const ix = indexOf(view);
  const sentences: string[] = [];
  const merge = ix.merges.get(nodeName);
  if (merge) sentences.push(mergeSentence(merge, ix));
  for (const s of ix.carries.get(nodeName) ?? [])
    sentences.push(
      `${s.projection && s.skipNodes[0] === nodeName ? 'projects' : 'carries'} the ${skipKindLabel(s)} from ${fromWhere(s)} to ${s.merge}`,
    );
  const forks = ix.forks.get(nodeName) ?? [];
  if (forks.length) {
    const targets = forks.map((s) => `${s.merge} (${skipKindLabel(s)})`);
    sentences.push(`forks ${plural(forks.length, 'skip')} to ${targets.join(', ')}`);
  }
  if (!sentences.length) return undefined;
  const text = sentences.join('; ');
  return text.charAt(0).toUpperCase() + text.slice(1) + '.';
}

/** The card for the node called `nodeName`, or undefined when there is none. */
export function nodeCard(view: ViewModel, nodeName: string, grads?: GradientOverlay): NodeCard | undefined {
  const ix = indexOf(view);
  const node = ix.byName.get(nodeName);
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
    if (g.paramRatio !== undefined) rows.push(['grad/weight', formatStat(g.paramRatio)]);
  }
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
