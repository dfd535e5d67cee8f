/**
 * Shape rules for Keras layer classes as TF.js layers models store them (configs as attributes,
 * channels_last by default, a null batch as the symbol "batch").
 */
import type { Dim, Shape } from '../model/ir';
import {
  broadcast,
  concatShape,
  dimProduct,
  sameOut,
  windowOut,
  type RuleCtx,
  type ShapeRule,
} from './shapes';

const same: ShapeRule = (c) => [c.shape(0)];
const merge: ShapeRule = (c) => [
  broadcast(c.node.inputs.map((_, i) => c.shape(i)).filter((_, i) => !isWeight(c, i))),
];

/** Layer weights are inputs of the layer node too; they are the initializer-backed ones. */
function isWeight(c: RuleCtx, i: number): boolean {
  return c.isParam(i);
}

function tuple(c: RuleCtx, name: string, n: number, dflt: number): number[] {
  const a = c.attr(name);
  if (typeof a === 'number') return new Array(n).fill(a);
  if (Array.isArray(a) && a.length === n && a.every((x) => typeof x === 'number')) return a as number[];
  return new Array(n).fill(dflt);
}

function channelsFirst(c: RuleCtx): boolean {
  return c.str('data_format', 'channels_last') === 'channels_first';
}

function spatial(c: RuleCtx, x: Dim[], kernel: number[], stridesName: string, cout: Dim | undefined): Shape {
  const n = x.length - 2;
  const strides = tuple(c, stridesName, n, 1);
  const dil = tuple(c, 'dilation_rate', n, 1);
  const padding = c.str('padding', 'valid');
  const cf = channelsFirst(c);
  const out = x.slice();
  for (let i = 0; i < n; i++) {
    const a = cf ? 2 + i : 1 + i;
    out[a] =
      padding === 'same' ? sameOut(x[a], strides[i]) : windowOut(x[a], kernel[i], strides[i], dil[i], 0);
  }
  if (cout !== undefined) out[cf ? 1 : x.length - 1] = cout;
  return out;
}

const conv: ShapeRule = (c) => {
  const x = c.shape(0);
  if (!x || x.length < 3) return null;
  const n = x.length - 2;
  const kernel = tuple(c, 'kernel_size', n, 1);
  let cout: Dim = c.int('filters', 0) || null;
  if (c.node.op === 'DepthwiseConv2D') {
    const ch = x[channelsFirst(c) ? 1 : x.length - 1];
    cout = typeof ch === 'number' ? ch * c.int('depth_multiplier', 1) : null;
  }
  return [spatial(c, x, kernel, 'strides', cout)];
};

const convTranspose: ShapeRule = (c) => {
  const x = c.shape(0);
  if (!x || x.length < 3) return null;
  const n = x.length - 2;
  const kernel = tuple(c, 'kernel_size', n, 1);
  const strides = tuple(c, 'strides', n, 1);
  const cf = channelsFirst(c);
  const out = x.slice();
  for (let i = 0; i < n; i++) {
    const a = cf ? 2 + i : 1 + i;
    const d = x[a];
    out[a] =
      typeof d !== 'number'
        ? null
        : c.str('padding', 'valid') === 'same'
          ? d * strides[i]
          : d * strides[i] + Math.max(kernel[i] - strides[i], 0);
  }
  out[cf ? 1 : x.length - 1] = c.int('filters', 0) || null;
  return [out];
};

const pool: ShapeRule = (c) => {
  const x = c.shape(0);
  if (!x || x.length < 3) return null;
  const n = x.length - 2;
  const size = tuple(c, 'pool_size', n, 2);
  const s = c.attr('strides');
  const strides = s === null || s === undefined ? size : tuple(c, 'strides', n, 1);
  const padding = c.str('padding', 'valid');
  const cf = channelsFirst(c);
  const out = x.slice();
  for (let i = 0; i < n; i++) {
    const a = cf ? 2 + i : 1 + i;
    out[a] = padding === 'same' ? sameOut(x[a], strides[i]) : windowOut(x[a], size[i], strides[i], 1, 0);
  }
  return [out];
};

const globalPool: ShapeRule = (c) => {
  const x = c.shape(0);
  if (!x || x.length < 3) return null;
  const cf = channelsFirst(c);
  const ch = x[cf ? 1 : x.length - 1];
  if (c.attr('keepdims') === true)
    return [x.map((d, i) => (i === 0 || i === (cf ? 1 : x.length - 1) ? d : 1))];
  return [[x[0], ch]];
};

const dense: ShapeRule = (c) => {
  const x = c.shape(0);
  if (!x) return null;
  return [[...x.slice(0, -1), c.int('units', 0) || null]];
};

const flatten: ShapeRule = (c) => {
  const x = c.shape(0);
  if (!x) return null;
  return [[x[0], dimProduct(x.slice(1))]];
};

const reshapeRule: ShapeRule = (c) => {
  const x = c.shape(0);
  const t = c.ints('target_shape');
  if (!x || !t) return null;
  const out: Dim[] = [x[0], ...t];
  const m = t.indexOf(-1);
  if (m >= 0) {
    const total = dimProduct(x.slice(1));
    const rest = dimProduct(t.filter((d) => d !== -1));
    out[m + 1] = total !== null && rest ? total / rest : null;
  }
  return [out];
};

