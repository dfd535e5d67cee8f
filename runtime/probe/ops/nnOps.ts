/**
 * Layer ops: Conv, ConvTranspose, Gemm, MatMul, normalizations, pooling and Resize/Upsample.
 * Spatial ops run in NHWC (TF.js's native layout) and leave their outputs in NHWC.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Val, nat, nhwc } from '../val';
import { convForward, convOnnxWeight, convWithFastGrad, dilateSpatial, type ConvGeom } from '../convGrad';
import { aFloat, aInt, aInts, aStr, type OpContext, type OpFn } from './opContext';
import { normAxis } from './layout';
import { resizeAxes, resizeNhwc, type CoordMode } from './resizeMatrix';
import { maxPoolIndices, windowReduce } from './poolWindows';
import { conv3d, convTranspose3d, pool3d } from './volumeOps';
import { convGroupedOwn } from '../groupedConv';

/** Whether convolutions use the composite gradients of convGrad.ts (set per backend by the executor). */
export const convSettings = { fastGrad: true };

/** The spatial input as NHWC; 1-D ops (N, C, L) are run as 2-D with H = 1. */
function spatialInput(c: OpContext, i: number): { x: tf.Tensor4D; oneD: boolean } {
  const v = c.val(i);
  if (v.rank === 4) return { x: c.nhwc(i), oneD: false };
  if (v.rank === 3)
    return { x: tf.transpose(tf.expandDims(v.nat(), 2), [0, 2, 3, 1]) as tf.Tensor4D, oneD: true };
  return c.fail(
    `expects a 3-D, 4-D or 5-D input, got rank ${v.rank} (only 1-D, 2-D and 3-D spatial ops are supported)`,
  );
}

/** Wraps an NHWC spatial result, returning 1-D results to (N, C, L). */
function spatialOutput(y: tf.Tensor4D, oneD: boolean): Val {
  if (!oneD) return nhwc(y);
  return nat(tf.squeeze(tf.transpose(y, [0, 3, 1, 2]), [2]));
}

/** Spatial pads [top, left, bottom, right] from auto_pad/pads (ONNX order: begins then ends). */
function spatialPads(
  c: OpContext,
  inHW: number[],
  kHW: number[],
  s: number[],
  d: number[],
): { top: number; left: number; bottom: number; right: number } {
  const auto = aStr(c.node, 'auto_pad', 'NOTSET');
  const n = kHW.length;
  if (auto === 'SAME_UPPER' || auto === 'SAME_LOWER') {
    const begin: number[] = [];
    const end: number[] = [];
    for (let i = 0; i < n; i++) {
      const out = Math.ceil(inHW[i] / s[i]);
      const total = Math.max(0, (out - 1) * s[i] + (kHW[i] - 1) * d[i] + 1 - inHW[i]);
      const small = Math.floor(total / 2);
      begin.push(auto === 'SAME_UPPER' ? small : total - small);
      end.push(total - begin[i]);
    }
    return n === 1
      ? { top: 0, bottom: 0, left: begin[0], right: end[0] }
      : { top: begin[0], left: begin[1], bottom: end[0], right: end[1] };
  }
  const p = auto === 'VALID' ? undefined : aInts(c.node, 'pads');
  if (!p) return { top: 0, left: 0, bottom: 0, right: 0 };
  return n === 1
    ? { top: 0, bottom: 0, left: p[0], right: p[1] }
    : { top: p[0], left: p[1], bottom: p[2], right: p[3] };
}

function pair(v: number[] | undefined, n: number, dflt: number): [number, number] {
  const a = v ?? Array(n).fill(dflt);
  return n === 1 ? [1, a[0]] : [a[0], a[1]];
}

