/**
 * Gradients of the executor against PyTorch float64 autograd (test/fixtures/grads/*.json, written
 * by scripts/make_grad_refs.py) and against finite differences on tiny graphs. On WASM the
 * PyTorch comparisons run on one thread and on two kernel threads, every kernel call cut into
 * tasks however small (the fixtures are too small for the default cut).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { openModel } from '../../../runtime/analysis/openModel';
import { Executor } from '../../../runtime/probe/executor';
import { groupedConvRuns } from '../../../runtime/probe/groupedConv';
import { initBackend } from '../../../runtime/probe/backend';
import { gradPass } from '../../../runtime/probe/gradPass';
import { makeLoss } from '../../../runtime/probe/losses';
import { readNpy } from '../../../runtime/probe/npy';
import { isModelError } from '../../../runtime/errors';
import * as winograd from '../../../runtime/probe/winograd';
import { testBackends, useBackend } from '../helpers/testBackends';
import { guardGpu } from '../../../runtime/probe/webgpu/gpuGuard';
import { taskSettings } from '../../../runtime/probe/wasm/kernelTasks';
import {
  kernelThreadsOf,
  setKernelThreads,
  type EmscriptenHeap,
} from '../../../runtime/probe/wasm/wasmKernels';

/** Kernel-thread jobs run so far on the WASM heap (0 without threads). */
const jobs = () =>
  kernelThreadsOf((tf.backend() as unknown as { wasm: EmscriptenHeap }).wasm)?.stats.jobs ?? 0;

/** The WASM runs: one thread, and two threads with and without every 3×3 conv as Winograd. */
/** `allWinograd`: every 3×3 stride-1 convolution as Winograd in that tiling (F(2×2, 3×3) or F(4×4, 3×3)). */
const wasmVariants: { allWinograd?: 2 | 4; threads: number }[] = [
  { threads: 1 },
  { threads: 2 },
  { allWinograd: 2, threads: 2 },
  { allWinograd: 4, threads: 2 },
];

const root = path.resolve(__dirname, '../../..');
const refDir = path.join(root, 'test/fixtures/grads');

interface RefParam {
  name: string;
  shape: number[];
  weightL2: number;
  l2: number;
  maxAbs: number;
  meanAbs: number;
  sample: { index: number[]; value: number[] };
}
interface Ref {
  model: string;
  input: string;
  /** Graph input name → .npy file, for models with several inputs (else `input` feeds the first). */
  inputs?: Record<string, string>;
  loss: { kind: 'mean-square'; value: number };
  params: RefParam[];
}

const refs = fs
  .readdirSync(refDir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => ({ file: f, ref: JSON.parse(fs.readFileSync(path.join(refDir, f), 'utf8')) as Ref }));

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-30);

/** Loads model, executor and the reference batch (every input, ids as int32). */
async function load(ref: Ref) {
  const model = await openModel(path.join(root, ref.model));
  const ex = new Executor(model);
  const files = ref.inputs ?? { [model.graph.inputs[0]]: ref.input };
  const feeds: Record<string, tf.Tensor> = {};
  for (const [name, file] of Object.entries(files)) {
    const x = readNpy(path.join(root, file));
    feeds[name] = tf.tensor(x.data, x.shape, x.dtype);
  }
  return { model, ex, feeds };
}

/**
 * A fixture by name: with its reference batch, or (graphs checked against onnxruntime and finite
 * differences only, e.g. the opset-20 op graph) with a smooth deterministic batch of 2.
 */
async function loadByName(name: string) {
  const ref = refs.find((r) => r.file === `${name}.json`)?.ref;
  if (ref) return load(ref);
  const model = await openModel(path.join(refDir, `${name}.onnx`));
  const v = model.graph.values.get(model.graph.inputs[0])!;
  const shape = v.shape!.map((d) => (typeof d === 'number' ? d : 2));
  const n = shape.reduce((a, b) => a * b, 1);
  const x = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.71) + 0.05 * i - 0.4);
  return { model, ex: new Executor(model), feeds: { [model.graph.inputs[0]]: tf.tensor(x, shape) } };
}

