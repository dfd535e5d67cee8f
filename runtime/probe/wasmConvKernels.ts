/**
 * TF.js convolutions on the WASM backend as matrix products on its heap, the way the ONNX
 * executor's convolutions run (convGrad.ts): Conv2D, FusedConv2D, Conv2DBackpropFilter and
 * Conv2DBackpropInput for NHWC float32 tensors and HWIO filters [kh, kw, ci, co]. The taps are
 * gathered in (kh, kw, c) order (wasm/wasmKernels.ts im2colHwc), so that the filter is already
 * the row-major [kh·kw·ci, co] matrix of the product and no weight layout is ever made:
 *
 * - forward: y = cols · W; the weight gradient dW = colsᵀ · dy comes out in HWIO; the input
 *   gradient is col2im(dy · Wᵀ), Wᵀ read in place through the SGEMM's strides;
 * - 3×3 stride-1 convolutions with channels in fours and enough output run as Winograd
 *   F(2×2, 3×3) (winograd.ts's conditions and transforms), the weight transform recomputed from
 *   the filter in WASM on every call (a few hundred microseconds; nothing is cached, so a
 *   changed filter can never be read stale), the input gradient reading the same transform
 *   with its tile positions permuted (the flipped kernel's transform) and transposed in place.
 *
 * Everything else (other layouts and dtypes, engines without WebAssembly SIMD, shapes TF.js
 * would reject) goes to the kernel each one replaces.
 */
import * as tf from '@tensorflow/tfjs-core';
import { heapAddress, withScratch, type Alloc, type WasmBackendHeap } from './wasm/heap';
import { wasmKernelsIfAvailable, type TapGeometry, type WasmKernels } from './wasm/wasmKernels';
import {
  forwardOperands,
  inputGradOperands,
  winogradCorrelate,
  winogradFits,
  winogradTileSums,
  winogradWeightGradFits,
} from './winograd';

/** Whether the kernels here run (benchmarks compare both ways in one process). */
export const wasmConvSettings = { enabled: true };

/** Calls that ran here rather than in the kernel replaced (tests check that a path was taken). */
export const wasmConvRuns = { forward: 0, filter: 0, input: 0 };

/** The part of the WASM backend the kernels use. */
interface ConvBackend extends WasmBackendHeap {
  disposeData(dataId: tf.DataId, force?: boolean): boolean;
}

/** The attributes of Conv2D and its backprops (TF.js kernel attributes). */
export interface ConvAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat?: string;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  dilations?: number | [number, number];
  inputShape?: number[];
  filterShape?: number[];
}

/** One convolution: input [n, h, w, ci], filter [kh, kw, ci, co], output [n, oh, ow, co]. */
interface Conv {
  n: number;
  h: number;
  w: number;
  ci: number;
  co: number;
  oh: number;
  ow: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  top: number;
  left: number;
  bottom: number;
  right: number;
}

/** The convolution of these shapes and attributes, or undefined where the kernels here do not apply. */
function convOf(xShape: number[], filterShape: number[] | undefined, a: ConvAttrs): Conv | undefined {
  if (a.dataFormat !== undefined && a.dataFormat !== 'NHWC') return undefined;
  if (xShape.length !== 4 || filterShape?.length !== 4 || xShape[3] !== filterShape[2]) return undefined;
  let info: tf.backend_util.Conv2DInfo;
  try {
    info = tf.backend_util.computeConv2DInfo(
      xShape as [number, number, number, number],
      filterShape as [number, number, number, number],
      a.strides,
      a.dilations ?? 1,
      a.pad,
      a.dimRoundingMode,
    );
  } catch {
    return undefined; // the original kernel reports it
  }
  const [n, h, w, ci] = xShape;
  const [kh, kw, , co] = filterShape;
  const c: Conv = {
    n,
    h,
    w,
    ci,
    co,
    oh: info.outHeight,
    ow: info.outWidth,
    kh,
    kw,
    sh: info.strideHeight,
    sw: info.strideWidth,
    dh: info.dilationHeight,
    dw: info.dilationWidth,
    top: info.padInfo.top,
    left: info.padInfo.left,
    bottom: info.padInfo.bottom,
    right: info.padInfo.right,
  };
  const sizes = [n, h, w, ci, co, c.oh, c.ow, kh, kw];
  return sizes.every((v) => Number.isInteger(v) && v > 0) ? c : undefined;
}

/** The probe's kernels where these tensors can go through them, else undefined. */
function kernelsFor(backend: ConvBackend, tensors: tf.TensorInfo[]): WasmKernels | undefined {
  if (!wasmConvSettings.enabled || tensors.some((t) => t.dtype !== 'float32')) return undefined;
  return wasmKernelsIfAvailable(backend.wasm);
}

function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function tapGeometry(c: Conv): TapGeometry {
  const { n, h, w, oh, ow, kh, kw, sh, sw, dh, dw, top, left } = c;
  return { n, h, w, c: c.ci, oh, ow, kh, kw, sh, sw, dh, dw, top, left };
}

