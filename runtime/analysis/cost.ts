/**
 * Parameters and FLOPs per node, and model totals.
 *
 * Parameters are the learnable tensors PyTorch/Keras would count: floating-point initializers in
 * weight positions (not BatchNorm running statistics, not Reshape targets, Resize scales or other
 * configuration inputs), each counted once per model even when shared (an initializer read by
 * several nodes, or aliased through Identity as PyTorch does for tied weights).
 * FLOPs: 2 × multiply-adds for conv/gemm/matmul, one per output element for elementwise ops and
 * activations, a window's worth per output element for pooling. Symbolic dims (the batch) count
 * as 1, so FLOPs are per sample; nodes with unknown shapes count 0. A control-flow node carries
 * its bodies' FLOPs (an If its costlier branch, a loop one trip of its body) and their parameters,
 * so that the nodes of a graph add up to the model's totals.
 */
import type { Dim, Graph, Model, Node, TensorData, Value } from '../model/ir';
import { isFloat } from '../model/tensorValues';

/** Input positions that are configuration, not weights, by op (ONNX, TF, Keras names). */
const CONFIG_INPUTS: Record<string, number[]> = {
  BatchNormalization: [3, 4],
  FusedBatchNorm: [3, 4],
  FusedBatchNormV3: [3, 4],
  Reshape: [1],
  Resize: [1, 2, 3],
  Upsample: [1],
  Slice: [1, 2, 3, 4],
  Pad: [1, 2, 3],
  Expand: [1],
  Tile: [1],
  Unsqueeze: [1],
  Squeeze: [1],
  Split: [1],
  TopK: [1],
  Clip: [1, 2],
  ConstantOfShape: [0],
  Range: [0, 1, 2],
  ReduceMean: [1],
  ReduceSum: [1],
  ReduceMax: [1],
  ReduceMin: [1],
  ReduceProd: [1],
  ReduceL2: [1],
  ReduceSumSquare: [1],
  ConcatV2: [-1],
  Mean: [1],
  Sum: [1],
  Max: [1],
  Transpose: [1],
  ExpandDims: [1],
  MirrorPad: [1],
  PadV2: [1, 2],
  ResizeBilinear: [1],
  ResizeNearestNeighbor: [1],
};

const NONE: number[] = [];

/** Control flow that runs one of its bodies. */
const BRANCHING = new Set(['If', 'StatelessIf']);

/** Ops whose work is 2 × MACs. */
const MAC_OPS = new Set([
  'Conv',
  'ConvTranspose',
  'Gemm',
  'MatMul',
  'Conv2D',
  '_FusedConv2D',
  'DepthwiseConv2dNative',
  'FusedDepthwiseConv2dNative',
  '_FusedMatMul',
  'BatchMatMul',
  'BatchMatMulV2',
  'Dense',
  'Conv1D',
  'Conv2DTranspose',
  'Conv3D',
  'DepthwiseConv2D',
  'SeparableConv2D',
  'QLinearConv',
  'ConvInteger',
  'MatMulInteger',
]);
/** Ops that move data without arithmetic (0 FLOPs). */
const FREE_OPS = new Set([
  'Reshape',
  'Flatten',
  'Transpose',
  'Squeeze',
  'Unsqueeze',
  'Identity',
  'Shape',
  'Size',
  'Gather',
  'Slice',
  'Split',
  'Concat',
  'ConcatV2',
  'Concatenate',
  'Pad',
  'Constant',
  'ConstantOfShape',
  'Cast',
  'Expand',
  'Tile',
  'Dropout',
  'ExpandDims',
  'Const',
  'Placeholder',
  'Permute',
  'Snapshot',
  'StopGradient',
  'ZeroPadding2D',
  'Cropping2D',
  'InputLayer',
  'Flatten',
  'SpatialDropout2D',
]);
const POOL_OPS = new Set([
  'MaxPool',
  'AveragePool',
  'AvgPool',
  'LpPool',
  'MaxPooling2D',
  'AveragePooling2D',
  'MaxPooling1D',
  'AveragePooling1D',
]);