function conv(c: OpContext): Val[] {
  if (c.val(0).rank === 5) return conv3d(c);
  const { x, oneD } = spatialInput(c, 0);
  const wNat = c.nat(1); // [M, C/g, kh, kw] or [M, C/g, k]
  const w4 = oneD ? tf.expandDims(wNat, 2) : wNat;
  const [, cpg, kh, kw] = w4.shape;
  const n = oneD ? 1 : 2;
  const group = aInt(c.node, 'group', 1);
  const cin = x.shape[3];
  if (cpg * group !== cin)
    c.fail(`weight expects ${cpg * group} input channels but the input has ${cin} (a channel mismatch)`);
  const strides = pair(aInts(c.node, 'strides'), n, 1);
  const dilations = pair(aInts(c.node, 'dilations'), n, 1);
  const kHW = oneD ? [kw] : [kh, kw];
  const inHW = oneD ? [x.shape[2]] : [x.shape[1], x.shape[2]];
  const sd = oneD ? [strides[1]] : strides;
  const dd = oneD ? [dilations[1]] : dilations;
  const g: ConvGeom = { strides, dilations, pads: spatialPads(c, inHW, kHW, sd, dd) };
  const needDx = c.needsGrad(0);
  // TF.js has no gradient for dilated convs (nor the strided slice behind strided+dilated ones).
  const composite = convSettings.fastGrad || g.dilations.some((d) => d > 1);
  // The bias goes into an ungrouped composite convolution (in place on the WASM backend), else
  // through an Add below.
  const bias = c.has(2) && group === 1 && composite ? (c.nat(2) as tf.Tensor1D) : undefined;
  const run = (xi: tf.Tensor4D, wOnnx: tf.Tensor4D, depthwise: boolean) => {
    if (composite) return convOnnxWeight(xi, wOnnx, g, depthwise, needDx, bias);
    const [mm, , hh, ww] = wOnnx.shape;
    const f = depthwise
      ? tf.transpose(tf.reshape(wOnnx, [xi.shape[3], mm / xi.shape[3], hh, ww]), [2, 3, 0, 1])
      : tf.transpose(wOnnx, [2, 3, 1, 0]);
    return convForward(xi, f as tf.Tensor4D, g, depthwise);
  };
  let y: tf.Tensor4D;
  if (group === 1) y = run(x, w4 as tf.Tensor4D, false);
  else if (group === cin && cpg === 1) y = run(x, w4 as tf.Tensor4D, true);
  else {
    // One im2col and a product per group on the probe's own WASM kernels; elsewhere a split.
    const own = convSettings.fastGrad ? convGroupedOwn(x, w4 as tf.Tensor4D, g, group, needDx) : undefined;
    if (own) y = own;
    else {
      const xs = tf.split(x, group, 3);
      const ws = tf.split(w4, group, 0);
      y = tf.concat(
        xs.map((xi, i) => run(xi as tf.Tensor4D, ws[i] as tf.Tensor4D, false)),
        3,
      ) as tf.Tensor4D;
    }
  }
  if (c.has(2) && !bias) y = tf.add(y, c.nat(2)) as tf.Tensor4D;
  return [spatialOutput(y, oneD)];
}

