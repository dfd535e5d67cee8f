/**
 * The text view's sidecar service on real fixtures: a name under the cursor gives its definition
 * and the same card the graph shows; names in a model's JSON give cards too.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { jsonStringAt } from '../../../runtime/text/jsonStringAt';
import { TextService } from '../../../runtime/text/textService';
import { isModelError } from '../../../runtime/errors';

const root = join(__dirname, '../../..');
const sample = join(root, 'samples/sample.onnx');

describe('text service', () => {
  const service = new TextService();

  it('hovering a node name shows its node card; a tensor use jumps to the node that makes it', async () => {
    const lines = service.printed(sample).text.split('\n');
    const addLine = lines.findIndex((l) => / = Add \(/.test(l));
    assert.ok(addLine > 0, 'the sample has an Add');
    const nodeCol = lines[addLine].indexOf('[') + 2;
    const node = await service.symbolAt(sample, false, addLine, nodeCol);
    assert.equal(node?.kind, 'node');
    assert.match(node!.markdown ?? '', /\*\*Add\*\*/);
    assert.match(node!.markdown ?? '', /FLOPs/);
    // The Add's first input is a tensor produced by an earlier node: its definition is that line.
    const inputCol = lines[addLine].indexOf('Add (') + 6;
    const use = await service.symbolAt(sample, false, addLine, inputCol);
    assert.equal(use?.kind, 'tensor');
    assert.ok(use!.definition, 'a definition');
    assert.ok(use!.definition!.line < addLine);
    const defLine = lines[use!.definition!.line];
    assert.ok(defLine.slice(use!.definition!.start, use!.definition!.end).includes(use!.name));
    assert.match(use!.markdown ?? '', /output of/);
  });

  it('says a residual Add merges a skip (the skip role sentence of the graph card)', async () => {
    const file = join(root, 'test/fixtures/onnx/resnet18.onnx');
    const lines = service.printed(file).text.split('\n');
    const addLine = lines.findIndex((l) => / = Add \(/.test(l));
    const info = await service.symbolAt(file, false, addLine, lines[addLine].indexOf('[') + 2);
    assert.match(info?.markdown ?? '', /skip/i);
  });

  it('hovering a weight names its shape and readers', async () => {
    const lines = service.printed(sample).text.split('\n');
    const initLine = lines.findIndex((l) => l.startsWith('   <'));
    const col = lines[initLine].indexOf('"', lines[initLine].indexOf('<')) + 1;
    const info = await service.symbolAt(sample, false, initLine, col);
    assert.equal(info?.kind, 'tensor');
    assert.match(info!.markdown ?? '', /\*\*(weight|constant)\*\*/);
    assert.match(info!.markdown ?? '', /read by/);
  });

  it('gives nothing between names, and cards for names in a model file', async () => {
    assert.equal(await service.symbolAt(sample, false, 0, 0), null);
    const text = service.printed(sample).text;
    const nodeName = /\["([^"]+)"\] [^\n]* = Conv /.exec(text)?.[1];
    assert.ok(nodeName);
    assert.match((await service.nameCard(sample, nodeName!))?.markdown ?? '', /\*\*Conv\*\*/);
    assert.equal(await service.nameCard(sample, 'no such node'), null);
  });

  it('adds gradient stats to the card once a probe has measured them', async () => {
    const lines = service.printed(sample).text.split('\n');
    const addLine = lines.findIndex((l) => / = Add \(/.test(l));
    const name = /\["([^"]+)"\]/.exec(lines[addLine])![1];
    const col = lines[addLine].indexOf('[') + 2;
    assert.doesNotMatch((await service.symbolAt(sample, false, addLine, col))?.markdown ?? '', /grad RMS/);
    service.gradients.set(sample, {
      label: 'test',
      nodes: { [name]: { rms: 0.125, zeroFraction: 0 } },
      merges: {},
    });
    try {
      assert.match(
        (await service.symbolAt(sample, false, addLine, col))?.markdown ?? '',
        /grad RMS \| 0\.125/,
      );
    } finally {
      service.gradients.delete(sample);
    }
  });

  it('a call to a model-local function shows the function and jumps to its header', () => {
    const file = join(root, 'test/fixtures/onnx/resnet18_functions.onnx');
    const lines = service.printed(file).text.split('\n');
    const callLine = lines.findIndex((l) => /= fixture_models\.BasicBlock/.test(l));
    assert.ok(callLine > 0, 'the fixture calls a local function');
    const info = service.symbolAt(file, false, callLine, lines[callLine].indexOf('BasicBlock (') + 2);
    assert.equal(info?.kind, 'function');
    assert.match(info?.markdown ?? '', /\*\*function\*\* fixture\\_models\.BasicBlock — \d+ nodes/);
    assert.match(lines[info!.definition!.line], /^BasicBlock .*=>/);
  });

  it('lists where a tensor is made and every node that reads it, and nothing between names', () => {
    const lines = service.printed(sample).text.split('\n');
    // The stem's output feeds a residual block and a later concat: one definition, several uses.
    const defLine = lines.findIndex((l) => l.includes('] "/Relu_output_0" = '));
    assert.ok(defLine > 0);
    const col = lines[defLine].indexOf('"/Relu_output_0"') + 2;
    const spans = service.occurrences(sample, false, defLine, col);
    assert.equal(spans.filter((s) => s.def).length, 1);
    const uses = spans.filter((s) => !s.def);
    const expectedUses = lines.filter((l) => / = \w+ .*\(.*"\/Relu_output_0"/.test(l)).length;
    assert.ok(expectedUses >= 2);
    // Node lines that read it, plus its type annotation in the graph's value_info list.
    assert.equal(uses.filter((s) => / = \w+ /.test(lines[s.line])).length, expectedUses);
    assert.ok(uses.every((s) => / = \w+ /.test(lines[s.line]) || lines[s.line].startsWith('   <')));
    for (const s of spans) assert.equal(lines[s.line].slice(s.start, s.end), '"/Relu_output_0"');
    assert.deepEqual(service.occurrences(sample, false, defLine, 0), []);
  });

  it('refuses a missing file with a ModelError naming it', () => {
    assert.throws(
      () => service.printed('/no/such/model.onnx'),
      (e: unknown) => isModelError(e) && e.message.includes('/no/such/model.onnx'),
    );
  });
});

