/**
 * One forward + backward pass with every probe attached: gradients of the loss with respect to
 * every parameter (tf.valueAndGrads), and — through identity taps whose gradient functions
 * measure the gradient flowing by — at every node output and along chosen skip edges. All in a
 * single backward pass; only scalars leave the pass.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ModelError } from '../errors';
import { edgeKey, type Executor, type Hooks } from './executor';
import { PassRecorder } from './passRecorder';
import type { Direction } from './probeTypes';
import type { Moments } from './statsKernels';
import { nonFiniteOrigin, passHasNonFinite, type NonFiniteOrigin } from './nonFinite';
import { firstUndifferentiable } from './gradientGuard';

/** A skip to measure: the gradient reaching `source` through the skip edge versus the rest. */
export interface SkipTap {
  merge: string;
  source: string;
  /** Index (executor node index) of the node through which the skip leaves the source. */
  skipNode: number;
}

/** Raw numbers of one pass (float64, exact over float32's range: see statsKernels.ts). */
export interface PassStats {
  /** The loss; NaN or ±Infinity when it is not finite (then `nonFinite` says where that began). */
  loss: number;
  /** Per executor param, in order: the moments and size of its gradient. */
  params: (Moments & { size: number })[];
  /** Per hooked value (node output), in the order the gradients arrived: moments and size of its gradient. */
  activations: Map<string, Moments & { size: number }>;
  /** Per SkipTap, in order: sum of squares of the skip-path and branch-path gradients at the source. */
  skips: { skipSq: number; branchSq: number; size: number }[];
  /** Per recurrent node and direction: sum of squares of the gradient at each step's hidden state. */
  timesteps?: { node: string; direction: Direction; sumSq: number[] }[];
  /** Where NaN or Infinity first appeared, when the loss or a gradient holds one. */
  nonFinite?: NonFiniteOrigin;
}

/** A loss: outputs (ONNX layout) → scalar. */
export type LossFn = (outputs: tf.Tensor[]) => tf.Scalar;