function convTranspose(c: OpContext): Val[] {
  if (c.val(0).rank === 5) return convTranspose3d(c);
  const { x, oneD } = spatialInput(c, 0);
  const wNat = c.nat(1); // [C, M/g, kh, kw]
  const w4 = oneD ? tf.expandDims(wNat, 2) : wNat;
  const [cin, mpg, kh, kw] = w4.shape;
  const n = oneD ? 1 : 2;
  const group = aInt(c.node, 'group', 1);
  if (cin !== x.shape[3]) c.fail(`weight expects ${cin} input channels but the input has ${x.shape[3]}`);
  const s = pair(aInts(c.node, 'strides'), n, 1);
  const d = pair(aInts(c.node, 'dilations'), n, 1);
  const op = pair(aInts(c.node, 'output_padding'), n, 0);
  const inHW = [x.shape[1], x.shape[2]];
  const k = [kh, kw];
  let pads = [0, 0, 0, 0]; // top, left, bottom, right
  const outShape = aInts(c.node, 'output_shape');
  const auto = aStr(c.node, 'auto_pad', 'NOTSET');
  if (outShape || auto === 'SAME_UPPER' || auto === 'SAME_LOWER') {
    const want = outShape
      ? oneD
        ? [1, outShape[outShape.length - 1]]
        : outShape.slice(-2)
      : [inHW[0] * s[0], inHW[1] * s[1]];
    for (let i = 0; i < 2; i++) {
      const total = s[i] * (inHW[i] - 1) + op[i] + (k[i] - 1) * d[i] + 1 - want[i];
      const half = Math.floor(total / 2);
      const begin = auto === 'SAME_UPPER' ? half : total - half;
      pads[i] = begin;
      pads[i + 2] = total - begin;
    }
  } else {
    const p = aInts(c.node, 'pads');
    if (p) pads = oneD ? [0, p[0], 0, p[1]] : [p[0], p[1], p[2], p[3]];
  }
  // Zero-insert by the stride, pad by (k−1)·d − p, then a stride-1 conv with the flipped kernel:
  // only forward ops, so gradients come from the fast conv paths.
  const xs = dilateSpatial(x, s[0], s[1]);
  const g: ConvGeom = {
    strides: [1, 1],
    dilations: d,
    pads: {
      top: (kh - 1) * d[0] - pads[0],
      left: (kw - 1) * d[1] - pads[1],
      bottom: (kh - 1) * d[0] - pads[2] + op[0],
      right: (kw - 1) * d[1] - pads[3] + op[1],
    },
  };
  const needDx = c.needsGrad(0);
  const flipped = tf.reverse(w4, [2, 3]);
  const run = (xi: tf.Tensor4D, wi: tf.Tensor) => {
    const f = tf.transpose(wi, [2, 3, 0, 1]) as tf.Tensor4D; // [kh, kw, C/g, M/g]
    return convSettings.fastGrad || g.dilations.some((d) => d > 1)
      ? convWithFastGrad(xi, f, g, false, needDx)
      : convForward(xi, f, g, false);
  };
  let y: tf.Tensor4D;
  if (group === 1) y = run(xs, flipped);
  else {
    const xg = tf.split(xs, group, 3);
    const wg = tf.split(flipped, group, 0);
    y = tf.concat(
      xg.map((xi, i) => run(xi as tf.Tensor4D, wg[i])),
      3,
    ) as tf.Tensor4D;
  }
  void mpg;
  if (c.has(2)) y = tf.add(y, c.nat(2)) as tf.Tensor4D;
  return [spatialOutput(y, oneD)];
}

