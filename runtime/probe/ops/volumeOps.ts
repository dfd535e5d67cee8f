/**
 * Conv, ConvTranspose, MaxPool, AveragePool and LpPool on 5-D tensors (N, C, D, H, W): volumes and
 * video clips. Tensors stay in ONNX's channels-first layout between ops. On the WASM backend the
 * convolutions run on the probe's own kernels (convGrad3d.ts); elsewhere on TF.js's own 3-D
 * kernels (Conv3D and its backprops), which every backend has, in NDHWC. Max pools are two 2-D
 * max pools and average pools TF.js's AvgPool3D, on every backend.
 *
 * The TF.js path keeps every pad, slice and transpose it needs at rank 4 or below (a 5-D tensor is
 * only ever reshaped, which is free): WebGPU's Pad kernel emits invalid shader code above rank 4
 * and Dawn then drops the work silently, and a slice's gradient is a pad of the same rank.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Val, nat } from '../val';
import {
  conv3dOwn,
  convOutSize,
  convTranspose3dOwn,
  volumeKernelsHere,
  type VolumeGeom,
} from '../convGrad3d';
import { aInt, aInts, aStr, type OpContext } from './opContext';
import { windowReduce } from './poolWindows';

type Triple = [number, number, number];
type Shape5 = [number, number, number, number, number];

const prod = (a: number[]) => a.reduce((x, y) => x * y, 1);

/** A per-axis attribute of three values, or the default. */
function triple(c: OpContext, name: string, dflt: number): Triple {
  const v = aInts(c.node, name);
  if (!v) return [dflt, dflt, dflt];
  if (v.length !== 3)
    c.fail(`has ${name} [${v}], which does not give one value per spatial axis of a 5-D input`);
  return [v[0], v[1], v[2]];
}

/** Begin and end pads from auto_pad/pads (ONNX order: the three begins, then the three ends). */
function volumePads(
  c: OpContext,
  inSize: number[],
  k: Triple,
  s: Triple,
  d: Triple,
): { begin: Triple; end: Triple } {
  const auto = aStr(c.node, 'auto_pad', 'NOTSET');
  if (auto === 'SAME_UPPER' || auto === 'SAME_LOWER') {
    const begin: number[] = [];
    const end: number[] = [];
    for (let i = 0; i < 3; i++) {
      const out = Math.ceil(inSize[i] / s[i]);
      const total = Math.max(0, (out - 1) * s[i] + (k[i] - 1) * d[i] + 1 - inSize[i]);
      const small = Math.floor(total / 2);
      begin.push(auto === 'SAME_UPPER' ? small : total - small);
      end.push(total - begin[i]);
    }
    return { begin: begin as Triple, end: end as Triple };
  }
  const p = auto === 'VALID' ? undefined : aInts(c.node, 'pads');
  if (!p) return { begin: [0, 0, 0], end: [0, 0, 0] };
  if (p.length !== 6) c.fail(`has pads [${p}], which are not six values for a 5-D input`);
  if (p.some((v) => v < 0)) c.fail(`has negative pads [${p}]`);
  return { begin: [p[0], p[1], p[2]], end: [p[3], p[4], p[5]] };
}

/**
 * Pads (positive) or crops (negative) axes 1, 2, 3 of a tensor [a, D, H, W, b], through rank-3
 * and rank-4 views only.
 */
