/**
 * The kernels Skipscope registers on the WASM backend, and the small ones that live here:
 * - Conv2D, FusedConv2D and both convolution backprops as im2col/Winograd matrix products on the
 *   heap (wasmConvKernels.ts), with the composites of convGrad.ts where those do not apply, and the
 *   depthwise backprops the backend lacks, so that plain tf.grad over tf.conv2d — TF.js layers and
 *   graph models — works and is fast;
 * - BatchMatMul on the probe's SGEMM (wasm/matMulKernel.ts), Sum over leading axes in place
 *   (wasm/sumKernel.ts), Tile by block copies (wasm/tileKernel.ts), Slice, Unpack and SplitV by
 *   row copies from the heap (wasm/sliceKernels.ts), and the UnsortedSegmentSum that Gather's
 *   gradient needs (wasm/segmentSumKernel.ts);
 * - a Transpose on Skipscope's WASM kernel and the kernel threads, that shares the buffer when the
 *   elements keep their order (wasm/transposeKernel.ts);
 * - the ReLU gradient as one kernel instead of TF.js's three (wasm/reluGradKernel.ts);
 * - here: a MaxPoolGrad that routes ties and borders right, and an Identity that shares its input's
 *   buffer instead of copying it (as the CPU backend's does).
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  conv2dBackpropFilter,
  conv2dBackpropInput,
  depthwiseBackpropFilter,
  depthwiseBackpropInput,
  type ConvGeom,
} from './convGrad';
import {
  conv2DBackpropFilterKernel,
  conv2DBackpropInputKernel,
  conv2DKernel,
  fusedConv2DKernel,
  type ConvAttrs,
} from './wasmConvKernels';
import { heapAddress, type WasmBackendHeap } from './wasm/heap';
import { batchMatMulKernel } from './wasm/matMulKernel';
import { unsortedSegmentSumKernel } from './wasm/segmentSumKernel';
import { sumKernel } from './wasm/sumKernel';
import { tileKernel } from './wasm/tileKernel';
import { sliceKernel, splitVKernel, unpackKernel } from './wasm/sliceKernels';
import { wasmKernelsIfAvailable } from './wasm/wasmKernels';
import { transposeKernel } from './wasm/transposeKernel';
import { RELU_GRAD, registerReluGrad, reluGradKernel } from './wasm/reluGradKernel';

/** The part of the WASM backend these kernels use. */
interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  incRef(dataId: tf.DataId): void;
}

function geom(xShape: number[], filterShape: number[], a: ConvAttrs, depthwise: boolean): ConvGeom {
  if (a.dataFormat && a.dataFormat !== 'NHWC')
    throw new Error('only NHWC convolutions have WASM gradient kernels');
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    a.strides,
    a.dilations ?? 1,
    a.pad,
    a.dimRoundingMode,
    depthwise,
  );
  return {
    strides: [info.strideHeight, info.strideWidth],
    dilations: [info.dilationHeight, info.dilationWidth],
    pads: {
      top: info.padInfo.top,
      left: info.padInfo.left,
      bottom: info.padInfo.bottom,
      right: info.padInfo.right,
    },
  };
}

/**
 * Runs op-level code inside a kernel on copies of the inputs (wrapping a kernel's own inputs as
 * tensors would let their disposal free the caller's buffers) and returns a kept result.
 */
function composite(
  backend: unknown,
  inputs: Record<string, tf.TensorInfo>,
  body: (t: Record<string, tf.Tensor>) => tf.Tensor,
): tf.Tensor {
  const b = backend as { readSync(id: tf.DataId): Float32Array };
  return tf.tidy(() => {
    const t: Record<string, tf.Tensor> = {};
    for (const [k, v] of Object.entries(inputs)) t[k] = tf.tensor(b.readSync(v.dataId), v.shape, v.dtype);
    return body(t);
  });
}