/** A 1×1 stride-1 unpadded convolution: the input is its own tap matrix. */
function plain(c: Conv): boolean {
  return (
    c.kh === 1 && c.kw === 1 && c.sh === 1 && c.sw === 1 && !c.top && !c.left && c.oh === c.h && c.ow === c.w
  );
}

/** The tap matrix [n·oh·ow, kh·kw·ci] of input `x`: x itself for a plain 1×1 convolution. */
function tapMatrix(k: WasmKernels, alloc: Alloc, c: Conv, x: number): number {
  if (plain(c)) return x;
  const cols = alloc(c.n * c.oh * c.ow * c.kh * c.kw * c.ci);
  k.im2colHwc(x, cols, tapGeometry(c));
  return cols;
}

function winograd(c: Conv): boolean {
  return winogradFits([c.n, c.h, c.w, c.ci], [c.co, c.ci, c.kh, c.kw], [c.sh, c.sw], [c.dh, c.dw], c, [
    c.oh,
    c.ow,
  ]);
}

/** y [n, oh, ow, co] = conv(x, W) at byte addresses. */
function forward(k: WasmKernels, backend: ConvBackend, c: Conv, x: number, wt: number, y: number): void {
  const { n, h, w, ci, co, oh, ow } = c;
  wasmConvRuns.forward++;
  withScratch(backend.wasm, (alloc) => {
    if (winograd(c)) {
      const u = alloc(16 * ci * co);
      k.wgWeightsHwio(wt, ci * co, u);
      winogradCorrelate(k, alloc, x, [n, h, w, ci], c.top, c.left, forwardOperands(u, ci, co), co, y, oh, ow);
      return;
    }
    const rows = n * oh * ow;
    const kk = c.kh * c.kw * ci;
    const cols = tapMatrix(k, alloc, c, x);
    k.sgemm(
      rows,
      co,
      kk,
      { ptr: cols, rowStride: kk, colStride: 1 },
      { ptr: wt, rowStride: co, colStride: 1 },
      y,
      co,
    );
  });
}

/** dW [kh, kw, ci, co] of the convolution, from its input x and output gradient dy. */
function filterGrad(k: WasmKernels, backend: ConvBackend, c: Conv, x: number, dy: number, dw: number): void {
  const { n, h, w, ci, co, oh, ow } = c;
  wasmConvRuns.filter++;
  withScratch(backend.wasm, (alloc) => {
    if (winograd(c) && winogradWeightGradFits(n, oh, ow)) {
      const m = winogradTileSums(k, alloc, x, [n, h, w, ci], c.top, c.left, dy, [oh, ow, co]);
      k.wgWeightGradHwio(m, ci * co, dw);
      return;
    }
    const rows = n * oh * ow;
    const kk = c.kh * c.kw * ci;
    const cols = tapMatrix(k, alloc, c, x);
    k.sgemm(
      kk,
      co,
      rows,
      { ptr: cols, rowStride: 1, colStride: kk },
      { ptr: dy, rowStride: co, colStride: 1 },
      dw,
      co,
    );
  });
}

/** dx [n, h, w, ci] of the convolution, from its output gradient dy and filter W. */
function inputGrad(k: WasmKernels, backend: ConvBackend, c: Conv, dy: number, wt: number, dx: number): void {
  const { n, h, w, ci, co, oh, ow } = c;
  wasmConvRuns.input++;
  withScratch(backend.wasm, (alloc) => {
    if (winograd(c)) {
      // dx is the correlation of dy, padded by 2 − p, with the flipped kernel.
      const u = alloc(16 * ci * co);
      k.wgWeightsHwio(wt, ci * co, u);
      winogradCorrelate(
        k,
        alloc,
        dy,
        [n, oh, ow, co],
        2 - c.top,
        2 - c.left,
        inputGradOperands(u, ci, co),
        ci,
        dx,
        h,
        w,
      );
      return;
    }
    const rows = n * oh * ow;
    const kk = c.kh * c.kw * ci;
    const wT = { ptr: wt, rowStride: 1, colStride: co };
    if (plain(c)) {
      k.sgemm(rows, ci, co, { ptr: dy, rowStride: co, colStride: 1 }, wT, dx, ci);
      return;
    }
    const dcols = alloc(rows * kk);
    k.sgemm(rows, kk, co, { ptr: dy, rowStride: co, colStride: 1 }, wT, dcols, kk);
    k.col2imHwc(dcols, dx, tapGeometry(c));
  });
}

type KernelArgs = Parameters<tf.KernelFunc>[0];

/** Conv2D; `fallback` is the backend's own. */
export function conv2DKernel(fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x, filter } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
    const backend = args.backend as unknown as ConvBackend;
    const k = kernelsFor(backend, [x, filter]);
    const c = k && convOf(x.shape, filter.shape, args.attrs as unknown as ConvAttrs);
    if (!k || !c) return fallback(args);
    const y = backend.makeOutput([c.n, c.oh, c.ow, c.co], 'float32');
    const at = (t: tf.TensorInfo) => heapAddress(backend, t);
    forward(k, backend, c, at(x), at(filter), at(y));
    return y;
  };
}

