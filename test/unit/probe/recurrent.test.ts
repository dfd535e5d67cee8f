/**
 * Recurrent nets: the ONNX LSTM, GRU and RNN ops of the executor and TF.js's own LSTM, GRU,
 * SimpleRNN and Bidirectional layers, on every test backend. Forward against onnxruntime;
 * parameter gradients and the per-timestep hidden-state gradients against PyTorch float64
 * (scripts/recurrent_fixtures.py); attribute variants no exporter writes against finite
 * differences; layout 1 (which onnxruntime refuses) against its layout-0 twins; every refusal is
 * one sentence naming the node and the attribute.
 */
import { strict as assert } from 'node:assert';
import Ajv from 'ajv';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { openModel } from '../../../runtime/analysis/openModel';
import type { Model } from '../../../runtime/model/ir';
import { Executor } from '../../../runtime/probe/executor';
import { buildViewModel } from '../../../runtime/view/buildViewModel';
import { toGradientOverlay } from '../../../runtime/view/gradientOverlay';
import { nodeCard, nodeCardMarkdown } from '../../../runtime/view/nodeCard';
import { formatStat } from '../../../runtime/view/format';
import { initBackend } from '../../../runtime/probe/backend';
import { gradPass, type PassStats } from '../../../runtime/probe/gradPass';
import { makeLoss } from '../../../runtime/probe/losses';
import { readNpy } from '../../../runtime/probe/npy';
import { planBatches } from '../../../runtime/probe/batchSource';
import { layersGradPass, loadLayersRunner, disposeLayersRunner } from '../../../runtime/probe/layersRunner';
import { releaseExecutor, runProbe } from '../../../runtime/probe/runProbe';
import { renderFlowTable } from '../../../runtime/probe/flowTable';
import { timeDecay, timeIssuesText } from '../../../runtime/probe/gradStats';
import { analyzeSkips } from '../../../runtime/analysis/analyzeSkips';
import { isModelError } from '../../../runtime/errors';
import { testBackends, useBackend } from '../helpers/testBackends';

const ort = require('onnxruntime-node') as typeof import('onnxruntime-node');

const root = path.resolve(__dirname, '../../..');
const grads = path.join(root, 'test/fixtures/grads');

interface Ref {
  model: string;
  input: string;
  /** Graph input name → .npy file, for models with several inputs. */
  inputs?: Record<string, string>;
  loss: { value: number };
  params: {
    name: string;
    l2: number;
    maxAbs: number;
    meanAbs: number;
    sample: { index: number[]; value: number[] };
  }[];
  timesteps: { node: string; direction: string; l2: number[] }[];
}

const ONNX_FIXTURES = [
  'rnn_lstm_tagger',
  'rnn_gru_bidir',
  'rnn_tanh',
  'rnn_lstm_states',
  'rnn_lengths_input',
];
const TFJS_FIXTURES = ['lstm', 'gru', 'simple_rnn', 'bidirectional'];

const readRef = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8')) as Ref;
const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-30);
const loss = (file: string) => makeLoss('mean-square', {}, file);

function inputTensor(ref: Ref): tf.Tensor {
  const x = readNpy(path.join(root, ref.input));
  return tf.tensor(x.data, x.shape, x.dtype);
}

/** The reference batch of an ONNX fixture: every graph input (ids and lengths as int32). */
function refFeeds(ref: Ref, model: Model): Record<string, tf.Tensor> {
  const files = ref.inputs ?? { [model.graph.inputs[0]]: ref.input };
  return Object.fromEntries(
    Object.entries(files).map(([name, file]) => {
      const x = readNpy(path.join(root, file));
      return [name, tf.tensor(x.data, x.shape, x.dtype)];
    }),
  );
}

