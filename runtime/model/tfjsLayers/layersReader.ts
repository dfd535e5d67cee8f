/**
 * TF.js layers models: a Keras modelTopology (Sequential or Functional, nested models, shared
 * layers) plus a weightsManifest. Each layer call becomes one node whose inputs are its data
 * inputs followed by its weights (initializers named as in the manifest); nested models are
 * flattened into the parent graph under their name scope, with `group` naming the nested model.
 */
import { ModelError } from '../../errors';
import type { AttrValue, Dim, Model, Shape, TensorData } from '../ir';
import { buildGraph, type RawGraph, type RawNode, type ValueDecl } from '../graphBuilder';
import { readManifest } from '../tfjsWeights';
import { isKnownKerasLayer } from './kerasLayers';

type Json = Record<string, unknown>;
/** A reference to a layer output: [layerName, nodeIndex, tensorIndex]. */
type TensorRef = [string, number, number];

const MODEL_CLASSES = new Set(['Sequential', 'Model', 'Functional']);
const MAX_DEPTH = 32;

interface Ctx {
  file: string;
  raw: RawGraph;
  /** Weights by manifest name, not yet claimed by a layer. */
  weights: Map<string, TensorData>;
  weightOrder: string[];
  claimed: Set<string>;
  /** Outer layer names already used, to keep node names unique across nested models. */
  nodeCount: number;
}

/** Reads a parsed TF.js layers model.json. */
export function readTfjsLayers(json: Json, abs: string, file: string): Model {
  let topo = json.modelTopology as Json;
  // Keras-converted files wrap the model in model_config.
  if (topo.model_config && typeof topo.model_config === 'object') topo = topo.model_config as Json;
  const manifest = readManifest(json.weightsManifest, abs, file);
  const ctx: Ctx = {
    file,
    raw: { name: '', nodes: [], initializers: new Map(), inputs: [], outputs: [], valueInfo: [] },
    weights: new Map(manifest.map((w) => [w.name, w.tensor])),
    weightOrder: manifest.map((w) => w.name),
    claimed: new Set(),
    nodeCount: 0,
  };
  const cls = topo.class_name;
  if (typeof cls !== 'string' || !MODEL_CLASSES.has(cls)) {
    throw new ModelError(
      `${file}: modelTopology is not a Sequential or Functional model (class '${String(cls)}').`,
      file,
    );
  }
  const config = (topo.config ?? {}) as Json | unknown[];
  ctx.raw.name = typeof (config as Json).name === 'string' ? ((config as Json).name as string) : 'model';
  const { inputs, outputs } = readModelLayer(ctx, cls, config, [], null, 0);
  ctx.raw.inputs = inputs;
  ctx.raw.outputs = outputs.map((name) => ({ name, dtype: 'float32', shape: null }));
  // Weights no layer claimed (a differently scoped name) are kept as initializers so totals stay right.
  for (const name of ctx.weightOrder)
    if (!ctx.claimed.has(name)) ctx.raw.initializers.set(name, ctx.weights.get(name) as TensorData);
  const graph = buildGraph(ctx.raw, file);
  const meta: Model['metadata'] = {
    producer: typeof json.generatedBy === 'string' ? json.generatedBy : undefined,
    producerVersion: typeof topo.keras_version === 'string' ? topo.keras_version : undefined,
    description: `TF.js layers model (${cls})`,
  };
  if (json.userDefinedMetadata && typeof json.userDefinedMetadata === 'object') {
    meta.props = Object.fromEntries(
      Object.entries(json.userDefinedMetadata as Json).map(([k, v]) => [
        k,
        typeof v === 'string' ? v : JSON.stringify(v),
      ]),
    );
  }
  return {
    format: 'tfjs-layers',
    file: abs,
    graph,
    metadata: meta,
    functions: [],
    totalParams: 0,
    totalFlops: 0,
  };
}

/**
 * Adds the layers of a (possibly nested) model. `feed` maps the model's inputs to outer value
 * names (null at the top level, where inputs become graph inputs). Returns the value names of the
 * model's outputs.
 */
function readModelLayer(
  ctx: Ctx,
  cls: string,
  config: Json | unknown[],
  scope: string[],
  feed: string[] | null,
  depth: number,
): { inputs: ValueDecl[]; outputs: string[] } {
  if (depth > MAX_DEPTH)
    throw new ModelError(`${ctx.file}: models are nested more than ${MAX_DEPTH} deep.`, ctx.file);
  if (cls === 'Sequential') return readSequential(ctx, config, scope, feed, depth);
  return readFunctional(ctx, config as Json, scope, feed, depth);
}

function layerList(ctx: Ctx, config: Json | unknown[]): Json[] {
  const layers = Array.isArray(config) ? config : (config as Json).layers;
  if (!Array.isArray(layers))
    throw new ModelError(`${ctx.file}: the model config has no layer list.`, ctx.file);
  for (const l of layers) {
    if (!l || typeof l !== 'object' || typeof (l as Json).class_name !== 'string')
      throw new ModelError(`${ctx.file}: a layer entry has no class_name.`, ctx.file);
  }
  return layers as Json[];
}