/** Full gradients of the mean-square loss w.r.t. every parameter (name → values). */
async function fullGrads(ex: Executor, feeds: Record<string, tf.Tensor>): Promise<Map<string, Float32Array>> {
  const loss = makeLoss('mean-square', {}, ex.model.file);
  const names = ex.params.map((p) => p.name);
  const f = (...ps: tf.Tensor[]) =>
    loss(ex.run(feeds, {}, new Map(names.map((n, i) => [n, ps[i]]))).map((v) => v.nat()));
  const { value, grads } = tf.valueAndGrads(f)(ex.params.map((p) => p.tensor));
  // Read asynchronously: a GPU cannot be read back synchronously.
  const values = await Promise.all(grads.map((g) => g.data()));
  const out = new Map(names.map((n, i) => [n, values[i] as Float32Array]));
  tf.dispose([value, ...grads]);
  return out;
}

describe('probe gradients vs PyTorch float64', () => {
  it('has references for every probe-ready fixture and the tiny graphs', () => {
    const models = refs.map((r) => r.ref.model);
    for (const m of ['resnet18', 'unet', 'densenet', 'mobilenetv2', 'se_resnet', 'transformer', 'tiny_conv'])
      assert.ok(
        models.some((x) => x.includes(m)),
        `no reference for ${m}`,
      );
  });

  for (const backend of testBackends)
    describe(`on ${backend}`, () => {
      before(async function () {
        await useBackend(this, backend);
      });
      after(async () => {
        await initBackend('wasm');
      });

      for (const { file, ref } of refs)
        // Winograd convolutions and kernel threads exist on the WASM heap only.
        for (const { allWinograd, threads } of backend === 'wasm' ? wasmVariants : [{ threads: 1 }])
          it(`${file}: every parameter within 1e-3 relative (L2, max, mean, sampled elements)${allWinograd ? `, every 3×3 stride-1 conv as Winograd F(${allWinograd}×${allWinograd}, 3×3)` : ''}${backend === 'wasm' ? `, ${threads} thread${threads > 1 ? 's' : ''}` : ''}`, async function () {
            if (backend === 'wasm') {
              await initBackend('wasm', { threads });
              // Wait for the workers, so that every kernel call is cut into tasks from the first.
              const heap = (tf.backend() as unknown as { wasm: EmscriptenHeap }).wasm;
              assert.equal(await setKernelThreads(heap, threads), threads);
            }
            const { ex, feeds } = await load(ref);
            const runsBefore = winograd.winogradRuns;
            const runs4Before = winograd.winograd4Runs;
            const groupedBefore = groupedConvRuns.backward;
            const jobsBefore = jobs();
            // Small fixtures have too few output tiles for the Winograd path: send all that fit through it.
            const savedWinograd = { ...winograd.winogradSettings };
            if (allWinograd)
              Object.assign(winograd.winogradSettings, {
                minTiles: 1,
                minWeightGradTiles: 1,
                ...(allWinograd === 2
                  ? { minTiles4: Infinity }
                  : { minTiles4: 1, maxProducts4: Infinity, minWeightGradTiles4: 1 }),
              });
            const savedTasks = { ...taskSettings };
            if (threads > 1)
              Object.assign(taskSettings, {
                minGemmWork: 0,
                minTaskWork: 1,
                minTaskDim: 1,
                minSliceTiles: 1,
                minCopyBytes: 0,
                minTaskBytes: 1,
              });
            try {
              await checkAgainst(ref, ex, feeds);
              if (threads > 1) assert.ok(jobs() > jobsBefore, 'no kernel ran on the threads');
              // Its grouped convolutions run as one product per group on the WASM heap, not split.
              if (backend === 'wasm' && file === 'tiny_conv.json')
                assert.ok(
                  groupedConvRuns.backward > groupedBefore,
                  'no grouped convolution ran on the own kernels',
                );
              if (allWinograd && winograd.winogradRuns === runsBefore) this.skip(); // no conv fits: same as above
              // Every Winograd convolution's forward pass and input gradient took F(4×4, 3×3).
              if (allWinograd === 4) assert.ok(winograd.winograd4Runs > runs4Before, 'no F(4×4, 3×3) ran');
              if (allWinograd === 2) assert.equal(winograd.winograd4Runs, runs4Before, 'an F(4×4, 3×3) ran');
            } finally {
              Object.assign(winograd.winogradSettings, savedWinograd);
              Object.assign(taskSettings, savedTasks);
              tf.dispose(Object.values(feeds));
              ex.dispose();
            }
          });
    });
});

