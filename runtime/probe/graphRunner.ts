/**
 * Gradient probes for TF.js graph models, run through tfjs-converter's own executor
 * (loadGraphModel with a file IO handler). A graph model's weights are constants of its weight
 * map; the runner replaces every floating-point weight that the IR counts as a parameter by a
 * tf.Variable holding the same values, so tf.variableGrads differentiates the loss with respect
 * to them (names as in the weights manifest). The gradient at every node output is measured by
 * the same identity taps as the ONNX executor, placed on each node's outputs right after the
 * executor computes them (before any consumer reads them); a skip edge is split off by letting
 * its reader take the source under a name of its own.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfconv from '@tensorflow/tfjs-converter';
import type { Model } from '../model/ir';
import { ModelError, quotedCause } from '../errors';
import { analyzeSkips } from '../analysis/analyzeSkips';
import { checkFiniteInputs, readFlags, tap, type LossFn, type PassStats } from './gradPass';
import { PassRecorder } from './passRecorder';
import { nonFiniteOrigin, passHasNonFinite } from './nonFinite';
import { fileIoHandler } from './modelFiles';
import { inputVariables } from './inputVariables';

/** A loaded graph model with its parameters (as variables) and nodes in graph order. */
export interface GraphRunner {
  file: string;
  model: tfconv.GraphModel;
  params: { name: string; shape: number[]; node: string; tensor: tf.Variable }[];
  /** Nodes whose outputs are tapped (not constant), with their output value names. */
  nodes: { name: string; outputs: string[] }[];
  inputNames: string[];
  outputNames: string[];
}

/**
 * A skip to split in a graph model: the gradient reaching value `source` through input `input`
 * (position in the converter node's inputNames) of node `skipNode` versus the rest.
 */
export interface GraphSkipTap {
  merge: string;
  source: string;
  skipNode: string;
  input: number;
}

/** The executor internals the runner hooks into (tfjs-converter 4.x GraphExecutor). */
interface ExecutorInternals {
  weightMap: Record<string, tf.Tensor[]>;
  graph: { nodes: Record<string, { inputNames: string[] }> };
  checkTensorForDisposalWithNodeLiveUntilInfo(
    node: { name: string },
    tensorMap: Record<string, tf.Tensor[]>,
    ...rest: unknown[]
  ): void;
}

let variableSerial = 0;

function internals(m: tfconv.GraphModel): ExecutorInternals {
  const ex = (m as unknown as { executor?: ExecutorInternals }).executor;
  if (
    !ex ||
    typeof ex.checkTensorForDisposalWithNodeLiveUntilInfo !== 'function' ||
    !ex.weightMap ||
    !ex.graph?.nodes
  )
    throw new Error('this version of @tensorflow/tfjs-converter has no GraphExecutor hooks');
  return ex;
}

/** Loads `model.file` for probing; the IR says which weights are parameters and who reads them. */
export async function loadGraphRunner(ir: Model): Promise<GraphRunner> {
  const file = ir.file;
  let model: tfconv.GraphModel;
  try {
    model = await tfconv.loadGraphModel(fileIoHandler(file));
  } catch (e) {
    throw new ModelError(
      `${file}: TF.js cannot load this graph model for probing (${quotedCause(e)}).`,
      file,
    );
  }
  const ex = internals(model);
  const g = ir.graph;
  const weights = { ...ex.weightMap };
  const params: GraphRunner['params'] = [];
  for (const v of g.values.values()) {
    if (!v.initializer || v.shapeArith || v.consumers.length === 0) continue;
    const held = weights[v.name];
    if (held?.length !== 1 || held[0].dtype !== 'float32') continue;
    // A constant alias (Identity of a weight) passes it on: name the learned op that reads it.
    const readers = v.consumers.map((i) => g.nodes[i]);
    const node = readers.find((n) => !n.constant) ?? readers[0];
    const variable = tf.variable(held[0], true, `skipscope_graph_${variableSerial++}`);
    held[0].dispose();
    weights[v.name] = [variable];
    params.push({ name: v.name, shape: variable.shape, node: node.name, tensor: variable });
  }
  ex.weightMap = weights; // the setter also records the ids the executor must never dispose
  const nodes = g.nodes.filter((n) => !n.constant).map((n) => ({ name: n.name, outputs: n.outputs }));
  return { file, model, params, nodes, inputNames: g.inputs, outputNames: g.outputs };
}

