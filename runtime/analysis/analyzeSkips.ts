/**
 * The skip analysis entry point: classifies merges, measures skips, builds the block tree and the
 * name-scope tree of a model's main graph.
 */
import type { Graph, Model, ModelFormat } from '../model/ir';
import { buildBlocks } from './blocks';
import { buildDataGraph } from './dataGraph';
import { inlineFunctions } from './inlineFunctions';
import { buildScopes } from './scopes';
import { SkipClassifier } from './skips';
import type { MergeInfo, SkipAnalysis, SkipCounts, SkipPath } from './skipTypes';

/** Analyses the skip connections of `model` (its main graph). */
export function analyzeSkips(model: Model): SkipAnalysis {
  return analyzeGraphSkips(inlineFunctions(model.graph, model.functions), model.format);
}

/** Analyses one graph read from a file of `format` (op names are read per format). */
export function analyzeGraphSkips(graph: Graph, format: ModelFormat): SkipAnalysis {
  const dg = buildDataGraph(graph, format);
  const raw = new SkipClassifier(dg).classifyAll();
  const { blocks, rootBlocks } = buildBlocks(graph, raw, dg.valueNames);
  const counts: SkipCounts = { residual: 0, projection: 0, concat: 0, long: 0, gate: 0, parallel: 0 };
  const skips: SkipPath[] = [];
  const merges: MergeInfo[] = raw.map((m, i) => {
    const node = graph.nodes[m.node];
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
        merge: node.name,
        source: dg.valueNames[s.fork],
        sourceNode: producer >= 0 ? graph.nodes[producer].name : '',
        skipInput: s.inputPos,
        skipNodes: s.skipNodes.map((n) => graph.nodes[n].name),
        span: { learnedOps: s.learnedOps, ops: s.ops },
        resolution: { down: s.down, up: s.up },
        block: blocks[i].id,
        ...(s.bypassedKind ? { bypassedKind: s.bypassedKind } : {}),
      });
    }
    return {
      node: node.name,
      op: node.op,
      kind: m.kind,
      dataInputs: m.dataInputs.map((v) => dg.valueNames[v]),
      skips: ids,
    };
  });
  return { counts, skips, merges, blocks, rootBlocks, scopes: buildScopes(graph, format) };
}