describe('names in a TF.js model.json', () => {
  const service = new TextService();
  const layers = join(root, 'test/fixtures/tfjs-layers/resnet/model.json');
  const graph = join(root, 'test/fixtures/tfjs-graph/blazeface/blazeface.json');

  it('finds the string value under the cursor, not a key', () => {
    const line = '{"name": "block1_add", "inbound_nodes": [[["stem_relu", 0, 0, {}]]]}';
    assert.equal(jsonStringAt(line, line.indexOf('block1_add') + 2)?.value, 'block1_add');
    assert.equal(jsonStringAt(line, line.indexOf('stem_relu'))?.value, 'stem_relu');
    assert.equal(jsonStringAt(line, 3), undefined, 'a key');
    assert.equal(jsonStringAt(line, line.indexOf('0, 0')), undefined, 'a number');
  });

  it('shows the layer card, with its skip role, for a Keras layer name', async () => {
    const text = readFileSync(layers, 'utf8');
    const add = /"name":\s*"([^"]+)","class_name":\s*"Add"/.exec(text)?.[1];
    assert.ok(add, 'the layers fixture has an Add layer');
    const card = await service.nameCard(layers, add!);
    assert.match(card?.markdown ?? '', /\*\*Add\*\*/);
    assert.match(card?.markdown ?? '', /residual skip/);
  });

  it('shows the node card for a graph-model node name and for an input with a port', async () => {
    const text = readFileSync(graph, 'utf8');
    const conv = /"name":\s*"([^"]+)",\s*"op":\s*"_FusedConv2D"/.exec(text)?.[1];
    assert.ok(conv, 'the graph fixture has a fused conv');
    assert.match((await service.nameCard(graph, conv!))?.markdown ?? '', /FusedConv2D/);
    assert.match((await service.nameCard(graph, `${conv}:0`))?.markdown ?? '', /FusedConv2D/);
  });
});
