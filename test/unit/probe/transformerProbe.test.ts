/**
 * Transformer probes: Einsum against a direct sum over every index assignment, the refusals of
 * the new ops (one sentence naming file, node and problem), kernels a backend lacks run on the CPU
 * backend, the WASM UnsortedSegmentSum, the guard that names a node whose kernel has no gradient,
 * integer inputs (token ids within their tables, masks of ones, int64 .npy files) and the
 * skip/branch split at both residuals of every transformer block.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { openModel } from '../../../runtime/analysis/openModel';
import { Executor } from '../../../runtime/probe/executor';
import { initBackend } from '../../../runtime/probe/backend';
import { gradPass } from '../../../runtime/probe/gradPass';
import { makeLoss } from '../../../runtime/probe/losses';
import { readNpy } from '../../../runtime/probe/npy';
import { fallbackKernels } from '../../../runtime/probe/kernelFallback';
import { integerFill } from '../../../runtime/probe/integerInputs';
import { planBatches } from '../../../runtime/probe/batchSource';
import { runProbe } from '../../../runtime/probe/runProbe';
import { probeCommand } from '../../../runtime/cli/probeCommand';
import { isModelError } from '../../../runtime/errors';
import type { AttrValue, TensorData } from '../../../runtime/model/ir';
import { GraphBuilder } from '../helpers/graphBuilder';
import { testBackends } from '../helpers/testBackends';

const root = path.resolve(__dirname, '../../..');
const grads = path.join(root, 'test/fixtures/grads');

/** Deterministic values of a shape. */
function values(shape: number[], phase: number): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.61 + phase) + 0.1 * Math.cos(i * 1.7));
}

/** numpy's einsum, the slow way: a sum over every assignment of the index letters. */
function naiveEinsum(
  eq: string,
  shapes: number[][],
  data: Float32Array[],
): { shape: number[]; data: number[] } {
  const [lhs, rhs] = eq.split('->');
  const terms = lhs.split(',');
  const size = new Map<string, number>();
  terms.forEach((t, i) => [...t].forEach((ch, a) => size.set(ch, Math.max(size.get(ch) ?? 1, shapes[i][a]))));
  const letters = [...size.keys()];
  const outShape = [...rhs].map((ch) => size.get(ch)!);
  const out = new Array<number>(outShape.reduce((a, b) => a * b, 1)).fill(0);
  const at = new Map<string, number>();
  const offset = (t: string, shape: number[]) =>
    [...t].reduce((o, ch, a) => o * shape[a] + (shape[a] === 1 ? 0 : at.get(ch)!), 0);
  const walk = (k: number) => {
    if (k === letters.length) {
      let p = 1;
      terms.forEach((t, i) => (p *= data[i][offset(t, shapes[i])]));
      out[offset(rhs, outShape)] += p;
      return;
    }
    for (let v = 0; v < size.get(letters[k])!; v++) {
      at.set(letters[k], v);
      walk(k + 1);
    }
  };
  walk(0);
  return { shape: outShape, data: out };
}

/**
 * A one-node graph `op(inputs)` with given attributes, run on `feeds`; `order` lists the node's
 * inputs (feeds and initializers it adds), by default the feeds in order.
 */
function runOne(
  op: string,
  feeds: Record<string, tf.Tensor>,
  attrs: Record<string, AttrValue>,
  order?: (b: GraphBuilder, feeds: string[]) => string[],
) {
  const b = new GraphBuilder();
  const names = Object.keys(feeds).map((n) => b.input(n, feeds[n].shape));
  const y = b.op(op, order ? order(b, names) : names, { name: `my_${op.toLowerCase()}`, attrs });
  b.output(y);
  const ex = new Executor(b.model());
  try {
    return ex.forward(feeds)[0];
  } finally {
    ex.dispose();
  }
}

/** An int64 initializer (indices) on a builder graph. */
function intInit(b: GraphBuilder, name: string, shape: number[], vals: number[]): string {
  b.init(name, shape);
  const data: TensorData = {
    dtype: 'int64',
    shape,
    location: 'inline',
    read: () => BigInt64Array.from(vals, (v) => BigInt(v)),
  };
  b.values.get(name)!.initializer = data;
  return name;
}

