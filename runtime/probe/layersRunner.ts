/**
 * Gradient probes for TF.js layers models, run through their own layers (tf.loadLayersModel with
 * a file IO handler): parameter gradients by tf.variableGrads over the trainable weights (named
 * as in the weights manifest) and the gradient at every layer output through the same identity
 * taps as the ONNX executor, placed by wrapping each layer's call.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
// Layers call tensor methods (the orthogonal initializer, LSTM/GRU/SimpleRNN's default recurrent
// initializer, runs while a loaded model is built): tfjs-core alone does not attach them.
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
import { ModelError, quotedCause } from '../errors';
import type { Model } from '../model/ir';
import { analyzeSkips } from '../analysis/analyzeSkips';
import type { LossFn, PassStats } from './gradPass';
import { checkFiniteInputs, readFlags, tap } from './gradPass';
import { nonFiniteOrigin, passHasNonFinite } from './nonFinite';
import { PassRecorder } from './passRecorder';
import { fileIoHandler } from './modelFiles';
import { inputVariables } from './inputVariables';

/**
 * A skip to split in a layers model: the gradient reaching layer output `source` through input
 * `input` (among its data inputs) of layer `skipNode` (the merge itself, or the first layer of a
 * projection shortcut) versus the rest.
 */
export interface LayerSkipTap {
  merge: string;
  source: string;
  skipNode: string;
  input: number;
}

/** A loaded layers model with its parameters and layers in graph order. */
export interface LayersRunner {
  /** The model.json it was loaded from (named in errors). */
  file: string;
  model: tfl.LayersModel;
  params: { name: string; shape: number[]; node: string; tensor: tf.Tensor }[];
  nodes: { name: string; outputs: string[] }[];
  inputNames: string[];
}

/** Loads model.json and its weight shards from disk. */
async function load(file: string): Promise<tfl.LayersModel> {
  const handler = fileIoHandler(file);
  try {
    return await tfl.loadLayersModel(handler);
  } catch (e) {
    throw new ModelError(
      `${file}: TF.js cannot build this layers model for probing (${quotedCause(e)}).`,
      file,
    );
  }
}

/** Every layer, nested models flattened, in order. */
function allLayers(layers: tfl.layers.Layer[]): tfl.layers.Layer[] {
  return layers.flatMap((l) => {
    const inner = (l as unknown as { layers?: tfl.layers.Layer[] }).layers;
    return inner ? [l, ...allLayers(inner)] : [l];
  });
}

/** Loads `file` for probing. */
export async function loadLayersRunner(file: string): Promise<LayersRunner> {
  const model = await load(file);
  const layers = allLayers(model.layers);
  const params: LayersRunner['params'] = [];
  const seen = new Set<string>();
  for (const l of layers) {
    if ((l as unknown as { layers?: unknown }).layers) continue;
    for (const w of l.trainableWeights) {
      const name = (w as unknown as { originalName?: string }).originalName ?? w.name;
      if (seen.has(name)) continue; // a shared layer's weights count once
      seen.add(name);
      params.push({ name, shape: w.shape as number[], node: l.name, tensor: w.read() });
    }
  }
  return {
    file,
    model,
    params,
    nodes: layers
      .filter((l) => l.getClassName() !== 'InputLayer')
      .map((l) => ({ name: l.name, outputs: [l.name] })),
    inputNames: model.inputNames,
  };
}

/**
 * The skips of the IR analysis that can be split on the layers: both ends are layers called
 * once (a shared layer's calls cannot be told apart inside its call), the source is a layer
 * output (not a model input) and the skip leaves it through a known data input.
 */
export function layersSkipTaps(r: LayersRunner, ir: Model): LayerSkipTap[] {
  let analysis;
  try {
    analysis = analyzeSkips(ir);
  } catch {
    return []; // parameter and activation probes still run
  }
  const once = new Set(
    allLayers(r.model.layers)
      .filter((l) => l.inboundNodes.length === 1)
      .map((l) => l.name),
  );
  const byName = new Map(ir.graph.nodes.map((n) => [n.name, n]));
  const taps: LayerSkipTap[] = [];
  for (const s of analysis.skips) {
    if (!once.has(s.source) || !once.has(s.merge)) continue;
    const merge = byName.get(s.merge);
    const skipSide = [...s.skipNodes].map((n) => byName.get(n)).filter((n) => n !== undefined);
    const first =
      merge?.inputs[s.skipInput] === s.source ? merge : skipSide.find((n) => n.inputs.includes(s.source));
    if (!first || !once.has(first.name)) continue;
    const data = first.inputs.filter((v) => v && !ir.graph.values.get(v)?.initializer);
    const input = data.indexOf(s.source);
    if (input < 0 || data.indexOf(s.source, input + 1) >= 0) continue; // read twice: no single edge
    taps.push({ merge: s.merge, source: s.source, skipNode: first.name, input });
  }
  return taps;
}

