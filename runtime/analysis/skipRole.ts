/**
 * One sentence saying what a node does for skip connections, for hover cards: "merges a residual
 * skip from /layer1/Relu that bypasses 2 convs", "forks 2 skips (to /layer1/Add, …)", "carries
 * the projection shortcut from … to …".
 */
import type { Block, MergeInfo, SkipAnalysis, SkipPath } from './skipTypes';

interface RoleIndex {
  /** The innermost block around each node (smallest region that holds it). */
  innermost: Map<string, Block>;
  merges: Map<string, MergeInfo>;
  skips: Map<string, SkipPath>;
  forks: Map<string, SkipPath[]>;
  carries: Map<string, SkipPath[]>;
}

const cache = new WeakMap<SkipAnalysis, RoleIndex>();

function add<V>(m: Map<string, V[]>, k: string, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

function indexOf(a: SkipAnalysis): RoleIndex {
  let ix = cache.get(a);
  if (ix) return ix;
  const innermost = new Map<string, Block>();
  for (const b of [...a.blocks].sort((x, y) => x.nodes.length - y.nodes.length)) {
    for (const n of b.nodes) if (n !== b.merge && !innermost.has(n)) innermost.set(n, b);
  }
  ix = {
    innermost,
    merges: new Map(a.merges.map((m) => [m.node, m])),
    skips: new Map(a.skips.map((s) => [s.id, s])),
    forks: new Map(),
    carries: new Map(),
  };
  for (const s of a.skips) {
    if (s.sourceNode) add(ix.forks, s.sourceNode, s);
    for (const n of s.skipNodes) add(ix.carries, n, s);
  }
  cache.set(a, ix);
  return ix;
}

const NOUNS: Record<string, [string, string]> = {
  conv: ['conv', 'convs'],
  deconv: ['transposed conv', 'transposed convs'],
  linear: ['linear layer', 'linear layers'],
  embedding: ['embedding', 'embeddings'],
  recurrent: ['recurrent layer', 'recurrent layers'],
};

function count(n: number, kind: string | undefined): string {
  const [one, many] = NOUNS[kind ?? ''] ?? ['learned op', 'learned ops'];
  return `${n} ${n === 1 ? one : many}`;
}

const BLOCK_WORDS: Record<Block['kind'], string> = {
  residual: 'residual block',
  concat: 'dense (concat) block',
  long: 'long-skip block',
  gate: 'gated block',
  parallel: 'parallel-branch block',
};

/** "residual skip", "projection shortcut", "concat skip", "long skip". */
export function skipLabel(s: SkipPath): string {
  if (s.kind === 'residual') return s.projection ? 'projection shortcut' : 'residual skip';
  return `${s.kind} skip`;
}

function from(s: SkipPath): string {
  return s.sourceNode || `the graph input '${s.source}'`;
}

function mergeSentence(m: MergeInfo, ix: RoleIndex): string {
  if (m.kind === 'gate')
    return `gates its input with a learned branch (a multiplicative gate, not counted as a skip)`;
  if (m.kind === 'parallel') return `merges ${m.dataInputs.length} parallel branches (no skip)`;
  const verb = m.op.toLowerCase().startsWith('concat') ? 'concatenates' : 'merges';
  const parts = m.skips.flatMap((id) => {
    const s = ix.skips.get(id);
    if (!s) return [];
    // "concatenates a skip from …" rather than "concatenates a concat skip from …".
    let text = `a ${s.kind === 'concat' ? 'skip' : skipLabel(s)} from ${from(s)} that bypasses ${count(s.span.learnedOps, s.bypassedKind)}`;
    if (s.kind === 'long') text += ` (down ×${s.resolution.down}, up ×${s.resolution.up})`;
    return [text];
  });
  return `${verb} ${parts.join(' and ')}`;
}

/** The skip-role sentence of node `name`, or undefined when it plays no part in a skip. */
export function describeSkipRole(analysis: SkipAnalysis, name: string): string | undefined {
  const ix = indexOf(analysis);
  const parts: string[] = [];
  const merge = ix.merges.get(name);
  if (merge) parts.push(mergeSentence(merge, ix));
  const forks = ix.forks.get(name);
  if (forks) {
    const targets = [...new Set(forks.map((s) => s.merge))];
    const what = forks.length === 1 ? `a ${skipLabel(forks[0])}` : `${forks.length} skips`;
    parts.push(`forks ${what} to ${targets.slice(0, 3).join(', ')}${targets.length > 3 ? ', …' : ''}`);
  }
  for (const s of ix.carries.get(name) ?? [])
    parts.push(`carries the ${skipLabel(s)} from ${from(s)} to ${s.merge}`);
  if (parts.length === 0) {
    // Otherwise say which block the node sits in, so every node of a block explains itself.
    const block = ix.innermost.get(name);
    if (!block) return undefined;
    parts.push(`lies inside the ${BLOCK_WORDS[block.kind]} that closes at ${block.merge}`);
  }
  const text = parts.join('; ');
  return text.charAt(0).toUpperCase() + text.slice(1) + '.';
}