/** Computes per-node params and FLOPs and the model totals, in place. */
export function computeCost(model: Model): void {
  // Keyed by the stored tensor: a body of If/Loop reading an outer weight shares its TensorData.
  const counted = new Set<TensorData>();
  let total = 0;
  const flops = walk(model.graph, counted, model.format === 'tfjs-layers');
  for (const t of counted) total += elementsOf(t);
  model.totalParams = total;
  model.totalFlops = flops;
}

function walk(g: Graph, counted: Set<TensorData>, keras: boolean): number {
  let flops = 0;
  for (const node of g.nodes) {
    // A control-flow node carries its bodies' work: the costlier branch of an If (one runs), one
    // trip of a loop body (the trip count is a run-time value).
    let bodies = 0;
    let bodyParams = 0;
    if (node.subgraphs) {
      const each = Object.values(node.subgraphs).map((sg) => walk(sg, counted, keras));
      bodies = BRANCHING.has(node.op) ? Math.max(0, ...each) : each.reduce((a, b) => a + b, 0);
      for (const sg of Object.values(node.subgraphs)) for (const n of sg.nodes) bodyParams += n.params;
    }
    node.params = bodyParams;
    // Constant nodes (PyTorch's Identity aliases, a Transpose of a weight) pass their weights on:
    // the learned op that finally reads them is charged.
    if (!node.constant) {
      for (const v of weightsRead(g, node, keras, 0)) {
        const t = v.initializer as TensorData;
        if (counted.has(t)) continue;
        counted.add(t);
        node.params += elementsOf(t);
      }
    }
    node.flops = (node.constant || node.shapeArith ? 0 : nodeFlops(g, node, keras)) + bodies;
    flops += node.flops;
  }
  return flops;
}

/** The float initializers `node` reads as weights, directly or through constant nodes. */
function weightsRead(g: Graph, node: Node, keras: boolean, depth: number): Value[] {
  const out: Value[] = [];
  const cfg = keras ? NONE : (CONFIG_INPUTS[node.op] ?? NONE);
  node.inputs.forEach((name, i) => {
    if (!name || cfg.includes(i) || (cfg.includes(-1) && i === node.inputs.length - 1)) return;
    const v = g.values.get(name);
    if (!v) return;
    if (v.initializer) {
      if (!isFloat(v.dtype)) return;
      // Scalars are folded constants (an epsilon, a scale), not parameters — except in Keras,
      // where every weight counts (TF.js countParams() includes BatchNorm moving statistics too).
      if (!keras && v.initializer.shape.length === 0) return;
      out.push(v);
    } else if (v.constant && v.producer !== undefined && depth < 8) {
      out.push(...weightsRead(g, g.nodes[v.producer], keras, depth + 1));
    }
  });
  return out;
}

function elementsOf(t: TensorData): number {
  const s = t.shape;
  let n = 1;
  for (const d of s) n *= d;
  return n;
}

/** Elements of a shape with symbolic dims as 1; null when unknown. */
function elems(s: Dim[] | null | undefined): number | null {
  if (!s) return null;
  let n = 1;
  for (const d of s) {
    if (d === null) return null;
    if (typeof d === 'number') n *= d;
  }
  return n;
}

function shapeOf(g: Graph, name: string | undefined): Dim[] | null {
  return name ? (g.values.get(name)?.shape ?? null) : null;
}

/** ONNX recurrent ops: gate blocks in W/R, and elementwise work per hidden unit and step. */
const RECURRENT: Record<string, { gates: number; pointwise: number }> = {
  // LSTM: 5 activations, the cell update (3), h = o·tanh(c) (1); GRU: 3 activations, r·h,
  // (1 − z)·h̃ + z·h (3); RNN: the activation. Plus the bias and recurrent adds, 2 per gate unit.
  LSTM: { gates: 4, pointwise: 9 },
  GRU: { gates: 3, pointwise: 7 },
  RNN: { gates: 1, pointwise: 1 },
};