/** A recurrent layer (LSTM, GRU, SimpleRNN, or one side of a Bidirectional wrapper) and its cell. */
interface RecurrentLayer {
  /** The IR node it belongs to (the wrapper's name for a Bidirectional side). */
  node: string;
  layer: tfl.layers.Layer & { goBackwards: boolean };
  cell: tfl.layers.Layer;
}

/** The recurrent layers among `layers`, a Bidirectional wrapper's two sides included. */
function recurrentLayers(layers: tfl.layers.Layer[]): RecurrentLayer[] {
  const out: RecurrentLayer[] = [];
  const add = (node: string, l: unknown) => {
    const r = l as RecurrentLayer['layer'] & { cell?: tfl.layers.Layer };
    if (r?.cell && typeof r.cell.call === 'function') out.push({ node, layer: r, cell: r.cell });
  };
  for (const l of layers) {
    const w = l as unknown as { forwardLayer?: unknown; backwardLayer?: unknown };
    if (w.forwardLayer && w.backwardLayer) {
      add(l.name, w.forwardLayer);
      add(l.name, w.backwardLayer);
    } else add(l.name, l);
  }
  return out;
}

/**
 * Taps the hidden state of every step of each recurrent layer: the layer's call notes the
 * sequence length, its cell's call (once per step, in processing order) taps the new state, which
 * is both the step's output and the next step's state, so the tap sees the whole gradient
 * reaching it. Returns a function that puts the original calls back.
 */
function tapTimesteps(rls: RecurrentLayer[], rec: PassRecorder): () => void {
  const restore: (() => void)[] = [];
  for (const { node, layer, cell } of rls) {
    const direction = layer.goBackwards ? 'reverse' : 'forward';
    const run = { steps: 0, s: 0 };
    const layerCall = layer.call;
    const cellCall = cell.call;
    layer.call = function (inputs, kwargs) {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      run.steps = x.shape[1] ?? 0;
      run.s = 0;
      return layerCall.call(this, inputs, kwargs);
    };
    cell.call = function (inputs, kwargs) {
      const out = cellCall.call(this, inputs, kwargs);
      const list = Array.isArray(out) ? out : [out];
      const t = layer.goBackwards ? run.steps - 1 - run.s : run.s;
      run.s++;
      rec.step(node, direction, t);
      // Cells return [output, ...new states]; the output is the new hidden state itself.
      const h = list[0];
      const tapped = tap(h, (dy) => rec.timestep(node, direction, t, dy));
      return list.map((o) => (o === h ? tapped : o));
    };
    restore.push(() => {
      layer.call = layerCall;
      cell.call = cellCall;
    });
  }
  return () => restore.forEach((f) => f());
}

