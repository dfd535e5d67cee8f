/**
 * The probe job end to end: the JSON contract, batch sources (synthetic, .npy, images), losses,
 * statistics over batches, skip/branch splits, cancellation and the memory guard.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { openModel } from '../../../runtime/analysis/openModel';
import { runProbe, ProbeCancelled } from '../../../runtime/probe/runProbe';
import { activationStats } from '../../../runtime/probe/gradStats';
import { initBackend } from '../../../runtime/probe/backend';
import { checkMemory, estimatePassBytes } from '../../../runtime/probe/memoryGuard';
import { parseNpy } from '../../../runtime/probe/npy';
import { isModelError } from '../../../runtime/errors';
import type { ProbeOptions } from '../../../runtime/probe/probeTypes';

const root = path.resolve(__dirname, '../../..');
const sample = path.join(root, 'samples/sample.onnx');
const resnet = path.join(root, 'test/fixtures/onnx/probe/resnet18.onnx');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'skipscope-probe-'));

const base: ProbeOptions = {
  source: { kind: 'synthetic', seed: 1 },
  batchSize: 2,
  batches: 2,
  loss: 'mean-square',
  backend: 'wasm',
};

/** A .npy file (format 1.0) with the given header fields and float32 payload. */
function npy(
  name: string,
  shape: number[],
  opts: { fortran?: boolean; descr?: string; data?: ArrayBufferView } = {},
): string {
  const descr = opts.descr ?? '<f4';
  let header = `{'descr': '${descr}', 'fortran_order': ${opts.fortran ? 'True' : 'False'}, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat(64 - ((10 + header.length + 1) % 64)) + '\n';
  const n = shape.reduce((a, b) => a * b, 1);
  const body = opts.data ?? new Float32Array(Array.from({ length: n }, (_, i) => Math.sin(i)));
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const file = path.join(tmp, name);
  fs.writeFileSync(
    file,
    Buffer.concat([
      head,
      Buffer.from(header, 'latin1'),
      Buffer.from(body.buffer, body.byteOffset, body.byteLength),
    ]),
  );
  return file;
}

describe('runProbe', () => {
  before(async () => {
    await initBackend('wasm');
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('returns the DESIGN.md contract with statistics over batches and skip splits', async () => {
    const model = await openModel(sample);
    const r = await runProbe(model, { ...base, batches: 3 });
    assert.equal(r.backend.name, 'wasm');
    assert.ok(r.backend.threads >= 1 && r.backend.device.length > 0);
    assert.equal(r.loss.values.length, 3);
    assert.equal(r.batches, 3);
    // Every float initializer is a parameter except BatchNorm running statistics (inputs 3 and 4).
    const stats = new Set(
      model.graph.nodes.filter((n) => n.op === 'BatchNormalization').flatMap((n) => n.inputs.slice(3)),
    );
    const inits = [...model.graph.values.values()].filter(
      (v) => v.initializer?.dtype === 'float32' && !stats.has(v.name),
    );
    assert.ok(stats.size > 0, 'the sample keeps one BatchNorm');
    assert.deepEqual(r.params.map((p) => p.name).sort(), inits.map((v) => v.name).sort());
    for (const p of r.params) {
      assert.ok(p.grad.l2 > 0 && p.grad.rms > 0 && p.grad.maxAbs >= p.grad.meanAbs, p.name);
      assert.ok(
        Math.abs(p.grad.rms - p.grad.l2 / Math.sqrt(p.shape.reduce((a, b) => a * b, 1))) <=
          1e-3 * p.grad.rms + 1e-12,
      );
      assert.ok(p.weightL2 > 0 && Math.abs(p.ratio - p.grad.l2 / p.weightL2) < 1e-9, p.name);
      assert.ok((p.grad.l2Spread ?? 0) > 0, `${p.name}: three different batches give different gradients`);
    }
    assert.ok(r.activations.length >= 20);
    assert.ok(r.activations.every((a) => a.rms >= 0 && a.zeroFraction >= 0 && a.zeroFraction <= 1));
    assert.ok(
      r.activations.some((a) => (a.zeroFractionSpread ?? 0) > 0),
      'ReLU-gated gradients have their zeros in different places in different batches',
    );
    // The sample has 2 residuals, 1 dense concat and 1 long skip: every one is split.
    assert.equal(r.merges.length, 4);
    for (const m of r.merges) {
      assert.ok(m.skipRms > 0 && m.branchRms > 0, m.merge);
      assert.ok(Math.abs(m.skipShare - m.skipRms ** 2 / (m.skipRms ** 2 + m.branchRms ** 2)) < 1e-9);
    }
    assert.ok(r.timing.msPerBatch > 0 && r.summary.text.length > 0);
    // The first batch apart, the median of the others, and the mean of all.
    const { firstBatchMs, steadyMedianMs, msPerBatch } = r.timing;
    assert.ok(firstBatchMs > 0 && steadyMedianMs !== undefined && steadyMedianMs > 0);
    // Three batches: the median of the last two is their mean.
    assert.ok(Math.abs((firstBatchMs + 2 * steadyMedianMs) / 3 - msPerBatch) <= 1e-9 * msPerBatch);
  });

  it('gives the dead fraction as its mean over batches with the spread (sample standard deviation)', () => {
    const passes = [0.2, 0.4, 0.6].map((z) => ({
      loss: 0,
      params: [],
      skips: [],
      activations: new Map([
        ['y', { sumSq: 4, sumAbs: 6, maxAbs: 1, zeros: z * 10, nonFinite: 0, size: 10 }],
      ]),
    }));
    const [a] = activationStats({ params: [], nodes: [{ name: 'n', outputs: ['y'] }] }, passes, 1);
    assert.ok(Math.abs(a.zeroFraction - 0.4) < 1e-12, String(a.zeroFraction));
    assert.ok(Math.abs(a.zeroFractionSpread! - 0.2) < 1e-12, String(a.zeroFractionSpread));
  });

  it('feeds a .npy batch and reproduces the PyTorch reference gradients', async () => {
    const ref = JSON.parse(fs.readFileSync(path.join(root, 'test/fixtures/grads/resnet18.json'), 'utf8'));
    const model = await openModel(resnet);
    const r = await runProbe(model, {
      ...base,
      source: { kind: 'npy', files: { '': path.join(root, ref.input) } },
      batchSize: 8,
      batches: 1,
    });
    assert.equal(r.batchSize, 2, 'the file holds two samples');
    assert.ok(Math.abs(r.loss.values[0] - ref.loss.value) / ref.loss.value < 1e-4);
    for (const p of ref.params as { name: string; l2: number }[]) {
      const mine = r.params.find((q) => q.name === p.name)!;
      assert.ok(Math.abs(mine.grad.l2 - p.l2) / p.l2 < 1e-3, p.name);
    }
  });

  it('refuses Fortran-order, mis-shaped and wrongly typed .npy files with one sentence naming the file', async () => {
    const model = await openModel(sample);
    const cases: [string, RegExp][] = [
      [npy('fortran.npy', [2, 3, 32, 32], { fortran: true }), /Fortran order/],
      [npy('shape.npy', [2, 3, 16, 16]), /does not match input "input"/],
      [npy('rank.npy', [2, 3, 32]), /rank 3/],
      [
        npy('ints.npy', [2, 3, 32, 32], { descr: '<i8', data: new BigInt64Array(2 * 3 * 32 * 32) }),
        /int64|<i8/,
      ],
    ];
    for (const [file, re] of cases) {
      await assert.rejects(
        runProbe(model, { ...base, source: { kind: 'npy', files: { input: file } } }),
        (e: unknown) => isModelError(e) && re.test(e.message) && e.message.includes(file),
      );
    }
    assert.throws(() => parseNpy(Buffer.from('not numpy'), 'x.npy'), /x\.npy: not a NumPy/);
  });

  it('reads float64 and int64 .npy files', () => {
    const f64 = parseNpy(
      fs.readFileSync(npy('f64.npy', [2, 2], { descr: '<f8', data: new Float64Array([1.5, -2, 3, 4]) })),
      'f64.npy',
    );
    assert.deepEqual(Array.from(f64.data), [1.5, -2, 3, 4]);
    const i64 = parseNpy(
      fs.readFileSync(npy('i64.npy', [3], { descr: '<i8', data: new BigInt64Array([1n, -5n, 7n]) })),
      'i64.npy',
    );
    assert.equal(i64.dtype, 'int32');
    assert.deepEqual(Array.from(i64.data), [1, -5, 7]);
  });

  it('reads little- and big-endian float32, float64 and int32 .npy files value for value', () => {
    const values = [1.5, -2, 3.25, 1e-30, -65504, 7];
    const ints = [1, -5, 7, 2147483647, -2147483648, 0];
    for (const [kind, size, set] of [
      ['f4', 4, (dv: DataView, i: number, le: boolean) => dv.setFloat32(i * 4, values[i], le)],
      ['f8', 8, (dv: DataView, i: number, le: boolean) => dv.setFloat64(i * 8, values[i], le)],
      ['i4', 4, (dv: DataView, i: number, le: boolean) => dv.setInt32(i * 4, ints[i], le)],
    ] as const)
      for (const le of [true, false]) {
        const bytes = new Uint8Array(values.length * size);
        const dv = new DataView(bytes.buffer);
        for (let i = 0; i < values.length; i++) set(dv, i, le);
        const name = `${kind}${le ? 'le' : 'be'}.npy`;
        const a = parseNpy(
          fs.readFileSync(npy(name, [2, 3], { descr: (le ? '<' : '>') + kind, data: bytes })),
          name,
        );
        const want = kind === 'i4' ? ints : Array.from(Float32Array.from(values));
        assert.deepEqual(Array.from(a.data), want, name);
        assert.deepEqual(a.shape, [2, 3]);
      }
  });

  it('runs cross-entropy with seeded and given labels, and mse against a target', async () => {
    const model = await openModel(sample);
    const seeded = await runProbe(model, { ...base, loss: 'cross-entropy', batches: 1 });
    assert.ok(seeded.loss.values[0] > 0);
    const given = await runProbe(model, { ...base, loss: 'cross-entropy', labels: [0, 9], batches: 1 });
    assert.notEqual(given.loss.values[0], seeded.loss.values[0]);
    await assert.rejects(runProbe(model, { ...base, loss: 'cross-entropy', labels: [12, 0] }), /label 12/);
    const target = npy('target.npy', [2, 10], { data: new Float32Array(20) });
    const mse = await runProbe(model, { ...base, loss: 'mse', target, batches: 1 });
    const ms = await runProbe(model, { ...base, loss: 'mean-square', batches: 1 });
    // Against a zero target, mse = mean(y²), the mean-square loss of the single output.
    assert.ok(Math.abs(mse.loss.values[0] - ms.loss.values[0]) < 1e-6);
  });

  it('feeds an image folder (PNG), resized to the model input', async () => {
    const dir = path.join(tmp, 'images');
    fs.mkdirSync(dir);
    for (let k = 0; k < 3; k++) {
      const png = new PNG({ width: 40, height: 24 });
      for (let i = 0; i < png.data.length; i++) png.data[i] = (i * (k + 3)) % 256;
      fs.writeFileSync(path.join(dir, `img${k}.png`), PNG.sync.write(png));
    }
    const model = await openModel(sample);
    const r = await runProbe(model, {
      ...base,
      source: { kind: 'images', folder: dir },
      batchSize: 2,
      batches: 5,
    });
    assert.equal(r.batches, 1, 'three images make one full batch of two');
    assert.ok(r.loss.values[0] > 0);
    await assert.rejects(
      runProbe(model, { ...base, source: { kind: 'images', folder: path.join(tmp, 'none') } }),
      /does not exist/,
    );
  });

  it('stops between batches when cancelled and reports progress', async () => {
    const model = await openModel(sample);
    const seen: number[] = [];
    let cancel = false;
    await assert.rejects(
      runProbe(
        model,
        { ...base, batches: 5 },
        {
          onProgress: (done) => {
            seen.push(done);
            if (done === 1) cancel = true;
          },
          isCancelled: () => cancel,
        },
      ),
      (e: unknown) => e instanceof ProbeCancelled,
    );
    assert.deepEqual(seen, [0, 1]);
  });

  it('refuses a batch that cannot fit in memory', async () => {
    const model = await openModel(resnet);
    assert.ok(estimatePassBytes(model, 64) > 2 * estimatePassBytes(model, 16));
    assert.throws(
      () => checkMemory(model, 1e7, 'wasm'),
      (e: unknown) => isModelError(e) && /lower the batch size/.test(e.message),
    );
    assert.equal(checkMemory(model, 2, 'wasm'), undefined);
  });

  it('counts the tap matrices convolutions keep for their gradients', async () => {
    const model = await openModel(resnet);
    // The same graph without its convolutions' windows (every kernel 1×1) needs less by exactly
    // the taps of the wider kernels: output pixels × C/group × kh·kw floats each.
    let want = 0;
    for (const node of model.graph.nodes.filter((n) => n.op === 'Conv')) {
      const w = model.graph.values.get(node.inputs[1])!.initializer!.shape;
      const out = model.graph.values.get(node.outputs[0])!.shape!;
      const window = w[2] * w[3];
      if (window > 1)
        want += ((4 * (out as number[]).slice(1).reduce((a, b) => a * b, 1)) / w[0]) * w[1] * window;
    }
    assert.ok(want > 0, 'the fixture has convolutions wider than 1×1');
    const convs = new Map(
      model.graph.nodes
        .filter((n) => n.op === 'Conv')
        .map((n) => [n.inputs[1], model.graph.values.get(n.inputs[1])!]),
    );
    const full = estimatePassBytes(model, 1);
    const saved = [...convs.values()].map((v) => v.initializer!);
    const shapes = saved.map((t) => t.shape);
    try {
      for (const t of saved) (t as { shape: number[] }).shape = [t.shape[0], t.shape[1], 1, 1];
      const narrow = estimatePassBytes(model, 1);
      const paramsDropped = shapes.reduce((a, s) => a + s[0] * s[1] * (s[2] * s[3] - 1), 0) * 12;
      assert.equal(full - narrow - paramsDropped, want);
    } finally {
      saved.forEach((t, i) => ((t as { shape: number[] }).shape = shapes[i]));
    }
  });
});
