/**
 * TF.js graph models (model.json with format graph-model): GraphDef nodes with `name:N` ports and
 * `^control` inputs, Const nodes backed by the weightsManifest (they become initializers), fused
 * ops with their fused_ops, control-flow ops marked, and the serving signature.
 */
import { ModelError } from '../../errors';
import type { AttrValue, DType, Dim, Graph, Model, Shape, TensorData } from '../ir';
import { buildGraph, type RawGraph, type RawNode, type ValueDecl } from '../graphBuilder';
import { readManifest } from '../tfjsWeights';
import { isKnownTfOp } from './tfOps';

type Json = Record<string, unknown>;

const CONTROL_FLOW = new Set([
  'Switch',
  'Merge',
  'Enter',
  'Exit',
  'NextIteration',
  'LoopCond',
  'RefEnter',
  'RefExit',
  'RefMerge',
  'RefSwitch',
  'RefNextIteration',
  'While',
  'StatelessWhile',
  'If',
  'StatelessIf',
  'ControlTrigger',
]);

const TF_DTYPES: Record<string, DType> = {
  DT_FLOAT: 'float32',
  DT_HALF: 'float16',
  DT_BFLOAT16: 'bfloat16',
  DT_DOUBLE: 'float64',
  DT_INT8: 'int8',
  DT_UINT8: 'uint8',
  DT_INT16: 'int16',
  DT_UINT16: 'uint16',
  DT_INT32: 'int32',
  DT_UINT32: 'uint32',
  DT_INT64: 'int64',
  DT_UINT64: 'uint64',
  DT_BOOL: 'bool',
  DT_STRING: 'string',
  DT_COMPLEX64: 'complex64',
  DT_COMPLEX128: 'complex128',
};

/** A GraphDef input reference → (value name, is control input). "x:0" and "x" are the same value. */
export function parseInputRef(ref: string): { value: string; node: string; port: number; control: boolean } {
  if (ref.startsWith('^')) return { value: ref.slice(1), node: ref.slice(1), port: 0, control: true };
  const m = /^(.*):(\d+)$/.exec(ref);
  if (!m) return { value: ref, node: ref, port: 0, control: false };
  const port = Number(m[2]);
  return { value: port === 0 ? m[1] : `${m[1]}:${port}`, node: m[1], port, control: false };
}

/** Reads a parsed TF.js graph model.json. */
export function readTfjsGraph(json: Json, abs: string, file: string): Model {
  const topo = json.modelTopology as Json;
  const nodesJson = topo.node;
  if (!Array.isArray(nodesJson)) throw new ModelError(`${file}: modelTopology has no node list.`, file);
  const weights = new Map<string, TensorData>();
  for (const w of readManifest(json.weightsManifest, abs, file)) weights.set(w.name, w.tensor);

  const raw: RawGraph = {
    name: 'graph',
    nodes: [],
    initializers: new Map(),
    inputs: [],
    outputs: [],
    valueInfo: [],
  };
  const functions = new FunctionLibrary((topo.library as Json | undefined)?.function, weights);
  const ports = new Map<string, number>(); // node name → number of outputs used
  const parsed: { n: Json; inputs: string[]; control: string[] }[] = [];
  for (const n of nodesJson as unknown[]) {
    const node = n as Json;
    if (!node || typeof node.name !== 'string' || typeof node.op !== 'string')
      throw new ModelError(`${file}: a graph node lacks a name or op.`, file);
    const inputs: string[] = [];
    const control: string[] = [];
    if (node.input !== undefined && !Array.isArray(node.input))
      throw new ModelError(`${file}: node '${node.name}' has a malformed input list.`, file);
    for (const r of (node.input ?? []) as unknown[]) {
      if (typeof r !== 'string')
        throw new ModelError(`${file}: node '${node.name}' has a malformed input.`, file);
      const ref = parseInputRef(r);
      if (ref.control) control.push(ref.node);
      else {
        inputs.push(ref.value);
        ports.set(ref.node, Math.max(ports.get(ref.node) ?? 1, ref.port + 1));
      }
    }
    parsed.push({ n: node, inputs, control });
  }
  const signature = readSignature(json.signature ?? (topo as Json).signature);
  for (const t of Object.values(signature?.outputs ?? {})) {
    const ref = parseInputRef(t);
    ports.set(ref.node, Math.max(ports.get(ref.node) ?? 1, ref.port + 1));
  }

  for (const { n, inputs, control } of parsed) {
    const name = n.name as string;
    const op = n.op as string;
    const attrs = decodeAttrs((n.attr ?? {}) as Json);
    if (op === 'Placeholder' || op === 'PlaceholderWithDefault') {
      if (op === 'Placeholder' || inputs.length === 0) {
        raw.inputs.push({
          name,
          dtype: (attrs.dtype as DType) ?? 'unknown',
          shape: placeholderShape(attrs.shape),
        });
        continue;
      }
    }
    if (op === 'Const' && weights.has(name)) {
      raw.initializers.set(name, weights.get(name) as TensorData);
      continue;
    }
    const nOut = ports.get(name) ?? 1;
    const outputs = [name];
    for (let k = 1; k < nOut; k++) outputs.push(`${name}:${k}`);
    const node: RawNode = { name, op, attributes: attrs, inputs, outputs };
    // TF2 control flow (While/If and their stateless forms) names library functions as bodies.
    for (const [k, v] of Object.entries(attrs)) {
      const fn = funcName(v);
      const body = fn ? functions.get(fn, file, 0) : null;
      if (body) (node.subgraphs ??= {})[k] = body;
    }
    if (control.length > 0) node.controlInputs = control;
    if (CONTROL_FLOW.has(op)) node.controlFlow = true;
    if (!isKnownTfOp(op)) node.unknownOp = true;
    raw.nodes.push(node);
  }
  // Outputs: the signature's, else the nodes nobody reads.
  const outNames = signature
    ? Object.values(signature.outputs).map((t) => parseInputRef(t).value)
    : sinks(raw);
  raw.outputs = outNames.map((name): ValueDecl => ({ name, dtype: 'unknown', shape: null }));
  // Placeholders named by the signature carry their shapes there too.
  const graph = buildGraph(raw, file);
  const meta: Model['metadata'] = {
    producer:
      typeof json.convertedBy === 'string'
        ? json.convertedBy
        : typeof json.generatedBy === 'string'
          ? json.generatedBy
          : undefined,
    producerVersion: typeof json.generatedBy === 'string' ? json.generatedBy : undefined,
    description: 'TF.js graph model',
  };
  if (signature) meta.signature = signature;
  return {
    format: 'tfjs-graph',
    file: abs,
    graph,
    metadata: meta,
    functions: [],
    totalParams: 0,
    totalFlops: 0,
  };
}

