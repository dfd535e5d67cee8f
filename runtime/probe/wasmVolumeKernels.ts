/**
 * TF.js's 3-D kernels on the WASM backend, replaced: TF.js 4.22's own WASM Conv3DBackpropInputV2
 * and Conv3DBackpropFilterV2 return wrong gradients (for most shapes, strided or not), its
 * MaxPool3D starts every window at the smallest positive float (a window of negative values
 * pools to 1.2e-38) and its MaxPool3DGrad routes gradients wrongly. TF.js layers and graph models
 * with 3-D convolutions or pools run through these kernels, so without this their gradients would
 * be silently wrong on the default backend.
 *
 * - Conv3D and both backprops (NDHWC, filter [kd, kh, kw, ci, co]) run on the probe's 3-D
 *   kernels (convGrad3d.ts: im2col3d + SGEMM, channels-first): the operands are copied to
 *   channels-first scratch on the heap and the result copied back (a pass over each tensor,
 *   small next to the products);
 * - MaxPool3D and MaxPool3DGrad are JS loops over the heap (each window's first maximum in
 *   (d, h, w) order gets the gradient, as in PyTorch and the 2-D MaxPoolGrad here).
 *
 * Convolutions fall back to the kernel they replace where the probe's kernels cannot run (an
 * engine without WebAssembly SIMD) or the tensors are not float32 NDHWC.
 */
import * as tf from '@tensorflow/tfjs-core';
import { heapAddress, withScratch, type WasmBackendHeap } from './wasm/heap';
import { wasmKernelsIfAvailable } from './wasm/wasmKernels';
import { conv3dFilterGradAt, conv3dForwardAt, conv3dInputGradAt, type VolumeConv } from './convGrad3d';

type Shape5 = [number, number, number, number, number];
type Pad3 = 'same' | 'valid' | number;

/** Whether the kernels here replace TF.js's (benchmarks time TF.js's own in the same process). */
export const wasmVolumeSettings = { enabled: true };

/** Calls that ran here (tests check that a path was taken). */
export const wasmVolumeRuns = { conv: 0, pool: 0 };

function floats(backend: WasmBackendHeap, ptr: number, n: number): Float32Array {
  return new Float32Array(backend.wasm.asm.memory.buffer, ptr, n);
}

/** [n, s, c] at `src` → [n, c, s] at `dst` (byte addresses). */
function toChannelsFirst(
  backend: WasmBackendHeap,
  src: number,
  dst: number,
  n: number,
  s: number,
  c: number,
): void {
  const a = floats(backend, src, n * s * c);
  const b = floats(backend, dst, n * s * c);
  for (let i = 0; i < n; i++)
    for (let p = 0; p < s; p++) {
      const from = (i * s + p) * c;
      for (let q = 0; q < c; q++) b[(i * c + q) * s + p] = a[from + q];
    }
}

/** [n, c, s] at `src` → [n, s, c] at `dst`. */
function toChannelsLast(
  backend: WasmBackendHeap,
  src: number,
  dst: number,
  n: number,
  s: number,
  c: number,
): void {
  const a = floats(backend, src, n * s * c);
  const b = floats(backend, dst, n * s * c);
  for (let i = 0; i < n; i++)
    for (let q = 0; q < c; q++) {
      const from = (i * c + q) * s;
      for (let p = 0; p < s; p++) b[(i * s + p) * c + q] = a[from + p];
    }
}

/** A TF.js filter [t, ci, co] at `src` ↔ the ONNX weight [co, ci, t] at `dst` (the axes reversed). */
function reverseAxes(
  backend: WasmBackendHeap,
  src: number,
  dst: number,
  t: number,
  ci: number,
  co: number,
): void {
  const a = floats(backend, src, t * ci * co);
  const b = floats(backend, dst, t * ci * co);
  for (let k = 0; k < t; k++)
    for (let i = 0; i < ci; i++)
      for (let o = 0; o < co; o++) b[(o * ci + i) * t + k] = a[(k * ci + i) * co + o];
}

/** The convolution of TF.js's Conv3DInfo in convGrad3d.ts's terms. */
function volumeConv(info: tf.backend_util.Conv3DInfo): VolumeConv {
  const p = info.padInfo;
  return {
    n: info.batchSize,
    ci: info.inChannels,
    co: info.outChannels,
    group: 1,
    inSize: [info.inDepth, info.inHeight, info.inWidth],
    outSize: [info.outDepth, info.outHeight, info.outWidth],
    g: {
      kernel: [info.filterDepth, info.filterHeight, info.filterWidth],
      strides: [info.strideDepth, info.strideHeight, info.strideWidth],
      dilations: [info.dilationDepth, info.dilationHeight, info.dilationWidth],
      padBegin: [p.front, p.top, p.left],
      padEnd: [p.back, p.bottom, p.right],
    },
  };
}