describe('transformer ops and probes', () => {
  before(async () => {
    await initBackend('wasm');
  });

  describe('Einsum against a direct sum over all indices', () => {
    const cases: [string, number[][]][] = [
      [
        'bij,bjk->bik',
        [
          [2, 3, 4],
          [2, 4, 5],
        ],
      ],
      [
        'bhqd,bhkd->bhqk',
        [
          [2, 2, 3, 4],
          [2, 2, 5, 4],
        ],
      ],
      [
        'ij,jk,kl->il',
        [
          [2, 3],
          [3, 4],
          [4, 2],
        ],
      ],
      ['ij,k->ik', [[3, 4], [2]]],
      ['ijk->kj', [[2, 3, 4]]],
      [
        'bi,bi->b',
        [
          [3, 5],
          [3, 5],
        ],
      ],
      [
        'bij,jk->bik',
        [
          [1, 3, 4],
          [4, 2],
        ],
      ],
      [
        'aij,bjk->abik',
        [
          [2, 3, 4],
          [3, 4, 2],
        ],
      ],
      [
        'bij,bjk->bik',
        [
          [1, 3, 4],
          [3, 4, 2],
        ],
      ],
    ];
    for (const [eq, shapes] of cases)
      it(`${eq} on [${shapes.map((s) => s.join('×')).join('], [')}]`, () => {
        const data = shapes.map((s, i) => values(s, i));
        const feeds = Object.fromEntries(shapes.map((s, i) => [`x${i}`, tf.tensor(data[i], s)]));
        const y = runOne('Einsum', feeds, { equation: eq });
        const want = naiveEinsum(eq, shapes, data);
        assert.deepEqual(y.shape, want.shape);
        const got = y.dataSync();
        want.data.forEach((w, i) =>
          assert.ok(Math.abs(got[i] - w) <= 1e-5 * (1 + Math.abs(w)), `${i}: ${got[i]} vs ${w}`),
        );
        tf.dispose([y, ...Object.values(feeds)]);
      });

    it('expands ellipses and implicit outputs as numpy does', () => {
      const a = values([2, 3, 4], 0);
      const b = values([4, 5], 1);
      const feeds = { x0: tf.tensor(a, [2, 3, 4]), x1: tf.tensor(b, [4, 5]) };
      const y = runOne('Einsum', feeds, { equation: '...ij,jk' }); // implicit: ...ik
      const want = naiveEinsum(
        'zij,jk->zik',
        [
          [2, 3, 4],
          [4, 5],
        ],
        [a, b],
      );
      assert.deepEqual(y.shape, want.shape);
      const got = y.dataSync();
      want.data.forEach((w, i) => assert.ok(Math.abs(got[i] - w) <= 1e-5 * (1 + Math.abs(w))));
      tf.dispose([y, ...Object.values(feeds)]);
    });

    it('refuses a diagonal and a term that does not fit its input, naming the node', () => {
      const x = tf.ones([3, 3]);
      for (const [equation, problem] of [
        ['ii->i', 'repeats an index within one operand (a diagonal or trace), which is not supported.'],
        ['ijk->i', 'has the term "ijk" for an input of rank 2.'],
      ])
        assert.throws(
          () => runOne('Einsum', { x }, { equation }),
          (e: unknown) =>
            isModelError(e) && e.message === `/test/model: node "my_einsum" (Einsum) ${problem}`,
        );
      x.dispose();
    });
  });

  describe('ScatterND and Trilu', () => {
    it('writes rows (none) and adds cells (add); duplicate rows take the last update', () => {
      const data = tf.tensor(values([4, 3], 0), [4, 3]);
      const upd = tf.tensor(values([3, 3], 1), [3, 3]);
      const y = runOne('ScatterND', { data, upd }, {}, (b) => [
        'data',
        intInit(b, 'idx', [3, 1], [2, 0, 2]),
        'upd',
      ]);
      const want = Array.from(data.dataSync());
      const u = upd.dataSync();
      [2, 0, 2].forEach((r, j) => [0, 1, 2].forEach((k) => (want[r * 3 + k] = u[j * 3 + k])));
      assert.deepEqual(Array.from(y.dataSync()), want);
      const cells = tf.tensor([1, 2, 3], [3]);
      const z = runOne('ScatterND', { data, cells }, { reduction: 'add' }, (b) => [
        'data',
        intInit(b, 'idx2', [3, 2], [1, 1, -1, 2, 1, 1]),
        'cells',
      ]);
      const w2 = Array.from(data.dataSync());
      w2[4] += 1 + 3;
      w2[11] += 2;
      Array.from(z.dataSync()).forEach((v, i) => assert.ok(Math.abs(v - w2[i]) < 1e-6));
      tf.dispose([data, upd, y, cells, z]);
    });

    it('refuses a multiplying ScatterND and an index outside the data, naming the node', () => {
      const data = tf.ones([4, 3]);
      const upd = tf.ones([1, 3]);
      for (const [attrs, idx, pattern] of [
        [{ reduction: 'mul' }, [1], /uses reduction mul, which is not supported/],
        [{}, [4], /has index 4 on axis 0, outside 0…3/],
      ] as const)
        assert.throws(
          () =>
            runOne('ScatterND', { data, upd }, attrs, (b) => [
              'data',
              intInit(b, `i${idx[0]}`, [1, 1], [...idx]),
              'upd',
            ]),
          (e: unknown) =>
            isModelError(e) && /node "my_scatternd" \(ScatterND\)/.test(e.message) && pattern.test(e.message),
        );
      tf.dispose([data, upd]);
    });

    it('keeps the upper band from k and the lower band up to k (Trilu)', () => {
      const x = tf.tensor(values([2, 3, 4], 0), [2, 3, 4]);
      const xs = x.dataSync();
      for (const upper of [1, 0])
        for (const k of [-1, 0, 2]) {
          const y = runOne('Trilu', { x }, { upper }, (b) => ['x', intInit(b, `k${upper}${k + 1}`, [], [k])]);
          const got = y.dataSync();
          for (let i = 0; i < xs.length; i++) {
            const [r, c] = [Math.floor(i / 4) % 3, i % 4];
            const keep = upper ? c - r >= k : c - r <= k;
            assert.equal(got[i], keep ? xs[i] : 0, `upper ${upper} k ${k} at ${i}`);
          }
          y.dispose();
        }
      x.dispose();
      const v = tf.ones([4]);
      assert.throws(
        () => runOne('Trilu', { v }, {}),
        (e: unknown) =>
          isModelError(e) &&
          e.message ===
            '/test/model: node "my_trilu" (Trilu) needs a tensor of rank 2 or more, got shape [4].',
      );
      v.dispose();
    });
  });

  describe('kernels a backend lacks', () => {
    it('registers every CPU kernel on WASM, the missing ones running on the CPU backend', () => {
      const wasm = new Set(tf.getKernelsForBackend('wasm').map((k) => k.kernelName));
      const missing = tf.getKernelsForBackend('cpu').filter((k) => !wasm.has(k.kernelName));
      assert.deepEqual(missing, []);
      assert.ok(fallbackKernels('wasm').includes('Einsum'));
      assert.ok(!fallbackKernels('wasm').includes('UnsortedSegmentSum'), 'WASM has its own');
    });

    it('gives a borrowed kernel the CPU backend numbers (TF.js Einsum on WASM)', async () => {
      const a = values([2, 3, 4], 0);
      const b = values([2, 4, 5], 1);
      const on = async (backend: 'wasm' | 'cpu') => {
        await initBackend(backend);
        return tf.tidy(() =>
          Array.from(tf.einsum('bij,bjk->bik', tf.tensor(a, [2, 3, 4]), tf.tensor(b, [2, 4, 5])).dataSync()),
        );
      };
      const cpu = await on('cpu');
      const wasm = await on('wasm');
      assert.deepEqual(wasm, cpu);
    });

    it('sums rows into segments on WASM as the CPU backend does (ids out of range dropped)', async () => {
      const x = values([6, 2, 3], 2);
      const ids = [3, 0, 3, -1, 7, 1];
      const on = async (backend: 'wasm' | 'cpu') => {
        await initBackend(backend);
        return tf.tidy(() => {
          const r = tf.unsortedSegmentSum(tf.tensor(x, [6, 2, 3]), tf.tensor1d(ids, 'int32'), 5);
          return { shape: r.shape, data: Array.from(r.dataSync()) };
        });
      };
      const cpu = await on('cpu');
      const wasm = await on('wasm');
      assert.deepEqual(wasm.shape, [5, 2, 3]);
      wasm.data.forEach((v, i) => assert.ok(Math.abs(v - cpu.data[i]) < 1e-6, `${i}`));
    });
  });

  describe('the gradient guard', () => {
    it('refuses before the backward pass, naming the node whose kernel has no gradient', async () => {
      await initBackend('wasm');
      const model = await openModel(path.join(grads, 'gpt_tiny.onnx'));
      const ex = new Executor(model);
      const ids = readNpy(path.join(grads, 'gpt_tiny.input_ids.npy'));
      const feeds = { input_ids: tf.tensor(ids.data, ids.shape, 'int32') };
      // A backend whose GatherV2 had no gradient (the real gradient goes back afterwards).
      const saved = tf.getGradient('GatherV2');
      tf.unregisterGradient('GatherV2');
      try {
        await assert.rejects(
          gradPass(ex, feeds, makeLoss('mean-square', {}, model.file), []),
          (e: unknown) =>
            isModelError(e) &&
            e.message ===
              `${model.file}: node "/tok/Gather" (Gather) runs the TF.js kernel GatherV2, which has no gradient, so no gradient can flow back through it.`,
        );
      } finally {
        tf.registerGradient(saved);
      }
      // The executor and the engine are usable again.
      const s = await gradPass(ex, feeds, makeLoss('mean-square', {}, model.file), []);
      assert.ok(Number.isFinite(s.loss) && s.params.every((p) => p.nonFinite === 0));
      tf.dispose(Object.values(feeds));
      ex.dispose();
    });
  });

  describe('integer inputs', () => {
    it('draws token ids below the table each input indexes, and masks as ones', async () => {
      const bert = await openModel(path.join(grads, 'bert_tiny.onnx'));
      assert.deepEqual(integerFill(bert, 'input_ids'), { kind: 'ids', below: 29, table: 'word.weight' });
      assert.deepEqual(integerFill(bert, 'token_type_ids'), {
        kind: 'ids',
        below: 2,
        table: 'token_type.weight',
      });
      assert.deepEqual(integerFill(bert, 'attention_mask'), { kind: 'ones' });
      const plan = planBatches(bert, {
        source: { kind: 'synthetic', seed: 3 },
        batchSize: 4,
        batches: 1,
        loss: 'mean-square',
        dims: { seq: 16 },
      });
      const feeds = plan.feeds(0);
      const max = (n: string) => Math.max(...Array.from(feeds[n].dataSync()));
      const min = (n: string) => Math.min(...Array.from(feeds[n].dataSync()));
      assert.ok(max('input_ids') <= 28 && min('input_ids') >= 0 && max('input_ids') > 20);
      assert.equal(max('token_type_ids'), 1);
      assert.equal(min('attention_mask'), 1);
      assert.match(plan.describe, /input_ids: ids below 29 \(rows of word\.weight\)/);
      tf.dispose(Object.values(feeds));
    });

    it('probes a BERT-style encoder from int64 .npy files and matches the PyTorch float64 loss', async () => {
      const ref = JSON.parse(fs.readFileSync(path.join(grads, 'bert_tiny.json'), 'utf8')) as {
        loss: { value: number };
        inputs: Record<string, string>;
      };
      const lines: string[] = [];
      const log = console.log;
      console.log = (...a: unknown[]) => lines.push(a.join(' '));
      let code: number;
      try {
        code = await probeCommand.run([
          path.join(grads, 'bert_tiny.onnx'),
          ...Object.entries(ref.inputs).flatMap(([n, f]) => ['--input', `${n}=${path.join(root, f)}`]),
          '--batch',
          '2',
          '--json',
          '--backend',
          'wasm',
        ]);
      } finally {
        console.log = log;
      }
      assert.equal(code, 0);
      const r = JSON.parse(lines.join('\n')) as { loss: { values: number[] } };
      assert.ok(Math.abs(r.loss.values[0] - ref.loss.value) < 1e-5 * ref.loss.value, `${r.loss.values[0]}`);
    });
  });

  describe('skip/branch split at both residuals of every block', () => {
    const blocks: Record<string, string[]> = {
      vit_tiny: ['encoder_layer_0', 'encoder_layer_1'],
      swin_tiny: ['features.1.0', 'features.1.1', 'features.3.0'],
      gpt_tiny: ['blocks.0', 'blocks.1'],
      bert_tiny: ['layers.0', 'layers.1'],
    };
    for (const backend of testBackends)
      for (const [name, names] of Object.entries(blocks))
        it(`${name} on ${backend}: an attention and an MLP residual per block, each split`, async () => {
          const model = await openModel(path.join(grads, `${name}.onnx`));
          const r = await runProbe(model, {
            source: { kind: 'synthetic', seed: 1 },
            batchSize: 2,
            batches: 1,
            loss: 'mean-square',
            backend,
            dims: { seq: 5 },
          });
          for (const blk of names) {
            const merges = r.merges.filter(
              (m) => m.merge.split('/').includes(blk) || m.merge.includes(`/${blk}/`),
            );
            assert.equal(merges.length, 2, `${blk}: ${r.merges.map((m) => m.merge).join(', ')}`);
            for (const m of merges) {
              assert.ok(m.skipRms > 0 && m.branchRms > 0, `${m.merge}: ${m.skipRms} / ${m.branchRms}`);
              assert.ok(m.skipShare > 0 && m.skipShare < 1);
            }
          }
          assert.equal(r.merges.length, names.length * 2);
        });
    after(async () => {
      await initBackend('wasm');
    });
  });
});