/** A fused activation as the backend kernel that applies it, or null where there is none. */
function activationKernel(
  args: KernelArgs,
): { name: string; inputs: Record<string, tf.TensorInfo>; attrs: tf.NamedAttrMap } | null | undefined {
  const { activation, leakyreluAlpha } = args.attrs as { activation?: string; leakyreluAlpha?: number };
  const { preluActivationWeights: alpha } = args.inputs as { preluActivationWeights?: tf.TensorInfo };
  switch (activation ?? 'linear') {
    case 'linear':
      return null;
    case 'relu':
      return { name: 'Relu', inputs: {}, attrs: {} };
    case 'relu6':
      return { name: 'Relu6', inputs: {}, attrs: {} };
    case 'elu':
      return { name: 'Elu', inputs: {}, attrs: {} };
    case 'sigmoid':
      return { name: 'Sigmoid', inputs: {}, attrs: {} };
    case 'leakyrelu':
      // As the backend's fused kernel reads it.
      return { name: 'LeakyRelu', inputs: {}, attrs: { alpha: leakyreluAlpha || 0 } };
    case 'prelu':
      return alpha ? { name: 'Prelu', inputs: { alpha }, attrs: {} } : undefined;
    default:
      return undefined;
  }
}

/**
 * FusedConv2D (what graph models' _FusedConv2D and layers' Conv2D with a bias run): the
 * convolution here, then the backend's own Add for the bias and its activation kernel, each one
 * pass over the output. `fallback` is the backend's own fused kernel.
 */
export function fusedConv2DKernel(fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x, filter, bias } = args.inputs as {
      x: tf.TensorInfo;
      filter: tf.TensorInfo;
      bias?: tf.TensorInfo;
    };
    const backend = args.backend as unknown as ConvBackend;
    const k = kernelsFor(backend, [x, filter, ...(bias ? [bias] : [])]);
    const c = k && convOf(x.shape, filter.shape, args.attrs as unknown as ConvAttrs);
    const act = activationKernel(args);
    const addKernel = tf.getKernel('Add', 'wasm');
    const actKernel = act ? tf.getKernel(act.name, 'wasm') : undefined;
    const biasOk = !bias || (bias.shape.length === 1 && bias.shape[0] === c?.co && !!addKernel);
    if (!k || !c || act === undefined || (act && !actKernel) || !biasOk) return fallback(args);
    let out = backend.makeOutput([c.n, c.oh, c.ow, c.co], 'float32');
    const at = (t: tf.TensorInfo) => heapAddress(backend, t);
    forward(k, backend, c, at(x), at(filter), at(out));
    const then = (kernel: tf.KernelConfig, inputs: Record<string, tf.TensorInfo>, attrs: tf.NamedAttrMap) => {
      const next = kernel.kernelFunc({ inputs, attrs, backend: args.backend }) as tf.TensorInfo;
      backend.disposeData(out.dataId);
      out = next;
    };
    if (bias && addKernel) then(addKernel, { a: out, b: bias }, {});
    if (act && actKernel) then(actKernel, { x: out, ...act.inputs }, act.attrs);
    return out;
  };
}

/** Conv2DBackpropFilter (inputs x and dy; the filter shape an attribute); `fallback` takes the rest. */
export function conv2DBackpropFilterKernel(fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const a = args.attrs as unknown as ConvAttrs;
    const backend = args.backend as unknown as ConvBackend;
    const k = kernelsFor(backend, [x, dy]);
    const c = k && convOf(x.shape, a.filterShape, a);
    if (!k || !c || !sameShape(dy.shape, [c.n, c.oh, c.ow, c.co])) return fallback(args);
    const dw = backend.makeOutput([c.kh, c.kw, c.ci, c.co], 'float32');
    const at = (t: tf.TensorInfo) => heapAddress(backend, t);
    filterGrad(k, backend, c, at(x), at(dy), at(dw));
    return dw;
  };
}

/** Conv2DBackpropInput (inputs dy and the filter; the input shape an attribute); `fallback` takes the rest. */
export function conv2DBackpropInputKernel(fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const a = args.attrs as unknown as ConvAttrs;
    const backend = args.backend as unknown as ConvBackend;
    const k = kernelsFor(backend, [dy, filter]);
    const c = k && a.inputShape && convOf(a.inputShape, filter.shape, a);
    if (!k || !c || !sameShape(dy.shape, [c.n, c.oh, c.ow, c.co])) return fallback(args);
    const dx = backend.makeOutput([c.n, c.h, c.w, c.ci], 'float32');
    const at = (t: tf.TensorInfo) => heapAddress(backend, t);
    inputGrad(k, backend, c, at(dy), at(filter), at(dx));
    return dx;
  };
}