/**
 * MaxPoolGrad: each window's gradient goes to its first maximum in row-major order (PyTorch's and
 * TF.js CPU's rule), by a WASM kernel of our own (scripts/wasm/taps.mjs), or a JS loop over the
 * heap on engines without WebAssembly SIMD; WASM's own kernel misroutes values next to padded
 * borders.
 */
function maxPoolGradKernel(args: {
  inputs: { dy: tf.TensorInfo; input: tf.TensorInfo; output: tf.TensorInfo };
  backend: unknown;
  attrs: {
    filterSize: number | [number, number];
    strides: number | [number, number];
    pad: 'valid' | 'same' | number;
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
}): tf.TensorInfo {
  const { dy, input, output } = args.inputs;
  const a = args.attrs;
  const backend = args.backend as WasmBackendLike;
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    a.filterSize,
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
  );
  const [n, h, w, c] = input.shape;
  const {
    outHeight: oh,
    outWidth: ow,
    filterHeight: kh,
    filterWidth: kw,
    strideHeight: sh,
    strideWidth: sw,
  } = info;
  const out = backend.makeOutput(input.shape, 'float32');
  const heap = backend as unknown as WasmBackendHeap;
  const kernels = wasmKernelsIfAvailable(heap.wasm);
  if (kernels) {
    const { top, left } = info.padInfo;
    const at = (t: tf.TensorInfo) => heapAddress(heap, t);
    const geom = { n, h, w, c, oh, ow, kh, kw, sh, sw, dh: 1, dw: 1, top, left };
    kernels.maxPoolGrad(at(dy), at(input), at(output), at(out), geom);
    return out;
  }
  const dx = backend.typedArrayFromHeap(out) as Float32Array;
  dx.fill(0);
  const xv = backend.typedArrayFromHeap(input) as Float32Array;
  const yv = backend.typedArrayFromHeap(output) as Float32Array;
  const dv = backend.typedArrayFromHeap(dy) as Float32Array;
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++) {
        const o = ((b * oh + oy) * ow + ox) * c;
        for (let ch = 0; ch < c; ch++) {
          const target = yv[o + ch];
          search: for (let i = 0; i < kh; i++) {
            const y = oy * sh - info.padInfo.top + i;
            if (y < 0 || y >= h) continue;
            for (let j = 0; j < kw; j++) {
              const x = ox * sw - info.padInfo.left + j;
              if (x < 0 || x >= w) continue;
              const at = ((b * h + y) * w + x) * c + ch;
              if (xv[at] === target) {
                dx[at] += dv[o + ch];
                break search;
              }
            }
          }
        }
      }
  return out;
}

/**
 * Identity without a copy (strings aside): tensors are immutable, so the output may share the
 * input's buffer, reference-counted as WASM's own Reshape does.
 */
function identityKernel(fallback: tf.KernelFunc | undefined): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    if (x.dtype === 'string' && fallback) return fallback(args);
    (args.backend as WasmBackendLike).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
}

/** A filter backprop (plain or depthwise) composed from fast forward ops (convGrad.ts). */
function filterGradComposite(depthwise: boolean): tf.KernelFunc {
  return ({ inputs, attrs, backend }) => {
    const a = attrs as unknown as ConvAttrs;
    const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const g = geom(x.shape, a.filterShape!, a, depthwise);
    return composite(backend, { x, dy }, (t) =>
      (depthwise ? depthwiseBackpropFilter : conv2dBackpropFilter)(
        t.x as tf.Tensor4D,
        t.dy as tf.Tensor4D,
        a.filterShape!,
        g,
      ),
    );
  };
}

/** An input backprop (plain or depthwise) composed from fast forward ops (convGrad.ts). */
function inputGradComposite(depthwise: boolean): tf.KernelFunc {
  return ({ inputs, attrs, backend }) => {
    const a = attrs as unknown as ConvAttrs;
    const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const g = geom(a.inputShape!, filter.shape, a, depthwise);
    return composite(backend, { dy, filter }, (t) =>
      (depthwise ? depthwiseBackpropInput : conv2dBackpropInput)(
        a.inputShape!,
        t.dy as tf.Tensor4D,
        t.filter as tf.Tensor4D,
        g,
      ),
    );
  };
}