/** Asserts that the executor's gradients on `feeds` match the float64 reference `ref`. */
async function checkAgainst(ref: Ref, ex: Executor, feeds: Record<string, tf.Tensor>): Promise<void> {
  const byName = new Map(ex.params.map((p) => [p.name, p]));
  // Stale references would compare different weights: the weight norms must agree first.
  for (const p of ref.params) {
    const mine = byName.get(p.name);
    assert.ok(mine, `parameter ${p.name} is not an executor parameter`);
    const sq = tf.tidy(() => tf.sum(tf.square(mine.tensor)));
    const wl2 = Math.sqrt((await sq.data())[0]);
    sq.dispose();
    assert.ok(
      rel(wl2, p.weightL2) < 1e-5,
      `${p.name}: weights differ from the reference (rerun scripts/make_grad_refs.py)`,
    );
  }
  // On a GPU any validation or memory error of the pass fails the test (gpuGuard).
  const stats = await guardGpu({ file: ref.model, step: 'the pass', batchSize: 1 }, () =>
    gradPass(ex, feeds, makeLoss('mean-square', {}, ex.model.file), []),
  );
  assert.ok(rel(stats.loss, ref.loss.value) < 1e-4, `loss ${stats.loss} vs ${ref.loss.value}`);
  const grads = await fullGrads(ex, feeds);
  const scale = Math.max(...ref.params.map((p) => p.l2));
  let checked = 0;
  ex.params.forEach((p, i) => {
    const r = ref.params.find((q) => q.name === p.name);
    if (!r || r.l2 < 1e-10 * scale) return; // |g| tiny: float32 noise dominates
    const s = stats.params[i];
    const l2 = Math.sqrt(s.sumSq);
    assert.ok(rel(l2, r.l2) <= 1e-3, `${p.name}: grad L2 ${l2} vs ${r.l2}`);
    assert.ok(rel(s.maxAbs, r.maxAbs) <= 1e-3, `${p.name}: max |g| ${s.maxAbs} vs ${r.maxAbs}`);
    assert.ok(rel(s.sumAbs / s.size, r.meanAbs) <= 1e-3, `${p.name}: mean |g| vs ${r.meanAbs}`);
    const g = grads.get(p.name)!;
    r.sample.index.forEach((idx, k) => {
      const want = r.sample.value[k];
      if (Math.abs(want) < 1e-3 * r.maxAbs) return;
      assert.ok(rel(g[idx], want) <= 1e-3, `${p.name}[${idx}]: ${g[idx]} vs ${want}`);
    });
    checked++;
  });
  assert.ok(checked >= ref.params.length * 0.8, `only ${checked}/${ref.params.length} parameters compared`);
}