function pool(kind: 'max' | 'avg' | 'lp'): OpFn {
  const volume = pool3d(kind);
  return (c) => {
    if (c.val(0).rank === 5) return volume(c);
    const { x, oneD } = spatialInput(c, 0);
    const n = oneD ? 1 : 2;
    const kArr = aInts(c.node, 'kernel_shape');
    if (!kArr) c.fail('has no kernel_shape');
    const k = pair(kArr, n, 1);
    const s = pair(aInts(c.node, 'strides'), n, 1);
    const d = pair(aInts(c.node, 'dilations'), n, 1);
    const dilated = d[0] > 1 || d[1] > 1;
    const wantIdx = c.node.outputs.length > 1 && !!c.node.outputs[1];
    if (wantIdx && kind !== 'max') c.fail('asks for a second output, which this op does not have');
    const storageOrder = aInt(c.node, 'storage_order', 0);
    if (storageOrder !== 0 && storageOrder !== 1)
      c.fail(`uses storage_order ${storageOrder}, which is not 0 or 1`);
    const p = kind === 'lp' ? aInt(c.node, 'p', 2) : 0;
    if (kind === 'lp' && p < 1) c.fail(`uses p = ${p}; only p >= 1 is supported`);
    // The span a dilated window covers.
    const ke = [(k[0] - 1) * d[0] + 1, (k[1] - 1) * d[1] + 1];
    const inHW = [x.shape[1], x.shape[2]];
    const sp = spatialPads(
      c,
      oneD ? [inHW[1]] : inHW,
      oneD ? [k[1]] : k,
      oneD ? [s[1]] : s,
      oneD ? [d[1]] : d,
    );
    const pb = [sp.top, sp.left];
    const pe = [sp.bottom, sp.right];
    const ceil = aInt(c.node, 'ceil_mode', 0) === 1;
    const extra = [0, 0];
    for (let i = 0; i < 2; i++) {
      const span = inHW[i] + pb[i] + pe[i] - ke[i];
      if (span < 0)
        c.fail(`has a window (${ke[i]}) larger than its padded input (${inHW[i] + pb[i] + pe[i]})`);
      if (ceil && span % s[i] !== 0) {
        let out = Math.ceil(span / s[i]) + 1;
        if ((out - 1) * s[i] >= inHW[i] + pb[i]) out--; // the last window must start inside the input
        extra[i] = Math.max(0, (out - 1) * s[i] + ke[i] - (inHW[i] + pb[i] + pe[i]));
      }
    }
    const anyPad = pb.some((v) => v > 0) || pe.some((v) => v > 0) || extra.some((v) => v > 0);
    const padSpec: [[number, number], [number, number], [number, number], [number, number]] = [
      [0, 0],
      [pb[0], pe[0] + extra[0]],
      [pb[1], pe[1] + extra[1]],
      [0, 0],
    ];
    if (kind === 'lp') {
      // ONNX LpPool: (sum over the window of |x|^p)^(1/p); pads and the ceil overhang add zeros.
      const xa = p === 1 ? tf.abs(x) : p === 2 ? tf.square(x) : tf.pow(tf.abs(x), p);
      const xp = (anyPad ? tf.pad(xa, padSpec) : xa) as tf.Tensor4D;
      const sum = dilated
        ? windowReduce(xp, k, s, d, 'sum')
        : tf.mul(tf.avgPool(xp, k, s, 'valid'), k[0] * k[1]);
      const y = p === 1 ? sum : p === 2 ? tf.sqrt(sum) : tf.pow(sum, 1 / p);
      return [spatialOutput(y as tf.Tensor4D, oneD)];
    }
    let y: tf.Tensor4D;
    if (kind === 'max') {
      // On WASM the pads go to the pooling itself, which skips them (XNNPACK forward, our
      // MaxPoolGrad backward: wasmKernelRegistry.ts), so no padded copy is made and no Slice of
      // its gradient; elsewhere the input is padded with the lowest float first.
      if (!dilated && tf.getBackend() === 'wasm') y = tf.maxPool(x, k, s, anyPad ? padSpec : 'valid');
      else {
        const xp = anyPad ? tf.pad(x, padSpec, -3.4028234663852886e38) : x;
        if (dilated) y = windowReduce(xp, k, s, d, 'max');
        // Its gradient is MaxPoolGrad (on WASM replaced by ours: first maximum per window).
        else y = tf.maxPool(xp, k, s, 'valid');
      }
      if (wantIdx) {
        const out: [number, number] = [y.shape[1], y.shape[2]];
        const idx = maxPoolIndices(x, { k, s, d, padBegin: [pb[0], pb[1]], out }, storageOrder);
        const idxOut = oneD ? tf.squeeze(idx, [2]) : idx;
        return [spatialOutput(y, oneD), nat(idxOut)];
      }
    } else {
      // A window mean: TF.js's avgPool, or over dilated windows a sum of taps over the window size.
      const mean = (t: tf.Tensor4D) =>
        dilated
          ? (tf.div(windowReduce(t, k, s, d, 'sum'), k[0] * k[1]) as tf.Tensor4D)
          : tf.avgPool(t, k, s, 'valid');
      const xp = anyPad ? tf.pad(x, padSpec) : x;
      y = mean(xp);
      if (anyPad) {
        const includePad = aInt(c.node, 'count_include_pad', 0) === 1;
        // Fraction of each window that counts: the input (and declared pads when included), never the ceil overhang.
        const mask = tf.tidy(() => {
          const ones = tf.ones([1, inHW[0], inHW[1], 1]);
          const inner = includePad
            ? tf.pad(
                ones,
                padSpec.map((p, i) => (i === 1 || i === 2 ? [p[0], p[1] - extra[i - 1]] : [0, 0])) as [
                  number,
                  number,
                ][],
                1,
              )
            : ones;
          const full = includePad
            ? tf.pad(inner, [
                [0, 0],
                [0, extra[0]],
                [0, extra[1]],
                [0, 0],
              ])
            : tf.pad(inner, padSpec);
          return mean(full as tf.Tensor4D);
        });
        y = tf.div(y, mask);
      }
    }
    return [spatialOutput(y, oneD)];
  };
}