/**
 * An ONNX LSTM/GRU/RNN node over the whole sequence: per step and direction, the input and
 * recurrent projections (2 × gates·H·(I + H)) and the gates' elementwise work.
 */
function recurrentFlops(g: Graph, node: Node): number {
  const spec = RECURRENT[node.op];
  const x = shapeOf(g, node.inputs[0]);
  const w = shapeOf(g, node.inputs[1]);
  const num = (d: Dim | undefined) => (typeof d === 'number' ? d : 1);
  if (!x || !w || x.length !== 3 || w.length !== 3) return 0;
  const steps = num(node.attributes.layout === 1 || node.attributes.layout === 1n ? x[1] : x[0]);
  const dirs = num(w[0]);
  const gh = num(w[1]);
  const h = gh / spec.gates;
  const inputs = num(w[2]);
  return steps * dirs * (2 * gh * (inputs + h) + 2 * gh + spec.pointwise * h);
}

/** Keras recurrent layers: gate blocks and elementwise work per unit and step (as RECURRENT). */
const KERAS_RECURRENT: Record<string, { gates: number; pointwise: number }> = {
  LSTM: RECURRENT.LSTM,
  GRU: RECURRENT.GRU,
  SimpleRNN: RECURRENT.RNN,
};

/**
 * A Keras LSTM/GRU/SimpleRNN layer (or a Bidirectional wrapper of one) over its input [B, T, F]:
 * per step, every weight matrix (kernel [F, G·U], recurrent kernel [U, G·U], per direction) as
 * 2 × its elements, the biases, and the gates' elementwise work.
 */
function kerasRecurrentFlops(g: Graph, node: Node): number {
  const inner = node.attributes.layer as { class_name?: unknown } | undefined;
  const cls = node.op === 'Bidirectional' ? String(inner?.class_name ?? '') : node.op;
  const spec = KERAS_RECURRENT[cls];
  const x = shapeOf(g, node.inputs[0]);
  if (!spec || !x || x.length !== 3) return 0;
  const num = (d: Dim | undefined) => (typeof d === 'number' ? d : 1);
  let perStep = 0;
  let matrices = 0;
  let units = 0;
  for (const name of node.inputs.slice(1)) {
    const s = shapeOf(g, name);
    if (!s) continue;
    const n = s.reduce<number>((a, d) => a * num(d), 1);
    if (s.length === 2) {
      perStep += 2 * n;
      matrices++;
      units = num(s[1]) / spec.gates;
    } else perStep += n;
  }
  // Two matrices (kernel, recurrent kernel) per direction.
  return num(x[1]) * (perStep + (matrices / 2) * spec.pointwise * units);
}

function nodeFlops(g: Graph, node: Node, keras: boolean): number {
  if (keras && (KERAS_RECURRENT[node.op] || node.op === 'Bidirectional')) return kerasRecurrentFlops(g, node);
  if (!keras && RECURRENT[node.op]) return recurrentFlops(g, node);
  const out = elems(shapeOf(g, node.outputs[0]));
  if (out === null) return 0;
  if (FREE_OPS.has(node.op)) return 0;
  if (node.op === 'SeparableConv2D' || node.op === 'Conv2DTranspose') return 2 * kerasMacs(g, node, out);
  if (MAC_OPS.has(node.op)) return 2 * out * reductionSize(g, node);
  if (POOL_OPS.has(node.op)) {
    const k = node.attributes.kernel_shape ?? node.attributes.ksize ?? node.attributes.pool_size;
    const win = Array.isArray(k) ? (k as number[]).reduce((a, b) => a * b, 1) : 1;
    return out * win;
  }
  if (
    node.op.startsWith('Global') ||
    node.op.startsWith('Reduce') ||
    node.op === 'Mean' ||
    node.op === 'Sum'
  ) {
    return elems(shapeOf(g, node.inputs[0])) ?? out;
  }
  return out;
}