/** Parameter statistics and per-timestep norms of one pass against the float64 reference. */
function compareToRef(
  ref: Ref,
  names: string[],
  stats: PassStats,
  full?: Map<string, Float32Array>,
): { params: number; steps: number; worst: number } {
  let worst = 0;
  const note = (what: string, got: number, want: number) => {
    const e = rel(got, want);
    worst = Math.max(worst, e);
    assert.ok(e <= 1e-3, `${what}: ${got} vs PyTorch ${want}`);
  };
  assert.ok(rel(stats.loss, ref.loss.value) < 1e-4, `loss ${stats.loss} vs ${ref.loss.value}`);
  const scale = Math.max(...ref.params.map((p) => p.l2));
  let params = 0;
  for (const r of ref.params) {
    const i = names.indexOf(r.name);
    assert.ok(i >= 0, `${r.name} is not a probed parameter`);
    if (r.l2 < 1e-8 * scale) continue;
    const s = stats.params[i];
    note(`${r.name} grad L2`, Math.sqrt(s.sumSq), r.l2);
    note(`${r.name} max |g|`, s.maxAbs, r.maxAbs);
    note(`${r.name} mean |g|`, s.sumAbs / s.size, r.meanAbs);
    const g = full?.get(r.name);
    if (g)
      r.sample.index.forEach((idx, k) => {
        if (Math.abs(r.sample.value[k]) >= 1e-3 * r.maxAbs)
          note(`${r.name}[${idx}]`, g[idx], r.sample.value[k]);
      });
    params++;
  }
  const series = stats.timesteps ?? [];
  assert.equal(series.length, ref.timesteps.length, 'recurrent directions');
  const top = Math.max(...ref.timesteps.flatMap((t) => t.l2));
  let steps = 0;
  for (const want of ref.timesteps) {
    const got = series.find((t) => t.node === want.node && t.direction === want.direction);
    assert.ok(got, `no timestep series for ${want.node} (${want.direction})`);
    assert.equal(got.sumSq.length, want.l2.length, `${want.node}: steps`);
    want.l2.forEach((w, t) => {
      if (w < 1e-6 * top) return;
      note(`${want.node} (${want.direction}) ‖∂L/∂h_${t}‖`, Math.sqrt(got.sumSq[t]), w);
      steps++;
    });
  }
  return { params, steps, worst };
}

/** Full parameter gradients of the mean-square loss (for the sampled elements). */
async function fullGrads(ex: Executor, feeds: Record<string, tf.Tensor>): Promise<Map<string, Float32Array>> {
  const f = loss(ex.model.file);
  const names = ex.params.map((p) => p.name);
  const fn = (...ps: tf.Tensor[]) =>
    f(ex.run(feeds, {}, new Map(names.map((n, i) => [n, ps[i]]))).map((v) => v.nat()));
  const { value, grads: gs } = tf.valueAndGrads(fn)(ex.params.map((p) => p.tensor));
  // Read asynchronously: a GPU cannot be read back synchronously.
  const vals = await Promise.all(gs.map((g) => g.data()));
  const out = new Map(names.map((n, i) => [n, vals[i] as Float32Array]));
  tf.dispose([value, ...gs]);
  return out;
}

/** Runs `file` on onnxruntime with the same feeds and returns the max error relative to max |y|. */
async function vsOnnxruntime(
  file: string,
  model: Model,
  feeds: Record<string, tf.Tensor>,
  outs: tf.Tensor[],
) {
  const ortFeeds: Record<string, import('onnxruntime-node').Tensor> = {};
  for (const [name, t] of Object.entries(feeds)) {
    const v = model.graph.values.get(name)!;
    ortFeeds[name] =
      v.dtype === 'int64'
        ? new ort.Tensor(
            'int64',
            BigInt64Array.from(await t.data(), (d) => BigInt(d)),
            t.shape,
          )
        : new ort.Tensor('float32', (await t.data()) as Float32Array, t.shape);
  }
  const session = await ort.InferenceSession.create(file);
  const ref = await session.run(ortFeeds);
  for (const [i, o] of model.graph.outputs.entries()) {
    assert.deepEqual(outs[i].shape, ref[o].dims.map(Number), `${o} shape`);
    const a = await outs[i].data();
    const b = ref[o].data as Float32Array;
    let err = 0;
    let mag = 0;
    for (let j = 0; j < b.length; j++) {
      err = Math.max(err, Math.abs(a[j] - b[j]));
      mag = Math.max(mag, Math.abs(b[j]));
    }
    assert.ok(mag > 0, `${o} is all zeros`);
    assert.ok(err <= 1e-5 * Math.max(mag, 1), `${o}: max error ${err} vs max |y| ${mag}`);
  }
}