function padVolume(x: tf.Tensor, begin: number[], end: number[], value = 0): tf.Tensor {
  if (begin.every((v) => v === 0) && end.every((v) => v === 0)) return x;
  const [a, d, h, w, b] = x.shape;
  let t = x;
  // Depth: a view [a, D, H·W·b].
  if (begin[0] !== 0 || end[0] !== 0) {
    let v = tf.reshape(t, [a, d, h * w * b]);
    const c0 = Math.max(0, -begin[0]);
    const c1 = Math.max(0, -end[0]);
    if (c0 || c1) v = tf.slice(v, [0, c0, 0], [a, d - c0 - c1, h * w * b]);
    if (begin[0] > 0 || end[0] > 0)
      v = tf.pad(
        v,
        [
          [0, 0],
          [Math.max(0, begin[0]), Math.max(0, end[0])],
          [0, 0],
        ],
        value,
      );
    t = tf.reshape(v, [a, v.shape[1]!, h, w, b]);
  }
  // Height and width: a view [a·D', H, W, b].
  if (begin[1] !== 0 || end[1] !== 0 || begin[2] !== 0 || end[2] !== 0) {
    const dd = t.shape[1]!;
    let v = tf.reshape(t, [a * dd, h, w, b]) as tf.Tensor4D;
    const top = Math.max(0, -begin[1]);
    const left = Math.max(0, -begin[2]);
    const bottom = Math.max(0, -end[1]);
    const right = Math.max(0, -end[2]);
    if (top || left || bottom || right)
      v = tf.slice(v, [0, top, left, 0], [a * dd, h - top - bottom, w - left - right, b]);
    if (begin[1] > 0 || end[1] > 0 || begin[2] > 0 || end[2] > 0)
      v = tf.pad(
        v,
        [
          [0, 0],
          [Math.max(0, begin[1]), Math.max(0, end[1])],
          [Math.max(0, begin[2]), Math.max(0, end[2])],
          [0, 0],
        ],
        value,
      );
    t = tf.reshape(v, [a, dd, v.shape[1], v.shape[2], b]);
  }
  return t;
}

/** [N, C, D, H, W] → [N, D, H, W, C] as a rank-3 transpose. */
function channelsLast(x: tf.Tensor): tf.Tensor5D {
  const [n, c, d, h, w] = x.shape;
  return tf.reshape(tf.transpose(tf.reshape(x, [n, c, d * h * w]), [0, 2, 1]), [n, d, h, w, c]);
}

/** [N, D, H, W, C] → [N, C, D, H, W] as a rank-3 transpose. */
function channelsFirst(y: tf.Tensor): tf.Tensor {
  const [n, d, h, w, c] = y.shape;
  return tf.reshape(tf.transpose(tf.reshape(y, [n, d * h * w, c]), [0, 2, 1]), [n, c, d, h, w]);
}

/**
 * The ONNX weight [o, i, kd, kh, kw] as a TF.js 3-D filter [kd, kh, kw, i, o] (a rank-3
 * transpose), with (dilation − 1) zeros between taps: a dense kernel, since TF.js refuses the
 * gradient of dilated 3-D convolutions.
 */
function tfFilter(w: tf.Tensor, dil: Triple): tf.Tensor5D {
  const [o, i, kd, kh, kw] = w.shape;
  let f: tf.Tensor = tf.reshape(tf.transpose(tf.reshape(w, [o, i, kd * kh * kw]), [2, 1, 0]), [
    kd,
    kh,
    kw,
    i,
    o,
  ]);
  if (dil.every((d) => d === 1)) return f as tf.Tensor5D;
  // One axis at a time, through a view [outer, k, 1, inner] padded to [outer, k, d, inner].
  const dims = [kd, kh, kw];
  for (let ax = 0; ax < 3; ax++) {
    const d = dil[ax];
    if (d === 1) continue;
    const outer = prod(dims.slice(0, ax));
    const inner = prod(dims.slice(ax + 1)) * i * o;
    const k = dims[ax];
    const padded = tf.pad(tf.reshape(f, [outer, k, 1, inner]), [
      [0, 0],
      [0, 0],
      [0, d - 1],
      [0, 0],
    ]);
    const span = (k - 1) * d + 1;
    f = tf.slice(tf.reshape(padded, [outer, k * d, inner]), [0, 0, 0], [outer, span, inner]);
    dims[ax] = span;
  }
  return tf.reshape(f, [...dims, i, o] as Shape5) as tf.Tensor5D;
}

/** Splits a channels-first tensor into `group` equal channel blocks, through a rank-3 view. */
function splitChannels(x: tf.Tensor, group: number): tf.Tensor[] {
  if (group === 1) return [x];
  const [n, c, ...rest] = x.shape;
  return tf
    .split(tf.reshape(x, [n, c, prod(rest)]), group, 1)
    .map((p) => tf.reshape(p, [n, c / group, ...rest]));
}

