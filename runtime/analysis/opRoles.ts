/**
 * What each op means to the skip analysis, per format: a learned op (conv, linear…), a
 * parameter-free carry op a skip may pass through (pooling, resize, reshape, activation…), a merge
 * (Add/Sum, Concat, Mul), a normalization — and how much an op down- or upsamples.
 *
 * ONNX ops, TF.js layer classes and TF.js graph ops share names ("Conv2D", "Add") with different
 * meanings, so every table is per format.
 */
import type { Graph, ModelFormat, Node, Value } from '../model/ir';

/** The role of an op in the skip analysis. */
export type OpRole = 'learned' | 'carry' | 'merge' | 'norm' | 'other';

/** How a merge op combines its inputs. */
export type MergeOp = 'add' | 'concat' | 'mul';

/** What a learned op is, for projection checks and for words ("bypasses 2 convs"). */
export type LearnedKind = 'conv' | 'deconv' | 'linear' | 'embedding' | 'recurrent' | 'layer';

interface OpTable {
  learned: Map<string, LearnedKind>;
  carry: Set<string>;
  merge: Map<string, MergeOp>;
  norm: Set<string>;
  /** Elementwise binary ops: a carry op when only one input is data (bias add, scale by a constant). */
  elementwise: Set<string>;
  /** Learned only when one input is a weight (MatMul of two activations is attention, not a layer). */
  needsWeight: Set<string>;
  /** Ops that change spatial resolution. */
  resample: Set<string>;
  /** Channels-last layout (TF): spatial axes are 1..rank-2; else 2..rank-1. */
  channelsLast: boolean;
}

const words = (s: string): string[] => s.split(/\s+/).filter((w) => w.length > 0);

const ONNX_ACTIVATIONS = words(`Relu LeakyRelu PRelu Sigmoid HardSigmoid Tanh Clip Elu Selu Celu Gelu
  Softplus Softsign HardSwish Mish ThresholdedRelu Softmax LogSoftmax Erf Exp Log Sqrt Neg Abs
  Reciprocal Floor Ceil Round Sign Sin Cos Not Shrink`);

const ONNX: OpTable = {
  learned: new Map<string, LearnedKind>([
    ['Conv', 'conv'],
    ['ConvInteger', 'conv'],
    ['QLinearConv', 'conv'],
    ['ConvTranspose', 'deconv'],
    ['Gemm', 'linear'],
    ['MatMul', 'linear'],
    ['MatMulInteger', 'linear'],
    ['QLinearMatMul', 'linear'],
    ['Einsum', 'linear'],
    ['LSTM', 'recurrent'],
    ['GRU', 'recurrent'],
    ['RNN', 'recurrent'],
  ]),
  carry: new Set([
    ...ONNX_ACTIVATIONS,
    ...words(`MaxPool AveragePool GlobalAveragePool GlobalMaxPool LpPool GlobalLpPool MaxRoiPool
      Resize Upsample Pad Slice Split Reshape Flatten Transpose Squeeze Unsqueeze Identity Cast
      CastLike Dropout Expand Tile DepthToSpace SpaceToDepth ReduceMean ReduceMax ReduceSum ReduceMin
      ReduceL2 Gather GatherElements QuantizeLinear DequantizeLinear`),
  ]),
  merge: new Map<string, MergeOp>([
    ['Add', 'add'],
    ['Sum', 'add'],
    ['Concat', 'concat'],
    ['Mul', 'mul'],
    // Quantized exports (com.microsoft): scales and zero points are initializers, not data.
    ['QLinearAdd', 'add'],
    ['QLinearConcat', 'concat'],
    ['QLinearMul', 'mul'],
  ]),
  norm: new Set(
    words(`BatchNormalization InstanceNormalization LayerNormalization GroupNormalization
    LpNormalization MeanVarianceNormalization SimplifiedLayerNormalization SkipLayerNormalization LRN`),
  ),
  elementwise: new Set(words('Add Sum Sub Mul Div Pow Max Min Mean Where And Or Equal Greater Less Mod')),
  needsWeight: new Set(words('MatMul MatMulInteger QLinearMatMul Einsum Gemm')),
  resample: new Set(
    words(`MaxPool AveragePool LpPool GlobalAveragePool GlobalMaxPool GlobalLpPool Conv
    ConvInteger QLinearConv ConvTranspose Resize Upsample DepthToSpace SpaceToDepth`),
  ),
  channelsLast: false,
};