type KernelArgs = Parameters<tf.KernelFunc>[0];

/** The probe's kernels for these float32 tensors, else undefined. */
function kernelsFor(backend: WasmBackendHeap, ts: tf.TensorInfo[]) {
  return ts.every((t) => t.dtype === 'float32') ? wasmKernelsIfAvailable(backend.wasm) : undefined;
}

/** Conv3D, Conv3DBackpropInputV2 or Conv3DBackpropFilterV2 on the probe's 3-D kernels. */
function convKernel(which: 'forward' | 'input' | 'filter', fallback: tf.KernelFunc): tf.KernelFunc {
  return (args: KernelArgs) => {
    const backend = args.backend as unknown as WasmBackendHeap;
    const a = args.attrs as {
      strides: number | number[];
      pad: Pad3;
      dilations?: number | number[];
      dataFormat?: string;
    };
    const ins = args.inputs as Record<string, tf.TensorInfo>;
    if (!wasmVolumeSettings.enabled || (a.dataFormat !== undefined && a.dataFormat !== 'NDHWC'))
      return fallback(args);
    const xShape = (
      which === 'input' ? (a as unknown as { inputShape: number[] }).inputShape : ins.x.shape
    ) as Shape5;
    const fShape = (
      which === 'filter' ? (a as unknown as { filterShape: number[] }).filterShape : ins.filter.shape
    ) as Shape5;
    const k = kernelsFor(backend, Object.values(ins));
    if (!k || xShape.length !== 5 || fShape.length !== 5) return fallback(args);
    const info = tf.backend_util.computeConv3DInfo(
      xShape,
      fShape,
      a.strides as [number, number, number],
      (a.dilations ?? 1) as [number, number, number],
      a.pad,
    );
    const v = volumeConv(info);
    const sIn = v.inSize[0] * v.inSize[1] * v.inSize[2];
    const sOut = v.outSize[0] * v.outSize[1] * v.outSize[2];
    const t = fShape[0] * fShape[1] * fShape[2];
    const at = (ti: tf.TensorInfo) => heapAddress(backend, ti);
    wasmVolumeRuns.conv++;
    const outShape = which === 'forward' ? info.outShape : which === 'input' ? xShape : fShape;
    const out = backend.makeOutput(outShape, 'float32');
    withScratch(backend.wasm, (alloc) => {
      const xc = which === 'input' ? 0 : alloc(v.n * v.ci * sIn);
      const yc = alloc(v.n * v.co * sOut);
      const w = alloc(t * v.ci * v.co);
      // Views are taken after every allocation: a heap that grows detaches older ones.
      if (which !== 'input') toChannelsFirst(backend, at(ins.x), xc, v.n, sIn, v.ci);
      if (which === 'forward') {
        reverseAxes(backend, at(ins.filter), w, t, v.ci, v.co);
        conv3dForwardAt(k, backend, v, xc, w, yc);
        toChannelsLast(backend, yc, at(out), v.n, sOut, v.co);
      } else if (which === 'input') {
        const dxc = alloc(v.n * v.ci * sIn);
        toChannelsFirst(backend, at(ins.dy), yc, v.n, sOut, v.co);
        reverseAxes(backend, at(ins.filter), w, t, v.ci, v.co);
        conv3dInputGradAt(k, backend, v, yc, w, dxc);
        toChannelsLast(backend, dxc, at(out), v.n, sIn, v.ci);
      } else {
        toChannelsFirst(backend, at(ins.dy), yc, v.n, sOut, v.co);
        conv3dFilterGradAt(k, backend, v, xc, undefined, yc, w);
        // The ONNX-layout gradient [co, ci, t] back to [t, ci, co].
        const g = floats(backend, w, t * v.ci * v.co);
        const o = floats(backend, at(out), t * v.ci * v.co);
        for (let q = 0; q < v.co; q++)
          for (let i = 0; i < v.ci; i++)
            for (let p = 0; p < t; p++) o[(p * v.ci + i) * v.co + q] = g[(q * v.ci + i) * t + p];
      }
    });
    return out;
  };
}

