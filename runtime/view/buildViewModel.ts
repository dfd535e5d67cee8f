/**
 * Builds the webview's view model from a model and its skip analysis: every node with its
 * attributes in words, shapes, parameters and FLOPs, the edges with their shapes — never weights.
 */
import type { AttrValue, Graph, Model, TensorData, Value } from '../model/ir';
import type { SkipAnalysis } from '../analysis/skipTypes';
import { formatShape } from './format';
import type { ViewEdge, ViewInput, ViewModel, ViewNode } from './viewModel';

/** Attribute text is cut here so that a huge attribute cannot bloat the view model. */
const MAX_ATTR_CHARS = 400;
/** Small constant tensors (e.g. a Reshape target) are shown by value; larger ones by shape. */
const MAX_INLINE_VALUES = 16;

/** An empty analysis, for models that have not been analysed. */
export function emptySkipAnalysis(): SkipAnalysis {
  return {
    counts: { residual: 0, projection: 0, concat: 0, long: 0, gate: 0, parallel: 0 },
    skips: [],
    merges: [],
    blocks: [],
    rootBlocks: [],
    scopes: { path: [], nodes: [], children: [] },
  };
}

function isTensorData(v: object): v is TensorData {
  return 'dtype' in v && 'shape' in v && typeof (v as TensorData).read === 'function';
}

function isGraph(v: object): v is Graph {
  return 'nodes' in v && 'values' in v && Array.isArray((v as Graph).nodes);
}

function tensorText(t: TensorData): string {
  const head = `${t.dtype} ${formatShape(t.shape)}`;
  const size = t.shape.reduce((a, b) => a * b, 1);
  if (size > MAX_INLINE_VALUES) return head;
  try {
    const values = Array.from(t.read() as ArrayLike<unknown>, (x) => String(x));
    return `${head} [${values.join(', ')}]`;
  } catch {
    // The bytes may be missing (external data); the shape alone is still worth showing.
    return head;
  }
}

/** An attribute value in words. */
export function attributeText(v: AttrValue): string {
  let text: string;
  if (v === null) text = 'null';
  else if (typeof v === 'bigint') text = v.toString();
  else if (typeof v !== 'object') text = String(v);
  else if (Array.isArray(v)) {
    text = (v as unknown[])
      .map((x) => (x !== null && typeof x === 'object' && isGraph(x) ? `graph ${x.name}` : String(x)))
      .join(', ');
    text = `[${text}]`;
  } else if (isTensorData(v)) text = tensorText(v);
  else if (isGraph(v)) text = `graph ${v.name} (${v.nodes.length} nodes)`;
  else text = JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
  return text.length > MAX_ATTR_CHARS ? `${text.slice(0, MAX_ATTR_CHARS)}…` : text;
}

function inputOf(name: string, value: Value | undefined): ViewInput {
  const input: ViewInput = {
    name,
    dtype: value?.dtype ?? 'unknown',
    shape: value?.shape ?? null,
    isParam: value?.initializer !== undefined,
  };
  // Set only when true: a 10,000-node view model is sent as JSON, and every byte is parsed.
  if (value !== undefined && !value.initializer && (value.constant || value.shapeArith)) input.isConst = true;
  return input;
}

/** The view model for `model`, with the skip analysis when there is one. */
export function buildViewModel(model: Model, analysis?: SkipAnalysis): ViewModel {
  const g = model.graph;
  const nodes: ViewNode[] = g.nodes.map((n) => {
    const attributes: Record<string, string> = {};
    for (const [k, v] of Object.entries(n.attributes)) attributes[k] = attributeText(v);
    const node: ViewNode = {
      id: String(n.index),
      name: n.name,
      op: n.op,
      scope: n.scope,
      attributes,
      inputs: n.inputs.filter((i) => i !== '').map((i) => inputOf(i, g.values.get(i))),
      outputs: n.outputs.map((o) => {
        const v = g.values.get(o);
        return { name: o, dtype: v?.dtype ?? 'unknown', shape: v?.shape ?? null };
      }),
      params: n.params,
      flops: n.flops,
      hidden: n.constant || n.shapeArith,
    };
    if (n.unknownOp) node.unknownOp = true;
    if (n.controlFlow) node.controlFlow = true;
    if (n.group) node.group = n.group;
    return node;
  });
  const edges: ViewEdge[] = [];
  for (const n of g.nodes) {
    const seen = new Set<string>();
    for (const t of n.inputs) {
      if (!t || seen.has(t)) continue;
      seen.add(t);
      const v = g.values.get(t);
      if (v?.producer === undefined) continue;
      const edge: ViewEdge = { from: String(v.producer), to: String(n.index), tensor: t, shape: v.shape };
      if (nodes[v.producer]?.hidden || nodes[n.index]?.hidden) edge.hidden = true;
      edges.push(edge);
    }
  }
  const io = (name: string) => {
    const v = g.values.get(name);
    return { name, dtype: v?.dtype ?? ('unknown' as const), shape: v?.shape ?? null };
  };
  const view: ViewModel = {
    file: model.file,
    format: model.format,
    description: model.metadata.description ?? model.format,
    nodes,
    edges,
    inputs: g.inputs.map(io),
    outputs: g.outputs.map(io),
    totalParams: model.totalParams,
    totalFlops: model.totalFlops,
    // The view groups by name scope from the nodes themselves; the analysis' scope tree would
    // repeat every node name once more in the message.
    skips: analysis ? { ...analysis, scopes: { path: [], nodes: [], children: [] } } : emptySkipAnalysis(),
  };
  const producer = [model.metadata.producer, model.metadata.producerVersion].filter(Boolean).join(' ');
  if (producer) view.producer = producer;
  return view;
}
