/**
 * ONNX reader specifics on models written by onnx.helper (makeOnnxCases.py): lazy and missing
 * external data, a >2 GB external-data model, control-flow bodies, model-local functions,
 * constant and shape-arithmetic marking, tied weights, cycles and bad input; and shape inference
 * checked against onnx.shape_inference on the real fixtures.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openModel, openModelBytes } from '../../../runtime/analysis/openModel';
import { ModelError } from '../../../runtime/errors';
import type { Model } from '../../../runtime/model/ir';
import { onnxDType } from '../../../runtime/model/onnx/onnxTensor';

const root = path.resolve(__dirname, '../../..');
const PY = '/usr/bin/python3';
let dir = '';
const fixtures = fs.existsSync(path.join(root, 'test/fixtures/onnx'))
  ? [
      ...fs
        .readdirSync(path.join(root, 'test/fixtures/onnx'))
        .filter((f) => f.endsWith('.onnx'))
        .map((f) => path.join(root, 'test/fixtures/onnx', f)),
      path.join(root, 'samples/sample.onnx'),
    ].filter((f) => fs.existsSync(f))
  : [];

async function rejectsWith(p: Promise<unknown>, re: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof ModelError && re.test(e.message));
}

describe('ONNX reader', function () {
  before(function () {
    this.timeout(120000);
    try {
      execFileSync(PY, ['-c', 'import onnx, numpy'], { stdio: 'ignore' });
    } catch {
      this.skip();
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skipscope-onnx-'));
    execFileSync(PY, [path.join(__dirname, 'makeOnnxCases.py'), dir, ...fixtures], { stdio: 'inherit' });
  });
  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('opens a 2.4 GB external-data model without reading its weights', async () => {
    const rss0 = process.memoryUsage().rss;
    const t0 = performance.now();
    const m = await openModel(path.join(dir, 'big_external.onnx'));
    const ms = performance.now() - t0;
    const w = m.graph.values.get('W');
    assert.ok(w?.initializer, 'W is an initializer');
    assert.deepEqual(w.initializer.shape, [60000, 10000]);
    assert.equal(w.initializer.location, 'external:big.bin@4096');
    assert.equal(m.totalParams, 60000 * 10000 + 10000);
    assert.ok(process.memoryUsage().rss - rss0 < 200 * 1024 * 1024, 'the 2.4 GB weight was not loaded');
    assert.ok(ms < 2000, `opened in ${ms} ms`);
    // A small external tensor is read on demand, at its offset.
    const b = m.graph.values.get('b')?.initializer?.read() as Float32Array;
    assert.equal(b.length, 10000);
    assert.equal(b[1234], 1234);
  });

  it('names a missing external data file when weights are read', async () => {
    const m = await openModel(path.join(dir, 'missing_external.onnx'));
    assert.equal(m.graph.nodes.length, 1);
    assert.throws(
      () => m.graph.values.get('b')?.initializer?.read(),
      (e: unknown) => e instanceof ModelError && /gone\.bin/.test(e.message) && /missing/.test(e.message),
    );
  });

  it('refuses external data outside the model folder', async () => {
    const m = await openModel(path.join(dir, 'escaping_external.onnx'));
    assert.throws(
      () => m.graph.values.get('b')?.initializer?.read(),
      (e: unknown) => e instanceof ModelError && /outside the model's folder/.test(e.message),
    );
  });

  it('keeps If and Loop bodies as nested graphs that read the outer scope', async () => {
    const m = await openModel(path.join(dir, 'control_flow.onnx'));
    const ifNode = m.graph.nodes.find((n) => n.op === 'If');
    const loop = m.graph.nodes.find((n) => n.op === 'Loop');
    assert.ok(ifNode?.subgraphs?.then_branch && ifNode.subgraphs.else_branch);
    assert.deepEqual(
      ifNode.subgraphs.then_branch.nodes.map((n) => n.op),
      ['Relu'],
    );
    assert.deepEqual(loop?.subgraphs?.body.nodes.map((n) => n.op).sort(), ['Add', 'Identity']);
    // The If reads 'h' only inside its bodies: it must still come after 'pre', which makes 'h'.
    const pre = m.graph.nodes.find((n) => n.name === 'pre');
    assert.ok(pre && pre.index < ifNode.index);
  });

  it('marks constants and shape arithmetic, and counts a tied weight once', async () => {
    const m = await openModel(path.join(dir, 'shape_arith.onnx'));
    const by = (name: string) => m.graph.nodes.find((n) => n.name === name);
    assert.ok(by('alias')?.constant, 'Identity of an initializer is constant');
    for (const n of ['shape', 'gather', 'unsq', 'cat'])
      assert.ok(by(n)?.shapeArith, `${n} is shape arithmetic`);
    for (const n of ['mm1', 'mm2', 'reshape']) {
      assert.ok(!by(n)?.constant && !by(n)?.shapeArith, `${n} is data`);
    }
    assert.ok(m.graph.values.get('target')?.shapeArith);
    assert.equal(m.totalParams, 16, 'W counted once though read directly and via Identity');
    assert.equal((by('mm1')?.params ?? 0) + (by('mm2')?.params ?? 0), 16);
    assert.equal(by('mm1')?.flops, 2 * 4 * 4, '2 × MACs per sample');
    // Shape → Gather → Unsqueeze → Concat resolves the Reshape target with the symbolic batch.
    assert.deepEqual(m.graph.values.get('y')?.shape, ['batch', 2, 2]);
  });

  it('reads sparse initializers densified (coordinate and linear indices)', async () => {
    const m = await openModel(path.join(dir, 'sparse.onnx'));
    const s = m.graph.values.get('S')?.initializer;
    assert.deepEqual(s?.shape, [3, 4]);
    assert.deepEqual(Array.from(s?.read() as Float32Array), [0, 1.5, 0, 0, -2, 0, 0, 0, 0, 0, 0, 3]);
    const l = m.graph.values.get('L')?.initializer;
    assert.deepEqual(Array.from(l?.read() as Float32Array), [0, 0, 0, 0, 0, 7, 0, 0]);
    assert.deepEqual(m.graph.values.get('y')?.shape, ['batch', 4]);
  });

  it('rejects a cyclic graph with a ModelError naming the file', async () => {
    await rejectsWith(openModel(path.join(dir, 'cycle.onnx')), /cycle\.onnx: the graph has a cycle/);
  });

  it('keeps model-local functions and tags their calls with the group', async function () {
    const f = path.join(root, 'test/fixtures/onnx/resnet18_functions.onnx');
    if (!fs.existsSync(f)) this.skip();
    const m = await openModel(f);
    assert.ok(m.functions.length > 0);
    const names = new Set(m.functions.map((fn) => fn.name));
    const calls = m.graph.nodes.filter((n) => n.group !== undefined);
    assert.ok(
      calls.length > 0 &&
        calls.every((n) => names.has(n.group as string) && n.op === n.group && !n.unknownOp),
    );
    for (const fn of m.functions)
      assert.ok(fn.nodes.length > 0 && fn.inputs.length > 0 && fn.outputs.length > 0);
  });

  it('reads inline and external initializers to the same values', async function () {
    const a = path.join(root, 'test/fixtures/onnx/resnet18_external.onnx');
    if (!fs.existsSync(a)) this.skip();
    const m = await openModel(a);
    const ext = [...m.graph.values.values()].filter((v) => v.initializer?.location.startsWith('external:'));
    assert.ok(ext.length > 0);
    for (const v of ext) {
      const vals = v.initializer?.read() as Float32Array;
      assert.equal(
        vals.length,
        v.initializer?.shape.reduce((x, y) => x * y, 1),
      );
      assert.ok(vals.every((x) => Number.isFinite(x)));
    }
  });

  it('infers shapes that agree with onnx.shape_inference (unknown, never wrong)', async () => {
    const ref = JSON.parse(fs.readFileSync(path.join(dir, 'shapes.json'), 'utf8')) as Record<
      string,
      Record<string, (number | string | null)[]>
    >;
    let compared = 0;
    let knownBoth = 0;
    for (const [file, shapes] of Object.entries(ref)) {
      const m: Model = await openModel(file);
      for (const [name, expected] of Object.entries(shapes)) {
        const got = m.graph.values.get(name)?.shape;
        if (!got) continue;
        compared++;
        assert.equal(got.length, expected.length, `${path.basename(file)} ${name} rank`);
        got.forEach((d, i) => {
          if (d === null || expected[i] === null) return;
          knownBoth++;
          assert.equal(
            d,
            expected[i],
            `${path.basename(file)} ${name} dim ${i}: ${JSON.stringify(got)} vs ${JSON.stringify(expected)}`,
          );
        });
      }
    }
    assert.ok(compared > 500 && knownBoth > 1000, `compared ${compared} values, ${knownBoth} dims`);
  });

  it('infers element types that agree with onnx.shape_inference', async () => {
    const ref = JSON.parse(fs.readFileSync(path.join(dir, 'dtypes.json'), 'utf8')) as Record<
      string,
      Record<string, number>
    >;
    let known = 0;
    for (const [file, types] of Object.entries(ref)) {
      const m = await openModel(file);
      for (const [name, code] of Object.entries(types)) {
        const got = m.graph.values.get(name)?.dtype;
        if (!got || got === 'unknown') continue;
        known++;
        assert.equal(got, onnxDType(code), `${path.basename(file)} ${name}`);
      }
    }
    assert.ok(known > 500, `${known} dtypes compared`);
  });

  it('counts 2 × multiply-adds for Conv, Gemm and MatMul (reference: onnx shapes in Python)', async () => {
    const ref = JSON.parse(fs.readFileSync(path.join(dir, 'macs.json'), 'utf8')) as Record<
      string,
      Record<string, number>
    >;
    let checked = 0;
    for (const [file, perNode] of Object.entries(ref)) {
      const m = await openModel(file);
      for (const [name, macs] of Object.entries(perNode)) {
        const node = m.graph.nodes.find((n) => n.name === name);
        if (!node) continue;
        assert.equal(node.flops, 2 * macs, `${path.basename(file)} ${name}`);
        checked++;
      }
    }
    assert.ok(checked > 200, `${checked} nodes checked`);
  });

  it('turns bad bytes into ModelErrors naming the file', () => {
    const cases: [Buffer, RegExp][] = [
      [Buffer.from([0x08]), /bad\.onnx: is neither an ONNX model/],
      [
        Buffer.from('hello world, not a model'),
        /bad\.onnx: is neither an ONNX model \(protobuf\) nor a TF\.js model\.json\./,
      ],
      [
        Buffer.from([0x08, 0x08, 0x3a, 0xff, 0xff, 0xff, 0xff, 0x0f]),
        /not a valid ONNX model \(.*runs past the end/,
      ],
      [Buffer.from('{"a": 1}'), /not a TF\.js model/],
      [Buffer.from('{"modelTopology": '), /not valid JSON/],
    ];
    for (const [bytes, re] of cases) {
      assert.throws(
        () => openModelBytes(bytes, 'bad.onnx'),
        (e: unknown) => e instanceof ModelError && re.test(e.message),
        re.source,
      );
    }
  });

  it('reports a directory and a missing file', async () => {
    await rejectsWith(openModel(root), /is a directory/);
    await rejectsWith(openModel(path.join(root, 'no-such-model.onnx')), /no-such-model\.onnx: no such file/);
  });
});