/** A deterministic sequence input [5, 3, 3] for the hand-built graphs. */
const variantInput = () =>
  tf.tensor(
    Float32Array.from({ length: 45 }, (_, i) => Math.sin(i * 0.37) + 0.1 * Math.cos(i * 1.3)),
    [5, 3, 3],
  );

describe('recurrent nets (ONNX LSTM/GRU/RNN, TF.js LSTM/GRU/SimpleRNN/Bidirectional)', () => {
  after(async () => {
    releaseExecutor();
    await initBackend('wasm');
  });

  for (const backend of testBackends) {
    describe(`on ${backend}`, () => {
      before(async function () {
        await useBackend(this, backend);
      });

      for (const name of ONNX_FIXTURES) {
        it(`${name}: forward = onnxruntime; parameter and per-timestep gradients = PyTorch float64 within 1e-3`, async () => {
          const ref = readRef(path.join(grads, `${name}.json`));
          const file = path.join(root, ref.model);
          const model = await openModel(file);
          const ex = new Executor(model);
          const feeds = refFeeds(ref, model);
          try {
            const outs = ex.forward(feeds);
            await vsOnnxruntime(file, model, feeds, outs);
            tf.dispose(outs);
            const stats = await gradPass(ex, feeds, loss(file), []);
            const n = compareToRef(
              ref,
              ex.params.map((p) => p.name),
              stats,
              await fullGrads(ex, feeds),
            );
            assert.equal(n.params, ref.params.length, 'every parameter compared');
            assert.ok(n.steps >= ref.timesteps.length * 4, `only ${n.steps} timesteps compared`);
          } finally {
            tf.dispose(Object.values(feeds));
            ex.dispose();
          }
        });
      }

      for (const name of TFJS_FIXTURES) {
        it(`tfjs-layers/${name}: parameter and per-timestep gradients = PyTorch float64 (Keras equations) within 1e-3`, async () => {
          const ref = readRef(path.join(grads, 'tfjs-layers', `${name}.json`));
          const r = await loadLayersRunner(path.join(root, ref.model));
          const x = inputTensor(ref);
          try {
            const stats = await layersGradPass(r, { [r.inputNames[0] ?? 'input']: x }, loss(ref.model));
            const n = compareToRef(
              ref,
              r.params.map((p) => p.name),
              stats,
            );
            assert.equal(n.params, ref.params.length, 'every parameter compared');
            assert.ok(n.steps >= ref.timesteps.length * 4, `only ${n.steps} timesteps compared`);
          } finally {
            x.dispose();
            disposeLayersRunner(r);
          }
        });
      }

      it('rnn_variants (peepholes, clip, input_forget, sequence_lens, initial states, linear_before_reset 0/1, activation lists): forward = onnxruntime, autodiff = central differences', async () => {
        const file = path.join(grads, 'rnn_variants.onnx');
        const model = await openModel(file);
        const ex = new Executor(model);
        const x = variantInput();
        try {
          const outs = ex.forward({ input: x });
          await vsOnnxruntime(file, model, { input: x }, outs);
          tf.dispose(outs);
          const f = loss(file);
          const g = await fullGrads(ex, { input: x });
          const lossAt = async (pm: Map<string, tf.Tensor>) => {
            const l = tf.tidy(() => f(ex.run({ input: x }, {}, pm).map((v) => v.nat())));
            const v = (await l.data())[0];
            l.dispose();
            return v;
          };
          let compared = 0;
          for (const p of ex.params) {
            const base = (await p.tensor.data()) as Float32Array;
            const gp = g.get(p.name)!;
            // The two largest gradient elements of every tensor.
            const order = [...gp.keys()].sort((a, b) => Math.abs(gp[b]) - Math.abs(gp[a])).slice(0, 2);
            for (const idx of order) {
              if (Math.abs(gp[idx]) < 1e-4) continue;
              const h = 2e-3;
              const at = async (d: number) => {
                const v = Float32Array.from(base);
                v[idx] += d;
                const t = tf.tensor(v, p.tensor.shape);
                const l = await lossAt(new Map(ex.params.map((q) => [q.name, q === p ? t : q.tensor])));
                t.dispose();
                return l;
              };
              const fd = ((await at(h)) - (await at(-h))) / (2 * h);
              assert.ok(
                Math.abs(fd - gp[idx]) <= 2e-2 * Math.abs(gp[idx]) + 2e-5,
                `${p.name}[${idx}]: central difference ${fd} vs autodiff ${gp[idx]}`,
              );
              compared++;
            }
          }
          // W, R, B of 7 nodes, plus their initial states and peepholes.
          assert.ok(compared >= 30, `only ${compared} elements compared`);
        } finally {
          x.dispose();
          ex.dispose();
        }
      });

      it('rnn_layout1: batch-first (layout 1) nodes equal their layout-0 twins, outputs and weight gradients', async () => {
        const model = await openModel(path.join(grads, 'rnn_layout1.onnx'));
        const ex = new Executor(model);
        const x = variantInput();
        try {
          const outs = ex.forward({ input: x });
          const byName = new Map(model.graph.outputs.map((o, i) => [o, outs[i]]));
          let pairs = 0;
          for (const [name, t] of byName) {
            if (!name.includes('_layout1_')) continue;
            const twin = byName.get(name.replace('_layout1_', '_layout0_'))!;
            // Y: [B, T, D, H] vs [T, D, B, H]; Y_h, Y_c: [B, D, H] vs [D, B, H].
            const back = t.rank === 4 ? tf.transpose(t, [1, 2, 0, 3]) : tf.transpose(t, [1, 0, 2]);
            assert.deepEqual(back.shape, twin.shape, name);
            const err = (await tf.max(tf.abs(tf.sub(back, twin))).data())[0];
            assert.ok(err <= 1e-6, `${name}: differs from its layout-0 twin by ${err}`);
            assert.ok((await tf.max(tf.abs(twin)).data())[0] > 0.05, `${name} is near zero`);
            back.dispose();
            pairs++;
          }
          assert.equal(pairs, 7);
          tf.dispose(outs);
          // Mean square is permutation-invariant: the two halves must give the same weight gradients.
          const half = (layout: string) => {
            const idx = model.graph.outputs
              .map((o, i) => (o.includes(layout) ? i : -1))
              .filter((i) => i >= 0);
            const names = ex.params.map((p) => p.name);
            const fn = (...ps: tf.Tensor[]) => {
              const all = ex
                .run({ input: x }, {}, new Map(names.map((n, i) => [n, ps[i]])))
                .map((v) => v.nat());
              return loss('layout')(idx.map((i) => all[i]));
            };
            const { value, grads: gs } = tf.valueAndGrads(fn)(ex.params.map((p) => p.tensor));
            value.dispose();
            return gs;
          };
          const g0 = half('_layout0_');
          const g1 = half('_layout1_');
          for (const [i, p] of ex.params.entries()) {
            const scale = (await tf.max(tf.abs(g0[i])).data())[0];
            assert.ok(scale > 0, `${p.name}: no gradient`);
            const err = (await tf.max(tf.abs(tf.sub(g0[i], g1[i]))).data())[0];
            assert.ok(err <= 1e-5 * scale + 1e-9, `${p.name}: gradient differs by ${err} (scale ${scale})`);
          }
          tf.dispose([...g0, ...g1]);
        } finally {
          x.dispose();
          ex.dispose();
        }
      });
    });
  }

  describe('refusals: one sentence naming the file, the node and the attribute or input', () => {
    before(async () => {
      await initBackend('wasm');
    });

    it('an activation ONNX does not define (rnn_bad_activation.onnx), before anything runs', async () => {
      const file = path.join(grads, 'rnn_bad_activation.onnx');
      const model = await openModel(file);
      assert.throws(
        () => new Executor(model),
        (e: unknown) =>
          isModelError(e) &&
          e.message ===
            `${file}: node "rnn_swish" (RNN) has activation "Swish" in attribute activations; ONNX allows Relu, Tanh, Sigmoid, Affine, LeakyRelu, ThresholdedRelu, ScaledTanh, HardSigmoid, Elu, Softsign, Softplus.`,
      );
    });

    const cases: { node: string; attrs: Record<string, unknown>; message: RegExp }[] = [
      {
        node: 'lstm_peep',
        attrs: { direction: 'sideways' },
        message: /"lstm_peep" \(LSTM\) has direction "sideways"/,
      },
      {
        node: 'gru_lbr1',
        attrs: { layout: 2 },
        message: /"gru_lbr1" \(GRU\) has layout 2; ONNX allows 0 or 1/,
      },
      {
        node: 'lstm_acts',
        attrs: { activations: ['Tanh', 'Tanh'] },
        message: /"lstm_acts" \(LSTM\) lists 2 activations; a bidirectional LSTM takes 3 or 6/,
      },
      {
        node: 'rnn_affine',
        attrs: { activation_alpha: [] },
        message: /"rnn_affine" \(RNN\) has activation Affine without a value in activation_alpha/,
      },
      {
        node: 'gru_lbr0',
        attrs: { clip: -1 },
        message: /"gru_lbr0" \(GRU\) has clip -1; the threshold must be positive/,
      },
    ];
    for (const c of cases)
      it(`refuses ${JSON.stringify(c.attrs)} on node ${c.node} before anything runs`, async () => {
        const model = await openModel(path.join(grads, 'rnn_variants.onnx'));
        Object.assign(model.graph.nodes.find((n) => n.name === c.node)!.attributes, c.attrs);
        assert.throws(
          () => new Executor(model),
          (e: unknown) => isModelError(e) && e.message.startsWith(model.file) && c.message.test(e.message),
        );
      });

    it('names the node when W does not fit hidden_size, when sequence_lens exceeds the sequence and when initial states do not fit the batch', async () => {
      const model = await openModel(path.join(grads, 'rnn_variants.onnx'));
      model.graph.nodes.find((n) => n.name === 'rnn_scaled')!.attributes.hidden_size = 5;
      const ex = new Executor(model);
      const x = variantInput();
      try {
        assert.throws(
          () => ex.forward({ input: x }),
          (e: unknown) =>
            isModelError(e) &&
            /node "rnn_scaled" \(RNN\) has W of shape \[1, 4, 3\]; hidden size 5 and input size 3 need \[1, 5, 3\]\.$/.test(
              e.message,
            ),
        );
      } finally {
        ex.dispose();
      }
      // A sequence of 4 steps is shorter than sequence_lens [5, 3, 4].
      const model2 = await openModel(path.join(grads, 'rnn_variants.onnx'));
      const ex2 = new Executor(model2);
      const short = tf.slice(x, 0, 4);
      try {
        assert.throws(
          () => ex2.forward({ input: short }),
          (e: unknown) =>
            isModelError(e) &&
            /node "lstm_peep" \(LSTM\) has sequence_lens 5 for a sequence of 4 steps\.$/.test(e.message),
        );
        // Initial states stored for a batch of 3 do not fit a batch of 2.
        const two = tf.slice(x, [0, 0, 0], [5, 2, 3]);
        assert.throws(
          () => ex2.forward({ input: two }),
          (e: unknown) =>
            isModelError(e) &&
            /node "lstm_peep" \(LSTM\) has initial_h of shape \[1, 3, 4\]; it should hold \[1, 2, 4\]: the state was made for a batch of 3 \(an exporter may have fixed it from its example input\), so probe with batch 3\.$/.test(
              e.message,
            ),
        );
        two.dispose();
      } finally {
        tf.dispose([x, short]);
        ex2.dispose();
      }
    });
  });

  it('skip analysis counts no merges inside or around the recurrences (gate arithmetic is one op)', async () => {
    const files = [
      ...fs
        .readdirSync(grads)
        .filter((f) => f.startsWith('rnn_') && f.endsWith('.onnx'))
        .map((f) => path.join(grads, f)),
      ...TFJS_FIXTURES.map((n) => path.join(root, 'test/fixtures/tfjs-layers', n, 'model.json')),
    ];
    assert.ok(files.length >= 11);
    for (const f of files) {
      const a = analyzeSkips(await openModel(f));
      assert.deepEqual(a.merges, [], `${f}: merges ${JSON.stringify(a.merges)}`);
    }
  });

  it('FLOPs: 2·gates·H·(I + H) per step and direction plus the gates’ elementwise work', async () => {
    // rnn_tanh: two RNN layers (I 5 → H 7 → H 7) over 9 steps, then Linear(7, 3) on the last step.
    const onnx = await openModel(path.join(grads, 'rnn_tanh.onnx'));
    const rnn = onnx.graph.nodes.filter((n) => n.op === 'RNN');
    assert.deepEqual(
      rnn.map((n) => n.flops),
      [9 * (2 * 7 * (5 + 7) + 2 * 7 + 7), 9 * (2 * 7 * (7 + 7) + 2 * 7 + 7)],
    );
    // TF.js lstm1: LSTM(8) over [6, 4]: kernel 4×32, recurrent 8×32, bias 32, 9 ops per unit.
    const layers = await openModel(path.join(root, 'test/fixtures/tfjs-layers/lstm/model.json'));
    const lstm1 = layers.graph.nodes.find((n) => n.name === 'lstm1')!;
    assert.equal(lstm1.flops, 6 * (2 * 4 * 32 + 2 * 8 * 32 + 32 + 9 * 8));
    // Bidirectional(LSTM(5)) over [6, 4]: both directions.
    const bi = await openModel(path.join(root, 'test/fixtures/tfjs-layers/bidirectional/model.json'));
    const biLstm = bi.graph.nodes.find((n) => n.name === 'bi_lstm')!;
    assert.equal(biLstm.flops, 6 * 2 * (2 * 4 * 20 + 2 * 5 * 20 + 20 + 9 * 5));
    assert.deepEqual(
      bi.graph.values.get(bi.graph.nodes.find((n) => n.name === 'bi_gru')!.outputs[0])?.shape,
      ['batch', 4],
    );
  });

  it('runProbe reports the series in JSON and the CLI table shows first/last and the decay per direction', async () => {
    const model = await openModel(path.join(grads, 'rnn_tanh.onnx'));
    const r = await runProbe(model, {
      source: { kind: 'synthetic', seed: 1 },
      batchSize: 3,
      batches: 2,
      loss: 'mean-square',
      backend: 'wasm',
    });
    // A sequence-first input [9, batch, 5]: the batch is axis 1.
    assert.equal(r.batchSize, 3);
    const timesteps = r.timesteps ?? [];
    assert.deepEqual(
      timesteps.map((t) => [t.node, t.direction, t.l2.length]),
      [
        ['/rnn_/RNN', 'forward', 9],
        ['/rnn_/RNN_1', 'forward', 9],
      ],
    );
    // Only the last step feeds the head: the gradient vanishes towards t = 0.
    for (const t of timesteps) assert.ok(t.l2[0] < 0.05 * t.l2[8], `${t.node}: ${t.l2}`);
    // The series is part of the report schema (probe.json, skipscope probe --json).
    const schema = JSON.parse(
      fs.readFileSync(path.join(root, 'runtime/report/probeReport.schema.json'), 'utf8'),
    );
    const validate = new Ajv({ allErrors: true }).compile(schema);
    const json = JSON.parse(JSON.stringify(r)) as Record<string, unknown>;
    assert.ok(validate(json), JSON.stringify(validate.errors));
    assert.ok(!validate({ ...json, timesteps: [{ node: 'x', direction: 'sideways', l2: [1] }] }));
    const table = renderFlowTable(r);
    assert.match(table, /recurrent node\s+direction\s+steps\s+first step\s+last step\s+first\/last/);
    const last = timesteps[1];
    const line = table.split('\n').find((l) => l.startsWith('/rnn_/RNN_1 '))!;
    assert.ok(line, table);
    assert.match(
      line,
      new RegExp(`forward\\s+9\\s+\\S+\\s+\\S+\\s+${(last.l2[0] / last.l2[8]).toExponential(2)}`),
    );
  });

  it("the editor's hover card shows each direction's gradient through time, from the same probe", async () => {
    const model = await openModel(path.join(grads, 'rnn_gru_bidir.onnx'));
    const r = await runProbe(model, {
      source: { kind: 'synthetic', seed: 1 },
      batchSize: 2,
      batches: 1,
      loss: 'mean-square',
      backend: 'wasm',
    });
    const view = buildViewModel(model, analyzeSkips(model));
    const overlay = toGradientOverlay(r);
    const bidir = (r.timesteps ?? []).filter((t) => t.node === r.timesteps![0].node);
    assert.deepEqual(
      bidir.map((t) => t.direction),
      ['forward', 'reverse'],
    );
    const rows = new Map(nodeCard(view, bidir[0].node, overlay)!.rows);
    for (const t of bidir) {
      const row = rows.get(`grad through time (${t.direction})`);
      assert.ok(row, [...rows.keys()].join(', '));
      const [first, last] =
        t.direction === 'forward' ? [t.l2[0], t.l2[t.l2.length - 1]] : [t.l2[t.l2.length - 1], t.l2[0]];
      assert.ok(
        row.startsWith(
          `${formatStat(last)} at the last of ${t.l2.length} steps → ${formatStat(first)} at the first`,
        ),
        row,
      );
      assert.match(row, new RegExp(`[▁-█ ]{${t.l2.length}}$`), 'a sparkline, one cell per step');
    }
    // A node that is not recurrent has no such row.
    const other = view.nodes.find((n) => n.op !== 'GRU' && overlay.nodes[n.name])!;
    assert.ok(!nodeCard(view, other.name, overlay)!.rows.some(([k]) => k.startsWith('grad through time')));
    // And the text view's Markdown hover carries it too.
    // (Markdown escapes the parentheses.)
    assert.match(
      nodeCardMarkdown(view, bidir[0].node, overlay)!,
      /\| grad through time \\\(reverse\\\) \| \S+ at the last/,
    );
  });

  it('decay through time runs from the first step a direction processes; the summary names a 1000× fall', () => {
    const fwd = { node: 'lstm', direction: 'forward' as const, l2: [1e-5, 1e-3, 0.1] };
    const rev = { node: 'lstm', direction: 'reverse' as const, l2: [0.1, 1e-3, 1e-5] };
    assert.equal(timeDecay(fwd), 1e-4);
    assert.equal(timeDecay(rev), 1e-4);
    assert.equal(timeDecay({ ...fwd, l2: [0.2, 0.1] }), 2);
    assert.equal(
      timeIssuesText([fwd, { ...rev, l2: [0.1, 0.05] }]),
      'Gradient vanishes through time in lstm (forward): its norm falls 1.00e+4× from the last of its 3 steps back to the first.',
    );
    assert.equal(timeIssuesText([{ ...fwd, l2: [0.01, 0.1] }]), '');
  });

  it('synthetic batches give a sequence-lengths input the full length of its sequence', async () => {
    const model = await openModel(path.join(grads, 'rnn_lengths_input.onnx'));
    const plan = planBatches(model, {
      source: { kind: 'synthetic', seed: 2 },
      batchSize: 3,
      batches: 1,
      loss: 'mean-square',
    });
    assert.match(plan.describe, /lengths: full lengths of \/Transpose_output_0/);
    const feeds = plan.feeds(0);
    assert.deepEqual(Array.from(feeds.lengths.dataSync()), [6, 6, 6]);
    tf.dispose(Object.values(feeds));
    // PyTorch's export of a packed LSTM builds h0 for the example's batch of 2 (it warns so).
    const opts = { source: { kind: 'synthetic' as const }, batches: 1, loss: 'mean-square' as const };
    await assert.rejects(
      runProbe(model, { ...opts, batchSize: 3 }),
      (e: unknown) =>
        isModelError(e) && /initial_h .* made for a batch of 2 .* so probe with batch 2\.$/.test(e.message),
    );
    const r = await runProbe(model, { ...opts, batchSize: 2 });
    assert.deepEqual(
      r.timesteps?.map((t) => t.l2.every((v) => v > 0)),
      [true],
      'every step of every sample runs and gets gradient',
    );
  });

  it('runProbe on a TF.js Bidirectional model reports both sides of each wrapper, named by the wrapper', async () => {
    const model = await openModel(path.join(root, 'test/fixtures/tfjs-layers/bidirectional/model.json'));
    const r = await runProbe(model, {
      source: { kind: 'synthetic', seed: 4 },
      batchSize: 2,
      batches: 2,
      loss: 'mean-square',
      backend: 'wasm',
    });
    assert.deepEqual(
      (r.timesteps ?? []).map((t) => [t.node, t.direction, t.l2.length, t.l2.every((v) => v > 0)]),
      [
        ['bi_lstm', 'forward', 6, true],
        ['bi_lstm', 'reverse', 6, true],
        ['bi_gru', 'forward', 6, true],
        ['bi_gru', 'reverse', 6, true],
      ],
    );
    // bi_gru returns its last output only: the reverse side's last step is t = 0, where it peaks.
    const rev = r.timesteps!.find((t) => t.node === 'bi_gru' && t.direction === 'reverse')!;
    assert.equal(Math.max(...rev.l2), rev.l2[0]);
  });
});