function globalPool(kind: 'max' | 'avg' | 'lp'): OpFn {
  return (c) => {
    const v = c.val(0);
    if (kind === 'lp') {
      // ONNX GlobalLpPool: (sum over all spatial positions of |x|^p)^(1/p).
      const p = aInt(c.node, 'p', 2);
      if (p < 1) c.fail(`uses p = ${p}; only p >= 1 is supported`);
      const x = v.nhwc ? v.t : v.nat();
      const axes = v.nhwc ? [1, 2] : [...Array(x.rank - 2).keys()].map((i) => i + 2);
      const xa = p === 1 ? tf.abs(x) : p === 2 ? tf.square(x) : tf.pow(tf.abs(x), p);
      const sum = tf.sum(xa, axes, true);
      return [new Val(p === 1 ? sum : p === 2 ? tf.sqrt(sum) : tf.pow(sum, 1 / p), v.nhwc)];
    }
    if (v.rank === 4) {
      const x = c.nhwc(0);
      return [nhwc(kind === 'avg' ? tf.mean(x, [1, 2], true) : tf.max(x, [1, 2], true))];
    }
    const x = v.nat();
    const axes = [...Array(x.rank - 2).keys()].map((i) => i + 2);
    return [nat(kind === 'avg' ? tf.mean(x, axes, true) : tf.max(x, axes, true))];
  };
}

/** Reshapes a per-channel vector so that it broadcasts over a tensor of `v`'s rank and layout. */
function perChannel(p: tf.Tensor, v: Val): tf.Tensor {
  if (v.nhwc) return p;
  return tf.reshape(p, [p.size, ...Array(Math.max(0, v.rank - 2)).fill(1)]);
}

function batchNorm(c: OpContext): Val[] {
  const v = c.val(0);
  const x = v.nhwc ? v.t : v.nat();
  const eps = aFloat(c.node, 'epsilon', 1e-5);
  const training = aInt(c.node, 'training_mode', 0) === 1;
  const scale = perChannel(c.nat(1), v);
  const bias = perChannel(c.nat(2), v);
  let mean: tf.Tensor;
  let variance: tf.Tensor;
  if (training) {
    const chAxis = v.nhwc ? 3 : 1;
    const axes = [...Array(x.rank).keys()].filter((a) => a !== chAxis);
    const mo = tf.moments(x, axes, true);
    mean = mo.mean;
    variance = mo.variance;
  } else {
    mean = perChannel(c.nat(3), v);
    variance = perChannel(c.nat(4), v);
  }
  const y = tf.add(tf.mul(tf.sub(x, mean), tf.mul(scale, tf.rsqrt(tf.add(variance, eps)))), bias);
  const out = [new Val(y, v.nhwc)];
  if (training && c.node.outputs.length > 1) {
    const mom = aFloat(c.node, 'momentum', 0.9);
    const flat = (t: tf.Tensor) => tf.reshape(t, [-1]);
    out.push(nat(tf.add(tf.mul(c.nat(3), mom), tf.mul(flat(mean), 1 - mom))));
    out.push(nat(tf.add(tf.mul(c.nat(4), mom), tf.mul(flat(variance), 1 - mom))));
  }
  return out;
}

