/**
 * Convolution gradients built only from fast forward ops (conv2d, depthwise conv2d, matMul, pad,
 * slices), in NHWC. The WASM backend's own Conv2DBackpropInput is a slow scalar loop and it has
 * no Conv2DBackpropFilter or depthwise backprops at all; TF.js also refuses gradients of dilated
 * convolutions. These functions serve both the executor (through tf.customGrad) and the kernels
 * registered for WASM (wasmKernelRegistry.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { heapAddress, type WasmBackendHeap } from './wasm/heap';
import { queuedTensors } from './wasm/queuedTensors';
import { taskSettings, type WinogradTile } from './wasm/kernelTasks';
import {
  wasmKernelsIfAvailable,
  type EmscriptenHeap,
  type TapGeometry,
  type WasmKernels,
} from './wasm/wasmKernels';
import {
  packWinogradWeights,
  winogradConv,
  winogradFits,
  winogradWeightGrad,
  winogradWeightGradFits,
  winogradWeightGradTile,
  winogradWeights,
  winogradWeightsFor,
  winogradTile,
} from './winograd';

/** Explicit padding of a 2-D convolution. */
export interface Pads2D {
  top: number;
  left: number;
  bottom: number;
  right: number;
}

/** Spatial geometry of one convolution. */
export interface ConvGeom {
  strides: [number, number];
  dilations: [number, number];
  pads: Pads2D;
}

/** The part of the WASM backend that lets JS loops read and write tensors in place on its heap. */
interface HeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

function heapBackend(): HeapBackend | undefined {
  return tf.getBackend() === 'wasm' ? (tf.backend() as unknown as HeapBackend) : undefined;
}

/** Whether the probe's own WASM kernels run here (the WASM backend on an engine with SIMD). */
function ownKernels(): boolean {
  const b = heapBackend() as unknown as { wasm?: EmscriptenHeap } | undefined;
  return !!b?.wasm && !!wasmKernelsIfAvailable(b.wasm);
}

/** The WASM backend and the probe's own kernels on its heap, where they run (else the JS loops run). */
export function tapKernels(): { backend: WasmBackendHeap; kernels: WasmKernels } | undefined {
  const backend = heapBackend() as unknown as WasmBackendHeap | undefined;
  const kernels = backend?.wasm && wasmKernelsIfAvailable(backend.wasm);
  return backend && kernels ? { backend, kernels } : undefined;
}

/** The tap kernels' geometry of a convolution of an NHWC input with output gradient `dyShape`. */
function tapGeometry(xShape: number[], dyShape: number[], kh: number, kw: number, g: ConvGeom): TapGeometry {
  const [n, h, w, c] = xShape;
  const [, oh, ow] = dyShape;
  const { strides: s, dilations: d, pads: p } = g;
  return { n, h, w, c, oh, ow, kh, kw, sh: s[0], sw: s[1], dh: d[0], dw: d[1], top: p.top, left: p.left };
}

/**
 * A zeroed float32 output for a JS loop: on WASM allocated on the heap and wrapped as a tensor
 * without a copy (no JS array to collect, no upload); elsewhere a plain array. Allocate outputs
 * before taking input views: a heap allocation may grow the memory and detach older views.
 */
function outputBuffer(shape: number[]): { values: Float32Array; done(): tf.Tensor } {
  const b = heapBackend();
  if (b) {
    const info = b.makeOutput(shape, 'float32');
    const values = b.typedArrayFromHeap(info) as Float32Array;
    values.fill(0);
    return { values, done: () => tf.engine().makeTensorFromTensorInfo(info) };
  }
  const values = new Float32Array(tf.util.sizeFromShape(shape));
  return { values, done: () => tf.tensor(values, shape, 'float32') };
}

/** Whether JS loops can read tensor data synchronously here (not on a GPU, whose reads are async). */
function jsReadable(): boolean {
  return tf.getBackend() !== 'webgpu';
}

/** A float32 tensor's values: a view of the WASM heap (no copy) there, else dataSync. */
function valuesOf(t: tf.Tensor): Float32Array {
  const b = heapBackend();
  return (b ? b.typedArrayFromHeap(t) : t.dataSync()) as Float32Array;
}