describe('probe gradients vs finite differences', () => {
  for (const backend of testBackends) {
    for (const name of ['tiny_conv', 'tiny_seq', 'tiny_pool_more', 'tiny_xformer_ops']) {
      it(`${name} on ${backend}: central differences agree with autodiff`, async function () {
        await useBackend(this, backend);
        const { ex, feeds } = await loadByName(name);
        try {
          const loss = makeLoss('mean-square', {}, ex.model.file);
          const grads = await fullGrads(ex, feeds);
          const lossAt = async (pm: Map<string, tf.Tensor>) => {
            const l = tf.tidy(() => loss(ex.run(feeds, {}, pm).map((v) => v.nat())));
            const v = (await l.data())[0];
            l.dispose();
            return v;
          };
          let compared = 0;
          for (const p of ex.params) {
            const base = (await p.tensor.data()) as Float32Array;
            const g = grads.get(p.name)!;
            // The element with the largest gradient, where float32 differences are meaningful.
            let idx = 0;
            g.forEach((v, i) => (Math.abs(v) > Math.abs(g[idx]) ? (idx = i) : 0));
            if (Math.abs(g[idx]) < 1e-4) continue;
            const h = 1e-2 * Math.max(1, Math.abs(base[idx]));
            const at = async (delta: number) => {
              const v = Float32Array.from(base);
              v[idx] += delta;
              const t = tf.tensor(v, p.tensor.shape);
              const pm = new Map(ex.params.map((q) => [q.name, q === p ? t : q.tensor]));
              const l = await lossAt(pm);
              t.dispose();
              return l;
            };
            const fd = ((await at(h)) - (await at(-h))) / (2 * h);
            assert.ok(
              Math.abs(fd - g[idx]) <= 2e-2 * Math.abs(g[idx]) + 1e-5,
              `${p.name}[${idx}]: fd ${fd} vs ${g[idx]}`,
            );
            compared++;
          }
          assert.ok(compared >= 4, `only ${compared} parameters had measurable gradients`);
        } finally {
          ex.dispose();
          await initBackend('wasm');
        }
      });
    }
  }

  it('names the input when NaN reaches the loss', async () => {
    await initBackend('wasm');
    const ref = refs.find((r) => r.file === 'tiny_conv.json')!.ref;
    const { ex, model } = await load(ref);
    try {
      const x = tf.fill([1, 3, 16, 16], NaN);
      await assert.rejects(
        gradPass(ex, { [model.graph.inputs[0]]: x }, makeLoss('mean-square', {}, model.file), []),
        (e: unknown) => isModelError(e) && /NaN/.test(e.message) && e.message.includes('"input"'),
      );
      x.dispose();
    } finally {
      ex.dispose();
    }
  });
});

describe('probe input gradients vs finite differences (pooling and Resize variants)', () => {
  // No parameters in these graphs (cubic Resize modes, LpPool p=3 / SAME_UPPER / 1-D, dilated 1-D
  // MaxPool, GlobalLpPool; dilated AveragePool with pads, count_include_pad, ceil_mode, 1-D):
  // differentiate w.r.t. the input instead.
  for (const fixture of ['tiny_pool_resize_variants', 'tiny_avgpool_opset19'])
    for (const backend of testBackends) {
      const file = path.join(root, `test/fixtures/grads/${fixture}.onnx`);
      it(`${fixture} on ${backend}: central differences agree with autodiff at the largest and spread input gradients`, async function () {
        await useBackend(this, backend);
        const model = await openModel(file);
        const ex = new Executor(model);
        try {
          const name = model.graph.inputs[0];
          const shape = [2, 3, 7, 9];
          const n = shape.reduce((a, b) => a * b, 1);
          // Distinct values, so that no max-pool window changes its maximum within the step.
          const base = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) + 0.01 * i);
          const loss = makeLoss('mean-square', {}, model.file);
          const f = (x: tf.Tensor) => loss(ex.run({ [name]: x }, {}, new Map()).map((v) => v.nat()));
          const x0 = tf.tensor(base, shape);
          const gT = tf.grad(f)(x0);
          const g = (await gT.data()) as Float32Array;
          tf.dispose([x0, gT]);
          const at = async (idx: number, delta: number) => {
            const v = Float64Array.from(base);
            v[idx] += delta;
            const t = tf.tensor(Float32Array.from(v), shape);
            const lt = tf.tidy(() => f(t));
            const l = (await lt.data())[0];
            tf.dispose([t, lt]);
            return l;
          };
          // The largest gradients, plus elements spread over the whole input (every output's region).
          const top = [...g.keys()].sort((a, b) => Math.abs(g[b]) - Math.abs(g[a])).slice(0, 8);
          const order = [...top, ...Array.from({ length: 16 }, (_, i) => Math.floor(((i + 0.5) * n) / 16))];
          const h = 1e-2;
          for (const idx of order) {
            const fd = ((await at(idx, h)) - (await at(idx, -h))) / (2 * h);
            assert.ok(
              Math.abs(fd - g[idx]) <= 2e-2 * Math.abs(g[idx]) + 1e-4,
              `input[${idx}]: fd ${fd} vs ${g[idx]}`,
            );
          }
          assert.ok(Math.abs(g[top[0]]) > 1e-3, 'gradients too small to compare');
        } finally {
          ex.dispose();
          await initBackend('wasm');
        }
      });
    }
});
