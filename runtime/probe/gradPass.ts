/**
 * One forward + backward pass with every probe attached: gradients of the loss with respect to
 * every parameter (tf.valueAndGrads), and — through identity taps whose gradient functions
 * measure the gradient flowing by — at every node output and along chosen skip edges. All in a
 * single backward pass; only scalars leave the pass.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ModelError } from '../errors';
import { edgeKey, type Executor, type Hooks } from './executor';

/** A skip to measure: the gradient reaching `source` through the skip edge versus the rest. */
export interface SkipTap {
  merge: string;
  source: string;
  /** Index (executor node index) of the node through which the skip leaves the source. */
  skipNode: number;
}

/** Raw numbers of one pass. */
export interface PassStats {
  loss: number;
  /** Per executor param, in order. */
  params: { sumSq: number; maxAbs: number; sumAbs: number; size: number; finite: boolean }[];
  /** Per hooked value (node output): sum of squares, exact zeros and size of its gradient. */
  activations: Map<string, { sumSq: number; zeros: number; size: number }>;
  /** Per SkipTap, in order: sum of squares of the skip-path and branch-path gradients at the source. */
  skips: { skipSq: number; branchSq: number; size: number }[];
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
 * Runs one pass. `feeds` are the batch's graph inputs (ONNX layout); `skips` the skips to split.
 * Throws ModelError when the loss is not finite, naming the first node whose output is not.
 */
export function gradPass(
  ex: Executor,
  feeds: Record<string, tf.Tensor>,
  loss: LossFn,
  skips: SkipTap[],
): PassStats {
  const scalars: tf.Tensor[] = [];
  const keepScalar = (t: tf.Tensor) => {
    scalars.push(tf.keep(t));
    return scalars.length - 1;
  };
  const actIdx = new Map<string, { sumSq: number; zeros: number; size: number }>();
  const skipEdge = new Map<string, tf.Tensor>();
  const skipIdx: { skipSq: number; branchSq: number; size: number }[] = skips.map(() => ({
    skipSq: -1,
    branchSq: -1,
    size: 0,
  }));
  const bySource = new Map<string, number[]>();
  skips.forEach((s, i) => bySource.set(s.source, [...(bySource.get(s.source) ?? []), i]));
  const inputNames = new Set(ex.model.graph.inputs);

  const hooks: Hooks = {
    edges: new Set(skips.map((s) => edgeKey(s.source, s.skipNode))),
    inputs: new Set(skips.map((s) => s.source).filter((s) => inputNames.has(s))),
    value: (name, t) =>
      tap(t, (dy) => {
        actIdx.set(name, {
          sumSq: keepScalar(tf.sum(tf.square(dy))),
          // size − Σ step(|g|): WASM's unary kernels beat its broadcasting Equal.
          zeros: keepScalar(tf.sub(dy.size, tf.sum(tf.step(tf.abs(dy))))),
          size: dy.size,
        });
        for (const i of bySource.get(name) ?? []) {
          const sk = skipEdge.get(edgeKey(name, skips[i].skipNode));
          if (!sk) continue; // the skip edge carried no gradient
          skipIdx[i] = {
            skipSq: keepScalar(tf.sum(tf.square(sk))),
            branchSq: keepScalar(tf.sum(tf.square(tf.sub(dy, sk)))),
            size: dy.size,
          };
        }
      }),
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
    return loss(outs);
  };
  let lossValue = 0;
  const paramIdx: { sumSq: number; maxAbs: number; sumAbs: number; size: number }[] = [];
  try {
    tf.tidy(() => {
      const args = [...ex.params.map((p) => p.tensor), ...inputsToTap.map((n) => feeds[n])];
      const { value, grads } = tf.valueAndGrads(f)(args);
      lossValue = value.dataSync()[0];
      if (!Number.isFinite(lossValue)) return;
      ex.params.forEach((p, i) => {
        const g = grads[i] ?? tf.zerosLike(p.tensor);
        paramIdx.push({
          sumSq: keepScalar(tf.sum(tf.square(g))),
          maxAbs: keepScalar(tf.max(tf.abs(g))),
          sumAbs: keepScalar(tf.sum(tf.abs(g))),
          size: g.size,
        });
      });
    });
    if (!Number.isFinite(lossValue)) throw nonFiniteError(ex, feeds, lossValue);
    const vals = scalars.length
      ? tf.tidy(() => tf.stack(scalars.map((s) => tf.reshape(s, [])))).dataSync()
      : new Float32Array();
    const at = (i: number) => (i >= 0 ? vals[i] : 0);
    return {
      loss: lossValue,
      params: paramIdx.map((p) => ({
        sumSq: at(p.sumSq),
        maxAbs: at(p.maxAbs),
        sumAbs: at(p.sumAbs),
        size: p.size,
        finite: Number.isFinite(at(p.sumSq)),
      })),
      activations: new Map(
        [...actIdx].map(([k, v]) => [k, { sumSq: at(v.sumSq), zeros: at(v.zeros), size: v.size }]),
      ),
      skips: skipIdx.map((s) => ({ skipSq: at(s.skipSq), branchSq: at(s.branchSq), size: s.size })),
    };
  } finally {
    for (const s of scalars) s.dispose();
    for (const t of skipEdge.values()) t.dispose();
  }
}

/** Finds where non-finite values first appear and says so in one sentence. */
function nonFiniteError(ex: Executor, feeds: Record<string, tf.Tensor>, loss: number): ModelError {
  const file = ex.model.file;
  for (const [name, t] of Object.entries(feeds)) {
    if (t.dtype === 'float32' && !tf.tidy(() => tf.all(tf.isFinite(t)).dataSync()[0]))
      return new ModelError(
        `${file}: the loss is ${loss} because input "${name}" of the batch contains NaN or Inf.`,
        file,
      );
  }
  let first: string | undefined;
  tf.tidy(() => {
    ex.run(feeds, {
      value: (name, t) => {
        if (!first && t.dtype === 'float32' && !tf.all(tf.isFinite(t)).dataSync()[0]) first = name;
        return t;
      },
    });
  });
  const node = first ? ex.nodes.find((n) => n.outputs.includes(first!)) : undefined;
  return new ModelError(
    node
      ? `${file}: the loss is ${loss}: node "${node.name}" (${node.op}) is the first to produce NaN or Inf.`
      : `${file}: the loss is ${loss} (every node output is finite; the loss itself overflowed).`,
    file,
  );
}
