/**
 * The printer against ONNX's own printer (`onnx.printer.to_text`, texts made by
 * test/fixtures/text/make_reference.py): equal text, with weights elided or printed in full.
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_ELIDE_ABOVE, printOnnxModel } from '../../../runtime/text/onnxPrinter';
import { isModelError } from '../../../runtime/errors';

const root = join(__dirname, '../../..');
const table = JSON.parse(readFileSync(join(root, 'test/fixtures/text/references.json'), 'utf8')) as {
  elideAbove: number;
  references: { model: string; sha256: string; reference: string; elided: boolean }[];
};

/** The first differing line, for a readable failure. */
function firstDifference(actual: string, expected: string): string {
  const a = actual.split('\n');
  const b = expected.split('\n');
  for (let i = 0; i < Math.max(a.length, b.length); i++)
    if (a[i] !== b[i])
      return `line ${i + 1}:\n  got:      ${a[i]?.slice(0, 300)}\n  expected: ${b[i]?.slice(0, 300)}`;
  return 'equal';
}

describe('ONNX text printer', () => {
  it('elides at the same size the references were made with', () => {
    assert.equal(table.elideAbove, DEFAULT_ELIDE_ABOVE);
  });

  for (const ref of table.references) {
    it(`prints ${ref.model} as onnx.printer does${ref.elided ? ' (weights elided)' : ' (every weight)'}`, () => {
      const expected = readFileSync(join(root, ref.reference), 'utf8');
      const bytes = readFileSync(join(root, ref.model));
      const sha = createHash('sha256').update(bytes).digest('hex');
      assert.equal(sha, ref.sha256, `${ref.model} changed: rerun test/fixtures/text/make_reference.py`);
      const { text } = printOnnxModel(bytes, {
        file: ref.model,
        elideAbove: ref.elided ? DEFAULT_ELIDE_ABOVE : Infinity,
      });
      assert.ok(text === expected, firstDifference(text, expected));
    });
  }

  it('indexes every node line: node names and outputs defined where they are printed', () => {
    const file = 'samples/sample.onnx';
    const { text, index } = printOnnxModel(readFileSync(join(root, file)), { file });
    const lines = text.split('\n');
    const nodes = index.symbols.filter((s) => s.kind === 'node');
    assert.ok(nodes.length > 10);
    for (const s of index.symbols) {
      const printed = lines[s.line].slice(s.start, s.end);
      assert.ok(printed === s.name || printed === JSON.stringify(s.name), `${printed} vs ${s.name}`);
    }
    // Every tensor read by a node has a definition (input, initializer or an earlier node output).
    for (const use of index.symbols.filter((s) => s.kind === 'tensor' && !s.def)) {
      const def = index.definitionOf(use);
      assert.ok(def, `no definition for ${use.name}`);
      assert.ok(def.def && def.name === use.name);
    }
  });

  it('finds definitions inside subgraphs and falls back to the enclosing graph', () => {
    const file = 'test/fixtures/text/edge_cases.onnx';
    const { text, index } = printOnnxModel(readFileSync(join(root, file)), { file });
    const lines = text.split('\n');
    const lineOf = (needle: string) => lines.findIndex((l) => l.includes(needle));
    // `x` inside the loop body is the main graph's input, defined on the signature line.
    const addLine = lineOf('[loop_add]');
    const use = index.symbolAt(addLine, lines[addLine].indexOf('x)'));
    assert.equal(use?.name, 'x');
    assert.equal(index.definitionOf(use!)?.line, lineOf('"edge cases" ('));
    // `carried` is the loop body's own input, defined on the body's signature line.
    const carried = index.symbolAt(addLine, lines[addLine].indexOf('(carried') + 1);
    assert.equal(carried?.name, 'carried');
    assert.equal(index.definitionOf(carried!)?.line, lineOf('loop_body ('));
    // A call to a model-local function links to its header.
    const callLine = lineOf('local.Scale');
    const call = index.symbolAt(callLine, lines[callLine].indexOf('Scale') + 1);
    assert.equal(call?.kind, 'function');
    assert.equal(index.definitionOf(call!)?.line, lineOf('Scale <factor>'));
  });

  it('throws ModelError naming the file for bytes that are not a model', () => {
    const bytes = readFileSync(join(root, 'samples/sample.onnx')).subarray(0, 5000);
    assert.throws(
      () => printOnnxModel(bytes, { file: 'cut.onnx' }),
      (e: unknown) => isModelError(e) && e.message.startsWith('cut.onnx:'),
    );
    assert.throws(
      () => printOnnxModel(new TextEncoder().encode('{"format": "layers-model"}'), { file: 'x.json' }),
      (e: unknown) => isModelError(e),
    );
  });
});