/** The pool geometry of MaxPool3D/MaxPool3DGrad attributes on an NDHWC input. */
function poolInfo(x: tf.TensorInfo, attrs: tf.NamedAttrMap): tf.backend_util.Conv3DInfo {
  const a = attrs as {
    filterSize: number | [number, number, number];
    strides: number | [number, number, number];
    pad: Pad3;
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
  return tf.backend_util.computePool3DInfo(
    x.shape as Shape5,
    a.filterSize,
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
  );
}

/**
 * Over every pooling window of the NDHWC input, the flat index (into x) of its first maximum in
 * (d, h, w) order, padding skipped; -1 for a window entirely in the padding.
 */
function forEachWindowMax(
  xv: Float32Array,
  info: tf.backend_util.Conv3DInfo,
  f: (out: number, at: number, max: number) => void,
): void {
  const { batchSize: n, inDepth: d, inHeight: h, inWidth: w, inChannels: c } = info;
  const { outDepth: od, outHeight: oh, outWidth: ow, padInfo: p } = info;
  let out = 0;
  for (let b = 0; b < n; b++)
    for (let z = 0; z < od; z++)
      for (let y = 0; y < oh; y++)
        for (let x = 0; x < ow; x++)
          for (let q = 0; q < c; q++, out++) {
            let best = -Infinity;
            let at = -1;
            for (let i = 0; i < info.filterDepth; i++) {
              const zz = z * info.strideDepth + i - p.front;
              if (zz < 0 || zz >= d) continue;
              for (let j = 0; j < info.filterHeight; j++) {
                const yy = y * info.strideHeight + j - p.top;
                if (yy < 0 || yy >= h) continue;
                for (let k = 0; k < info.filterWidth; k++) {
                  const xx = x * info.strideWidth + k - p.left;
                  if (xx < 0 || xx >= w) continue;
                  const idx = (((b * d + zz) * h + yy) * w + xx) * c + q;
                  if (at < 0 || xv[idx] > best) {
                    best = xv[idx];
                    at = idx;
                  }
                }
              }
            }
            f(out, at, best);
          }
}

function maxPool3DKernel(args: KernelArgs, fallback: tf.KernelFunc): tf.TensorInfo {
  if (!wasmVolumeSettings.enabled) return fallback(args) as tf.TensorInfo;
  const backend = args.backend as unknown as WasmBackendHeap;
  const { x } = args.inputs as { x: tf.TensorInfo };
  const info = poolInfo(x, args.attrs ?? {});
  wasmVolumeRuns.pool++;
  const out = backend.makeOutput(info.outShape, x.dtype);
  const yv = (
    backend as unknown as { typedArrayFromHeap(t: tf.TensorInfo): Float32Array }
  ).typedArrayFromHeap(out);
  const xv = (
    backend as unknown as { typedArrayFromHeap(t: tf.TensorInfo): Float32Array }
  ).typedArrayFromHeap(x);
  forEachWindowMax(xv, info, (o, at, best) => (yv[o] = at < 0 ? 0 : best));
  return out;
}

function maxPool3DGradKernel(args: KernelArgs, fallback: tf.KernelFunc): tf.TensorInfo {
  if (!wasmVolumeSettings.enabled) return fallback(args) as tf.TensorInfo;
  const backend = args.backend as unknown as WasmBackendHeap & {
    typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
  };
  const { dy, input } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
  const info = poolInfo(input, args.attrs ?? {});
  wasmVolumeRuns.pool++;
  const dx = backend.makeOutput(input.shape, 'float32');
  const dxv = backend.typedArrayFromHeap(dx);
  dxv.fill(0);
  const xv = backend.typedArrayFromHeap(input);
  const dyv = backend.typedArrayFromHeap(dy);
  forEachWindowMax(xv, info, (o, at) => {
    if (at >= 0) dxv[at] += dyv[o];
  });
  return dx;
}

let registered = false;

/** Replaces TF.js's WASM 3-D kernels with the ones here (once per process). */
export function registerWasmVolumeKernels(): void {
  if (registered) return;
  registered = true;
  const replace = (name: string, make: (fallback: tf.KernelFunc) => tf.KernelFunc) => {
    const original = tf.getKernel(name, 'wasm');
    if (!original) return;
    tf.unregisterKernel(name, 'wasm');
    // Keep the original setup: other WASM kernels may call its C++ entry point.
    tf.registerKernel({ ...original, kernelFunc: make(original.kernelFunc) });
  };
  replace('Conv3D', (f) => convKernel('forward', f));
  replace('Conv3DBackpropInputV2', (f) => convKernel('input', f));
  replace('Conv3DBackpropFilterV2', (f) => convKernel('filter', f));
  replace('MaxPool3D', (f) => ((args: KernelArgs) => maxPool3DKernel(args, f)) as tf.KernelFunc);
  replace('MaxPool3DGrad', (f) => ((args: KernelArgs) => maxPool3DGradKernel(args, f)) as tf.KernelFunc);
}