function sinks(raw: RawGraph): string[] {
  const read = new Set<string>();
  for (const n of raw.nodes) for (const i of n.inputs) read.add(i);
  const out: string[] = [];
  for (const n of raw.nodes) if (!n.controlFlow && !read.has(n.outputs[0])) out.push(n.outputs[0]);
  return out;
}

function readSignature(
  sig: unknown,
): { inputs: Record<string, string>; outputs: Record<string, string> } | undefined {
  if (!sig || typeof sig !== 'object') return undefined;
  const s = sig as Json;
  const side = (v: unknown): Record<string, string> => {
    const out: Record<string, string> = {};
    if (v && typeof v === 'object') {
      for (const [k, t] of Object.entries(v as Json)) {
        const name = (t as Json)?.name;
        out[k] = typeof name === 'string' ? name : k;
      }
    }
    return out;
  };
  return { inputs: side(s.inputs), outputs: side(s.outputs) };
}

function placeholderShape(s: AttrValue | undefined): Shape {
  if (!Array.isArray(s)) return null;
  return (s as number[]).map((d, i): Dim => (d >= 0 ? d : i === 0 ? 'batch' : null));
}

/** Decodes GraphDef AttrValue JSON ({s: base64}, {i: "3"}, {list: {...}}, {type}, {shape}…) to plain values. */
function decodeAttrs(attr: Json): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const [k, v] of Object.entries(attr)) out[k] = decodeAttr(v);
  return out;
}

function decodeAttr(v: unknown): AttrValue {
  if (!v || typeof v !== 'object') return null;
  const a = v as Json;
  if ('s' in a) return b64(a.s);
  if ('i' in a) return Number(a.i);
  if ('f' in a) return Number(a.f);
  if ('b' in a) return a.b === true;
  if ('type' in a) return TF_DTYPES[String(a.type)] ?? String(a.type);
  if ('shape' in a) return shapeDims(a.shape);
  if ('list' in a) {
    const l = (a.list ?? {}) as Json;
    if (Array.isArray(l.i)) return l.i.map(Number);
    if (Array.isArray(l.f)) return l.f.map(Number);
    if (Array.isArray(l.s)) return l.s.map(b64);
    if (Array.isArray(l.b)) return l.b.map((x) => String(x));
    if (Array.isArray(l.type)) return l.type.map((t) => TF_DTYPES[String(t)] ?? String(t));
    return [];
  }
  return a as Record<string, unknown>;
}

function b64(s: unknown): string {
  return typeof s === 'string' ? Buffer.from(s, 'base64').toString('utf8') : '';
}

