/**
 * Shape rules for TensorFlow GraphDef ops as TF.js graph models store them (NHWC by default).
 */
import type { DType, Dim, Shape } from '../model/ir';
import {
  axisOf,
  broadcast,
  concatShape,
  reshape,
  sameOut,
  windowOut,
  type RuleCtx,
  type ShapeRule,
} from './shapes';
import { matmulShape } from './shapeRulesOnnx';

const same: ShapeRule = (c) => {
  const k = c.known(0);
  if (k) c.setKnown(0, k);
  return [c.shape(0)];
};
const elementwise: ShapeRule = (c) => [broadcast(c.node.inputs.map((_, i) => c.shape(i)))];

/** Spatial axes of a TF data_format. */
function layout(c: RuleCtx, rank: number): { ch: number; sp: number[] } {
  const fmt = c.str('data_format', rank === 5 ? 'NDHWC' : 'NHWC');
  const sp: number[] = [];
  for (let i = 1; i < rank - 1; i++) sp.push(fmt.startsWith('NC') ? i + 1 : i);
  return { ch: fmt.startsWith('NC') ? 1 : rank - 1, sp };
}

function windowed(c: RuleCtx, x: Dim[], kernel: number[], cout: Dim): Shape {
  const { ch, sp } = layout(c, x.length);
  const strides = c.ints('strides') ?? new Array(x.length).fill(1);
  const dil = c.ints('dilations') ?? new Array(x.length).fill(1);
  const padding = c.str('padding', 'VALID');
  const explicit = c.ints('explicit_paddings');
  const out = x.slice();
  out[ch] = cout;
  sp.forEach((a, j) => {
    if (padding === 'SAME') out[a] = sameOut(x[a], strides[a]);
    else {
      const p = padding === 'EXPLICIT' && explicit ? explicit[2 * a] + explicit[2 * a + 1] : 0;
      out[a] = windowOut(x[a], kernel[j], strides[a], dil[a] ?? 1, p);
    }
  });
  return out;
}

const conv: ShapeRule = (c) => {
  const x = c.shape(0);
  const w = c.shape(1);
  if (!x || !w || w.length !== x.length) return null;
  const k = w.slice(0, -2);
  if (k.some((d) => typeof d !== 'number')) return null;
  const depthwise = c.node.op.includes('Depthwise');
  const cin = w[w.length - 2];
  const m = w[w.length - 1];
  const cout = depthwise ? (typeof cin === 'number' && typeof m === 'number' ? cin * m : null) : m;
  return [windowed(c, x, k as number[], cout)];
};

const pool: ShapeRule = (c) => {
  const x = c.shape(0);
  const ksize = c.ints('ksize');
  if (!x || !ksize) return null;
  const { ch, sp } = layout(c, x.length);
  return [
    windowed(
      c,
      x,
      sp.map((a) => ksize[a]),
      x[ch],
    ),
  ];
};

const matmul: ShapeRule = (c) => {
  let a = c.shape(0);
  let b = c.shape(1);
  const swap = (s: Shape) => (s && s.length >= 2 ? [...s.slice(0, -2), s[s.length - 1], s[s.length - 2]] : s);
  if (c.attr('transpose_a') === true || c.attr('adj_x') === true) a = swap(a);
  if (c.attr('transpose_b') === true || c.attr('adj_y') === true) b = swap(b);
  return [matmulShape(a, b)];
};

const concat: ShapeRule = (c) => {
  const n = c.node.inputs.length - 1;
  const ax = c.known(n);
  const shapes = c.node.inputs.slice(0, n).map((_, i) => c.shape(i));
  if (!ax || typeof ax[0] !== 'number') return null;
  const out = concatShape(shapes, ax[0]);
  return out && [out];
};

const reduce: ShapeRule = (c) => {
  const x = c.shape(0);
  const ax = c.known(1);
  if (!x || !ax) return null;
  const set = new Set(ax.map((a) => (typeof a === 'number' ? axisOf(a, x.length) : NaN)));
  const keep = c.attr('keep_dims') === true;
  return [keep ? x.map((d, i) => (set.has(i) ? 1 : d)) : x.filter((_, i) => !set.has(i))];
};

const pad: ShapeRule = (c) => {
  const x = c.shape(0);
  const p = c.known(1);
  if (!x || !p || p.length !== 2 * x.length) return null;
  return [
    x.map((d, i) => {
      const a = p[2 * i];
      const b = p[2 * i + 1];
      return typeof d === 'number' && typeof a === 'number' && typeof b === 'number'
        ? d + a + b
        : a === 0 && b === 0
          ? d
          : null;
    }),
  ];
};

