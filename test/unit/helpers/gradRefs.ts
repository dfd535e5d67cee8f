/**
 * PyTorch float64 gradient references (test/fixtures/grads/*.json, written by
 * scripts/make_grad_refs.py) and the comparisons the probe tests make against them.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { openModel } from '../../../runtime/analysis/openModel';
import { Executor } from '../../../runtime/probe/executor';
import { gradPass } from '../../../runtime/probe/gradPass';
import { guardGpu } from '../../../runtime/probe/webgpu/gpuGuard';
import { makeLoss } from '../../../runtime/probe/losses';
import { readNpy } from '../../../runtime/probe/npy';

/** The repository root. */
export const root = path.resolve(__dirname, '../../..');

/** One parameter's reference: norms and a fixed sample of elements. */
export interface RefParam {
  name: string;
  shape: number[];
  weightL2: number;
  l2: number;
  maxAbs: number;
  meanAbs: number;
  sample: { index: number[]; value: number[] };
}

/** One fixture's reference: the model, its input batch, the loss and every parameter. */
export interface GradRef {
  model: string;
  input: string;
  loss: { kind: 'mean-square'; value: number };
  params: RefParam[];
}

/** Reads test/fixtures/grads/NAME.json. */
export function readRef(name: string): GradRef {
  return JSON.parse(
    fs.readFileSync(path.join(root, 'test/fixtures/grads', `${name}.json`), 'utf8'),
  ) as GradRef;
}

/** Relative difference of `a` from `b`. */
export const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-30);

/** Opens the reference's model on the current backend with its input batch as feeds. */
export async function loadRef(ref: GradRef) {
  const model = await openModel(path.join(root, ref.model));
  const ex = new Executor(model);
  const x = readNpy(path.join(root, ref.input));
  return { model, ex, feeds: { [model.graph.inputs[0]]: tf.tensor(x.data, x.shape) } };
}

/** Full gradients of the mean-square loss w.r.t. every parameter (name → values). */
export async function fullGrads(
  ex: Executor,
  feeds: Record<string, tf.Tensor>,
): Promise<Map<string, Float32Array>> {
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

/**
 * Runs the probe's gradient pass and full gradients on the current backend and asserts that the
 * loss agrees to 1e-4 and every parameter's gradient L2, max, mean and sampled elements to `tol`
 * (relative) with the reference. Returns the largest relative error seen (L2, max, mean, elements).
 */
export async function assertMatchesRef(
  ex: Executor,
  feeds: Record<string, tf.Tensor>,
  ref: GradRef,
  tol = 1e-3,
): Promise<number> {
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
  let worst = 0;
  const check = (what: string, got: number, want: number) => {
    const e = rel(got, want);
    worst = Math.max(worst, e);
    assert.ok(e <= tol, `${what}: ${got} vs ${want}`);
  };
  ex.params.forEach((p, i) => {
    const r = ref.params.find((q) => q.name === p.name);
    if (!r || r.l2 < 1e-10 * scale) return; // |g| tiny: float32 noise dominates
    const s = stats.params[i];
    check(`${p.name}: grad L2`, Math.sqrt(s.sumSq), r.l2);
    check(`${p.name}: max |g|`, s.maxAbs, r.maxAbs);
    check(`${p.name}: mean |g|`, s.sumAbs / s.size, r.meanAbs);
    const g = grads.get(p.name)!;
    r.sample.index.forEach((idx, k) => {
      const want = r.sample.value[k];
      if (Math.abs(want) >= 1e-3 * r.maxAbs) check(`${p.name}[${idx}]`, g[idx], want);
    });
    checked++;
  });
  assert.ok(checked >= ref.params.length * 0.8, `only ${checked}/${ref.params.length} parameters compared`);
  return worst;
}