function instanceNorm(c: OpContext): Val[] {
  const v = c.val(0);
  const x = v.nhwc ? v.t : v.nat();
  const eps = aFloat(c.node, 'epsilon', 1e-5);
  const axes = v.nhwc ? [1, 2] : [...Array(x.rank - 2).keys()].map((i) => i + 2);
  const { mean, variance } = tf.moments(x, axes, true);
  const y = tf.add(
    tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), perChannel(c.nat(1), v)),
    perChannel(c.nat(2), v),
  );
  return [new Val(y, v.nhwc)];
}

function layerNorm(c: OpContext): Val[] {
  const x = c.nat(0);
  const axis = normAxis(aInt(c.node, 'axis', -1), x.rank);
  const eps = aFloat(c.node, 'epsilon', 1e-5);
  const axes = [...Array(x.rank - axis).keys()].map((i) => i + axis);
  const { mean, variance } = tf.moments(x, axes, true);
  const inv = tf.rsqrt(tf.add(variance, eps));
  let y = tf.mul(tf.sub(x, mean), inv);
  y = tf.mul(y, c.nat(1));
  if (c.has(2)) y = tf.add(y, c.nat(2)) as tf.Tensor4D;
  return [nat(y), nat(mean), nat(inv)].slice(0, Math.max(1, c.node.outputs.length));
}

function gemm(c: OpContext): Val[] {
  const a = c.nat(0) as tf.Tensor2D;
  const b = c.nat(1) as tf.Tensor2D;
  const alpha = aFloat(c.node, 'alpha', 1);
  const beta = aFloat(c.node, 'beta', 1);
  let y: tf.Tensor = tf.matMul(a, b, aInt(c.node, 'transA', 0) === 1, aInt(c.node, 'transB', 0) === 1);
  if (alpha !== 1) y = tf.mul(y, alpha);
  if (c.has(2)) y = tf.add(y, beta === 1 ? c.nat(2) : tf.mul(c.nat(2), beta));
  return [nat(y)];
}

function matMul(c: OpContext): Val[] {
  let a = c.nat(0);
  let b = c.nat(1);
  const a1 = a.rank === 1;
  const b1 = b.rank === 1;
  if (a1) a = tf.expandDims(a, 0);
  if (b1) b = tf.expandDims(b, 1);
  if (a.shape[a.rank - 1] !== b.shape[b.rank - 2])
    c.fail(`multiplies shapes [${c.val(0).shape}] and [${c.val(1).shape}], whose inner dimensions differ`);
  let y: tf.Tensor;
  if (b.rank === 2 && a.rank > 2) {
    // x @ W: one 2-D matMul over the flattened leading dims (also sidesteps TF.js's BatchMatMul
    // gradient, which does not reduce broadcast batch dims).
    const lead = a.shape.slice(0, -1);
    y = tf.reshape(tf.matMul(tf.reshape(a, [-1, a.shape[a.rank - 1]!]), b), [...lead, b.shape[1]!]);
  } else {
    const batch = (t: tf.Tensor) => t.shape.slice(0, -2);
    const ba = batch(a);
    const bb = batch(b);
    const r = Math.max(ba.length, bb.length);
    const pad = (s: number[]) => [...Array(r - s.length).fill(1), ...s];
    const out = pad(ba).map((d, i) => Math.max(d, pad(bb)[i]));
    const full = (t: tf.Tensor, s: number[]) =>
      s.length === r && s.every((d, i) => d === out[i])
        ? t
        : tf.broadcastTo(tf.reshape(t, [...pad(s), ...t.shape.slice(-2)]), [...out, ...t.shape.slice(-2)]);
    y = tf.matMul(full(a, ba), full(b, bb));
  }
  if (a1) y = tf.squeeze(y, [y.rank - 2]);
  if (b1) y = tf.squeeze(y, [y.rank - 1]);
  return [nat(y)];
}