const TFJS_LAYERS: OpTable = {
  learned: new Map<string, LearnedKind>([
    ...words('Conv1D Conv2D Conv3D SeparableConv1D SeparableConv2D DepthwiseConv2D ConvLSTM2D').map(
      (w) => [w, 'conv'] as [string, LearnedKind],
    ),
    ...words('Conv2DTranspose Conv3DTranspose').map((w) => [w, 'deconv'] as [string, LearnedKind]),
    ['Dense', 'linear'],
    ['EinsumDense', 'linear'],
    ['Embedding', 'embedding'],
    ...words('LSTM GRU SimpleRNN RNN Bidirectional').map((w) => [w, 'recurrent'] as [string, LearnedKind]),
  ]),
  carry: new Set(
    words(`Activation ReLU LeakyReLU PReLU ELU ThresholdedReLU Softmax Dropout SpatialDropout1D
      SpatialDropout2D SpatialDropout3D GaussianNoise GaussianDropout AlphaDropout Flatten Reshape Permute
      RepeatVector MaxPooling1D MaxPooling2D MaxPooling3D AveragePooling1D AveragePooling2D
      AveragePooling3D GlobalAveragePooling1D GlobalAveragePooling2D GlobalAveragePooling3D
      GlobalMaxPooling1D GlobalMaxPooling2D GlobalMaxPooling3D UpSampling1D UpSampling2D UpSampling3D
      ZeroPadding1D ZeroPadding2D ZeroPadding3D Cropping1D Cropping2D Cropping3D Masking Rescaling
      Resizing CenterCrop`),
  ),
  merge: new Map<string, MergeOp>([
    ['Add', 'add'],
    ['Concatenate', 'concat'],
    ['Multiply', 'mul'],
  ]),
  norm: new Set(words('BatchNormalization LayerNormalization GroupNormalization UnitNormalization')),
  elementwise: new Set(words('Add Concatenate Multiply Subtract Average Maximum Minimum Dot')),
  needsWeight: new Set(),
  resample: new Set(
    words(`Conv1D Conv2D Conv3D SeparableConv1D SeparableConv2D DepthwiseConv2D Conv2DTranspose
      Conv3DTranspose MaxPooling1D MaxPooling2D MaxPooling3D AveragePooling1D AveragePooling2D
      AveragePooling3D GlobalAveragePooling2D GlobalMaxPooling2D UpSampling1D UpSampling2D UpSampling3D
      Resizing`),
  ),
  channelsLast: true,
};

const TFJS_GRAPH: OpTable = {
  learned: new Map<string, LearnedKind>([
    ...words(`Conv2D _FusedConv2D FusedConv2D Conv3D Conv1D DepthwiseConv2dNative
      FusedDepthwiseConv2dNative DepthwiseConv2D`).map((w) => [w, 'conv'] as [string, LearnedKind]),
    ...words('Conv2DBackpropInput Conv3DBackpropInputV2').map((w) => [w, 'deconv'] as [string, LearnedKind]),
    ...words('MatMul _FusedMatMul BatchMatMul BatchMatMulV2 _FusedBatchMatMul Einsum').map(
      (w) => [w, 'linear'] as [string, LearnedKind],
    ),
  ]),
  carry: new Set(
    words(`Relu Relu6 Elu Selu LeakyRelu Prelu Sigmoid Tanh Softmax LogSoftmax Softplus Softsign Erf Exp
      Log Sqrt Rsqrt Neg Abs Reciprocal Square MaxPool AvgPool MaxPool3D AvgPool3D MaxPoolV2
      ResizeBilinear ResizeNearestNeighbor Pad PadV2 MirrorPad Slice StridedSlice Split SplitV Reshape
      Squeeze ExpandDims Transpose Identity IdentityN Cast Mean Max Sum Min BiasAdd Tile BroadcastTo
      DepthToSpace SpaceToDepth GatherV2 Gather StopGradient Snapshot`),
  ),
  merge: new Map<string, MergeOp>([
    ['Add', 'add'],
    ['AddV2', 'add'],
    ['AddN', 'add'],
    ['ConcatV2', 'concat'],
    ['Concat', 'concat'],
    ['Mul', 'mul'],
  ]),
  norm: new Set(
    words('FusedBatchNorm FusedBatchNormV2 FusedBatchNormV3 BatchNormWithGlobalNormalization LRN'),
  ),
  elementwise: new Set(words('Add AddV2 AddN Sub Mul RealDiv Div Pow Maximum Minimum SquaredDifference')),
  needsWeight: new Set(words('MatMul _FusedMatMul BatchMatMul BatchMatMulV2 _FusedBatchMatMul Einsum')),
  resample: new Set(
    words(`Conv2D _FusedConv2D FusedConv2D Conv3D DepthwiseConv2dNative FusedDepthwiseConv2dNative
      Conv2DBackpropInput Conv3DBackpropInputV2 MaxPool AvgPool MaxPool3D AvgPool3D ResizeBilinear
      ResizeNearestNeighbor DepthToSpace SpaceToDepth`),
  ),
  channelsLast: true,
};