function shapeDims(s: unknown): number[] | null {
  const sh = s as { dim?: { size?: unknown }[]; unknownRank?: boolean } | null;
  if (!sh || sh.unknownRank || (sh.dim !== undefined && !Array.isArray(sh.dim))) return null;
  return (sh.dim ?? []).map((d) => Number(d?.size ?? -1));
}

/** The `{func: {name}}` attribute form, decoded to its function name. */
function funcName(v: AttrValue): string | null {
  if (!v || typeof v !== 'object' || Array.isArray(v) || !('func' in v)) return null;
  const f = (v as { func?: { name?: unknown } }).func;
  return typeof f?.name === 'string' ? f.name : null;
}

/** Functions of modelTopology.library, built into graphs on first use (bodies of While/If). */
class FunctionLibrary {
  private readonly defs = new Map<string, Json>();
  private readonly built = new Map<string, Graph | null>();

  constructor(
    list: unknown,
    private readonly weights: Map<string, TensorData>,
  ) {
    if (!Array.isArray(list)) return;
    for (const f of list) {
      const name = (f as { signature?: { name?: unknown } })?.signature?.name;
      if (typeof name === 'string') this.defs.set(name, f as Json);
    }
  }

  /** The body graph of function `name`, or null when the library lacks it. */
  get(name: string, file: string, depth: number): Graph | null {
    if (this.built.has(name)) return this.built.get(name) ?? null;
    const def = this.defs.get(name);
    if (!def || depth > 16) return null;
    this.built.set(name, null); // a function that names itself is not expanded again
    const g = this.build(def, file, depth);
    this.built.set(name, g);
    return g;
  }

  /**
   * Function bodies address tensors as "node:outputArg:index" and their own arguments by name;
   * each distinct reference to a node becomes one of its outputs, named by the reference.
   */
  private build(def: Json, file: string, depth: number): Graph {
    const sig = (def.signature ?? {}) as {
      name?: string;
      inputArg?: { name?: string }[];
      outputArg?: { name?: string }[];
    };
    const nodeDefs = Array.isArray(def.nodeDef) ? (def.nodeDef as Json[]) : [];
    const ret = (def.ret ?? {}) as Record<string, unknown>;
    const outputsOf = new Map<string, string[]>();
    const refValue = (ref: string): string => {
      const parts = ref.split(':');
      if (parts.length < 2) return ref;
      const list = outputsOf.get(parts[0]) ?? [];
      if (!list.includes(ref)) list.push(ref);
      outputsOf.set(parts[0], list);
      return ref;
    };
    const raw: RawGraph = {
      name: sig.name ?? 'function',
      nodes: [],
      initializers: new Map(),
      inputs: [],
      outputs: [],
      valueInfo: [],
    };
    for (const n of nodeDefs) {
      if (!n || typeof n.name !== 'string' || typeof n.op !== 'string')
        throw new ModelError(`${file}: a library function node lacks a name or op.`, file);
      if (n.op === 'Const' && this.weights.has(n.name)) {
        raw.initializers.set(n.name, this.weights.get(n.name) as TensorData);
        continue;
      }
      const inputs: string[] = [];
      const control: string[] = [];
      for (const r of Array.isArray(n.input) ? (n.input as unknown[]) : []) {
        if (typeof r !== 'string') continue;
        if (r.startsWith('^')) control.push(r.slice(1));
        else inputs.push(refValue(r));
      }
      const attrs = decodeAttrs((n.attr ?? {}) as Json);
      const node: RawNode = { name: n.name, op: n.op, attributes: attrs, inputs, outputs: [] };
      if (control.length > 0) node.controlInputs = control;
      if (CONTROL_FLOW.has(n.op)) node.controlFlow = true;
      if (!isKnownTfOp(n.op)) node.unknownOp = true;
      for (const [k, v] of Object.entries(attrs)) {
        const fn = funcName(v);
        const body = fn ? this.get(fn, file, depth + 1) : null;
        if (body) (node.subgraphs ??= {})[k] = body;
      }
      raw.nodes.push(node);
    }
    const outNames: string[] = [];
    for (const a of sig.outputArg ?? []) {
      const r = typeof a?.name === 'string' ? ret[a.name] : undefined;
      if (typeof r === 'string') outNames.push(refValue(r));
    }
    for (const node of raw.nodes) node.outputs = outputsOf.get(node.name) ?? [`${node.name}:output:0`];
    raw.inputs = (sig.inputArg ?? []).map((a): ValueDecl => ({
      name: String(a?.name ?? ''),
      dtype: 'unknown',
      shape: null,
    }));
    raw.outputs = outNames.map((name): ValueDecl => ({ name, dtype: 'unknown', shape: null }));
    return buildGraph(raw, file);
  }
}