/** Pads (positive) or crops (negative) the two spatial axes of an NHWC tensor. */
export function padOrCrop(
  x: tf.Tensor4D,
  top: number,
  bottom: number,
  left: number,
  right: number,
): tf.Tensor4D {
  let t = x;
  if (top < 0 || bottom < 0 || left < 0 || right < 0) {
    const [n, h, w, c] = t.shape;
    const t0 = Math.max(0, -top);
    const l0 = Math.max(0, -left);
    t = tf.slice(t, [0, t0, l0, 0], [n, h - t0 - Math.max(0, -bottom), w - l0 - Math.max(0, -right), c]);
  }
  if (top > 0 || bottom > 0 || left > 0 || right > 0) {
    t = tf.pad(t, [
      [0, 0],
      [Math.max(0, top), Math.max(0, bottom)],
      [Math.max(0, left), Math.max(0, right)],
      [0, 0],
    ]);
  }
  return t;
}

/**
 * Inserts (stride − 1) zeros between rows and columns of an NHWC tensor. With `full`, the
 * trailing (stride − 1) zero rows/columns are kept (shape h·s × w·s), which spares a slice when
 * the caller pads afterwards anyway.
 */
export function dilateSpatial(x: tf.Tensor4D, sh: number, sw: number, full = false): tf.Tensor4D {
  if (sh === 1 && sw === 1) return x;
  const [n, h, w, c] = x.shape;
  const six = tf.reshape(x, [n, h, 1, w, 1, c]);
  const padded = tf.pad(six, [
    [0, 0],
    [0, 0],
    [0, sh - 1],
    [0, 0],
    [0, sw - 1],
    [0, 0],
  ]);
  const all = tf.reshape(padded, [n, h * sh, w * sw, c]) as tf.Tensor4D;
  return full ? all : tf.slice(all, [0, 0, 0, 0], [n, (h - 1) * sh + 1, (w - 1) * sw + 1, c]);
}

/** Forward 2-D convolution (NHWC, filter [kh, kw, ci, co]) with explicit pads, any strides and dilations. */
export function convForward(x: tf.Tensor4D, w: tf.Tensor4D, g: ConvGeom, depthwise: boolean): tf.Tensor4D {
  const { strides: s, dilations: d, pads: p } = g;
  const both = (s[0] > 1 || s[1] > 1) && (d[0] > 1 || d[1] > 1);
  const padsOk = p.top >= 0 && p.left >= 0 && p.bottom >= 0 && p.right >= 0;
  // Non-negative pads go into the conv itself (no padded copy); negative ones crop first.
  const xp = padsOk ? x : padOrCrop(x, p.top, p.bottom, p.left, p.right);
  const pad: 'valid' | [[number, number], [number, number], [number, number], [number, number]] =
    padsOk && (p.top || p.left || p.bottom || p.right)
      ? [
          [0, 0],
          [p.top, p.bottom],
          [p.left, p.right],
          [0, 0],
        ]
      : 'valid';
  // TF.js rejects strides and dilations together: convolve densely, then keep every s-th output.
  const st: [number, number] = both ? [1, 1] : s;
  let y = depthwise ? tf.depthwiseConv2d(xp, w, st, pad, 'NHWC', d) : tf.conv2d(xp, w, st, pad, 'NHWC', d);
  if (both) {
    const [n, h, wd, c] = y.shape;
    y = tf.stridedSlice(y, [0, 0, 0, 0], [n, h, wd, c], [1, s[0], s[1], 1]) as tf.Tensor4D;
  }
  return y;
}

/** Output gradient dilated by the stride and padded/cropped so that a stride-1 conv with the flipped kernel yields dx. */
function spreadDy(dy: tf.Tensor4D, xShape: number[], kh: number, kw: number, g: ConvGeom): tf.Tensor4D {
  const { strides: s, dilations: d, pads: p } = g;
  const dyd = dilateSpatial(dy, s[0], s[1], true); // (OH·s) rows: s − 1 zero rows past the last output
  const [, oh, ow] = dyd.shape;
  const top = (kh - 1) * d[0] - p.top;
  const left = (kw - 1) * d[1] - p.left;
  const bottom = xShape[1] + (kh - 1) * d[0] - top - oh;
  const right = xShape[2] + (kw - 1) * d[1] - left - ow;
  return padOrCrop(dyd, top, bottom, left, right);
}

