/**
 * TF.js readers: quantized and sharded weights against the float original (saved by TF.js
 * itself, test/fixtures/tfjs-layers), missing/short shards, nested and shared layers, and the
 * graph-model features (ports, ^control inputs, fused ops, control flow, signature).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openModel } from '../../../runtime/analysis/openModel';
import { ModelError } from '../../../runtime/errors';

const root = path.resolve(__dirname, '../../..');
const layersDir = path.join(root, 'test/fixtures/tfjs-layers');
const has = (name: string) => fs.existsSync(path.join(layersDir, name, 'model.json'));

function copyFixture(name: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skipscope-tfjs-'));
  for (const f of fs.readdirSync(path.join(layersDir, name)))
    fs.copyFileSync(path.join(layersDir, name, f), path.join(dir, f));
  return dir;
}

describe('TF.js layers reader', () => {
  for (const [variant, tol] of [
    ['resnet_uint8', 0],
    ['resnet_uint16', 0],
    ['resnet_float16', 1e-3],
    ['resnet_sharded', 0],
  ] as const) {
    it(`${variant}: weights read back as the float model's (within quantization error)`, async function () {
      if (!has('resnet') || !has(variant)) this.skip();
      const a = await openModel(path.join(layersDir, 'resnet/model.json'));
      const b = await openModel(path.join(layersDir, variant, 'model.json'));
      assert.equal(b.graph.nodes.length, a.graph.nodes.length);
      assert.equal(b.totalParams, a.totalParams);
      const manifest = JSON.parse(fs.readFileSync(path.join(layersDir, variant, 'model.json'), 'utf8'))
        .weightsManifest as { weights: { name: string; quantization?: { scale?: number } }[] }[];
      const scale = new Map(
        manifest.flatMap((g) => g.weights.map((w) => [w.name, w.quantization?.scale ?? 0] as const)),
      );
      let checked = 0;
      for (const v of a.graph.values.values()) {
        if (!v.initializer) continue;
        const x = v.initializer.read() as Float32Array;
        const y = b.graph.values.get(v.name)?.initializer?.read() as Float32Array;
        assert.equal(y.length, x.length, v.name);
        // Affine quantization error is at most half a step (the manifest's scale); float16 is relative.
        const step = scale.get(v.name) ?? 0;
        const bound =
          variant === 'resnet_float16'
            ? (i: number) => Math.abs(x[i]) * tol + 1e-7
            : () => step * 0.501 + 1e-7;
        for (let i = 0; i < x.length; i++)
          assert.ok(Math.abs(x[i] - y[i]) <= bound(i), `${v.name}[${i}]: ${x[i]} vs ${y[i]}`);
        checked++;
      }
      assert.ok(checked > 10);
    });
  }

  it('names a missing shard and a short shard', async function () {
    if (!has('resnet_sharded')) this.skip();
    const dir = copyFixture('resnet_sharded');
    try {
      const shard = path.join(dir, 'group1-shard2of3.bin');
      const bytes = fs.readFileSync(shard);
      fs.truncateSync(shard, Math.floor(bytes.length / 2));
      await assert.rejects(
        openModel(path.join(dir, 'model.json')),
        (e: unknown) => e instanceof ModelError && /group1-shard2of3\.bin' is too short/.test(e.message),
      );
      fs.rmSync(shard);
      await assert.rejects(
        openModel(path.join(dir, 'model.json')),
        (e: unknown) => e instanceof ModelError && /group1-shard2of3\.bin' is missing/.test(e.message),
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('flattens a nested model under its name scope and group', async function () {
    if (!has('nested')) this.skip();
    const m = await openModel(path.join(layersDir, 'nested/model.json'));
    const inner = m.graph.nodes.filter((n) => n.group !== undefined);
    assert.ok(inner.length > 3);
    for (const n of inner) {
      assert.equal(n.scope[0], n.group);
      assert.ok(n.name.startsWith(`${n.group}/`));
    }
    // Analysis sees through the nesting: an inner node reads an outer node's output directly.
    const first = inner[0];
    const src = m.graph.values.get(first.inputs[0]);
    assert.ok(src?.producer !== undefined && m.graph.nodes[src.producer].group === undefined);
  });

  it('gives each call of a shared layer its own node, sharing (and counting once) its weights', async function () {
    if (!has('shared')) this.skip();
    const m = await openModel(path.join(layersDir, 'shared/model.json'));
    const byWeight = new Map<string, number>();
    for (const n of m.graph.nodes)
      for (const i of n.inputs)
        if (m.graph.values.get(i)?.initializer) byWeight.set(i, (byWeight.get(i) ?? 0) + 1);
    const shared = [...byWeight].filter(([, k]) => k > 1);
    assert.ok(shared.length > 0, 'a weight is read by two nodes');
    const sum = m.graph.nodes.reduce((a, n) => a + n.params, 0);
    assert.equal(sum, m.totalParams);
  });

  it('rejects JSON that is not a model', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skipscope-json-'));
    try {
      const f = path.join(dir, 'model.json');
      fs.writeFileSync(f, JSON.stringify({ modelTopology: { class_name: 'Dense', config: {} } }));
      await assert.rejects(
        openModel(f),
        (e: unknown) => e instanceof ModelError && /not a Sequential or Functional/.test(e.message),
      );
      fs.writeFileSync(f, '[1, 2]');
      await assert.rejects(
        openModel(f),
        (e: unknown) => e instanceof ModelError && /not valid JSON|not a TF\.js model/.test(e.message),
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('TF.js graph model reader', () => {
  let dir = '';
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skipscope-graph-'));
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const weights = [
      { name: 'conv/filter', shape: [3, 3, 3, 8], dtype: 'float32' },
      { name: 'conv/bias', shape: [8], dtype: 'float32' },
      { name: 'shape_c', shape: [2], dtype: 'int32' },
    ];
    const data = Buffer.alloc((3 * 3 * 3 * 8 + 8) * 4 + 8);
    data.writeInt32LE(-1, (3 * 3 * 3 * 8 + 8) * 4);
    data.writeInt32LE(8 * 8 * 8, (3 * 3 * 3 * 8 + 8) * 4 + 4);
    fs.writeFileSync(path.join(dir, 'group1-shard1of1.bin'), data);
    const model = {
      format: 'graph-model',
      generatedBy: '2.15.0',
      convertedBy: 'TensorFlow.js Converter v4.22.0',
      signature: {
        inputs: { 'x:0': { name: 'x:0', dtype: 'DT_FLOAT' } },
        outputs: { 'Identity:0': { name: 'out:0', dtype: 'DT_FLOAT' } },
      },
      modelTopology: {
        node: [
          {
            name: 'x',
            op: 'Placeholder',
            attr: {
              dtype: { type: 'DT_FLOAT' },
              shape: { shape: { dim: [{ size: '-1' }, { size: '16' }, { size: '16' }, { size: '3' }] } },
            },
          },
          { name: 'conv/filter', op: 'Const', attr: { dtype: { type: 'DT_FLOAT' } } },
          { name: 'conv/bias', op: 'Const', attr: { dtype: { type: 'DT_FLOAT' } } },
          { name: 'shape_c', op: 'Const', attr: { dtype: { type: 'DT_INT32' } } },
          {
            name: 'conv/Relu',
            op: '_FusedConv2D',
            input: ['x', 'conv/filter', 'conv/bias'],
            attr: {
              strides: { list: { i: ['1', '2', '2', '1'] } },
              padding: { s: b64('SAME') },
              data_format: { s: b64('NHWC') },
              fused_ops: { list: { s: [b64('BiasAdd'), b64('Relu')] } },
              num_args: { i: '1' },
              T: { type: 'DT_FLOAT' },
            },
          },
          {
            name: 'split',
            op: 'Unpack',
            input: ['conv/Relu:0'],
            attr: { num: { i: '2' }, axis: { i: '0' } },
          },
          { name: 'sum', op: 'AddV2', input: ['split', 'split:1', '^conv/Relu'] },
          { name: 'flat', op: 'Reshape', input: ['conv/Relu', 'shape_c'] },
          { name: 'sw', op: 'Switch', input: ['flat', 'flat'] },
          { name: 'custom', op: 'MyCustomOp', input: ['sw:1'] },
          { name: 'out', op: 'Identity', input: ['flat'] },
          {
            name: 'loop',
            op: 'StatelessWhile',
            input: ['flat'],
            attr: { cond: { func: { name: 'cond_fn' } }, body: { func: { name: 'body_fn' } } },
          },
        ],
        library: {
          function: [
            {
              signature: {
                name: 'body_fn',
                inputArg: [{ name: 'x', type: 'DT_FLOAT' }],
                outputArg: [{ name: 'y', type: 'DT_FLOAT' }],
              },
              nodeDef: [
                { name: 'relu', op: 'Relu', input: ['x'] },
                { name: 'neg', op: 'Neg', input: ['relu:activations:0'] },
              ],
              ret: { y: 'neg:y:0' },
            },
            {
              signature: { name: 'cond_fn', inputArg: [{ name: 'x' }], outputArg: [{ name: 'c' }] },
              nodeDef: [{ name: 'less', op: 'Less', input: ['x', 'x'] }],
              ret: { c: 'less:z:0' },
            },
          ],
        },
        versions: { producer: 1645 },
      },
      weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights }],
    };
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(model));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads ports, control inputs, fused ops, control flow and the signature', async () => {
    const m = await openModel(path.join(dir, 'model.json'));
    assert.equal(m.format, 'tfjs-graph');
    assert.deepEqual(m.graph.inputs, ['x']);
    assert.deepEqual(m.graph.values.get('x')?.shape, ['batch', 16, 16, 3]);
    const by = (n: string) => m.graph.nodes.find((x) => x.name === n);
    const conv = by('conv/Relu');
    assert.deepEqual(conv?.attributes.fused_ops, ['BiasAdd', 'Relu']);
    assert.equal(conv?.attributes.padding, 'SAME');
    assert.deepEqual(conv?.scope, ['conv']);
    assert.deepEqual(m.graph.values.get('conv/Relu')?.shape, ['batch', 8, 8, 8]);
    assert.equal(conv?.params, 3 * 3 * 3 * 8 + 8, 'Const weights are initializer inputs of the op');
    assert.equal(conv?.flops, 2 * 8 * 8 * 8 * 27);
    assert.deepEqual(by('split')?.outputs, ['split', 'split:1']);
    assert.deepEqual(by('sum')?.inputs, ['split', 'split:1']);
    assert.deepEqual(by('sum')?.controlInputs, ['conv/Relu']);
    assert.deepEqual(
      m.graph.values.get('flat')?.shape,
      ['batch', 512],
      'Reshape target from an int32 Const weight',
    );
    assert.equal(by('sw')?.controlFlow, true);
    assert.deepEqual(by('sw')?.outputs, ['sw', 'sw:1']);
    assert.equal(by('custom')?.unknownOp, true);
    assert.equal(by('conv/Relu')?.unknownOp, undefined);
    assert.deepEqual(m.metadata.signature, { inputs: { 'x:0': 'x:0' }, outputs: { 'Identity:0': 'out:0' } });
    assert.deepEqual(m.graph.outputs, ['out']);
    assert.equal(m.totalParams, 3 * 3 * 3 * 8 + 8);
  });

  it('keeps the library functions of TF2 control flow as the bodies of While/If', async () => {
    const m = await openModel(path.join(dir, 'model.json'));
    const loop = m.graph.nodes.find((n) => n.name === 'loop');
    assert.equal(loop?.controlFlow, true);
    const body = loop?.subgraphs?.body;
    assert.deepEqual(
      body?.nodes.map((n) => n.op),
      ['Relu', 'Neg'],
    );
    assert.deepEqual(body?.inputs, ['x']);
    assert.deepEqual(body?.outputs, ['neg:y:0']);
    const neg = body?.nodes.find((n) => n.name === 'neg');
    const src = body?.values.get(neg?.inputs[0] ?? '');
    assert.equal(
      body?.nodes[src?.producer ?? -1]?.name,
      'relu',
      'node:arg:index references link producer and consumer',
    );
    assert.deepEqual(
      loop?.subgraphs?.cond.nodes.map((n) => n.op),
      ['Less'],
    );
  });

  it('refuses a graph model whose nodes have no names', async () => {
    const f = path.join(dir, 'bad.json');
    fs.writeFileSync(f, JSON.stringify({ format: 'graph-model', modelTopology: { node: [{ op: 'Relu' }] } }));
    await assert.rejects(
      openModel(f),
      (e: unknown) => e instanceof ModelError && /bad\.json: a graph node lacks a name/.test(e.message),
    );
  });
});
