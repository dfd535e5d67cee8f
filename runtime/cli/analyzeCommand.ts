/**
 * `skipscope analyze MODEL [--json]`: format, node and edge counts, parameters, FLOPs, the skip
 * connections as a table and the merges by kind.
 */
import { print } from './stdoutGuard';
import { analyzeSkips } from '../analysis/analyzeSkips';
import type { SkipAnalysis, SkipPath } from '../analysis/skipTypes';
import type { Graph, Model } from '../model/ir';
import { openModel } from '../analysis/openModel';
import { parseArgs, UsageError, type Subcommand } from './args';
import { displayName } from '../view/displayName';
import { mergeCountText } from '../view/mergeCounts';

/** Data edges: each (value → consuming node) link whose value comes from a node or a graph input. */
export function countEdges(graph: Graph): number {
  let edges = 0;
  for (const node of graph.nodes) {
    const seen = new Set<string>();
    for (const name of node.inputs) {
      if (name === '' || seen.has(name)) continue;
      seen.add(name);
      const v = graph.values.get(name);
      if (v && (v.producer !== undefined || v.isGraphInput)) edges++;
    }
  }
  return edges;
}

/** 1234567 → "1.23 M"; small numbers stay exact. */
function compact(n: number): string {
  const units: [number, string][] = [
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [scale, unit] of units) if (Math.abs(n) >= scale) return `${(n / scale).toPrecision(3)} ${unit}`;
  return String(n);
}

function skipKind(s: SkipPath): string {
  return s.kind === 'residual' && s.projection ? 'projection' : s.kind;
}

function spanText(s: SkipPath): string {
  let t = `${s.span.learnedOps} learned / ${s.span.ops} ops`;
  if (s.resolution.down > 1) t += `, down ×${s.resolution.down}`;
  if (s.resolution.up > 1) t += `, up ×${s.resolution.up}`;
  return t;
}

/** Left-aligned columns separated by two spaces. */
function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join('  '));
}

/** The readable report. */
export function formatAnalysis(model: Model, a: SkipAnalysis): string {
  const g = model.graph;
  const lines = [
    model.file,
    `  format      ${model.metadata.description ?? model.format}`,
    `  nodes       ${g.nodes.length}`,
    `  edges       ${countEdges(g)}`,
    `  parameters  ${model.totalParams.toLocaleString('en-US')}`,
    `  FLOPs       ${compact(model.totalFlops)}`,
    '',
  ];
  if (a.skips.length === 0) lines.push('Skip connections: none');
  else {
    lines.push(`Skip connections (${a.skips.length}):`);
    const rows = [['kind', 'from', '→', 'to', 'span']];
    for (const s of a.skips)
      rows.push([
        skipKind(s),
        s.sourceNode ? displayName(s.sourceNode) : `input ${displayName(s.source)}`,
        '→',
        displayName(s.merge),
        spanText(s),
      ]);
    lines.push(...table(rows).map((l) => `  ${l}`));
  }
  const others = a.merges.filter((m) => m.kind === 'gate' || m.kind === 'parallel');
  if (others.length > 0) {
    lines.push('', `Gates and parallel merges (${others.length}):`);
    const rows = [['kind', 'merge', 'fork tensor', 'inputs']];
    const blockOf = new Map(a.blocks.map((b) => [b.merge, b]));
    for (const m of others)
      rows.push([
        m.kind,
        displayName(m.node),
        displayName(blockOf.get(m.node)?.source ?? ''),
        String(m.dataInputs.length),
      ]);
    lines.push(...table(rows).map((l) => `  ${l}`));
  }
  const c = a.counts;
  lines.push('', `Merges: ${mergeCountText(a)}; ${c.gate} gate, ${c.parallel} parallel`);
  return lines.join('\n');
}

/** The `--json` document (DESIGN.md: counts, skips[], merges[], blocks). */
export function analysisJson(model: Model, a: SkipAnalysis): object {
  return {
    file: model.file,
    format: model.format,
    description: model.metadata.description ?? model.format,
    nodes: model.graph.nodes.length,
    edges: countEdges(model.graph),
    params: model.totalParams,
    flops: model.totalFlops,
    counts: a.counts,
    skips: a.skips,
    merges: a.merges,
    blocks: a.blocks,
    rootBlocks: a.rootBlocks,
  };
}

/** The analyze subcommand. */
export const analyzeCommand: Subcommand = {
  help: `Usage: skipscope analyze MODEL [--json]

Prints the model's format, node and edge counts, parameters, FLOPs and skip connections
(kind, from → to, span), with the merges counted by kind.
  --json   machine-readable output: counts, skips[], merges[], blocks`,
  async run(args) {
    const a = parseArgs(args, ['json'], []);
    if (a.positionals.length !== 1) throw new UsageError('analyze takes exactly one MODEL file.');
    const model = await openModel(a.positionals[0]);
    const analysis = analyzeSkips(model);
    print(
      a.flags.has('json')
        ? JSON.stringify(analysisJson(model, analysis), null, 2)
        : formatAnalysis(model, analysis),
    );
    return 0;
  },
};