const TABLES: Record<ModelFormat, OpTable> = {
  onnx: ONNX,
  'tfjs-layers': TFJS_LAYERS,
  'tfjs-graph': TFJS_GRAPH,
};

/** The per-node facts the analysis needs, computed once per graph. */
export interface NodeRole {
  role: OpRole;
  /** Set when role is 'merge'. */
  merge?: MergeOp;
  /** Set when role is 'learned'. */
  learned?: LearnedKind;
  /** A 1×1 conv or a linear layer: allowed as a projection shortcut. */
  projection: boolean;
  /** Spatial downsampling and upsampling factors (1 when none). */
  down: number;
  up: number;
}

/** True when `v` is a parameter or constant (not run-time data). */
function isParam(v: Value | undefined): boolean {
  return v !== undefined && (v.constant || v.shapeArith || (v.initializer !== undefined && !v.isGraphInput));
}

/** The weight tensor's shape: the first parameter input of rank ≥ 2. */
function weightShape(node: Node, graph: Graph): number[] | undefined {
  for (const name of node.inputs) {
    const v = graph.values.get(name);
    if (!v || !isParam(v)) continue;
    const shape =
      v.initializer?.shape ??
      (v.shape?.every((d) => typeof d === 'number') ? (v.shape as number[]) : undefined);
    if (shape && shape.length >= 2) return shape;
  }
  return undefined;
}

function numbers(a: unknown): number[] | undefined {
  if (typeof a === 'number') return [a];
  if (Array.isArray(a) && a.every((x) => typeof x === 'number')) return a as number[];
  return undefined;
}

/** True for a 1×1 (or 1×1×1) convolution, from its kernel attribute or weight shape. */
function isPointwiseConv(node: Node, graph: Graph, table: OpTable): boolean {
  const k = numbers(
    node.attributes.kernel_shape ?? node.attributes.kernelSize ?? node.attributes.kernel_size,
  );
  if (k && k.length > 0) return k.every((d) => d === 1);
  const w = weightShape(node, graph);
  if (!w) return false;
  // ONNX weights are [out, in, k…]; TF weights are [k…, in, out].
  const spatial = table.channelsLast ? w.slice(0, w.length - 2) : w.slice(2);
  return spatial.length > 0 && spatial.every((d) => d === 1);
}

/** Known numeric spatial dims of a value, or undefined. */
function spatialDims(v: Value | undefined, channelsLast: boolean): number[] | undefined {
  const s = v?.shape;
  if (!s || s.length < 3) return undefined;
  const dims = channelsLast ? s.slice(1, s.length - 1) : s.slice(2);
  if (!dims.every((d) => typeof d === 'number' && d > 0)) return undefined;
  return dims as number[];
}

/** Largest stride from an ONNX/TF.js `strides` attribute (TF graph: [1, s, s, 1]). */
function strideOf(node: Node): number {
  const s = numbers(node.attributes.strides);
  return s && s.length > 0 ? Math.max(...s) : 1;
}