/** dL/dx of conv2d: a stride-1 conv of the spread dy with the spatially flipped, in/out-swapped kernel. */
export function conv2dBackpropInput(
  xShape: number[],
  dy: tf.Tensor4D,
  w: tf.Tensor4D,
  g: ConvGeom,
): tf.Tensor4D {
  const [kh, kw] = w.shape;
  const src = spreadDy(dy, xShape, kh, kw, g);
  const wf = kh === 1 && kw === 1 ? w : tf.reverse(w, [0, 1]);
  const wt = tf.transpose(wf, [0, 1, 3, 2]) as tf.Tensor4D;
  return tf.conv2d(src, wt, 1, 'valid', 'NHWC', g.dilations);
}

/**
 * The JS walk behind extractTaps and scatterTaps (where the WASM kernels do not run): for every
 * output pixel and every tap inside the input, `f(col, x)` with the tap matrix index of its first
 * channel (channels follow at stride kh·kw) and the input index of that channel run.
 */
function forEachTapRun(
  xShape: number[],
  dyShape: number[],
  kh: number,
  kw: number,
  g: ConvGeom,
  f: (col: number, x: number) => void,
): void {
  const { strides: s, dilations: d, pads: p } = g;
  const [n, h, w, c] = xShape;
  const [, oh, ow] = dyShape;
  let o = 0;
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++, o += c * kh * kw)
        for (let i = 0; i < kh; i++) {
          const y = oy * s[0] + i * d[0] - p.top;
          if (y < 0 || y >= h) continue;
          const row = (b * h + y) * w;
          for (let j = 0; j < kw; j++) {
            const xx = ox * s[1] + j * d[1] - p.left;
            if (xx >= 0 && xx < w) f(o + i * kw + j, (row + xx) * c);
          }
        }
}

/**
 * All kernel taps of the input at once, [N, OH, OW, C·KH·KW] ordered (c, kh, kw): im2col; taps in
 * the padding are zeros. On WASM a kernel of our own (scripts/wasm/taps.mjs) on the backend's
 * heap; elsewhere (and on engines without WebAssembly SIMD) a plain JS loop over the values.
 */
export function extractTaps(
  x: tf.Tensor4D,
  dyShape: number[],
  kh: number,
  kw: number,
  g: ConvGeom,
): tf.Tensor4D {
  const { strides: s, pads: p } = g;
  const [n, h, w, c] = x.shape;
  const [, oh, ow] = dyShape;
  const t = kh * kw;
  if (t === 1 && s[0] === 1 && s[1] === 1 && !p.top && !p.left && oh === h && ow === w) return x;
  const own = tapKernels();
  if (own) {
    const out = own.backend.makeOutput([n, oh, ow, c * t], 'float32');
    const geom = tapGeometry(x.shape, dyShape, kh, kw, g);
    own.kernels.im2col(heapAddress(own.backend, x), heapAddress(own.backend, out), geom);
    return tf.engine().makeTensorFromTensorInfo(out) as tf.Tensor4D;
  }
  if (!jsReadable()) return extractTapsOps(x, dyShape, kh, kw, g);
  const buf = outputBuffer([n, oh, ow, c * t]);
  const out = buf.values;
  const xv = valuesOf(x);
  // Each run of c input channels lands at stride t; padding stays zero.
  forEachTapRun(x.shape, dyShape, kh, kw, g, (col, src) => {
    for (let ch = 0, dst = col; ch < c; ch++, dst += t) out[dst] = xv[src + ch];
  });
  return buf.done() as tf.Tensor4D;
}

/**
 * The adjoint of extractTaps (col2im): sums each tap column [N, OH, OW, C·KH·KW] back onto the
 * input position it was read from, giving an NHWC tensor of `xShape`. On WASM a kernel of our own,
 * elsewhere a JS loop.
 */
export function scatterTaps(
  cols: tf.Tensor,
  xShape: number[],
  dyShape: number[],
  kh: number,
  kw: number,
  g: ConvGeom,
): tf.Tensor4D {
  const c = xShape[3];
  const t = kh * kw;
  const own = tapKernels();
  if (own) {
    const dx = own.backend.makeOutput(xShape, 'float32');
    const geom = tapGeometry(xShape, dyShape, kh, kw, g);
    own.kernels.col2im(heapAddress(own.backend, cols), heapAddress(own.backend, dx), geom);
    return tf.engine().makeTensorFromTensorInfo(dx) as tf.Tensor4D;
  }
  if (!jsReadable()) return scatterTapsOps(cols, xShape, dyShape, kh, kw, g);
  const buf = outputBuffer(xShape);
  const dx = buf.values;
  const cv = valuesOf(cols);
  forEachTapRun(xShape, dyShape, kh, kw, g, (col, dst) => {
    for (let ch = 0, src = col; ch < c; ch++, src += t) dx[dst + ch] += cv[src];
  });
  return buf.done() as tf.Tensor4D;
}

