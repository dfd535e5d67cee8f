/**
 * BatchMatMul on the WASM backend through the probe's own SGEMM (wasmKernels.ts): transposed
 * operands are read through their strides instead of being copied, and the fused
 * multiply-add build runs about twice as fast as the backend's XNNPACK path on one thread (and
 * some twenty times as fast when an operand is transposed, which XNNPACK handles with a scalar
 * loop). Every tf.matMul on WASM — the im2col convolutions and their gradients included — lands
 * here.
 */
import * as tf from '@tensorflow/tfjs-core';
import { heapAddress, type WasmBackendHeap } from './heap';
import { wasmKernelsIfAvailable } from './wasmKernels';

/** For each output batch (row-major over `outer`), the batch index into an operand with outer dims `dims` (broadcast). */
function batchIndices(outer: number[], dims: number[]): number[] {
  const total = tf.util.sizeFromShape(outer);
  const lead = outer.length - dims.length;
  const idx: number[] = new Array<number>(total);
  for (let o = 0; o < total; o++) {
    let rem = o;
    let flat = 0;
    let stride = 1;
    for (let ax = outer.length - 1; ax >= 0; ax--) {
      const pos = rem % outer[ax];
      rem = Math.floor(rem / outer[ax]);
      const d = ax - lead;
      if (d >= 0) {
        if (dims[d] !== 1) flat += pos * stride;
        stride *= dims[d];
      }
    }
    idx[o] = flat;
  }
  return idx;
}

/** The BatchMatMul kernel; `fallback` (the backend's own) takes what this one does not (non-float32). */
export function batchMatMulKernel(fallback: tf.KernelFunc | undefined): tf.KernelFunc {
  return (args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
    const backend = args.backend as unknown as WasmBackendHeap;
    const kernels = wasmKernelsIfAvailable(backend.wasm);
    if ((a.dtype !== 'float32' || b.dtype !== 'float32' || !kernels) && fallback) return fallback(args);
    if (!kernels) throw new Error('BatchMatMul: no WebAssembly SIMD kernels here');
    const ra = a.shape.length;
    const rb = b.shape.length;
    const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
    const k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
    const kb = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
    const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
    if (k !== kb)
      throw new Error(
        `Error in matMul: inner shapes (${k}) and (${kb}) of Tensors with shapes ${a.shape} and ${b.shape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`,
      );
    const outerA = a.shape.slice(0, -2);
    const outerB = b.shape.slice(0, -2);
    const outer = tf.backend_util.assertAndGetBroadcastShape(outerA, outerB);
    const out = backend.makeOutput([...outer, m, n], 'float32');
    const pa = heapAddress(backend, a);
    const pb = heapAddress(backend, b);
    const pc = heapAddress(backend, out);
    const ia = batchIndices(outer, outerA);
    const ib = batchIndices(outer, outerB);
    // One job for all batches: the kernel threads share them.
    kernels.sgemmMany(
      ia.map((_, i) => ({
        m,
        n,
        k,
        a: { ptr: pa + ia[i] * m * k * 4, rowStride: transposeA ? 1 : k, colStride: transposeA ? m : 1 },
        b: { ptr: pb + ib[i] * k * n * 4, rowStride: transposeB ? 1 : n, colStride: transposeB ? k : 1 },
        c: pc + i * m * n * 4,
        ldc: n,
        acc: false,
      })),
    );
    return out;
  };
}
