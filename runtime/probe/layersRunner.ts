/**
 * Gradient probes for TF.js layers models, run through their own layers (tf.loadLayersModel with
 * a file IO handler): parameter gradients by tf.variableGrads over the trainable weights (named
 * as in the weights manifest) and the gradient at every layer output through the same identity
 * taps as the ONNX executor, placed by wrapping each layer's call.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { ModelError, describeError } from '../errors';
import type { LossFn, PassStats } from './gradPass';
import { tap } from './gradPass';
import { fileIoHandler } from './modelFiles';

/** A loaded layers model with its parameters and layers in graph order. */
export interface LayersRunner {
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
      `${file}: TF.js cannot build this layers model for probing (${describeError(e)}).`,
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
    model,
    params,
    nodes: layers
      .filter((l) => l.getClassName() !== 'InputLayer')
      .map((l) => ({ name: l.name, outputs: [l.name] })),
    inputNames: model.inputNames,
  };
}

/** One forward + backward pass through the layers with every probe attached. */
export function layersGradPass(r: LayersRunner, feeds: Record<string, tf.Tensor>, loss: LossFn): PassStats {
  const kept: tf.Tensor[] = [];
  const keep = (t: tf.Tensor) => {
    kept.push(tf.keep(t));
    return kept.length - 1;
  };
  const acts = new Map<string, { sumSq: number; zeros: number; size: number }>();
  const layers = allLayers(r.model.layers).filter((l) => !(l as unknown as { layers?: unknown }).layers);
  const originals = layers.map((l) => l.call);
  layers.forEach((l) => {
    const call = l.call;
    l.call = function (inputs, kwargs) {
      const out = call.call(this, inputs, kwargs);
      const record = (t: tf.Tensor) =>
        tap(t, (dy) =>
          acts.set(l.name, {
            sumSq: keep(tf.sum(tf.square(dy))),
            zeros: keep(tf.sub(dy.size, tf.sum(tf.step(tf.abs(dy))))),
            size: dy.size,
          }),
        );
      return Array.isArray(out) ? out.map(record) : record(out);
    };
  });
  try {
    // A loaded Sequential model may list no input names: feed its single input in order.
    const inputs = (r.inputNames.length ? r.inputNames : Object.keys(feeds)).map((n) => {
      const t = feeds[n];
      if (!t) throw new ModelError(`no data was given for model input "${n}".`);
      return t;
    });
    let lossValue = 0;
    const paramIdx: { sumSq: number; maxAbs: number; sumAbs: number; size: number }[] = [];
    tf.tidy(() => {
      const vars = r.model.trainableWeights.map((w) => w.read() as tf.Variable);
      const { value, grads } = tf.variableGrads(() => {
        const out = r.model.apply(inputs.length === 1 ? inputs[0] : inputs, { training: false }) as
          tf.Tensor | tf.Tensor[];
        return loss(Array.isArray(out) ? out : [out]);
      }, vars);
      lossValue = value.dataSync()[0];
      for (const p of r.params) {
        const g = grads[(p.tensor as tf.Variable).name] ?? tf.zerosLike(p.tensor);
        paramIdx.push({
          sumSq: keep(tf.sum(tf.square(g))),
          maxAbs: keep(tf.max(tf.abs(g))),
          sumAbs: keep(tf.sum(tf.abs(g))),
          size: g.size,
        });
      }
    });
    if (!Number.isFinite(lossValue))
      throw new ModelError(`the loss is ${lossValue}: the model produces NaN or Inf on this batch.`);
    const vals = kept.length
      ? tf.tidy(() => tf.stack(kept.map((t) => tf.reshape(t, [])))).dataSync()
      : new Float32Array();
    return {
      loss: lossValue,
      params: paramIdx.map((p) => ({
        sumSq: vals[p.sumSq],
        maxAbs: vals[p.maxAbs],
        sumAbs: vals[p.sumAbs],
        size: p.size,
        finite: Number.isFinite(vals[p.sumSq]),
      })),
      activations: new Map(
        [...acts].map(([k, v]) => [k, { sumSq: vals[v.sumSq], zeros: vals[v.zeros], size: v.size }]),
      ),
      skips: [],
    };
  } finally {
    layers.forEach((l, i) => (l.call = originals[i]));
    tf.dispose(kept);
  }
}

/** Frees the model's weights. */
export function disposeLayersRunner(r: LayersRunner): void {
  r.model.dispose();
}