/** Concatenates channels-first tensors along channels, through rank-3 views. */
function concatChannels(parts: tf.Tensor[]): tf.Tensor {
  if (parts.length === 1) return parts[0];
  const [n, , ...rest] = parts[0].shape;
  const y = tf.concat(
    parts.map((p) => tf.reshape(p, [n, p.shape[1]!, prod(rest)])),
    1,
  );
  return tf.reshape(y, [n, y.shape[1]!, ...rest]);
}

/** Splits a weight [o, …] into `group` blocks along its first axis, through a rank-2 view. */
function splitRows(w: tf.Tensor, group: number): tf.Tensor[] {
  if (group === 1) return [w];
  const [o, ...rest] = w.shape;
  return tf.split(tf.reshape(w, [o, prod(rest)]), group, 0).map((p) => tf.reshape(p, [o / group, ...rest]));
}

/** A 3-D convolution on TF.js's Conv3D (its gradient registered by tfjs-core), channels-first in and out. */
function conv3dTfjs(x: tf.Tensor, w: tf.Tensor, g: VolumeGeom): tf.Tensor {
  const xp = padVolume(channelsLast(x), g.padBegin, g.padEnd);
  return channelsFirst(tf.conv3d(xp as tf.Tensor5D, tfFilter(w, g.dilations), g.strides, 'valid'));
}

/**
 * A 3-D transposed convolution (one group) on TF.js's Conv3DBackpropInputV2, which has no
 * registered gradient: its gradients are a Conv3D (input) and Conv3DBackpropFilterV2 (weight).
 * The full output (no pads) gets `outPad` zero rows at the end, then the pads are cropped.
 */