/** Scale factors of a Resize/Upsample from its constant `scales` input, when readable. */
function constScale(node: Node, graph: Graph): number | undefined {
  for (const name of node.inputs.slice(1)) {
    const v = graph.values.get(name);
    if (!v?.initializer || v.initializer.dtype !== 'float32') continue;
    try {
      const vals = Array.from(v.initializer.read() as Float32Array).slice(2);
      if (vals.length > 0) return Math.max(...vals);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Down/up factors of a resampling op: from shapes when both are known, else from attributes. */
function resampling(
  node: Node,
  graph: Graph,
  table: OpTable,
  dataInput: string | undefined,
): { down: number; up: number } {
  const ident = { down: 1, up: 1 };
  if (!table.resample.has(node.op) || dataInput === undefined) return ident;
  const inDims = spatialDims(graph.values.get(dataInput), table.channelsLast);
  const outDims = spatialDims(graph.values.get(node.outputs[0]), table.channelsLast);
  if (inDims && outDims && inDims.length === outDims.length) {
    let down = 1;
    let up = 1;
    for (let i = 0; i < inDims.length; i++) {
      if (outDims[i] < inDims[i]) down = Math.max(down, Math.round(inDims[i] / outDims[i]));
      else if (outDims[i] > inDims[i]) up = Math.max(up, Math.round(outDims[i] / inDims[i]));
    }
    return { down, up };
  }
  const op = node.op;
  if (/Transpose|BackpropInput/.test(op)) return { down: 1, up: strideOf(node) };
  if (/^(Resize|Upsample|UpSampling|ResizeBilinear|ResizeNearest)/.test(op)) {
    const size = numbers(node.attributes.size);
    const scale = size ? Math.max(...size) : (constScale(node, graph) ?? 2);
    return scale >= 1 ? { down: 1, up: Math.round(scale) } : { down: Math.round(1 / scale), up: 1 };
  }
  if (op === 'DepthToSpace')
    return { down: 1, up: numbers(node.attributes.blocksize ?? node.attributes.block_size)?.[0] ?? 2 };
  if (op === 'SpaceToDepth')
    return { down: numbers(node.attributes.blocksize ?? node.attributes.block_size)?.[0] ?? 2, up: 1 };
  if (/Global/.test(op)) return ident; // unknown input size: do not guess
  // Pooling without an explicit stride strides by its window (Keras poolSize, TF ksize).
  const stride =
    node.attributes.strides !== undefined
      ? strideOf(node)
      : Math.max(1, ...(numbers(node.attributes.poolSize ?? node.attributes.pool_size) ?? [1]));
  return { down: stride, up: 1 };
}

/** Ops that index a weight table (input 0) with run-time indices. */
const EMBEDDING_LOOKUPS = new Set(['Gather', 'GatherV2', 'ResourceGather']);

/**
 * Decides the role of `node`. `dataInputs` are the names of its data (non-constant) inputs: an
 * elementwise op with one data input is a bias/scale (a carry op), and MatMul is a learned layer
 * only when it multiplies by a weight.
 */
export function nodeRole(node: Node, graph: Graph, format: ModelFormat, dataInputs: string[]): NodeRole {
  const table = TABLES[format];
  const op = node.op;
  const nData = dataInputs.length;
  const merge = table.merge.get(op);
  if (merge !== undefined && nData >= 2) return { role: 'merge', merge, projection: false, down: 1, up: 1 };
  if (table.elementwise.has(op))
    return { role: nData <= 1 ? 'carry' : 'other', projection: false, down: 1, up: 1 };
  if (table.norm.has(op)) return { role: 'norm', projection: false, down: 1, up: 1 };
  // An embedding lookup: Gather from a weight table by run-time indices.
  if (EMBEDDING_LOOKUPS.has(op) && isParam(graph.values.get(node.inputs[0])) && nData === 1) {
    return { role: 'learned', learned: 'embedding', projection: false, down: 1, up: 1 };
  }
  const learned = table.learned.get(op);
  if (learned !== undefined) {
    const hasWeight =
      !table.needsWeight.has(op) ||
      node.params > 0 ||
      node.inputs.some((name) => isParam(graph.values.get(name)));
    if (!hasWeight) return { role: 'other', projection: false, down: 1, up: 1 };
    const projection = learned === 'linear' || (learned === 'conv' && isPointwiseConv(node, graph, table));
    const { down, up } = resampling(node, graph, table, dataInputs[0]);
    return { role: 'learned', learned, projection, down, up };
  }
  if (table.carry.has(op)) {
    const { down, up } = resampling(node, graph, table, dataInputs[0]);
    return { role: nData <= 1 ? 'carry' : 'other', projection: false, down, up };
  }
  // TF.js layers we do not know (custom layers, nested models): learned when they own weights.
  if (format === 'tfjs-layers' && node.params > 0)
    return { role: 'learned', learned: 'layer', projection: false, down: 1, up: 1 };
  return { role: 'other', projection: false, down: 1, up: 1 };
}

/** The merge kind of an op name in `format`, if it is a merge op (whatever its inputs). */
export function mergeOpOf(op: string, format: ModelFormat): MergeOp | undefined {
  return TABLES[format].merge.get(op);
}

/** Ops whose output is shape arithmetic whatever their input. */
export const SHAPE_OPS: ReadonlySet<string> = new Set(['Shape', 'Size', 'Rank', 'ShapeN']);

/** Ops without inputs that produce run-time data. */
export const SOURCE_OPS: ReadonlySet<string> = new Set([
  'Placeholder',
  'PlaceholderWithDefault',
  'InputLayer',
]);
