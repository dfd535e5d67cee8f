/**
 * TF.js models printed from the graph IR in the ONNX text syntax: every node on its own line,
 * every tensor use resolvable to its definition, weights elided, and the onnx-text grammar's
 * shapes (header, signature, node lines) kept.
 */
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { openModelSync } from '../../../runtime/analysis/openModel';
import { printModelIr } from '../../../runtime/text/irPrinter';
import { TextService } from '../../../runtime/text/textService';

const root = join(__dirname, '../../..');
const models = [
  'test/fixtures/tfjs-layers/resnet/model.json',
  'test/fixtures/tfjs-layers/nested/model.json',
  'test/fixtures/tfjs-graph/blazeface/blazeface.json',
];

describe('IR printer (TF.js models as ONNX-style text)', () => {
  for (const rel of models) {
    it(`prints ${rel} with one line per node and resolvable names`, () => {
      const model = openModelSync(join(root, rel));
      const { text, index } = printModelIr(model);
      const lines = text.split('\n');
      assert.equal(lines[0], '<');
      assert.match(text, new RegExp(`format: "${model.format}"`));
      // One node line per IR node, in order, each naming the node in brackets.
      const nodeLines = index.symbols.filter((s) => s.kind === 'node' && s.def);
      assert.equal(nodeLines.length, model.graph.nodes.length);
      nodeLines.forEach((s, i) => {
        assert.equal(s.name, model.graph.nodes[i].name);
        assert.ok(lines[s.line].includes(` = ${model.graph.nodes[i].op}`), lines[s.line]);
      });
      // Every tensor read by a node is defined: an input, a weight or an earlier node's output.
      for (const use of index.symbols.filter((s) => s.kind === 'tensor' && !s.def)) {
        const def = index.definitionOf(use);
        assert.ok(def, `no definition for ${use.name}`);
      }
      // Weights are elided: no value list longer than the default limit.
      for (const m of text.matchAll(/\{([^{}\n]*)\}/g))
        assert.ok(m[1].split(',').length <= 16 || m[1] === '...');
    });
  }

  it('backs the text service for a model.json, with hovers on its node lines', () => {
    const file = join(root, models[0]);
    const service = new TextService();
    const { text } = service.printed(file);
    const lines = text.split('\n');
    const addLine = lines.findIndex((l) => / = Add /.test(l));
    assert.ok(addLine > 0);
    const info = service.symbolAt(file, false, addLine, lines[addLine].indexOf('[') + 2);
    assert.equal(info?.kind, 'node');
    assert.match(info?.markdown ?? '', /residual skip/);
  });
});
