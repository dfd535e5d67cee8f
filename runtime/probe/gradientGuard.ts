/**
 * The guard against a backward pass that cannot run: before TF.js walks its gradient tape back,
 * every kernel recorded between the differentiated tensors and the loss must have a gradient
 * function. One that has none (TF.js would fail mid-backward with "gradient function not found")
 * is traced to the graph node that ran it, so that the probe refuses with one sentence naming the
 * node, its op and the kernel. Works on whatever the tape holds, so it needs no per-op table.
 */
import * as tf from '@tensorflow/tfjs-core';

/** The fields of a TF.js tape node that the guard reads. */
interface TapeNodeLike {
  kernelName: string;
  inputs: Record<string, tf.Tensor | undefined>;
  outputs: tf.Tensor[];
  gradient?: unknown;
}

/** The engine state behind tf.grads (tfjs-core 4.x). */
interface EngineState {
  activeTape?: TapeNodeLike[] | null;
  gradientDepth?: number;
}

function activeTape(): TapeNodeLike[] | undefined {
  const s = tf.engine().state as unknown as EngineState;
  return (s.gradientDepth ?? 0) > 0 && Array.isArray(s.activeTape) ? s.activeTape : undefined;
}

/** How many nodes the gradient tape holds now; undefined when no gradient is being recorded. */
export function tapeMark(): number | undefined {
  return activeTape()?.length;
}

/** A kernel on the path from `xs` to `y` that has no gradient function, and its place on the tape. */
export interface Undifferentiable {
  kernel: string;
  /** Index of its node on the tape (compare with tapeMark values). */
  index: number;
}

/**
 * The first kernel on the current tape that lies between any of `xs` and `y` and has no gradient
 * function (undefined when all have one, or when no tape is recording).
 */
export function firstUndifferentiable(xs: tf.Tensor[], y: tf.Tensor): Undifferentiable | undefined {
  const tape = activeTape();
  if (!tape) return undefined;
  const fromX = new Set(xs.map((x) => x.id));
  const onPath = new Array<boolean>(tape.length).fill(false);
  tape.forEach((node, i) => {
    if (Object.values(node.inputs).some((t) => t && fromX.has(t.id))) {
      onPath[i] = true;
      for (const o of node.outputs) fromX.add(o.id);
    }
  });
  const toY = new Set([y.id]);
  let first: number | undefined;
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i];
    if (!node.outputs.some((o) => toY.has(o.id))) continue;
    for (const t of Object.values(node.inputs)) if (t) toY.add(t.id);
    if (onPath[i] && node.gradient == null) first = i;
  }
  return first === undefined ? undefined : { kernel: tape[first].kernelName, index: first };
}
