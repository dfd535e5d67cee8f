/**
 * The skip analysis entry point: classifies merges, measures skips, builds the block tree and the
 * name-scope tree of a model's main graph.
 */
import type { Graph, Model, ModelFormat } from '../model/ir';
import { buildBlocks } from './blocks';
import { buildDataGraph } from './dataGraph';
import { inlineFunctions } from '../model/inlineFunctions';
import { buildScopes } from './scopes';
import { SkipClassifier } from './skips';
import type { MergeInfo, SkipAnalysis, SkipCounts, SkipPath } from './skipTypes';

/**
 * Analyses the skip connections of `model` (its main graph). Model-local function calls are
 * looked into, and what happens inside one is reported against the call node, so every node name
 * in the result is a node of `model.graph` (tensor names may still be a function's inner ones).
 */
export function analyzeSkips(model: Model): SkipAnalysis {
  const { graph, visibleName } = inlineFunctions(model.graph, model.functions);
  const a = analyzeGraphSkips(graph, model.format, (n) => visibleName[n]);
  if (graph !== model.graph) a.scopes = buildScopes(model.graph, model.format);
  return a;
}

/** Names listed once each, in order, leaving out `except`. */
function unique(names: string[], except?: string): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const n of names) {
    if (n === except || seen.has(n)) continue;
    seen.add(n);
    out.push(n);
  }
  return out;
}

/**
 * Analyses one graph read from a file of `format` (op names are read per format). `nameOf` names
 * node n in the results (default: its own name).
 */
export function analyzeGraphSkips(
  graph: Graph,
  format: ModelFormat,
  nameOf: (n: number) => string = (n) => graph.nodes[n].name,
): SkipAnalysis {
  const dg = buildDataGraph(graph, format);
  const raw = new SkipClassifier(dg).classifyAll();
  const { blocks, rootBlocks } = buildBlocks(raw, dg.valueNames, graph.nodes.length, nameOf);
  const counts: SkipCounts = { residual: 0, projection: 0, concat: 0, long: 0, gate: 0, parallel: 0 };
  const skips: SkipPath[] = [];
  const merges: MergeInfo[] = raw.map((m, i) => {
    const node = graph.nodes[m.node];
    const mergeName = nameOf(m.node);
    counts[m.kind]++;
    if (m.kind === 'residual' && m.skips.some((s) => s.projection)) counts.projection++;
    const ids: string[] = [];
    // A gate's multiplied input is reported through its merge, not as a skip path.
    for (const s of m.kind === 'gate' ? [] : m.skips) {
      const id = `skip${skips.length}`;
      ids.push(id);
      const producer = dg.producer[s.fork];
      const kind =
        m.kind === 'long'
          ? s.down > 1 && s.up > 1
            ? 'long'
            : m.op === 'add'
              ? 'residual'
              : 'concat'
          : m.kind === 'concat'
            ? 'concat'
            : 'residual';
      skips.push({
        id,
        kind,
        projection: s.projection,
        merge: mergeName,
        source: dg.valueNames[s.fork],
        sourceNode: producer >= 0 ? nameOf(producer) : '',
        skipInput: s.inputPos,
        skipNodes: unique(
          s.skipNodes.map((n) => nameOf(n)),
          mergeName,
        ),
        span: { learnedOps: s.learnedOps, ops: s.ops },
        resolution: { down: s.down, up: s.up },
        block: blocks[i].id,
        ...(s.bypassedKind ? { bypassedKind: s.bypassedKind } : {}),
      });
    }
    return {
      node: mergeName,
      op: node.op,
      kind: m.kind,
      dataInputs: m.dataInputs.map((v) => dg.valueNames[v]),
      skips: ids,
    };
  });
  return { counts, skips, merges, blocks, rootBlocks, scopes: buildScopes(graph, format) };
}