/** Multiply-adds of the Keras layers whose work is not "output × reduction". */
function kerasMacs(g: Graph, node: Node, out: number): number {
  const num = (d: Dim | undefined) => (typeof d === 'number' ? d : 1);
  const x = shapeOf(g, node.inputs[0]);
  const k = shapeOf(g, node.inputs[1]);
  if (!x || !k) return 0;
  const prod = (s: Dim[]) => s.reduce<number>((a, d) => a * num(d), 1);
  if (node.op === 'SeparableConv2D') {
    // depthwise [kh, kw, Cin, mult] over the output positions, then pointwise [1, 1, Cin·mult, Cout]
    const pw = shapeOf(g, node.inputs[2]);
    const cout = pw ? num(pw[pw.length - 1]) : 1;
    const positions = out / Math.max(cout, 1);
    return positions * prod(k) + positions * (pw ? prod(pw) : 0);
  }
  // Conv2DTranspose kernel [kh, kw, Cout, Cin]: every input element meets kh·kw·Cout weights.
  return (elems(x) ?? 0) * prod(k.slice(0, -1));
}

/** Multiply-adds per output element of a conv/gemm/matmul-like op. */
function reductionSize(g: Graph, node: Node): number {
  const x = shapeOf(g, node.inputs[0]);
  const w = shapeOf(g, node.inputs[1]);
  const num = (d: Dim | undefined) => (typeof d === 'number' ? d : 1);
  switch (node.op) {
    case 'Conv':
    case 'QLinearConv':
    case 'ConvInteger':
      // W: [M, C/group, k...]
      return w ? w.slice(1).reduce<number>((a, d) => a * num(d), 1) : 0;
    case 'ConvTranspose': {
      // W: [C, M/group, k...]; each input element feeds M/group × k outputs.
      if (!w || !x) return 0;
      const inElems = elems(x) ?? 0;
      const outElems = elems(shapeOf(g, node.outputs[0])) ?? 1;
      return outElems > 0 ? (inElems * w.slice(1).reduce<number>((a, d) => a * num(d), 1)) / outElems : 0;
    }
    case 'Gemm':
      return x ? num(node.attributes.transA ? x[0] : x[1]) : 0;
    case 'Conv2D':
    case '_FusedConv2D':
    case 'Conv3D':
      // TF filter: [k..., Cin, Cout]
      return w ? w.slice(0, -1).reduce<number>((a, d) => a * num(d), 1) : 0;
    case 'DepthwiseConv2dNative':
    case 'FusedDepthwiseConv2dNative':
      return w ? w.slice(0, -2).reduce<number>((a, d) => a * num(d), 1) : 0;
    case 'Dense':
    case 'MatMul':
    case '_FusedMatMul':
    case 'BatchMatMul':
    case 'BatchMatMulV2':
    case 'MatMulInteger': {
      if (!x) return 0;
      const ta = node.attributes.transpose_a === true || node.attributes.adj_x === true;
      return num(ta ? x[x.length - 2] : x[x.length - 1]);
    }
    default: {
      // Keras conv layers: kernel is [k..., Cin, Cout] (depthwise: [k..., Cin, mult]).
      const k = shapeOf(g, node.inputs[1]);
      if (!k) return 0;
      if (node.op === 'DepthwiseConv2D') return k.slice(0, -2).reduce<number>((a, d) => a * num(d), 1);
      if (node.op === 'SeparableConv2D')
        return k.slice(0, -2).reduce<number>((a, d) => a * num(d), 1) + num(x?.[x.length - 1]);
      return k.slice(0, -1).reduce<number>((a, d) => a * num(d), 1);
    }
  }
}
