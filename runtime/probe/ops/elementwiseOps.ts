/**
 * Elementwise ONNX ops: activations, broadcasting arithmetic, comparisons, Where, Clip.
 * All of them keep the layout of their inputs.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Val } from '../val';
import { aFloat, aStr, type OpContext, type OpFn } from './opContext';
import { broadcastInputs, wrap } from './layout';

function unary(f: (x: tf.Tensor, c: OpContext) => tf.Tensor): OpFn {
  return (c) => {
    const v = c.val(0);
    return [new Val(f(v.t, c), v.nhwc)];
  };
}

function binary(f: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor): OpFn {
  return (c) => {
    const { ts, nhwc } = broadcastInputs(c, [0, 1]);
    return [wrap(f(ts[0], ts[1]), nhwc)];
  };
}

function variadic(
  f: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor,
  finish?: (t: tf.Tensor, n: number) => tf.Tensor,
): OpFn {
  return (c) => {
    const idx = [...Array(c.count).keys()].filter((i) => c.has(i));
    const { ts, nhwc } = broadcastInputs(c, idx);
    let acc = ts[0];
    for (let i = 1; i < ts.length; i++) acc = f(acc, ts[i]);
    if (ts.length === 1) acc = tf.clone(acc);
    return [wrap(finish ? finish(acc, ts.length) : acc, nhwc)];
  };
}

const isInt = (t: tf.Tensor) => t.dtype === 'int32';

const hardSigmoid = (x: tf.Tensor, alpha: number, beta: number) =>
  tf.clipByValue(tf.add(tf.mul(x, alpha), beta), 0, 1);

const SQRT1_2 = Math.SQRT1_2;

/** Elementwise ops by ONNX name. */
export const elementwiseOps: Record<string, OpFn> = {
  Identity: unary((x) => tf.clone(x)),
  Dropout: (c) => {
    const v = c.val(0);
    const out = [new Val(tf.clone(v.t), v.nhwc)];
    if (c.node.outputs.length > 1) out.push(new Val(tf.cast(tf.onesLike(v.t), 'bool'), v.nhwc));
    return out;
  },
  Relu: unary((x) => tf.relu(x)),
  LeakyRelu: unary((x, c) => tf.leakyRelu(x, aFloat(c.node, 'alpha', 0.01))),
  Elu: unary((x, c) => {
    const a = aFloat(c.node, 'alpha', 1);
    return a === 1 ? tf.elu(x) : tf.where(tf.greater(x, 0), x, tf.mul(tf.expm1(x), a));
  }),
  Selu: unary((x, c) => {
    const a = aFloat(c.node, 'alpha', 1.67326319217681884765625);
    const g = aFloat(c.node, 'gamma', 1.05070102214813232421875);
    return tf.mul(tf.where(tf.greater(x, 0), x, tf.mul(tf.expm1(x), a)), g);
  }),
  Sigmoid: unary((x) => tf.sigmoid(x)),
  Tanh: unary((x) => tf.tanh(x)),
  Softplus: unary((x) => tf.softplus(x)),
  Softsign: unary((x) => tf.div(x, tf.add(tf.abs(x), 1))),
  HardSigmoid: unary((x, c) => hardSigmoid(x, aFloat(c.node, 'alpha', 0.2), aFloat(c.node, 'beta', 0.5))),
  HardSwish: unary((x) => tf.mul(x, hardSigmoid(x, 1 / 6, 0.5))),
  Mish: unary((x) => tf.mul(x, tf.tanh(tf.softplus(x)))),
  Gelu: unary((x, c) => {
    if (aStr(c.node, 'approximate', 'none') === 'tanh') {
      const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI));
      return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
    }
    return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, SQRT1_2)), 1));
  }),
  Erf: unary((x) => tf.erf(x)),
  Exp: unary((x) => tf.exp(x)),
  Log: unary((x) => tf.log(x)),
  Sqrt: unary((x) => tf.sqrt(x)),
  Reciprocal: unary((x) => tf.reciprocal(x)),
  Neg: unary((x) => tf.neg(x)),
  Abs: unary((x) => tf.abs(x)),
  Floor: unary((x) => tf.floor(x)),
  Ceil: unary((x) => tf.ceil(x)),
  Round: unary((x) => tf.round(x)),
  Sign: unary((x) => tf.sign(x)),
  Sin: unary((x) => tf.sin(x)),
  Cos: unary((x) => tf.cos(x)),
  Not: unary((x) => tf.logicalNot(x)),
  IsNaN: unary((x) => tf.isNaN(x)),
  IsInf: unary((x) => tf.isInf(x)),
  Clip: (c) => {
    const v = c.val(0);
    const lo = c.floats(1)?.[0] ?? aFloat(c.node, 'min', -3.4028234663852886e38);
    const hi = c.floats(2)?.[0] ?? aFloat(c.node, 'max', 3.4028234663852886e38);
    // clipByValue's gradient passes where lo <= x <= hi, like PyTorch's clamp.
    return [new Val(tf.clipByValue(v.t, lo, hi), v.nhwc)];
  },
  Add: binary((a, b) => tf.add(a, b)),
  Sub: binary((a, b) => tf.sub(a, b)),
  Mul: binary((a, b) => tf.mul(a, b)),
  Div: binary((a, b) => (isInt(a) && isInt(b) ? tf.floorDiv(a, b) : tf.div(a, b))),
  Mod: binary((a, b) => tf.mod(a, b)),
  Pow: binary((a, b) => {
    if (b.size === 1 && b.dtype !== 'int32') {
      const e = b.dataSync()[0];
      if (e === 2) return tf.square(a);
      if (e === 0.5) return tf.sqrt(a);
      if (e === 1) return tf.clone(a);
    }
    return tf.pow(a, b.dtype === a.dtype ? b : tf.cast(b, a.dtype));
  }),
  PRelu: binary((x, slope) => tf.where(tf.greater(x, 0), x, tf.mul(x, slope))),
  Equal: binary((a, b) => tf.equal(a, b)),
  Less: binary((a, b) => tf.less(a, b)),
  LessOrEqual: binary((a, b) => tf.lessEqual(a, b)),
  Greater: binary((a, b) => tf.greater(a, b)),
  GreaterOrEqual: binary((a, b) => tf.greaterEqual(a, b)),
  And: binary((a, b) => tf.logicalAnd(a, b)),
  Or: binary((a, b) => tf.logicalOr(a, b)),
  Xor: binary((a, b) => tf.logicalXor(a, b)),
  Max: variadic((a, b) => tf.maximum(a, b)),
  Min: variadic((a, b) => tf.minimum(a, b)),
  Sum: variadic((a, b) => tf.add(a, b)),
  Mean: variadic(
    (a, b) => tf.add(a, b),
    (t, n) => tf.div(t, n),
  ),
  Where: (c) => {
    const { ts, nhwc } = broadcastInputs(c, [0, 1, 2]);
    const shape = tf.broadcastTo; // where needs equal shapes in TF.js: broadcast first
    const out = tf.broadcastArgs(
      tf.broadcastArgs(tf.tensor1d(ts[0].shape, 'int32'), tf.tensor1d(ts[1].shape, 'int32')),
      tf.tensor1d(ts[2].shape, 'int32'),
    );
    const s = Array.from(out.dataSync());
    return [wrap(tf.where(shape(ts[0], s), shape(ts[1], s), shape(ts[2], s)), nhwc)];
  },
};