/** One forward + backward pass through the layers with every probe attached; `skips` are split. */
export async function layersGradPass(
  r: LayersRunner,
  feeds: Record<string, tf.Tensor>,
  loss: LossFn,
  skips: LayerSkipTap[] = [],
): Promise<PassStats> {
  const rec = new PassRecorder(skips.length);
  // The gradient along each skip edge, saved when it passes (before the source's total arrives).
  const skipEdge = new Map<number, tf.Tensor>();
  const layers = allLayers(r.model.layers).filter((l) => !(l as unknown as { layers?: unknown }).layers);
  const untapTimesteps = tapTimesteps(recurrentLayers(layers), rec);
  const originals = layers.map((l) => l.call);
  layers.forEach((l) => {
    const call = l.call;
    const edges = skips.map((s, i) => ({ s, i })).filter(({ s }) => s.skipNode === l.name);
    const sources = skips.map((s, i) => ({ s, i })).filter(({ s }) => s.source === l.name);
    l.call = function (inputs, kwargs) {
      if (edges.length) {
        const list = Array.isArray(inputs) ? [...inputs] : [inputs];
        for (const { s, i } of edges) {
          if (!list[s.input]) continue;
          list[s.input] = tap(list[s.input], (dy) => {
            skipEdge.get(i)?.dispose();
            skipEdge.set(i, tf.keep(tf.clone(dy)));
          });
        }
        inputs = Array.isArray(inputs) ? list : list[0];
      }
      const out = call.call(this, inputs, kwargs);
      const record = (t: tf.Tensor) =>
        tap(t, (dy) => {
          rec.activation(l.name, dy);
          for (const { i } of sources) {
            const sk = skipEdge.get(i);
            if (!sk) continue; // the skip edge carried no gradient
            rec.skip(i, sk, dy);
          }
        });
      return Array.isArray(out) ? out.map(record) : record(out);
    };
  });
  try {
    // A loaded Sequential model may list no input names: feed its single input in order.
    const inputNames = r.inputNames.length ? r.inputNames : Object.keys(feeds);
    const inputs = inputNames.map((n) => {
      const t = feeds[n];
      if (!t) throw new ModelError(`no data was given for model input "${n}".`);
      return t;
    });
    let lossT: tf.Tensor | undefined;
    const weights = r.model.trainableWeights.map((w) => w.read() as tf.Variable);
    const byInput = weights.length === 0 ? inputVariables(inputs, r.file) : undefined;
    const fed = byInput?.feeds ?? inputs;
    try {
      tf.tidy(() => {
        const vars = byInput?.vars ?? weights;
        const { value, grads } = tf.variableGrads(() => {
          const out = r.model.apply(fed.length === 1 ? fed[0] : fed, { training: false }) as
            tf.Tensor | tf.Tensor[];
          return loss(Array.isArray(out) ? out : [out]);
        }, vars);
        lossT = tf.keep(value);
        for (const p of r.params) {
          const g = grads[(p.tensor as tf.Variable).name] ?? tf.zerosLike(p.tensor);
          rec.param(g);
        }
        // Without parameters the inputs were the variables: their gradients are the inputs'.
        byInput?.vars.forEach((v, k) => {
          const g = grads[v.name];
          if (g) rec.activation(inputNames[byInput.index[k]], g);
        });
      });
    } finally {
      byInput?.dispose();
    }
    // Awaited reads: a GPU cannot be read back synchronously.
    const lossValue = (await lossT!.data())[0];
    lossT!.dispose();
    const stats = await rec.read(lossValue);
    layers.forEach((l, i) => (l.call = originals[i]));
    if (passHasNonFinite(stats)) {
      await checkFiniteInputs(r.file, feeds);
      stats.nonFinite = nonFiniteOrigin(r, stats, await firstNonFiniteLayer(r, layers, inputs));
    }
    return stats;
  } finally {
    layers.forEach((l, i) => (l.call = originals[i]));
    untapTimesteps();
    rec.dispose();
    tf.dispose([...skipEdge.values()]);
  }
}

/** The first layer (in call order) whose output holds NaN or Inf in a forward pass, if any. */
async function firstNonFiniteLayer(
  r: LayersRunner,
  layers: tfl.layers.Layer[],
  inputs: tf.Tensor[],
): Promise<{ name: string; op: string } | undefined> {
  const flags: { layer: tfl.layers.Layer; ok: tf.Tensor }[] = [];
  const originals = layers.map((l) => l.call);
  layers.forEach((l) => {
    const call = l.call;
    l.call = function (x, kwargs) {
      const out = call.call(this, x, kwargs);
      for (const t of Array.isArray(out) ? out : [out])
        if (t.dtype === 'float32') flags.push({ layer: l, ok: tf.keep(tf.all(tf.isFinite(t))) });
      return out;
    };
  });
  try {
    tf.tidy(() => {
      r.model.apply(inputs.length === 1 ? inputs[0] : inputs, { training: false });
    });
  } finally {
    layers.forEach((l, i) => (l.call = originals[i]));
  }
  const ok = await readFlags(flags.map((f) => f.ok));
  tf.dispose(flags.map((f) => f.ok));
  const first = flags.find((_, i) => !ok[i])?.layer;
  return first && { name: first.name, op: first.getClassName() };
}

/** TF.js layers' own flag: the size of its topological-sort cache (100 by default). */
const SORT_CACHE = 'TOPOLOGICAL_SORT_CACHE_MAX_ENTRIES';

/**
 * Frees the model's weights, and the graph TF.js layers keeps of it: its topological-sort cache
 * (an LRU of 100 entries keyed by tensor names, unique per loaded model) would otherwise hold the
 * layers, variables and symbolic tensors of up to 100 disposed models. Resizing it to 0 empties it.
 */
export function disposeLayersRunner(r: LayersRunner): void {
  r.model.dispose();
  const size = tf.env().getNumber(SORT_CACHE);
  tf.env().set(SORT_CACHE, 0);
  tf.env().set(SORT_CACHE, size);
}