function layerName(l: Json): string {
  const c = (l.config ?? {}) as Json;
  return typeof l.name === 'string' ? l.name : typeof c.name === 'string' ? c.name : String(l.class_name);
}

function inputShape(l: Json): Shape {
  const c = (l.config ?? {}) as Json;
  const s = c.batch_input_shape ?? c.batchInputShape ?? c.batch_shape;
  if (Array.isArray(s))
    return s.map((d, i): Dim => (typeof d === 'number' && d >= 0 ? d : i === 0 ? 'batch' : null));
  const is = c.input_shape ?? c.inputShape;
  if (Array.isArray(is))
    return ['batch', ...is.map((d): Dim => (typeof d === 'number' && d >= 0 ? d : null))];
  return null;
}

function readSequential(
  ctx: Ctx,
  config: Json | unknown[],
  scope: string[],
  feed: string[] | null,
  depth: number,
): { inputs: ValueDecl[]; outputs: string[] } {
  const layers = layerList(ctx, config);
  const inputs: ValueDecl[] = [];
  let cur: string;
  let start = 0;
  if (feed) cur = feed[0];
  else {
    const first = layers[0];
    if (!first) throw new ModelError(`${ctx.file}: the Sequential model has no layers.`, ctx.file);
    const isInput = first.class_name === 'InputLayer';
    cur = [...scope, isInput ? layerName(first) : `${layerName(first)}_input`].join('/');
    inputs.push({ name: cur, dtype: 'float32', shape: inputShape(first) });
    if (isInput) start = 1;
  }
  for (let i = start; i < layers.length; i++) {
    const l = layers[i];
    if (l.class_name === 'InputLayer') continue;
    cur = addLayerCall(ctx, l, [cur], scope, 0, depth)[0];
  }
  return { inputs, outputs: [cur] };
}

function readFunctional(
  ctx: Ctx,
  config: Json,
  scope: string[],
  feed: string[] | null,
  depth: number,
): { inputs: ValueDecl[]; outputs: string[] } {
  const layers = layerList(ctx, config);
  const byName = new Map<string, Json>();
  for (const l of layers) byName.set(layerName(l), l);
  const inputRefs = refList(ctx, config.input_layers);
  const outputRefs = refList(ctx, config.output_layers);
  // Value name of each (layer, node, tensor) output produced so far.
  const produced = new Map<string, string>();
  const key = (r: TensorRef) => `${r[0]}\u0000${r[1]}\u0000${r[2]}`;
  const inputs: ValueDecl[] = [];
  inputRefs.forEach((r, i) => {
    const l = byName.get(r[0]);
    if (feed) {
      if (feed[i] === undefined)
        throw new ModelError(
          `${ctx.file}: nested model '${scope.join('/')}' is called with too few inputs.`,
          ctx.file,
        );
      produced.set(key(r), feed[i]);
    } else {
      const name = [...scope, r[0]].join('/');
      inputs.push({ name, dtype: 'float32', shape: l ? inputShape(l) : null });
      produced.set(key(r), name);
    }
  });
  // Layers are listed in an order where inbound layers come first; a call whose inputs are not
  // produced yet waits for a later pass (bounded: each pass must make progress).
  const pending: { l: Json; nodeIndex: number; refs: TensorRef[] }[] = [];
  for (const l of layers) {
    if (l.class_name === 'InputLayer') continue;
    const inbound = l.inbound_nodes;
    if (!Array.isArray(inbound)) continue;
    inbound.forEach((call, nodeIndex) => pending.push({ l, nodeIndex, refs: callRefs(ctx, call) }));
  }
  let remaining = pending;
  while (remaining.length > 0) {
    const next: typeof pending = [];
    for (const p of remaining) {
      const ins = p.refs.map((r) => produced.get(key(r)));
      if (ins.some((x) => x === undefined)) {
        next.push(p);
        continue;
      }
      const outs = addLayerCall(ctx, p.l, ins as string[], scope, p.nodeIndex, depth);
      // A nested model that was built with its own input has node 0 inside itself: callers count from 1.
      const offset = builtWithInput(p.l) ? 1 : 0;
      outs.forEach((o, t) => produced.set(key([layerName(p.l), p.nodeIndex + offset, t]), o));
    }
    if (next.length === remaining.length) {
      const r = next[0].refs.find((x) => !produced.has(key(x)));
      throw new ModelError(
        `${ctx.file}: layer '${layerName(next[0].l)}' reads '${r ? r[0] : '?'}', which no layer produces (or the layers form a cycle).`,
        ctx.file,
      );
    }
    remaining = next;
  }
  const outputs = outputRefs.map((r) => {
    const v = produced.get(key(r));
    if (v === undefined)
      throw new ModelError(`${ctx.file}: model output '${r[0]}' is not produced by any layer.`, ctx.file);
    return v;
  });
  return { inputs, outputs };
}