const permute: ShapeRule = (c) => {
  const x = c.shape(0);
  const dims = c.ints('dims');
  if (!x || !dims) return null;
  return [[x[0], ...dims.map((d) => x[d] ?? null)]];
};

const concat: ShapeRule = (c) => {
  const shapes = c.node.inputs.map((_, i) => c.shape(i)).filter((_, i) => !isWeight(c, i));
  const out = concatShape(shapes, c.int('axis', -1));
  return out && [out];
};

const upsample: ShapeRule = (c) => {
  const x = c.shape(0);
  if (!x || x.length < 3) return null;
  const n = x.length - 2;
  const size = tuple(c, 'size', n, 2);
  const cf = channelsFirst(c);
  const out = x.slice();
  for (let i = 0; i < n; i++) {
    const a = cf ? 2 + i : 1 + i;
    const d = x[a];
    out[a] = typeof d === 'number' ? d * size[i] : null;
  }
  return [out];
};

const zeroPad: ShapeRule = (c) => {
  const x = c.shape(0);
  if (!x || x.length !== 4) return null;
  const p = c.attr('padding');
  let pads: number[][];
  if (typeof p === 'number')
    pads = [
      [p, p],
      [p, p],
    ];
  else if (Array.isArray(p) && p.length === 2 && p.every((q) => typeof q === 'number'))
    pads = (p as number[]).map((q) => [q, q]);
  else if (Array.isArray(p) && p.length === 2 && p.every((q) => Array.isArray(q)))
    pads = p as unknown as number[][];
  else
    pads = [
      [1, 1],
      [1, 1],
    ];
  const cf = channelsFirst(c);
  const out = x.slice();
  for (let i = 0; i < 2; i++) {
    const a = cf ? 2 + i : 1 + i;
    const d = x[a];
    const sign = c.node.op === 'Cropping2D' ? -1 : 1;
    out[a] = typeof d === 'number' ? d + sign * (pads[i][0] + pads[i][1]) : null;
  }
  return [out];
};

const embedding: ShapeRule = (c) => {
  const x = c.shape(0);
  return x ? [[...x, c.int('output_dim', 0) || null]] : null;
};

const rnn: ShapeRule = (c) => {
  const x = c.shape(0);
  if (!x || x.length !== 3) return null;
  const units = c.int('units', 0) || null;
  return [c.attr('return_sequences') === true ? [x[0], x[1], units] : [x[0], units]];
};

/** Bidirectional(layer): the wrapped layer's output, its last axis doubled when the two directions are concatenated. */
const bidirectional: ShapeRule = (c) => {
  const x = c.shape(0);
  const inner = c.attr('layer') as { config?: { units?: unknown; return_sequences?: unknown } } | undefined;
  if (!x || x.length !== 3 || !inner?.config) return null;
  const units = typeof inner.config.units === 'number' ? inner.config.units : null;
  const last = units !== null && c.str('merge_mode', 'concat') === 'concat' ? 2 * units : units;
  return [inner.config.return_sequences === true ? [x[0], x[1], last] : [x[0], last]];
};

const UNARY = [
  'Activation',
  'ReLU',
  'LeakyReLU',
  'PReLU',
  'ELU',
  'ThresholdedReLU',
  'Softmax',
  'Dropout',
  'SpatialDropout1D',
  'SpatialDropout2D',
  'GaussianNoise',
  'GaussianDropout',
  'AlphaDropout',
  'BatchNormalization',
  'LayerNormalization',
  'Masking',
  'Rescaling',
];

/** Keras layer class → shape rule. */
export const KERAS_SHAPE_RULES: Record<string, ShapeRule> = {
  ...Object.fromEntries(UNARY.map((op) => [op, same])),
  ...Object.fromEntries(
    ['Add', 'Multiply', 'Subtract', 'Average', 'Maximum', 'Minimum'].map((op) => [op, merge]),
  ),
  ...Object.fromEntries(
    ['Conv1D', 'Conv2D', 'Conv3D', 'DepthwiseConv2D', 'SeparableConv2D', 'SeparableConv1D'].map((op) => [
      op,
      conv,
    ]),
  ),
  ...Object.fromEntries(
    [
      'MaxPooling1D',
      'MaxPooling2D',
      'MaxPooling3D',
      'AveragePooling1D',
      'AveragePooling2D',
      'AveragePooling3D',
    ].map((op) => [op, pool]),
  ),
  ...Object.fromEntries(
    ['GlobalAveragePooling1D', 'GlobalAveragePooling2D', 'GlobalMaxPooling1D', 'GlobalMaxPooling2D'].map(
      (op) => [op, globalPool],
    ),
  ),
  Conv2DTranspose: convTranspose,
  Dense: dense,
  Flatten: flatten,
  Reshape: reshapeRule,
  Permute: permute,
  Concatenate: concat,
  UpSampling1D: upsample,
  UpSampling2D: upsample,
  ZeroPadding2D: zeroPad,
  Cropping2D: zeroPad,
  Embedding: embedding,
  LSTM: rnn,
  GRU: rnn,
  SimpleRNN: rnn,
  Bidirectional: bidirectional,
};
