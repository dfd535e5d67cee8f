/**
 * The analysis must scale linearly: the work counter (values walked back plus values visited by
 * forward passes) grows in proportion to the graph, not its square. Counts, not timings.
 */
import { strict as assert } from 'node:assert';
import { buildDataGraph } from '../../../runtime/analysis/dataGraph';
import { SkipClassifier } from '../../../runtime/analysis/skips';
import type { Graph } from '../../../runtime/model/ir';
import { GraphBuilder } from '../helpers/graphBuilder';

function residualChain(blocks: number): Graph {
  const b = new GraphBuilder();
  let h = b.op('Relu', [b.conv(b.input('x'))]);
  for (let i = 0; i < blocks; i++) h = b.op('Relu', [b.op('Add', [h, b.conv(b.op('Relu', [b.conv(h)]))])]);
  return b.output(h).graph();
}

function denseBlocks(blocks: number): Graph {
  const b = new GraphBuilder();
  let h = b.op('Relu', [b.conv(b.input('x'))]);
  for (let i = 0; i < blocks; i++) {
    const feats = [h];
    for (let l = 0; l < 6; l++)
      feats.push(b.conv(b.op('Relu', [feats.length > 1 ? b.op('Concat', [...feats]) : feats[0]])));
    h = b.op('MaxPool', [b.op('Concat', feats)], { attrs: { strides: [2, 2] } });
  }
  return b.output(h).graph();
}

/** Parallel (Inception-like) modules: the common-fork search must stay inside each module. */
function inceptionChain(modules: number): Graph {
  const b = new GraphBuilder();
  let h = b.op('Relu', [b.conv(b.input('x'))]);
  for (let i = 0; i < modules; i++)
    h = b.op('Concat', [b.conv(h, 1), b.conv(b.conv(h, 1)), b.conv(b.op('MaxPool', [h]), 1)]);
  return b.output(h).graph();
}

function work(g: Graph): { work: number; merges: number } {
  const c = new SkipClassifier(buildDataGraph(g, 'onnx'));
  const merges = c.classifyAll().length;
  return { work: c.work, merges };
}

describe('analysis scaling', () => {
  for (const [name, make] of Object.entries({ residualChain, denseBlocks, inceptionChain })) {
    it(`${name}: work grows 4× when the graph grows 4×`, () => {
      const small = work(make(100));
      const large = work(make(400));
      assert.equal(large.merges, 4 * small.merges);
      const ratio = large.work / small.work;
      assert.ok(ratio > 3.5 && ratio < 4.5, `work grew ${ratio.toFixed(2)}× for 4× the graph`);
      const nodes = make(400).nodes.length;
      assert.ok(large.work < 20 * nodes, `work ${large.work} for ${nodes} nodes`);
    });
  }
});
