/**
 * Transpose on the WASM backend. The permutation is reduced first (transposePlan.ts): one that
 * keeps the elements in order (it moves only axes of size 1) shares the input's buffer, like
 * Identity; 4-byte elements (float32, int32) are moved by Skipscope's WASM kernel
 * (scripts/wasm/transpose.mjs: a memory.copy per row where rows stay contiguous, a gather
 * otherwise), on the kernel threads when the tensor is large; other types, engines without
 * WebAssembly SIMD and permutations of more than six reduced axes walk the heap from JavaScript.
 * Transformers transpose every attention head and weight twice per pass: ViT-Ti/8 at batch 2 spent
 * a fifth of its pass here at 250 M elements/s in JavaScript.
 */
import * as tf from '@tensorflow/tfjs-core';
import { heapAddress, type WasmBackendHeap } from './heap';
import { TRANSPOSE_OUTER } from './kernelTasks';
import { transposePlan } from './transposePlan';
import { wasmKernelsIfAvailable } from './wasmKernels';

/** The part of the WASM backend this kernel uses. */
interface Backend extends WasmBackendHeap {
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  incRef(dataId: tf.DataId): void;
}

/** Calls by the path they took (tests check which ran). */
export const transposeRuns = { shared: 0, wasm: 0, js: 0 };

export function transposeKernel(args: {
  inputs: { x: tf.TensorInfo };
  backend: unknown;
  attrs: { perm: number[] };
}): tf.TensorInfo {
  const { x } = args.inputs;
  const { perm } = args.attrs;
  const backend = args.backend as Backend;
  const outShape = perm.map((p) => x.shape[p]);
  const n = tf.util.sizeFromShape(x.shape);
  const plan = n > 0 ? transposePlan(x.shape, perm) : undefined;
  if (plan === 'same-order') {
    transposeRuns.shared++;
    backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: outShape, dtype: x.dtype };
  }
  const out = backend.makeOutput(outShape, x.dtype);
  if (!plan) return out;
  const kernels = wasmKernelsIfAvailable(backend.wasm);
  if (kernels && (x.dtype === 'float32' || x.dtype === 'int32') && plan.outer.length <= TRANSPOSE_OUTER) {
    transposeRuns.wasm++;
    kernels.transpose(heapAddress(backend, x), heapAddress(backend, out), plan);
    return out;
  }
  transposeRuns.js++;
  walk(backend.typedArrayFromHeap(x), backend.typedArrayFromHeap(out), x.shape, perm, outShape);
  return out;
}

/** Transpose by walking the output in order with an odometer over the input strides. */
function walk(
  src: Float32Array | Int32Array | Uint8Array,
  dst: Float32Array | Int32Array | Uint8Array,
  shape: number[],
  perm: number[],
  outShape: number[],
): void {
  const rank = shape.length;
  const inStrides = new Array<number>(rank);
  for (let i = rank - 1, s = 1; i >= 0; i--) {
    inStrides[i] = s;
    s *= shape[i];
  }
  const step = perm.map((p) => inStrides[p]); // input stride of each output axis
  const last = rank - 1;
  const n = dst.length;
  const innerLen = outShape[last];
  const innerStep = step[last];
  const idx = new Array<number>(rank).fill(0);
  let base = 0;
  for (let o = 0; o < n; o += innerLen) {
    for (let k = 0, s = base; k < innerLen; k++, s += innerStep) dst[o + k] = src[s];
    // Advance the odometer over the outer output axes.
    for (let ax = last - 1; ax >= 0; ax--) {
      idx[ax]++;
      base += step[ax];
      if (idx[ax] < outShape[ax]) break;
      base -= step[ax] * outShape[ax];
      idx[ax] = 0;
    }
  }
}