/** extractTaps from tensor ops alone: one strided slice of the padded input per kernel tap. */
export function extractTapsOps(
  x: tf.Tensor4D,
  dyShape: number[],
  kh: number,
  kw: number,
  g: ConvGeom,
): tf.Tensor4D {
  const { strides: s, dilations: d, pads: p } = g;
  const [n, h, w, c] = x.shape;
  const [, oh, ow] = dyShape;
  // Row r of the padded input is input row r − top; it must reach the last window's last tap.
  const bottom = (oh - 1) * s[0] + (kh - 1) * d[0] + 1 - p.top - h;
  const right = (ow - 1) * s[1] + (kw - 1) * d[1] + 1 - p.left - w;
  const xp = padOrCrop(x, p.top, bottom, p.left, right);
  const taps: tf.Tensor[] = [];
  for (let i = 0; i < kh; i++)
    for (let j = 0; j < kw; j++) {
      const y0 = i * d[0];
      const x0 = j * d[1];
      taps.push(
        tf.stridedSlice(
          xp,
          [0, y0, x0, 0],
          [n, y0 + (oh - 1) * s[0] + 1, x0 + (ow - 1) * s[1] + 1, c],
          [1, s[0], s[1], 1],
        ),
      );
    }
  // [n, oh, ow, c, taps]: channels outer, taps inner, as the tap matrix is laid out.
  return tf.reshape(tf.stack(taps, 4), [n, oh, ow, c * kh * kw]) as tf.Tensor4D;
}

/** scatterTaps from tensor ops alone: each tap's column spread by the stride and added at its offset. */
export function scatterTapsOps(
  cols: tf.Tensor,
  xShape: number[],
  dyShape: number[],
  kh: number,
  kw: number,
  g: ConvGeom,
): tf.Tensor4D {
  const { strides: s, dilations: d, pads: p } = g;
  const [n, h, w, c] = xShape;
  const [, oh, ow] = dyShape;
  const t = kh * kw;
  const c5 = tf.reshape(cols, [n, oh, ow, c, t]);
  let dx: tf.Tensor4D | undefined;
  for (let i = 0; i < kh; i++)
    for (let j = 0; j < kw; j++) {
      const top = i * d[0] - p.top;
      const left = j * d[1] - p.left;
      const sh = (oh - 1) * s[0] + 1;
      const sw = (ow - 1) * s[1] + 1;
      if (top >= h || left >= w || top + sh <= 0 || left + sw <= 0) continue; // this tap reads only padding
      const part = tf.reshape(tf.slice(c5, [0, 0, 0, 0, i * kw + j], [n, oh, ow, c, 1]), [n, oh, ow, c]);
      const spread = dilateSpatial(part as tf.Tensor4D, s[0], s[1]); // [(oh−1)s + 1, (ow−1)s + 1]
      const placed = padOrCrop(spread, top, h - top - spread.shape[1], left, w - left - spread.shape[2]);
      dx = dx ? (tf.add(dx, placed) as tf.Tensor4D) : placed;
    }
  return dx ?? tf.zeros([n, h, w, c]);
}

/** dL/dW of conv2d: im2col of the input (one-hot depthwise taps) times the transposed output gradient. */
export function conv2dBackpropFilter(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: number[],
  g: ConvGeom,
): tf.Tensor4D {
  const [kh, kw, ci, co] = filterShape;
  const [n, oh, ow] = dy.shape;
  const m = n * oh * ow;
  const cols = tf.reshape(extractTaps(x, dy.shape, kh, kw, g), [m, ci * kh * kw]);
  const dwT = tf.matMul(tf.reshape(dy, [m, co]), cols, true, false); // [co, ci·kh·kw]
  return tf.transpose(tf.reshape(dwT, [co, ci, kh, kw]), [2, 3, 1, 0]) as tf.Tensor4D;
}