/**
 * The skips of the IR analysis that can be split in the executor: the source is the output of a
 * tapped node (not a model input) read once by the first node of the skip side.
 */
export function graphSkipTaps(r: GraphRunner, ir: Model): GraphSkipTap[] {
  let analysis;
  try {
    analysis = analyzeSkips(ir);
  } catch {
    return []; // parameter and activation probes still run
  }
  const g = ir.graph;
  const byName = new Map(g.nodes.map((n) => [n.name, n]));
  const produced = new Set(r.nodes.flatMap((n) => n.outputs));
  const conv = internals(r.model).graph.nodes;
  const taps: GraphSkipTap[] = [];
  for (const s of analysis.skips) {
    if (!produced.has(s.source)) continue;
    const merge = byName.get(s.merge);
    const skipSide = s.skipNodes.map((n) => byName.get(n)).filter((n) => n !== undefined);
    const first =
      merge?.inputs[s.skipInput] === s.source ? merge : skipSide.find((n) => n.inputs.includes(s.source));
    const names = first ? conv[first.name]?.inputNames : undefined;
    if (!first || !names) continue;
    const same = (n: string) => n === s.source || n === `${s.source}:0`;
    const input = names.findIndex(same);
    if (input < 0 || names.slice(input + 1).some(same)) continue; // read twice: no single edge
    taps.push({ merge: s.merge, source: s.source, skipNode: first.name, input });
  }
  return taps;
}

/**
 * One forward + backward pass through the converter's executor with every probe attached;
 * `skips` are split. `inspect` sees each parameter's gradient tensor (disposed afterwards).
 */
export async function graphGradPass(
  r: GraphRunner,
  feeds: Record<string, tf.Tensor>,
  loss: LossFn,
  skips: GraphSkipTap[] = [],
  inspect?: (name: string, grad: tf.Tensor) => void,
): Promise<PassStats> {
  const rec = new PassRecorder(skips.length);
  const tapped = new Map(r.nodes.map((n) => [n.name, n.outputs]));
  const ex = internals(r.model);
  // Each skip edge reads the source under a name of its own, fed by an identity tap of the
  // source (so its gradient is seen apart), then the source's total arrives at the value tap.
  const skipEdge = new Map<number, tf.Tensor>();
  const edgeName = (i: number) => `${skips[i].source}/__skipscope_skip_edge_${i}`;
  const renamed = skips.map((s, i) => {
    const names = ex.graph.nodes[s.skipNode].inputNames;
    const before = names[s.input];
    names[s.input] = edgeName(i);
    return () => (names[s.input] = before);
  });
  const original = ex.checkTensorForDisposalWithNodeLiveUntilInfo;
  // Called right after each node ran, before anything reads its outputs from the map.
  ex.checkTensorForDisposalWithNodeLiveUntilInfo = function (node, tensorMap, ...rest) {
    const names = tapped.get(node.name);
    const outs = tensorMap[node.name];
    if (names && outs) {
      tensorMap[node.name] = outs.map((t, k) =>
        t && t.dtype === 'float32' && names[k]
          ? tap(t, (dy) => {
              rec.activation(names[k], dy);
              skips.forEach((s, i) => {
                const sk = s.source === names[k] ? skipEdge.get(i) : undefined;
                if (!sk) return; // not this value, or the skip edge carried no gradient
                rec.skip(i, sk, dy);
              });
            })
          : t,
      );
      skips.forEach((s, i) => {
        const k = names.indexOf(s.source);
        const t = k >= 0 ? tensorMap[node.name][k] : undefined;
        if (!t) return;
        tensorMap[edgeName(i)] = [
          tap(t, (dy) => {
            skipEdge.get(i)?.dispose();
            skipEdge.set(i, tf.keep(tf.clone(dy)));
          }),
        ];
      });
    }
    return original.call(this, node, tensorMap, ...rest);
  };
  try {
    const inputs: Record<string, tf.Tensor> = {};
    for (const n of r.inputNames) {
      if (!feeds[n]) throw new ModelError(`${r.file}: no data was given for model input "${n}".`, r.file);
      inputs[n] = feeds[n];
    }
    let lossT: tf.Tensor | undefined;
    const names = Object.keys(inputs);
    const byInput = r.params.length === 0 ? inputVariables(Object.values(inputs), r.file) : undefined;
    const fed = byInput ? Object.fromEntries(names.map((n, i) => [n, byInput.feeds[i]])) : inputs;
    try {
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(
          () => {
            let out: tf.Tensor | tf.Tensor[];
            try {
              out = r.model.execute(fed, r.outputNames);
            } catch (e) {
              if (e instanceof ModelError) throw e;
              throw new ModelError(
                `${r.file}: the graph model cannot run under gradient probes (${quotedCause(e)}).`,
                r.file,
              );
            }
            return loss(Array.isArray(out) ? out : [out]);
          },
          byInput?.vars ?? r.params.map((p) => p.tensor),
        );
        lossT = tf.keep(value);
        for (const p of r.params) {
          const g = grads[p.tensor.name] ?? tf.zerosLike(p.tensor);
          inspect?.(p.name, g);
          rec.param(g);
        }
        // Without parameters the inputs were the variables: their gradients are the inputs'.
        byInput?.vars.forEach((v, k) => {
          const g = grads[v.name];
          if (g) rec.activation(names[byInput.index[k]], g);
        });
      });
    } finally {
      byInput?.dispose();
    }
    // Awaited reads: a GPU cannot be read back synchronously.
    const lossValue = (await lossT!.data())[0];
    lossT!.dispose();
    const stats = await rec.read(lossValue);
    ex.checkTensorForDisposalWithNodeLiveUntilInfo = original;
    renamed.forEach((restore) => restore());
    if (passHasNonFinite(stats)) {
      await checkFiniteInputs(r.file, inputs);
      stats.nonFinite = nonFiniteOrigin(r, stats, await firstNonFiniteNode(r, inputs));
    }
    return stats;
  } finally {
    ex.checkTensorForDisposalWithNodeLiveUntilInfo = original;
    renamed.forEach((restore) => restore());
    rec.dispose();
    tf.dispose([...skipEdge.values()]);
  }
}

