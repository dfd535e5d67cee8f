/**
 * Winograd F(2×2, 3×3) convolution on the WASM backend (Lavin & Gray, 2015): the input in 4×4
 * tiles at stride 2 goes through V = Bᵀ d B, the weight through U = G g Gᵀ, each of the 16 tile
 * positions is one matrix product V[ξ]·U[ξ] (the probe's SGEMM, batched through tf.matMul), and
 * the products come back as 2×2 output tiles through Aᵀ m A. A 3×3 stride-1 convolution then
 * costs 16 multiplies per 2×2 outputs instead of 36. The transforms are WASM SIMD kernels
 * (scripts/wasm/winograd.mjs); the weight transform, done once per parameter and run, is here.
 */
import * as tf from '@tensorflow/tfjs-core';
import { wasmKernels } from './wasm/wasmKernels';
import { heapAddress, type WasmBackendHeap } from './wasm/matMulKernel';

/**
 * When Winograd runs: `enabled` (benchmarks compare both ways in one process) and the fewest
 * 2×2 output tiles worth the transforms (below, the 16 products are too small to pay; tests lower
 * it to send small models through this path).
 */
export const winogradSettings = { enabled: true, minTiles: 64 };

/** Winograd convolutions run so far in this process (tests check that a path was taken). */
export let winogradRuns = 0;

/** Counts a Winograd convolution run elsewhere (the TF.js convolution kernels). */
export function countWinogradRun(): void {
  winogradRuns++;
}

const G = [
  [1, 0, 0],
  [0.5, 0.5, 0.5],
  [0.5, -0.5, 0.5],
  [0, 0, 1],
];

/**
 * U[ξ][k][n] = (G g Gᵀ)[ξ] for the 3×3 kernels g of an ONNX weight [co, ci, 3, 3]. Forward:
 * k = ci, n = co. With `backward`, the kernels of the input gradient: g spatially flipped, k = co,
 * n = ci.
 */
export function winogradWeights(w: Float32Array, co: number, ci: number, backward: boolean): tf.Tensor3D {
  const kDim = backward ? co : ci;
  const nDim = backward ? ci : co;
  const u = new Float32Array(16 * kDim * nDim);
  const g = new Float64Array(9);
  const t = new Float64Array(12);
  for (let o = 0; o < co; o++)
    for (let i = 0; i < ci; i++) {
      const base = (o * ci + i) * 9;
      for (let a = 0; a < 9; a++) g[a] = w[base + (backward ? 8 - a : a)];
      for (let r = 0; r < 4; r++)
        for (let b = 0; b < 3; b++) t[r * 3 + b] = G[r][0] * g[b] + G[r][1] * g[3 + b] + G[r][2] * g[6 + b];
      const k = backward ? o : i;
      const n = backward ? i : o;
      for (let r = 0; r < 4; r++)
        for (let s = 0; s < 4; s++)
          u[((r * 4 + s) * kDim + k) * nDim + n] =
            t[r * 3] * G[s][0] + t[r * 3 + 1] * G[s][1] + t[r * 3 + 2] * G[s][2];
    }
  return tf.tensor3d(u, [16, kDim, nDim]);
}

/** Whether a convolution can run as Winograd here: 3×3, stride 1, no dilation, channels in fours, enough tiles to pay. */
export function winogradFits(
  x: number[],
  w: number[],
  strides: number[],
  dilations: number[],
  pads: { top: number; left: number; bottom: number; right: number },
  outHW: [number, number],
): boolean {
  const [n, , , c] = x;
  const [co, cpg, kh, kw] = w;
  const tiles = n * Math.ceil(outHW[0] / 2) * Math.ceil(outHW[1] / 2);
  const padsOk = [pads.top, pads.left, pads.bottom, pads.right].every((p) => p >= 0 && p <= 2);
  return (
    winogradSettings.enabled &&
    kh === 3 &&
    kw === 3 &&
    cpg === c &&
    strides.every((s) => s === 1) &&
    dilations.every((d) => d === 1) &&
    padsOk &&
    c % 4 === 0 &&
    co % 4 === 0 &&
    tiles >= winogradSettings.minTiles
  );
}

/**
 * A 3×3 stride-1 correlation of NHWC `x` with transformed weights `u` [16, c, co], the input
 * padded by (top, left) and the output `oh` × `ow` (tiles past the input read zeros).
 */
export function winogradConv(
  x: tf.Tensor4D,
  u: tf.Tensor3D,
  top: number,
  left: number,
  oh: number,
  ow: number,
): tf.Tensor4D {
  const backend = tf.backend() as unknown as WasmBackendHeap;
  const kernels = wasmKernels(backend.wasm);
  winogradRuns++;
  const [n, h, w, c] = x.shape;
  const co = u.shape[2];
  const th = Math.ceil(oh / 2);
  const tw = Math.ceil(ow / 2);
  const vInfo = backend.makeOutput([16, n * th * tw, c], 'float32');
  kernels.wgInput(heapAddress(backend, x), n, h, w, c, top, left, th, tw, heapAddress(backend, vInfo));
  const v = tf.engine().makeTensorFromTensorInfo(vInfo);
  const m = tf.matMul(v, u);
  const yInfo = backend.makeOutput([n, oh, ow, co], 'float32');
  kernels.wgOutput(heapAddress(backend, m), n, oh, ow, co, th, tw, heapAddress(backend, yInfo));
  tf.dispose([v, m]);
  return tf.engine().makeTensorFromTensorInfo(yInfo) as tf.Tensor4D;
}

/**
 * The weight gradient of the 3×3 stride-1 correlation above, for input `x` padded by (top, left)
 * and output gradient `dy`: Gᵀ (Σ over tiles of (Bᵀ d B) ⊙ (A dy Aᵀ)) G, the sum over tiles being
 * 16 matrix products Vᵀ[ξ]·D[ξ]. Returned in ONNX layout [co, ci, 3, 3].
 */
export function winogradWeightGrad(x: tf.Tensor4D, dy: tf.Tensor4D, top: number, left: number): tf.Tensor4D {
  const backend = tf.backend() as unknown as WasmBackendHeap;
  const kernels = wasmKernels(backend.wasm);
  winogradRuns++;
  const [n, h, w, ci] = x.shape;
  const [, oh, ow, co] = dy.shape;
  const th = Math.ceil(oh / 2);
  const tw = Math.ceil(ow / 2);
  const tiles = n * th * tw;
  const vInfo = backend.makeOutput([16, tiles, ci], 'float32');
  kernels.wgInput(heapAddress(backend, x), n, h, w, ci, top, left, th, tw, heapAddress(backend, vInfo));
  const dInfo = backend.makeOutput([16, tiles, co], 'float32');
  kernels.wgGradOut(heapAddress(backend, dy), n, oh, ow, co, th, tw, heapAddress(backend, dInfo));
  const v = tf.engine().makeTensorFromTensorInfo(vInfo);
  const d = tf.engine().makeTensorFromTensorInfo(dInfo);
  const m = tf.matMul(v, d, true, false); // [16, ci, co]
  const dwInfo = backend.makeOutput([co, ci, 3, 3], 'float32');
  kernels.wgWeightOut(heapAddress(backend, m), ci, co, heapAddress(backend, dwInfo));
  tf.dispose([v, d, m]);
  return tf.engine().makeTensorFromTensorInfo(dwInfo) as tf.Tensor4D;
}
