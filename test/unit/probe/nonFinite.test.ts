/**
 * NaN and Infinity in a probe, on every test backend: the loss reduction overflows only where the
 * loss itself leaves float32; a gradient, loss or forward value that truly overflows float32 is
 * reported as NaN/Infinity with the node where it began (test/fixtures/grads/tiny_overflow.onnx,
 * four MatMuls whose gradient at the first one's output is ~1e43), never as a wrong finite number
 * or a null; the JSON, the CLI table, the diagnosis, the reports and the editor's overlay carry them
 * by name.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { openModel } from '../../../runtime/analysis/openModel';
import { runProbe } from '../../../runtime/probe/runProbe';
import { initBackend } from '../../../runtime/probe/backend';
import { meanSquare } from '../../../runtime/probe/losses';
import { probeJson } from '../../../runtime/probe/probeJson';
import { renderFlowTable } from '../../../runtime/probe/flowTable';
import { toGradientOverlay } from '../../../runtime/view/gradientOverlay';
import { jsonSafe, reviveNonFinite } from '../../../runtime/protocol/nonFiniteJson';
import { isModelError } from '../../../runtime/errors';
import { REPORT_FILES, writeReport } from '../../../runtime/report/writeReport';
import { reportGraph } from '../../../runtime/report/reportGraph';
import Ajv from 'ajv';
import type { ProbeOptions, ProbeResult } from '../../../runtime/probe/probeTypes';
import type { GradientOverlay } from '../../../runtime/view/viewModel';
import { testBackends } from '../helpers/testBackends';

const root = path.resolve(__dirname, '../../..');
const overflow = path.join(root, 'test/fixtures/grads/tiny_overflow.onnx');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'skipscope-nonfinite-'));
const schema = JSON.parse(fs.readFileSync(path.join(root, 'runtime/report/probeReport.schema.json'), 'utf8'));

/** A float32 .npy batch (default [2, 4]) of seeded values times `scale` (with `nan` at element 5 when asked). */
function batch(name: string, scale: number, nan = false, shape = [2, 4]): string {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = Float32Array.from({ length: n }, (_, i) => (Math.sin(i * 1.7 + 0.3) + 0.2) * scale);
  if (nan) data[5] = NaN;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}), }`;
  header += ' '.repeat(64 - ((10 + header.length + 1) % 64)) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head.writeUInt16LE(header.length, 8);
  const file = path.join(tmp, name);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(data.buffer)]));
  return file;
}

const opts = (backend: string, file: string): ProbeOptions => ({
  source: { kind: 'npy', files: { input: file } },
  batchSize: 2,
  batches: 1,
  loss: 'mean-square',
  backend: backend as ProbeOptions['backend'],
});

/** Keys of counts, sizes, settings and thresholds, which are never NaN or Infinity. */
const COUNTS = new Set([
  'shape',
  'batchSize',
  'batches',
  'threads',
  'batch',
  'nonFinite',
  'id',
  'layers',
  'thresholds',
  'limits', // a GPU adapter's buffer limits (webgpu runs)
]);

/** `v` with every statistic (every number but counts, sizes and thresholds) made NaN. */
function poison(v: unknown, key = ''): unknown {
  if (COUNTS.has(key) && !(Array.isArray(v) && v.some((x) => typeof x === 'object'))) return v;
  if (typeof v === 'number') return NaN;
  if (Array.isArray(v)) return v.map((x) => poison(x));
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.entries(v)
        .filter(([, x]) => x !== undefined) // as JSON drops them
        .map(([k, x]) => [k, poison(x, k)]),
    );
  return v;
}

/** Every number of `r` that is not finite, by its path. */
function nonFinitePaths(v: unknown, at = ''): string[] {
  if (typeof v === 'number') return Number.isFinite(v) ? [] : [at];
  if (Array.isArray(v)) return v.flatMap((x, i) => nonFinitePaths(x, `${at}[${i}]`));
  if (v && typeof v === 'object')
    return Object.entries(v).flatMap(([k, x]) => nonFinitePaths(x, `${at}.${k}`));
  return [];
}

describe('NaN and Infinity in probes', () => {
  after(async () => {
    await initBackend('wasm');
  });

  for (const backend of testBackends) {
    it(`${backend}: the mean-square loss overflows only where mean(y²) does; its gradient is 2y/n`, async () => {
      await initBackend(backend);
      const ys = [
        [3e19, -1, 2e-30, 0], // y² of 3e19 overflows float32; the mean (2.25e38) does not
        [1e-25, -3e-25, 0, 2e-25], // every y² underflows float32; the mean (3.5e-50) does too
        [3e19, 3e19, 3e19, 3e19], // mean 9e38: past float32, truly
        [0, 0, 0, 0],
      ];
      for (const y of ys) {
        const want = y.reduce((a, v) => a + v * v, 0) / y.length;
        const x = tf.tensor1d(y);
        const { value, grad } = tf.valueAndGrad((t: tf.Tensor) => meanSquare(t))(x);
        const got = value.dataSync()[0];
        if (want > 3.4028234663852886e38) assert.equal(got, Infinity, `${y}`);
        else if (want < 1e-45) assert.ok(got === 0 || Math.abs(got - want) < 1e-45, `${y}: ${got}`);
        else assert.ok(Math.abs(got - want) <= 1e-6 * want, `${y}: ${got} vs ${want}`);
        const g = grad.dataSync();
        y.forEach((v, i) =>
          assert.equal(g[i], Math.fround((Math.fround(2 / y.length) * v) as number), `d/dy${i}`),
        );
        tf.dispose([x, value, grad]);
      }
    });

    it(`${backend}: the mean-square loss of 2M outputs (a GPT head's logits) is exact to float32 rounding`, async () => {
      await initBackend(backend);
      // Seeded values of mixed sign and magnitude: float32 added one after the other drifts by ~1e-3 here.
      const n = 1 << 21;
      const y = new Float32Array(n);
      let seed = 12345;
      for (let i = 0; i < n; i++) {
        seed = (seed * 1103515245 + 12345) >>> 0;
        y[i] = ((seed / 2 ** 32) * 2 - 1) * (1 + (i % 7));
      }
      let want = 0;
      for (const v of y) want += v * v;
      want /= n;
      const x = tf.tensor1d(y);
      const value = meanSquare(x);
      const got = (await value.data())[0];
      assert.ok(Math.abs(got - want) <= 1e-6 * want, `${got} vs ${want}`);
      tf.dispose([x, value]);
    });

    it(`${backend}: a gradient that overflows in the backward pass is Infinity/NaN, named at its node`, async () => {
      const r = await runProbe(await openModel(overflow), opts(backend, batch('unit.npy', 1)));
      assert.ok(Number.isFinite(r.loss.values[0]), 'the loss is finite');
      assert.equal(r.nonFinite?.pass, 'backward');
      assert.equal(r.nonFinite?.node, 'matmul1');
      assert.equal(r.nonFinite?.batch, 0);
      const byName = new Map(r.params.map((p) => [p.name, p]));
      const w1 = byName.get('w1')!;
      assert.equal(w1.grad.nonFinite, 16, 'every element of w1’s gradient');
      assert.ok(!Number.isFinite(w1.grad.l2) && !Number.isFinite(w1.grad.maxAbs));
      for (const n of ['w2', 'w3', 'w4']) {
        const p = byName.get(n)!;
        assert.equal(p.grad.nonFinite, undefined, n);
        assert.ok(Number.isFinite(p.grad.l2) && p.grad.l2 > 0, `${n}: ${p.grad.l2}`);
      }
      const h1 = r.activations.find((a) => a.tensor === 'h1')!;
      assert.equal(h1.nonFinite, 8);
      assert.equal(r.activations.find((a) => a.tensor === 'h2')!.nonFinite, undefined);
      assert.match(
        r.summary.text,
        /NaN or Infinity in batch 1: the gradient first holds NaN or Infinity .* node "matmul1"/,
      );

      // JSON: every non-finite statistic by name, no null anywhere; read back, the same result.
      const text = probeJson(r);
      assert.doesNotMatch(text, /null/);
      const json = JSON.parse(text) as { params: { name: string; grad: Record<string, unknown> }[] };
      const w1j = json.params.find((p) => p.name === 'w1')!;
      assert.ok(['NaN', 'Infinity'].includes(w1j.grad.l2 as string), `l2 ${String(w1j.grad.l2)}`);
      assert.equal(w1j.grad.nonFinite, 16);
      assert.deepStrictEqual(reviveNonFinite<ProbeResult>(JSON.parse(text)), r);
      // Every statistic field revives: a result whose every statistic is NaN reads back whole.
      const poisoned = poison(r) as ProbeResult;
      assert.ok(nonFinitePaths(poisoned).length >= 40, `${nonFinitePaths(poisoned).length} statistics`);
      assert.deepStrictEqual(reviveNonFinite<ProbeResult>(jsonSafe(poisoned)), poisoned);

      // The diagnosis says it first; the overlay (with its chart layers and diagnosis) reads back whole.
      assert.equal(r.diagnosis!.findings[0].kind, 'non-finite');
      assert.deepEqual(r.diagnosis!.findings[0].nodes, ['matmul1']);
      assert.match(r.diagnosis!.text, /^NaN or Infinity in batch 1: /);
      const poisonedOverlay = poison(toGradientOverlay(r)) as GradientOverlay;
      assert.deepStrictEqual(reviveNonFinite<GradientOverlay>(jsonSafe(poisonedOverlay)), poisonedOverlay);

      // The report: probe.json valid against the schema with the names, CSV and Markdown say them.
      const dir = path.join(tmp, `report-${backend}`);
      await writeReport(dir, r, reportGraph(await openModel(overflow)));
      const json2 = JSON.parse(fs.readFileSync(path.join(dir, REPORT_FILES.json), 'utf8')) as {
        params: { grad: { l2: unknown } }[];
      };
      const validate = new Ajv({ allErrors: true }).compile(schema);
      assert.ok(validate(json2), JSON.stringify(validate.errors));
      assert.ok(['NaN', 'Infinity'].includes(String(json2.params[0].grad.l2)));
      assert.match(
        fs.readFileSync(path.join(dir, REPORT_FILES.csv), 'utf8'),
        /matmul1,h1,true,(NaN|Infinity),/,
      );
      for (const f of [REPORT_FILES.chartSvg, REPORT_FILES.graphSvg])
        assert.doesNotMatch(
          fs.readFileSync(path.join(dir, f), 'utf8'),
          /="[^"]*(NaN|Infinity)/,
          `${f}: no NaN coordinates`,
        );

      // The CLI table prints them as such, with their counts; the overlay marks the node.
      const table = renderFlowTable(r);
      assert.match(table, /w1\s+matmul1\s+\[4×4\]\s+(NaN|Infinity) \(16 NaN\/Inf\)/);
      assert.match(table, /!! NaN\/Infinity/);
      const overlay = reviveNonFinite<GradientOverlay>(jsonSafe(toGradientOverlay(r)));
      assert.equal(overlay.nonFinite?.node, 'matmul1');
      assert.equal(overlay.nodes.matmul1.nonFinite, 8);
      assert.ok(!Number.isFinite(overlay.nodes.matmul1.rms));
    });

    it(`${backend}: a loss past float32 is reported as Infinity, every node output being finite`, async () => {
      const r = await runProbe(await openModel(overflow), opts(backend, batch('e30.npy', 1e30)));
      assert.equal(r.loss.values[0], Infinity);
      assert.equal(r.nonFinite?.pass, 'loss');
      assert.equal(r.nonFinite?.node, undefined);
      assert.match(JSON.stringify(JSON.parse(probeJson(r)).loss), /"values":\["Infinity"\]/);
    });

    it(`${backend}: an overflow in the model's own forward pass is named at the first node`, async () => {
      const r = await runProbe(await openModel(overflow), opts(backend, batch('e36.npy', 1e36)));
      assert.equal(r.nonFinite?.pass, 'forward');
      assert.equal(r.nonFinite?.node, 'matmul4');
      assert.match(r.nonFinite!.message, /node "matmul4" \(MatMul\) is the first to output NaN or Infinity/);
    });

    it(`${backend}: TF.js layers (and, on wasm, graph) models name the first layer or node whose output overflows`, async () => {
      const layers = await openModel(path.join(root, 'test/fixtures/tfjs-layers/sequential_cnn/model.json'));
      const huge = batch('huge32.npy', 2.5e38, false, [2, 32, 32, 3]);
      const r = await runProbe(layers, {
        ...opts(backend, huge),
        source: { kind: 'npy', files: { '': huge } },
      });
      assert.equal(r.nonFinite?.pass, 'forward');
      assert.equal(r.nonFinite?.node, 'conv1');
      assert.match(r.nonFinite!.message, /node "conv1" \(Conv2D\) is the first to output NaN or Infinity/);
      // The graph runner's scan is the same on every backend; the CPU backend takes minutes on emotion.
      if (backend !== 'wasm') return;
      const graph = await openModel(path.join(root, 'test/fixtures/tfjs-graph/emotion/emotion.json'));
      const input = graph.graph.values.get(graph.graph.inputs[0])!;
      const shape = input.shape!.map((d) => (typeof d === 'number' && d > 0 ? d : 2));
      const hugeG = batch('huge_emotion.npy', 2.5e38, false, shape);
      const g = await runProbe(graph, {
        ...opts(backend, hugeG),
        source: { kind: 'npy', files: { '': hugeG } },
      });
      assert.equal(g.nonFinite?.pass, 'forward');
      assert.ok(g.nonFinite?.node && graph.graph.nodes.some((n) => n.name === g.nonFinite!.node));
      assert.match(
        g.summary.text,
        /^NaN or Infinity in batch 1: node ".*" is the first to output NaN or Infinity/,
      );
    });

    it(`${backend}: a batch holding NaN is bad input, named in one sentence`, async () => {
      await assert.rejects(
        runProbe(await openModel(overflow), opts(backend, batch('nan.npy', 1, true))),
        (e: Error) => isModelError(e) && /input "input" of the batch contains NaN or Inf\.$/.test(e.message),
      );
    });

    // On WASM a pass is read after the next one has run (gradPass.ts's startGradPass): its batch
    // is kept until then, and the first batch with NaN or Infinity is still the one named.
    it(`${backend}: two batches, the first with NaN in its input or in its gradient`, async () => {
      const two = (file: string): ProbeOptions => ({ ...opts(backend, file), batches: 2, threads: 2 });
      await assert.rejects(
        runProbe(await openModel(overflow), two(batch('nan2.npy', 1, true, [4, 4]))),
        (e: Error) => isModelError(e) && /input "input" of the batch contains NaN or Inf\.$/.test(e.message),
      );
      const r = await runProbe(await openModel(overflow), two(batch('unit2.npy', 1, false, [4, 4])));
      assert.equal(r.loss.values.length, 2);
      assert.equal(r.nonFinite?.batch, 0);
      assert.equal(r.nonFinite?.node, 'matmul1');
    });
  }
});