function resize(c: OpContext): Val[] {
  const v = c.val(0);
  const r = v.rank;
  if (r < 3 || r > 5)
    c.fail(`resizes a rank-${r} tensor; only 3-D, 4-D and 5-D (N, C, spatial axes) are supported`);
  const shape = v.shape;
  const isUpsample = c.node.op === 'Upsample';
  let sizes: number[] | undefined;
  let scales: number[] | undefined;
  if (isUpsample) scales = c.floats(1) ?? (c.node.attributes.scales as number[] | undefined);
  else if (c.opset < 11) scales = c.floats(1);
  else {
    scales = c.has(2) ? c.floats(2) : undefined;
    if (scales && scales.length === 0) scales = undefined;
    sizes = c.has(3) ? c.ints(3) : undefined;
  }
  let out: number[];
  if (sizes && sizes.length === r) out = sizes;
  else if (scales && scales.length === r) out = shape.map((d, i) => Math.floor(d * scales![i]));
  else return c.fail(`has neither scales nor sizes for the ${r} axes`);
  if (out[0] !== shape[0] || out[1] !== shape[1])
    c.fail('resizes the batch or channel axis, which is not supported');
  const mode = aStr(c.node, 'mode', 'nearest');
  const ctm =
    isUpsample || c.opset < 11 ? 'asymmetric' : aStr(c.node, 'coordinate_transformation_mode', 'half_pixel');
  const nm = isUpsample || c.opset < 11 ? 'floor' : aStr(c.node, 'nearest_mode', 'round_prefer_floor');
  if (!['half_pixel', 'pytorch_half_pixel', 'align_corners', 'asymmetric'].includes(ctm))
    c.fail(`uses coordinate_transformation_mode ${ctm}, which is not supported`);
  const m = mode === 'bilinear' ? 'linear' : mode === 'bicubic' ? 'cubic' : mode;
  if (m !== 'nearest' && m !== 'linear' && m !== 'cubic')
    c.fail(`uses ${mode} resizing, which is not supported`);
  // Opset-18 attributes that change the result: refuse rather than ignore them.
  if (aInt(c.node, 'antialias', 0) !== 0) c.fail('uses antialias, which is not supported');
  if (c.node.attributes.axes !== undefined) c.fail('uses the axes attribute, which is not supported');
  const policy = aStr(c.node, 'keep_aspect_ratio_policy', 'stretch');
  if (sizes && policy !== 'stretch')
    c.fail(`uses keep_aspect_ratio_policy ${policy}, which is not supported`);
  const cubic = {
    a: aFloat(c.node, 'cubic_coeff_a', -0.75),
    excludeOutside: aInt(c.node, 'exclude_outside', 0) === 1,
  };
  if (r !== 4) {
    // 1-D and 3-D: one matrix product per spatial axis, in ONNX layout.
    const sp =
      scales && scales.length === r && !sizes
        ? scales.slice(2)
        : out.slice(2).map((o, i) => o / shape[i + 2]);
    return [nat(resizeAxes(v.nat(), out.slice(2), sp, m, ctm as CoordMode, nm, cubic))];
  }
  const x = c.nhwc(0);
  const sc: [number, number] =
    scales && scales.length === 4 && !sizes ? [scales[2], scales[3]] : [out[2] / shape[2], out[3] / shape[3]];
  const y = resizeNhwc(x, [out[2], out[3]], sc, m, ctm as CoordMode, nm, cubic);
  return [nhwc(y)];
}

/** Layer ops by ONNX name. */
export const nnOps: Record<string, OpFn> = {
  Conv: conv,
  ConvTranspose: convTranspose,
  MaxPool: pool('max'),
  AveragePool: pool('avg'),
  GlobalAveragePool: globalPool('avg'),
  GlobalMaxPool: globalPool('max'),
  LpPool: pool('lp'),
  GlobalLpPool: globalPool('lp'),
  BatchNormalization: batchNorm,
  InstanceNormalization: instanceNorm,
  LayerNormalization: layerNorm,
  Gemm: gemm,
  MatMul: matMul,
  Resize: resize,
  Upsample: resize,
};