function convTranspose3dTfjs(x: tf.Tensor, w: tf.Tensor, g: VolumeGeom, outPad: Triple): tf.Tensor {
  const [n, , ...inSize] = x.shape;
  const m = w.shape[1]!;
  // The ONNX weight [c, m, k…] is the weight of the convolution from the output back to x, which
  // TF.js wants as [k…, m, c]: the layout tfFilter gives.
  const f = tfFilter(w, g.dilations);
  const kEff = f.shape.slice(0, 3);
  const full = [0, 1, 2].map((i) => g.strides[i] * (inSize[i] - 1) + kEff[i]);
  // The gradient reads the inputs through save(): merely captured, they may be gone by then
  // (on the webgpu backend they are).
  const run = tf.customGrad(((xIn: tf.Tensor, fIn: tf.Tensor, save: (ts: tf.Tensor[]) => void) => {
    save([xIn, fIn]);
    return {
      value: tf
        .engine()
        .runKernel(
          'Conv3DBackpropInputV2',
          { dy: xIn, filter: fIn },
          { strides: g.strides, pad: 'valid', inputShape: [n, ...full, m] },
        ) as tf.Tensor,
      gradFunc: (dyAny: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const dy = (Array.isArray(dyAny) ? dyAny[0] : dyAny) as tf.Tensor5D;
        const [xi, fi] = saved;
        return [
          tf.conv3d(dy, fi as tf.Tensor5D, g.strides, 'valid'),
          tf
            .engine()
            .runKernel(
              'Conv3DBackpropFilterV2',
              { x: dy, dy: xi },
              { strides: g.strides, pad: 'valid', filterShape: fi.shape },
            ) as tf.Tensor,
        ];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  const y = run(channelsLast(x), f) as tf.Tensor;
  return channelsFirst(
    padVolume(
      y,
      g.padBegin.map((p) => -p),
      g.padEnd.map((p, i) => outPad[i] - p),
    ),
  );
}

/** The 5-D input, refusing other ranks with a sentence naming the node. */
function volumeInput(c: OpContext): tf.Tensor {
  const v = c.val(0);
  if (v.rank !== 5) c.fail(`expects a 5-D input, got rank ${v.rank}`);
  return v.nat();
}

/**
 * Whether this 3-D convolution runs on the probe's WASM kernels. On the WASM backend without them
 * (an engine without WebAssembly SIMD) the node is refused: the 3-D kernels left there are TF.js
 * 4.22's own, whose Conv3DBackpropInputV2 and Conv3DBackpropFilterV2 return wrong gradients
 * (wasmVolumeKernels.ts replaces them only where the probe's kernels run).
 */
function ownKernelsOrRefuse(c: OpContext): boolean {
  if (volumeKernelsHere()) return true;
  if (tf.getBackend() === 'wasm')
    c.fail(
      "needs the probe's WebAssembly SIMD kernels for 3-D convolutions on the wasm backend, which this engine cannot run (TF.js's own WASM 3-D gradient kernels are wrong); use --backend cpu",
    );
  return false;
}

/** ONNX Conv on an (N, C, D, H, W) input. */
export function conv3d(c: OpContext): Val[] {
  const x = volumeInput(c);
  const w = c.nat(1);
  if (w.rank !== 5) c.fail(`has a rank-${w.rank} weight for a 5-D input (expected [M, C/group, kD, kH, kW])`);
  const [, cin, ...inSize] = x.shape;
  const [co, cpg, ...ks] = w.shape;
  const group = aInt(c.node, 'group', 1);
  if (cpg * group !== cin)
    c.fail(`weight expects ${cpg * group} input channels but the input has ${cin} (a channel mismatch)`);
  if (co % group !== 0) c.fail(`has ${co} output channels, which ${group} groups do not divide`);
  const kernel = ks as Triple;
  const strides = triple(c, 'strides', 1);
  const dilations = triple(c, 'dilations', 1);
  const { begin, end } = volumePads(c, inSize, kernel, strides, dilations);
  const g: VolumeGeom = { kernel, strides, dilations, padBegin: begin, padEnd: end };
  const out = convOutSize(inSize, g);
  if (out.some((o) => o < 1))
    c.fail(`has a window larger than its padded input ([${inSize}] with kernel [${kernel}])`);
  let y: tf.Tensor;
  if (ownKernelsOrRefuse(c)) y = conv3dOwn(x, w, g, group, c.needsGrad(0));
  else {
    const xs = splitChannels(x, group);
    const ws = splitRows(w, group);
    y = concatChannels(xs.map((xi, i) => conv3dTfjs(xi, ws[i], g)));
  }
  if (c.has(2)) y = tf.add(y, tf.reshape(c.nat(2), [co, 1, 1, 1]));
  return [nat(y)];
}

/** ONNX ConvTranspose on an (N, C, D, H, W) input. */
export function convTranspose3d(c: OpContext): Val[] {
  const x = volumeInput(c);
  const w = c.nat(1);
  if (w.rank !== 5) c.fail(`has a rank-${w.rank} weight for a 5-D input (expected [C, M/group, kD, kH, kW])`);
  const [, cin, ...inSize] = x.shape;
  const [wc, mpg, ...ks] = w.shape;
  const group = aInt(c.node, 'group', 1);
  if (wc !== cin) c.fail(`weight expects ${wc} input channels but the input has ${cin}`);
  if (cin % group !== 0) c.fail(`has ${cin} input channels, which ${group} groups do not divide`);
  const kernel = ks as Triple;
  const s = triple(c, 'strides', 1);
  const d = triple(c, 'dilations', 1);
  const op = triple(c, 'output_padding', 0);
  if (op.some((v, i) => v >= Math.max(s[i], d[i])))
    c.fail(`has output_padding [${op}], which must be smaller than the stride or the dilation`);
  const full = [0, 1, 2].map((i) => s[i] * (inSize[i] - 1) + op[i] + (kernel[i] - 1) * d[i] + 1);
  let begin: Triple = [0, 0, 0];
  let end: Triple = [0, 0, 0];
  const outShape = aInts(c.node, 'output_shape');
  const auto = aStr(c.node, 'auto_pad', 'NOTSET');
  if (outShape || auto === 'SAME_UPPER' || auto === 'SAME_LOWER') {
    const want = outShape ? outShape.slice(-3) : inSize.map((v, i) => v * s[i]);
    if (want.length !== 3) c.fail(`has output_shape [${outShape}], which does not give three spatial sizes`);
    const b: number[] = [];
    const e: number[] = [];
    for (let i = 0; i < 3; i++) {
      const total = full[i] - want[i];
      if (total < 0) c.fail(`asks for output_shape [${want}], larger than its full output [${full}]`);
      const half = Math.floor(total / 2);
      b.push(auto === 'SAME_UPPER' ? half : total - half);
      e.push(total - b[i]);
    }
    begin = b as Triple;
    end = e as Triple;
  } else {
    const p = aInts(c.node, 'pads');
    if (p) {
      if (p.length !== 6) c.fail(`has pads [${p}], which are not six values for a 5-D input`);
      begin = [p[0], p[1], p[2]];
      end = [p[3], p[4], p[5]];
    }
  }
  const outSize = full.map((f, i) => f - begin[i] - end[i]) as Triple;
  if (outSize.some((o) => o < 1))
    c.fail(`crops its whole output (pads [${begin}, ${end}], full size [${full}])`);
  const g: VolumeGeom = { kernel, strides: s, dilations: d, padBegin: begin, padEnd: end };
  let y: tf.Tensor;
  if (ownKernelsOrRefuse(c)) y = convTranspose3dOwn(x, w, g, group, outSize, c.needsGrad(0));
  else {
    const xs = splitChannels(x, group);
    const ws = splitRows(w, group);
    y = concatChannels(xs.map((xi, i) => convTranspose3dTfjs(xi, ws[i], g, op)));
  }
  if (c.has(2)) y = tf.add(y, tf.reshape(c.nat(2), [mpg * group, 1, 1, 1]));
  return [nat(y)];
}

/**
 * Max or sum over dilated windows of an already padded [a, D, H, W] tensor, one axis at a time
 * (exact for both: a box maximum or sum is the maximum or sum along each axis in turn, and ties
 * go to the first position, as PyTorch routes them).
 */
function separableWindows(xp: tf.Tensor, k: Triple, s: Triple, d: Triple, kind: 'max' | 'sum'): tf.Tensor {
  const [a, dd, hh, ww] = xp.shape;
  // Width, then height: the view [a·D, H, W, 1].
  let t = windowReduce(
    tf.reshape(xp, [a * dd, hh, ww, 1]) as tf.Tensor4D,
    [1, k[2]],
    [1, s[2]],
    [1, d[2]],
    kind,
  );
  t = windowReduce(t, [k[1], 1], [s[1], 1], [d[1], 1], kind);
  const [, oh, ow] = t.shape;
  // Depth: the view [a, D, OH·OW, 1].
  t = windowReduce(tf.reshape(t, [a, dd, oh * ow, 1]) as tf.Tensor4D, [k[0], 1], [s[0], 1], [d[0], 1], kind);
  return tf.reshape(t, [a, t.shape[1], oh, ow]);
}

/**
 * Max over the windows of an already padded [a, D, H, W] tensor as two 2-D max pools: over
 * (H, W) on the view [a·D, H, W, 1], then over D on the view [a, D, OH·OW, 1]. Exact (ties go
 * to the first position in (d, h, w) order either way), and it avoids TF.js's MaxPool3D, whose
 * WASM kernel starts each window at the smallest positive float instead of −∞: a window of
 * negative values pools to 1.2e-38 there.
 */
function separableMax(xp: tf.Tensor, k: Triple, s: Triple): tf.Tensor {
  const [a, dd, hh, ww] = xp.shape;
  let t = tf.reshape(xp, [a * dd, hh, ww, 1]) as tf.Tensor4D;
  if (k[1] > 1 || k[2] > 1 || s[1] > 1 || s[2] > 1) t = tf.maxPool(t, [k[1], k[2]], [s[1], s[2]], 'valid');
  const [, oh, ow] = t.shape;
  t = tf.reshape(t, [a, dd, oh * ow, 1]);
  if (k[0] > 1 || s[0] > 1) t = tf.maxPool(t, [k[0], 1], [s[0], 1], 'valid');
  return tf.reshape(t, [a, t.shape[1], oh, ow]);
}

/** MaxPool, AveragePool and LpPool on an (N, C, D, H, W) input. */
export function pool3d(kind: 'max' | 'avg' | 'lp'): (c: OpContext) => Val[] {
  return (c) => {
    const x = volumeInput(c);
    const [n, ch, ...inSize] = x.shape;
    const kArr = aInts(c.node, 'kernel_shape') ?? c.fail('has no kernel_shape');
    if (kArr.length !== 3) c.fail(`has kernel_shape [${kArr}], which is not three values for a 5-D input`);
    const k = kArr as Triple;
    const s = triple(c, 'strides', 1);
    const d = triple(c, 'dilations', 1);
    if (c.node.outputs.length > 1 && c.node.outputs[1])
      c.fail(
        kind === 'max'
          ? "asks for MaxPool's Indices output on a 5-D input, which is not supported"
          : 'asks for a second output, which this op does not have',
      );
    const p = kind === 'lp' ? aInt(c.node, 'p', 2) : 0;
    if (kind === 'lp' && p < 1) c.fail(`uses p = ${p}; only p >= 1 is supported`);
    const { begin, end } = volumePads(c, inSize, k, s, d);
    const ceil = aInt(c.node, 'ceil_mode', 0) === 1;
    // ceil_mode: extra end padding for a last, partial window that starts inside the input.
    const extra = [0, 0, 0];
    const ke = k.map((v, i) => (v - 1) * d[i] + 1);
    for (let i = 0; i < 3; i++) {
      const span = inSize[i] + begin[i] + end[i] - ke[i];
      if (span < 0)
        c.fail(`has a window (${ke[i]}) larger than its padded input (${inSize[i] + begin[i] + end[i]})`);
      if (ceil && span % s[i] !== 0) {
        let out = Math.ceil(span / s[i]) + 1;
        if ((out - 1) * s[i] >= inSize[i] + begin[i]) out--;
        extra[i] = Math.max(0, (out - 1) * s[i] + ke[i] - (inSize[i] + begin[i] + end[i]));
      }
    }
    const endAll = end.map((v, i) => v + extra[i]);
    const dilated = d.some((v) => v > 1);
    // Every channel as its own volume: [N·C, D, H, W] (a 4-D view for the pads), pooled as NDHWC with one channel.
    const v4 = tf.reshape(x, [n * ch, ...inSize]);
    const pad4 = (t: tf.Tensor, b: number[], e: number[], value = 0) =>
      b.some((q) => q > 0) || e.some((q) => q > 0)
        ? tf.pad(t, [[0, 0], ...b.map((q, i) => [q, e[i]] as [number, number])], value)
        : t;
    const windows = (t: tf.Tensor, how: 'max' | 'sum'): tf.Tensor => {
      if (dilated) return separableWindows(t, k, s, d, how);
      if (how === 'max') return separableMax(t, k, s);
      const r = tf.avgPool3d(tf.reshape(t, [...t.shape, 1] as Shape5) as tf.Tensor5D, k, s, 'valid');
      return tf.mul(tf.reshape(r, r.shape.slice(0, 4)), prod(k));
    };
    let y: tf.Tensor;
    if (kind === 'max') y = windows(pad4(v4, begin, endAll, -3.4028234663852886e38), 'max');
    else if (kind === 'lp') {
      // (sum over the zero-padded window of |x|^p)^(1/p).
      const xa = p === 1 ? tf.abs(v4) : p === 2 ? tf.square(v4) : tf.pow(tf.abs(v4), p);
      const sum = windows(pad4(xa, begin, endAll), 'sum');
      y = p === 1 ? sum : p === 2 ? tf.sqrt(sum) : tf.pow(sum, 1 / p);
    } else if (begin.every((q) => q === 0) && endAll.every((q) => q === 0) && !dilated) {
      const r = tf.avgPool3d(tf.reshape(v4, [...v4.shape, 1] as Shape5) as tf.Tensor5D, k, s, 'valid');
      y = tf.reshape(r, r.shape.slice(0, 4));
    } else {
      const sum = windows(pad4(v4, begin, endAll), 'sum');
      const includePad = aInt(c.node, 'count_include_pad', 0) === 1;
      // How many window positions count: those inside the input, plus the declared pads when
      // count_include_pad is set, never the ceil-mode overhang.
      const count = tf.tidy(() => {
        const ones = tf.ones([1, ...inSize]);
        const inner = includePad ? pad4(ones, begin, end, 1) : ones;
        return windows(includePad ? pad4(inner, [0, 0, 0], extra) : pad4(inner, begin, endAll), 'sum');
      });
      y = tf.div(sum, count);
    }
    return [nat(tf.reshape(y, [n, ch, ...y.shape.slice(1)]))];
  };
}