/** True for a nested model whose own input made Keras create node 0 inside it. */
function builtWithInput(l: Json): boolean {
  const cls = String(l.class_name);
  if (cls === 'Model' || cls === 'Functional') return true;
  if (cls !== 'Sequential') return false;
  const c = l.config as Json | unknown[] | undefined;
  const layers = Array.isArray(c) ? c : (c?.layers as unknown[] | undefined);
  const first = layers?.[0] as Json | undefined;
  return !!first && (first.class_name === 'InputLayer' || inputShape(first) !== null);
}

function refList(ctx: Ctx, v: unknown): TensorRef[] {
  if (!Array.isArray(v))
    throw new ModelError(`${ctx.file}: a Functional model lacks input_layers/output_layers.`, ctx.file);
  // A single [name, node, tensor] is allowed in place of a list of them.
  const list = v.length === 3 && typeof v[0] === 'string' ? [v] : v;
  return list.map((r) => toRef(ctx, r));
}

function toRef(ctx: Ctx, r: unknown): TensorRef {
  if (Array.isArray(r) && typeof r[0] === 'string')
    return [r[0], Number(r[1] ?? 0) || 0, Number(r[2] ?? 0) || 0];
  // Keras 3: {class_name: "__keras_tensor__", config: {keras_history: [layer, node, tensor]}}
  const h = (r as { config?: { keras_history?: unknown } })?.config?.keras_history;
  if (Array.isArray(h) && typeof h[0] === 'string')
    return [h[0], Number(h[1] ?? 0) || 0, Number(h[2] ?? 0) || 0];
  throw new ModelError(`${ctx.file}: a layer reference is malformed.`, ctx.file);
}

function callRefs(ctx: Ctx, call: unknown): TensorRef[] {
  if (Array.isArray(call)) return call.map((r) => toRef(ctx, r));
  const args = (call as { args?: unknown[] })?.args;
  if (Array.isArray(args))
    return args.flatMap((a) => (Array.isArray(a) ? a.map((r) => toRef(ctx, r)) : [toRef(ctx, a)]));
  throw new ModelError(`${ctx.file}: a layer's inbound_nodes entry is malformed.`, ctx.file);
}

/** Adds one call of layer `l` on `ins`; returns its output value names. Nested models expand in place. */
function addLayerCall(
  ctx: Ctx,
  l: Json,
  ins: string[],
  scope: string[],
  nodeIndex: number,
  depth: number,
): string[] {
  const name = layerName(l);
  const cls = String(l.class_name);
  if (MODEL_CLASSES.has(cls)) {
    const inner = [...scope, nodeIndex > 0 ? `${name}_${nodeIndex}` : name];
    const before = ctx.raw.nodes.length;
    const { outputs } = readModelLayer(ctx, cls, (l.config ?? {}) as Json, inner, ins, depth + 1);
    // Every node of the nested model records the group it belongs to (outermost first via scope).
    for (let i = before; i < ctx.raw.nodes.length; i++) ctx.raw.nodes[i].group ??= name;
    return outputs;
  }
  const base = [...scope, name].join('/');
  const nodeName = nodeIndex > 0 ? `${base}_${nodeIndex}` : base;
  const out = nodeName;
  const weights = claimWeights(ctx, name, scope);
  const node: RawNode = {
    name: nodeName,
    op: cls,
    attributes: attrsOf((l.config ?? {}) as Json),
    inputs: [...ins, ...weights],
    outputs: [out],
    scope: [...scope],
  };
  if (!isKnownKerasLayer(cls)) node.unknownOp = true;
  ctx.raw.nodes.push(node);
  return [out];
}

/** The manifest weights of layer `name` ("name/kernel", or scoped "outer/name/kernel"), in manifest order. */
function claimWeights(ctx: Ctx, name: string, scope: string[]): string[] {
  const out: string[] = [];
  const prefixes = [`${[...scope, name].join('/')}/`, `${name}/`];
  for (const w of ctx.weightOrder) {
    if (!prefixes.some((p) => w.startsWith(p))) continue;
    // A weight of a deeper layer with the same leading name ("dense/dense_1/kernel") is not this layer's.
    if (!ctx.raw.initializers.has(w)) ctx.raw.initializers.set(w, ctx.weights.get(w) as TensorData);
    ctx.claimed.add(w);
    out.push(w);
  }
  return out;
}

/** Layer config → node attributes (plain values kept; nested objects kept as objects). */
function attrsOf(config: Json): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const [k, v] of Object.entries(config)) {
    if (k === 'name' || k === 'layers') continue;
    if (v === null || typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') out[k] = v;
    else if (Array.isArray(v) && v.every((x) => typeof x === 'number')) out[k] = v as number[];
    else if (Array.isArray(v) && v.every((x) => typeof x === 'string')) out[k] = v as string[];
    else if (typeof v === 'object') out[k] = v as Record<string, unknown>;
  }
  return out;
}