/** Identity whose gradient function reports the gradient passing through. */
export function tap(t: tf.Tensor, onGrad: (dy: tf.Tensor) => void): tf.Tensor {
  const f = tf.customGrad(((x: tf.Tensor) => ({
    value: tf.clone(x),
    gradFunc: (dy: tf.Tensor | tf.Tensor[]) => {
      const d = Array.isArray(dy) ? dy[0] : dy;
      onGrad(d);
      return d;
    },
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(t) as tf.Tensor;
}

/**
 * Runs one pass. `feeds` are the batch's graph inputs (ONNX layout); `skips` the skips to split;
 * `zero` the merge inputs read as zeros (cut skips: node index → input slots). When the loss or a
 * gradient holds NaN or Infinity the stats say where that began (`nonFinite`); a batch that holds
 * them itself is bad input (ModelError).
 */
export async function gradPass(
  ex: Executor,
  feeds: Record<string, tf.Tensor>,
  loss: LossFn,
  skips: SkipTap[],
  zero?: Map<number, Set<number>>,
): Promise<PassStats> {
  const pass = startGradPass(ex, feeds, loss, skips, zero);
  try {
    return await pass.read();
  } finally {
    pass.dispose();
  }
}

/** A pass run, its statistics not yet read: they may still be computing on the kernel threads. */
export interface RunPass {
  /**
   * The statistics, once every kernel call they wait for is done (waited for here unless the
   * `between` of a later pass settled them). `feeds` must still be alive: a batch holding NaN or
   * Infinity is checked for it then.
   */
  read(): Promise<PassStats>;
  /** Waits for the pass's queued kernel calls (and any queued since): read() then waits for nothing. */
  settle(): void;
  /** Frees what the pass kept (its weight gradients, the recorder's scalars). */
  dispose(): void;
}

/**
 * gradPass up to its reading: the forward and backward passes run, and the handle reads their
 * statistics later. Where more than one kernel thread runs, the weight gradients and the
 * statistics of the backward pass are queued for the workers (wasm/queuedTensors.ts), which go on
 * with them while the caller starts the next batch: its forward pass leaves the workers idle for
 * much of its time. The next pass passes `between` (run after its forward pass, before its
 * backward one) to settle this one's queue, so that this one reads without waiting and the next
 * backward pass queues onto an empty queue. The weight gradients are kept until dispose: freeing
 * one still being written would wait for the queue.
 */
export function startGradPass(
  ex: Executor,
  feeds: Record<string, tf.Tensor>,
  loss: LossFn,
  skips: SkipTap[],
  zero?: Map<number, Set<number>>,
  between?: () => void,
): RunPass {
  const rec = new PassRecorder(skips.length);
  const skipEdge = new Map<string, tf.Tensor>();
  const bySource = new Map<string, number[]>();
  skips.forEach((s, i) => bySource.set(s.source, [...(bySource.get(s.source) ?? []), i]));
  const inputNames = new Set(ex.model.graph.inputs);
  const tapped = new Set(skips.map((s) => s.source).filter((s) => inputNames.has(s)));
  // Without parameters the run differentiates with respect to the batch itself: the gradients at
  // the node outputs and at the inputs are still there to measure.
  if (ex.params.length === 0) {
    for (const name of ex.model.graph.inputs) if (feeds[name]?.dtype === 'float32') tapped.add(name);
    if (tapped.size === 0)
      throw new ModelError(
        `${ex.model.file}: the model has no parameters and no floating-point input, so there is no gradient to measure.`,
        ex.model.file,
      );
  }

  const hooks: Hooks = {
    edges: new Set(skips.map((s) => edgeKey(s.source, s.skipNode))),
    inputs: tapped,
    zero,
    value: (name, t) =>
      tap(t, (dy) => {
        rec.activation(name, dy);
        for (const i of bySource.get(name) ?? []) {
          const sk = skipEdge.get(edgeKey(name, skips[i].skipNode));
          // A skip edge that carried no gradient (a cut skip) leaves the whole total to the branch.
          if (!sk) rec.skip(i, tf.zerosLike(dy), dy);
          else rec.skip(i, sk, dy);
        }
      }),
    timestep: (node, direction, t, h) => {
      rec.step(node, direction, t);
      return tap(h, (dy) => rec.timestep(node, direction, t, dy));
    },
    edge: (value, node, t) =>
      tap(t, (dy) => {
        const k = edgeKey(value, node);
        skipEdge.get(k)?.dispose();
        skipEdge.set(k, tf.keep(tf.clone(dy)));
      }),
  };

  const names = ex.params.map((p) => p.name);
  const inputsToTap = [...hooks.inputs!];
  const f = (...args: tf.Tensor[]): tf.Scalar => {
    const pm = new Map(names.map((n, i) => [n, args[i]]));
    const fd = { ...feeds };
    inputsToTap.forEach((n, i) => (fd[n] = args[names.length + i]));
    const outs = ex.run(fd, hooks, pm).map((v) => v.nat());
    const l = loss(outs);
    // Refuse before the backward pass starts rather than fail inside it.
    const bad = firstUndifferentiable(args, l);
    if (bad) {
      const node = ex.nodeAtTape(bad.index);
      const where = node ? `node "${node.name}" (${node.op})` : 'the loss';
      throw new ModelError(
        `${ex.model.file}: ${where} runs the TF.js kernel ${bad.kernel}, which has no gradient, so no gradient can flow back through it.`,
        ex.model.file,
      );
    }
    between?.();
    return l;
  };
  let lossT: tf.Tensor | undefined;
  const kept: tf.Tensor[] = [];
  // The weight gradients and the skip edges' gradients, once their statistics are done: a pass
  // waiting to be read keeps only scalars, so that it adds no weight-sized copy to the next one.
  const freeTensors = () => {
    tf.dispose(kept.splice(0));
    for (const t of skipEdge.values()) t.dispose();
    skipEdge.clear();
  };
  const free = () => {
    lossT?.dispose();
    freeTensors();
  };
  try {
    tf.tidy(() => {
      const args = [...ex.params.map((p) => p.tensor), ...inputsToTap.map((n) => feeds[n])];
      const { value, grads } = tf.valueAndGrads(f)(args);
      lossT = tf.keep(value);
      ex.params.forEach((p, i) => {
        const g = grads[i] ? tf.keep(grads[i]) : tf.zerosLike(p.tensor);
        if (grads[i]) kept.push(g);
        rec.param(g);
      });
    });
  } catch (e) {
    try {
      rec.dispose();
    } finally {
      free();
    }
    throw e;
  }
  return {
    async read() {
      // Every read is awaited: on a GPU nothing can be read back synchronously.
      const lossValue = (await lossT!.data())[0];
      const stats = await rec.read(lossValue);
      if (passHasNonFinite(stats)) {
        await checkFiniteInputs(ex.model.file, feeds);
        stats.nonFinite = nonFiniteOrigin(ex, stats, await firstNonFiniteNode(ex, feeds));
      }
      return stats;
    },
    settle() {
      rec.settle();
      freeTensors();
    },
    dispose() {
      try {
        rec.dispose();
      } finally {
        free();
      }
    },
  };
}

/** Throws when an input of the batch holds NaN or Inf: bad data, not the model's arithmetic. */
export async function checkFiniteInputs(file: string, feeds: Record<string, tf.Tensor>): Promise<void> {
  const inputs = Object.entries(feeds).filter(([, t]) => t.dtype === 'float32');
  const flags = inputs.map(([, t]) => tf.tidy(() => tf.all(tf.isFinite(t))));
  const ok = await readFlags(flags);
  tf.dispose(flags);
  const bad = inputs.findIndex((_, i) => !ok[i]);
  if (bad >= 0)
    throw new ModelError(`${file}: input "${inputs[bad][0]}" of the batch contains NaN or Inf.`, file);
}

/** Reads scalar flags (booleans) in one transfer: awaited, as a GPU cannot be read synchronously. */
export async function readFlags(flags: tf.Tensor[]): Promise<ArrayLike<number>> {
  if (flags.length === 0) return [];
  const all = tf.tidy(() => tf.stack(flags.map((f) => tf.cast(f, 'int32'))));
  try {
    return await all.data();
  } finally {
    all.dispose();
  }
}

/** The first node (in graph order) whose output holds NaN or Inf in the forward pass, if any. */
async function firstNonFiniteNode(
  ex: Executor,
  feeds: Record<string, tf.Tensor>,
): Promise<{ name: string; op: string } | undefined> {
  const flags: { name: string; ok: tf.Tensor }[] = [];
  tf.tidy(() => {
    ex.run(feeds, {
      value: (name, t) => {
        if (t.dtype === 'float32') flags.push({ name, ok: tf.keep(tf.all(tf.isFinite(t))) });
        return t;
      },
    });
  });
  const ok = await readFlags(flags.map((f) => f.ok));
  tf.dispose(flags.map((f) => f.ok));
  const first = flags.find((_, i) => !ok[i])?.name;
  const node = first ? ex.nodes.find((n) => n.outputs.includes(first!)) : undefined;
  return node && { name: node.name, op: node.op };
}