let registered = false;

/** Registers the kernels above on the WASM backend (once; replaces its Transpose, Identity, BatchMatMul, Sum, MaxPoolGrad, Tile, Slice, Unpack, SplitV, Conv2D, FusedConv2D and Conv2DBackpropInput, adds UnsortedSegmentSum and the ReLU gradient's kernel, and the Relu gradient that runs it). */
export function registerWasmKernels(): void {
  if (registered) return;
  registered = true;
  const replace = (config: tf.KernelConfig) => {
    const original = tf.getKernel(config.kernelName, 'wasm');
    if (original) tf.unregisterKernel(config.kernelName, 'wasm');
    // Keep the original setup: other WASM kernels call its C++ entry point directly.
    tf.registerKernel({ ...config, setupFunc: original?.setupFunc });
  };
  replace({
    kernelName: 'Transpose',
    backendName: 'wasm',
    kernelFunc: transposeKernel as unknown as tf.KernelFunc,
  });
  replace({
    kernelName: 'Identity',
    backendName: 'wasm',
    kernelFunc: identityKernel(tf.getKernel('Identity', 'wasm')?.kernelFunc),
  });
  replace({
    kernelName: 'BatchMatMul',
    backendName: 'wasm',
    kernelFunc: batchMatMulKernel(tf.getKernel('BatchMatMul', 'wasm')?.kernelFunc),
  });
  const sum = tf.getKernel('Sum', 'wasm');
  if (sum) replace({ kernelName: 'Sum', backendName: 'wasm', kernelFunc: sumKernel(sum.kernelFunc) });
  const tile = tf.getKernel('Tile', 'wasm');
  if (tile) replace({ kernelName: 'Tile', backendName: 'wasm', kernelFunc: tileKernel(tile.kernelFunc) });
  for (const [name, make] of [
    ['Slice', sliceKernel],
    ['Unpack', unpackKernel],
    ['SplitV', splitVKernel],
  ] as const) {
    const own = tf.getKernel(name, 'wasm');
    if (own) replace({ kernelName: name, backendName: 'wasm', kernelFunc: make(own.kernelFunc) });
  }
  replace({
    kernelName: 'UnsortedSegmentSum',
    backendName: 'wasm',
    kernelFunc: unsortedSegmentSumKernel as unknown as tf.KernelFunc,
  });
  replace({
    kernelName: RELU_GRAD,
    backendName: 'wasm',
    kernelFunc: reluGradKernel as unknown as tf.KernelFunc,
  });
  registerReluGrad();
  replace({
    kernelName: 'MaxPoolGrad',
    backendName: 'wasm',
    kernelFunc: maxPoolGradKernel as unknown as tf.KernelFunc,
  });
  for (const [name, make] of [
    ['Conv2D', conv2DKernel],
    ['FusedConv2D', fusedConv2DKernel],
  ] as const) {
    const own = tf.getKernel(name, 'wasm');
    if (own) replace({ kernelName: name, backendName: 'wasm', kernelFunc: make(own.kernelFunc) });
  }
  replace({
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'wasm',
    kernelFunc: conv2DBackpropFilterKernel(filterGradComposite(false)),
  });
  replace({
    kernelName: 'Conv2DBackpropInput',
    backendName: 'wasm',
    kernelFunc: conv2DBackpropInputKernel(inputGradComposite(false)),
  });
  replace({
    kernelName: 'DepthwiseConv2dNativeBackpropFilter',
    backendName: 'wasm',
    kernelFunc: filterGradComposite(true),
  });
  replace({
    kernelName: 'DepthwiseConv2dNativeBackpropInput',
    backendName: 'wasm',
    kernelFunc: inputGradComposite(true),
  });
}