/** dL/dx of a depthwise conv (filter [kh, kw, c, m]): per multiplier slice, a depthwise conv with the flipped kernel. */
export function depthwiseBackpropInput(
  xShape: number[],
  dy: tf.Tensor4D,
  w: tf.Tensor4D,
  g: ConvGeom,
): tf.Tensor4D {
  const [kh, kw, c, mult] = w.shape;
  const wf = kh === 1 && kw === 1 ? w : tf.reverse(w, [0, 1]);
  const run = (dyq: tf.Tensor4D, wq: tf.Tensor4D) =>
    tf.depthwiseConv2d(spreadDy(dyq, xShape, kh, kw, g), wq, 1, 'valid', 'NHWC', g.dilations);
  if (mult === 1) return run(dy, wf);
  const [n, oh, ow] = dy.shape;
  const dy5 = tf.reshape(dy, [n, oh, ow, c, mult]);
  let acc: tf.Tensor4D | undefined;
  for (let q = 0; q < mult; q++) {
    const dyq = tf.reshape(tf.slice(dy5, [0, 0, 0, 0, q], [n, oh, ow, c, 1]), [n, oh, ow, c]) as tf.Tensor4D;
    const wq = tf.slice(wf, [0, 0, 0, q], [kh, kw, c, 1]);
    const r = run(dyq, wq);
    acc = acc ? (tf.add(acc, r) as tf.Tensor4D) : r;
  }
  return acc!;
}

/** dL/dW of a depthwise conv: per kernel tap, the input window times dy summed over batch and space. */
export function depthwiseBackpropFilter(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: number[],
  g: ConvGeom,
): tf.Tensor4D {
  const [kh, kw, c, mult] = filterShape;
  const [n, oh, ow] = dy.shape;
  const t = kh * kw;
  const taps = tf.reshape(extractTaps(x, dy.shape, kh, kw, g), [n, oh, ow, c, t, 1]);
  const dy6 = tf.reshape(dy, [n, oh, ow, c, 1, mult]);
  const dw = tf.sum(tf.mul(taps, dy6), [0, 1, 2]); // [c, t, mult]
  return tf.reshape(tf.transpose(dw, [1, 0, 2]), [kh, kw, c, mult]) as tf.Tensor4D;
}

/**
 * A convolution whose gradients use the functions above (tf.customGrad). `needDx` false skips
 * the input gradient (a conv reading the graph input), which is otherwise the costliest half.
 */