const squeeze: ShapeRule = (c) => {
  const x = c.shape(0);
  if (!x) return null;
  const dims = c.ints('squeeze_dims') ?? c.ints('axis');
  if (!dims || dims.length === 0)
    return x.every((d) => typeof d === 'number') ? [x.filter((d) => d !== 1)] : null;
  const set = new Set(dims.map((a) => axisOf(a, x.length)));
  return [x.filter((_, i) => !set.has(i))];
};

const expandDims: ShapeRule = (c) => {
  const x = c.shape(0);
  const k = c.known(1);
  if (!x || !k || typeof k[0] !== 'number') return null;
  const a = axisOf(k[0], x.length + 1);
  if (Number.isNaN(a)) return null;
  return [[...x.slice(0, a), 1, ...x.slice(a)]];
};

const transpose: ShapeRule = (c) => {
  const x = c.shape(0);
  const p = c.known(1);
  if (!x || !p || p.length !== x.length) return null;
  return [p.map((i) => (typeof i === 'number' ? (x[i] ?? null) : null))];
};

const reshapeRule: ShapeRule = (c) => {
  const t = c.known(1);
  return t ? [reshape(c.shape(0), t, true)] : null;
};

const resize: ShapeRule = (c) => {
  const x = c.shape(0);
  const k = c.known(1);
  if (!x || x.length !== 4 || !k || k.length !== 2) return null;
  return [[x[0], k[0], k[1], x[3]]];
};

const shapeOp: ShapeRule = (c) => {
  const x = c.shape(0);
  c.setDtype(0, 'int32');
  if (!x) return null;
  c.setKnown(0, x);
  return [[x.length]];
};

const placeholder: ShapeRule = (c) => {
  const s = c.attr('shape');
  if (!Array.isArray(s)) return null;
  return [(s as number[]).map((d, i) => (d >= 0 ? d : i === 0 ? 'batch' : null))];
};

const cast: ShapeRule = (c) => {
  const to = c.attr('DstT');
  if (typeof to === 'string') c.setDtype(0, to as DType);
  return [c.shape(0)];
};

const fusedBn: ShapeRule = (c) => [c.shape(0)];

const UNARY = [
  'Relu',
  'Relu6',
  'Elu',
  'Selu',
  'Sigmoid',
  'Tanh',
  'Softmax',
  'LogSoftmax',
  'Identity',
  'BiasAdd',
  'LeakyRelu',
  'Exp',
  'Log',
  'Sqrt',
  'Rsqrt',
  'Square',
  'Neg',
  'Abs',
  'Cast',
  'Softplus',
  'Erf',
  'Snapshot',
  'StopGradient',
  'Prelu',
];
const BROADCAST = [
  'Add',
  'AddV2',
  'AddN',
  'Sub',
  'Mul',
  'RealDiv',
  'Div',
  'FloorDiv',
  'Maximum',
  'Minimum',
  'SquaredDifference',
  'Pow',
  'Select',
  'SelectV2',
];

/** TF op → shape rule. */
export const TF_SHAPE_RULES: Record<string, ShapeRule> = {
  ...Object.fromEntries(UNARY.map((op) => [op, same])),
  ...Object.fromEntries(BROADCAST.map((op) => [op, elementwise])),
  ...Object.fromEntries(['Mean', 'Sum', 'Max', 'Min', 'Prod', 'All', 'Any'].map((op) => [op, reduce])),
  Conv2D: conv,
  _FusedConv2D: conv,
  Conv3D: conv,
  DepthwiseConv2dNative: conv,
  FusedDepthwiseConv2dNative: conv,
  MaxPool: pool,
  AvgPool: pool,
  MatMul: matmul,
  _FusedMatMul: matmul,
  BatchMatMul: matmul,
  BatchMatMulV2: matmul,
  ConcatV2: concat,
  Pad: pad,
  PadV2: pad,
  MirrorPad: pad,
  Squeeze: squeeze,
  ExpandDims: expandDims,
  Transpose: transpose,
  Reshape: reshapeRule,
  ResizeBilinear: resize,
  ResizeNearestNeighbor: resize,
  Shape: shapeOp,
  Placeholder: placeholder,
  Cast: cast,
  FusedBatchNorm: fusedBn,
  FusedBatchNormV3: fusedBn,
};