/** The first node (in execution order) whose output holds NaN or Inf in a forward pass, if any. */
async function firstNonFiniteNode(
  r: GraphRunner,
  inputs: Record<string, tf.Tensor>,
): Promise<{ name: string } | undefined> {
  const ex = internals(r.model);
  const original = ex.checkTensorForDisposalWithNodeLiveUntilInfo;
  const probed = new Set(r.nodes.map((n) => n.name));
  const flags: { name: string; ok: tf.Tensor }[] = [];
  ex.checkTensorForDisposalWithNodeLiveUntilInfo = function (node, tensorMap, ...rest) {
    if (probed.has(node.name))
      for (const t of tensorMap[node.name] ?? [])
        if (t && t.dtype === 'float32') flags.push({ name: node.name, ok: tf.keep(tf.all(tf.isFinite(t))) });
    return original.call(this, node, tensorMap, ...rest);
  };
  try {
    tf.tidy(() => {
      r.model.execute(inputs, r.outputNames);
    });
  } finally {
    ex.checkTensorForDisposalWithNodeLiveUntilInfo = original;
  }
  const ok = await readFlags(flags.map((f) => f.ok));
  tf.dispose(flags.map((f) => f.ok));
  const first = flags.find((_, i) => !ok[i])?.name;
  return first === undefined ? undefined : { name: first };
}

/**
 * The loss of `feeds` with some parameters replaced (for finite-difference checks): `values`
 * maps parameter names to tensors of the same shape.
 */
export async function graphLoss(
  r: GraphRunner,
  feeds: Record<string, tf.Tensor>,
  loss: LossFn,
  values: Record<string, tf.Tensor> = {},
): Promise<number> {
  const ex = internals(r.model);
  const saved = ex.weightMap;
  const swapped = { ...saved };
  for (const [k, t] of Object.entries(values)) swapped[k] = [t];
  ex.weightMap = swapped;
  let value: tf.Tensor;
  try {
    value = tf.tidy(() => {
      const out = r.model.execute(feeds, r.outputNames);
      return loss(Array.isArray(out) ? out : [out]);
    });
  } finally {
    ex.weightMap = saved;
  }
  try {
    return (await value.data())[0];
  } finally {
    value.dispose();
  }
}

/** Frees the model's weights (the variables included). */
export function disposeGraphRunner(r: GraphRunner): void {
  r.model.dispose();
}