export function convWithFastGrad(
  x: tf.Tensor4D,
  w: tf.Tensor4D,
  g: ConvGeom,
  depthwise: boolean,
  needDx: boolean,
): tf.Tensor4D {
  // Tensors the gradient needs must go through save(): the forward pass runs inside a tidy that
  // disposes anything merely captured by the closure.
  const f = tf.customGrad(((xi: tf.Tensor, wi: tf.Tensor, save: (ts: tf.Tensor[]) => void) => {
    save([xi, wi]);
    return {
      value: convForward(xi as tf.Tensor4D, wi as tf.Tensor4D, g, depthwise),
      gradFunc: (dyAny: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const dy = (Array.isArray(dyAny) ? dyAny[0] : dyAny) as tf.Tensor4D;
        const x4 = saved[0] as tf.Tensor4D;
        const w4 = saved[1] as tf.Tensor4D;
        const dx = needDx
          ? depthwise
            ? depthwiseBackpropInput(x4.shape, dy, w4, g)
            : conv2dBackpropInput(x4.shape, dy, w4, g)
          : tf.zerosLike(x4);
        const dw = depthwise
          ? depthwiseBackpropFilter(x4, dy, w4.shape, g)
          : conv2dBackpropFilter(x4, dy, w4.shape, g);
        return [dx, dw];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x, w) as tf.Tensor4D;
}

/** TF.js layouts of one ONNX conv weight, kept for parameters (they do not change during a run). */
interface WeightViews {
  /** [kh, kw, ci, co] (conv) or [kh, kw, c, mult] (depthwise). */
  hwio: tf.Tensor4D;
  /** Spatially flipped, in/out swapped: the kernel of the input gradient (conv only). */
  flipT?: tf.Tensor4D;
}

const persistent = new WeakSet<tf.Tensor>();
const views = new WeakMap<tf.Tensor, WeightViews>();

/** Marks a parameter tensor whose layout views may be cached until releaseWeightViews. */
export function markPersistentWeight(t: tf.Tensor): void {
  persistent.add(t);
}

/** Frees the cached views of `t`. */
export function releaseWeightViews(t: tf.Tensor): void {
  const v = views.get(t);
  if (v) tf.dispose([v.hwio, ...(v.flipT ? [v.flipT] : [])]);
  views.delete(t);
  for (const cache of winogradCaches.values()) {
    cache.get(t)?.dispose();
    cache.delete(t);
  }
  persistent.delete(t);
}

function makeViews(w: tf.Tensor4D, depthwise: boolean, channels: number): WeightViews {
  const [m, , kh, kw] = w.shape;
  const hwio = depthwise
    ? (tf.transpose(tf.reshape(w, [channels, m / channels, kh, kw]), [2, 3, 0, 1]) as tf.Tensor4D)
    : (tf.transpose(w, [2, 3, 1, 0]) as tf.Tensor4D);
  const flipT = depthwise
    ? undefined
    : (tf.transpose(kh * kw === 1 ? hwio : tf.reverse(hwio, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D);
  return { hwio, flipT };
}

function viewsOf(w: tf.Tensor4D, depthwise: boolean, channels: number): WeightViews {
  if (!persistent.has(w)) return makeViews(w, depthwise, channels);
  let v = views.get(w);
  if (!v) {
    v = makeViews(w, depthwise, channels);
    tf.keep(v.hwio);
    if (v.flipT) tf.keep(v.flipT);
    views.set(w, v);
  }
  return v;
}

/**
 * A convolution taking the weight in ONNX layout ([co, ci, kh, kw]; depthwise [c·mult, 1, kh, kw])
 * with composite gradients. The TF.js layouts of parameter weights are made once per run, and the
 * weight gradient comes out of the im2col matMul already in ONNX layout: no weight-sized
 * transposes or flips per pass.
 */
export function convOnnxWeight(
  x: tf.Tensor4D,
  w: tf.Tensor4D,
  g: ConvGeom,
  depthwise: boolean,
  needDx: boolean,
  bias?: tf.Tensor1D,
): tf.Tensor4D {
  if (!depthwise && ownKernels()) return convIm2col(x, w, g, needDx, bias);
  if (bias) return tf.add(convOnnxWeight(x, w, g, depthwise, needDx), bias);
  const channels = x.shape[3];
  const f = tf.customGrad(((xi: tf.Tensor, wi: tf.Tensor, save: (ts: tf.Tensor[]) => void) => {
    const kept = persistent.has(wi);
    const v = viewsOf(wi as tf.Tensor4D, depthwise, channels);
    save([xi, wi]);
    return {
      value: convForward(xi as tf.Tensor4D, v.hwio, g, depthwise),
      gradFunc: (dyAny: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const dy = (Array.isArray(dyAny) ? dyAny[0] : dyAny) as tf.Tensor4D;
        const x4 = saved[0] as tf.Tensor4D;
        const w4 = saved[1] as tf.Tensor4D;
        const vw = kept ? v : makeViews(w4, depthwise, channels);
        const [m, cpg, kh, kw] = w4.shape;
        let dx: tf.Tensor;
        if (!needDx) dx = tf.zerosLike(x4);
        else if (depthwise) dx = depthwiseBackpropInput(x4.shape, dy, vw.hwio, g);
        else if (g.strides[0] > 1 || g.strides[1] > 1) {
          // Strided: the conv over the zero-dilated dy would spend s² times the needed FLOPs;
          // dy · W (the ONNX weight is already [co, ci·kh·kw]) and a col2im do exactly the work.
          const [n, oh, ow, co] = dy.shape;
          const dcols = tf.matMul(tf.reshape(dy, [n * oh * ow, co]), tf.reshape(w4, [m, cpg * kh * kw]));
          dx = scatterTaps(dcols, x4.shape, dy.shape, kh, kw, g);
        } else dx = tf.conv2d(spreadDy(dy, x4.shape, kh, kw, g), vw.flipT!, 1, 'valid', 'NHWC', g.dilations);
        let dw: tf.Tensor;
        if (depthwise) {
          const d = depthwiseBackpropFilter(x4, dy, vw.hwio.shape, g); // [kh, kw, c, mult]
          dw = tf.reshape(tf.transpose(d, [2, 3, 0, 1]), [m, cpg, kh, kw]);
        } else {
          const [n, oh, ow, co] = dy.shape;
          const rows = n * oh * ow;
          const cols = tf.reshape(extractTaps(x4, dy.shape, kh, kw, g), [rows, cpg * kh * kw]);
          dw = tf.reshape(tf.matMul(tf.reshape(dy, [rows, co]), cols, true, false), [m, cpg, kh, kw]);
        }
        return [dx, dw];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x, w) as tf.Tensor4D;
}

/** Output height and width of a convolution. */
export function convOutHW(h: number, w: number, kh: number, kw: number, g: ConvGeom): [number, number] {
  const { strides: s, dilations: d, pads: p } = g;
  return [
    Math.floor((h + p.top + p.bottom - (d[0] * (kh - 1) + 1)) / s[0]) + 1,
    Math.floor((w + p.left + p.right - (d[1] * (kw - 1) + 1)) / s[1]) + 1,
  ];
}

/**
 * Winograd-transformed weights of parameters, made once per run, by tiling and use: F(2×2, 3×3)'s
 * U [16, ci, co] for the forward products and the flipped kernel's [16, co, ci] for the input
 * gradient's; F(4×4, 3×3)'s [36, ci, co] and [36, co, ci].
 */
const winogradCaches = new Map<string, WeakMap<tf.Tensor, tf.Tensor3D>>(
  ['2f', '2g', '4f', '4g'].map((key) => [key, new WeakMap()]),
);

/**
 * The Winograd weights of `w` in `tile`'s tiling (`inputGrad`: the input gradient's), cached for
 * parameters; `temporary` ones are the caller's to free.
 */
function winogradWeightsOf(
  w: tf.Tensor4D,
  tile: WinogradTile,
  inputGrad: boolean,
): { u: tf.Tensor3D; temporary: boolean } {
  // F(2×2, 3×3)'s forward weights as TF.js's convolutions make them (the same bits).
  const make = () => (tile === 2 && !inputGrad ? winogradWeights(w) : winogradWeightsFor(w, tile, inputGrad));
  if (!persistent.has(w)) return { u: make(), temporary: true };
  const cache = winogradCaches.get(`${tile}${inputGrad ? 'g' : 'f'}`)!;
  let u = cache.get(w);
  if (!u) {
    // Kept for the run: packed once as the products read it (winograd.ts).
    u = tf.keep(packWinogradWeights(make()));
    cache.set(w, u);
  }
  return { u, temporary: false };
}

/**
 * The weight gradient dyᵀ·cols [co, k] of a tap-matrix convolution, in `shape` (ONNX [co, ci, kh,
 * kw]). Where more than one kernel thread runs it is queued for the workers (wasm/queuedTensors.ts:
 * dy and cols held, the gradient fenced until done) while the caller goes on with the input
 * gradient; the product is the same SGEMM call as tf.matMul's (wasm/matMulKernel.ts), so the
 * same bits.
 */
function tapWeightGrad(dy: tf.Tensor, cols: tf.Tensor, shape: number[]): tf.Tensor {
  const queued = queuedTensors();
  const [m, co] = dy.shape as [number, number];
  const k = cols.shape[1]!;
  // A product too small for the threads is not worth queuing either (nor waking a worker for).
  if (
    !queued?.queues ||
    m * co * k < taskSettings.minGemmWork * (queued.later.cold ? taskSettings.coldFactor : 1)
  )
    return tf.reshape(tf.matMul(dy, cols, true, false), shape);
  const backend = tf.backend() as unknown as WasmBackendHeap;
  const dw = backend.makeOutput(shape, 'float32');
  const release = queued.hold([dy, cols]);
  const written = queued.writing(dw);
  queued.later.sgemmMany(
    [
      {
        m: co,
        n: k,
        k: m,
        a: { ptr: queued.address(dy), rowStride: 1, colStride: co },
        b: { ptr: queued.address(cols), rowStride: k, colStride: 1 },
        c: queued.address(dw),
        ldc: k,
        acc: false,
      },
    ],
    queued.pending(dy) || queued.pending(cols),
    () => {
      release();
      written();
    },
  );
  return tf.engine().makeTensorFromTensorInfo(dw);
}

/**
 * A convolution on the WASM backend as matrix products, where tf.matMul is the probe's own SGEMM
 * (wasm/matMulKernel.ts). 3×3 stride-1 convolutions with enough output run as Winograd (winograd.ts;
 * no tap matrix): the forward pass and input gradient in F(4×4, 3×3) where its tiles pay (4× fewer
 * multiplies), else F(2×2, 3×3) (2.25×), the weight gradient likewise when it has enough tiles.
 * The others run as im2col · Wᵀ, the ONNX weight [co, ci·kh·kw] read transposed in place, with the
 * tap matrix kept for the weight gradient, and the input gradient as dy·W scattered back by
 * col2im. The weight gradient dyᵀ·cols comes out in ONNX layout: no weight layouts, flips or
 * transposes per pass.
 */
function convIm2col(
  x: tf.Tensor4D,
  w: tf.Tensor4D,
  g: ConvGeom,
  needDx: boolean,
  bias?: tf.Tensor1D,
): tf.Tensor4D {
  const [n, h, wd] = x.shape;
  const [co, cpg, kh, kw] = w.shape;
  const [oh, ow] = convOutHW(h, wd, kh, kw, g);
  // Any other bias shape broadcasts through TF.js's Add, as the ONNX op's would.
  if (bias && !(bias.rank === 1 && bias.shape[0] === co && bias.dtype === 'float32'))
    return tf.add(convIm2col(x, w, g, needDx), bias);
  const k = cpg * kh * kw;
  const m = n * oh * ow;
  const outShape = [n, oh, ow, co];
  const winograd = winogradFits(x.shape, w.shape, g.strides, g.dilations, g.pads, [oh, ow]);
  let weightForGrad: tf.Tensor4D | undefined;
  const f = tf.customGrad(((...args: unknown[]) => {
    const [xi, wi] = args as tf.Tensor[];
    const save = args[args.length - 1] as (ts: tf.Tensor[]) => void;
    let y: tf.Tensor;
    if (winograd) {
      save([xi, wi]);
      const { u, temporary } = winogradWeightsOf(wi as tf.Tensor4D, winogradTile(n, oh, ow), false);
      y = winogradConv(xi as tf.Tensor4D, u, false, g.pads.top, g.pads.left, oh, ow);
      if (temporary) u.dispose();
      // The gradient sees a clone of the weight: look its cached transform up by the original now.
      if (persistent.has(wi) && needDx) weightForGrad = wi as tf.Tensor4D;
    } else {
      const cols = tf.reshape(extractTaps(xi as tf.Tensor4D, outShape, kh, kw, g), [m, k]);
      save([xi, wi, cols]);
      y = tf.reshape(tf.matMul(cols, tf.reshape(wi, [co, k]), false, true), outShape);
    }
    // The bias in place: y is this call's own, not yet seen by anyone.
    if (bias) {
      const { backend, kernels } = tapKernels()!;
      kernels.addBias(heapAddress(backend, y), heapAddress(backend, args[2] as tf.Tensor), m, co);
    }
    return {
      value: y,
      gradFunc: (dyAny: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const dy4 = (Array.isArray(dyAny) ? dyAny[0] : dyAny) as tf.Tensor4D;
        const dy = tf.reshape(dy4, [m, co]);
        const [x4, w4] = saved;
        // The bias gradient as TF.js's Add gradient makes it (the same Sum).
        const db = bias ? [tf.sum(dy4, [0, 1, 2])] : [];
        let dw: tf.Tensor;
        if (!winograd) dw = tapWeightGrad(dy, saved[2], w4.shape);
        else if (winogradWeightGradFits(n, oh, ow))
          dw = winogradWeightGrad(
            x4 as tf.Tensor4D,
            dy4,
            g.pads.top,
            g.pads.left,
            winogradWeightGradTile(n, oh, ow),
          );
        else
          dw = tapWeightGrad(
            dy,
            tf.reshape(extractTaps(x4 as tf.Tensor4D, outShape, kh, kw, g), [m, k]),
            w4.shape,
          );
        if (!needDx) return [tf.zerosLike(x4), dw, ...db];
        let dx: tf.Tensor;
        if (winograd) {
          const tile = winogradTile(n, h, wd);
          const { u, temporary } = winogradWeightsOf(weightForGrad ?? (w4 as tf.Tensor4D), tile, true);
          // [16 or 36, co, ci]: the input gradient is a forward correlation with these.
          dx = winogradConv(dy4, u, false, 2 - g.pads.top, 2 - g.pads.left, h, wd);
          if (temporary) u.dispose();
        } else {
          const dcols = tf.matMul(dy, tf.reshape(w4, [co, k]));
          const plain = kh * kw === 1 && g.strides[0] === 1 && g.strides[1] === 1 && oh === h && ow === wd;
          dx = plain ? tf.reshape(dcols, x4.shape) : scatterTaps(dcols, x4.shape, outShape, kh, kw, g);
        }
        return [dx, dw, ...db];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return (bias ? f(x, w, bias) : f(x, w)) as tf.Tensor4D;
}
