/**
 * Winograd F(2×2, 3×3) convolution on the WASM backend (Lavin & Gray, 2015): the input in 4×4
 * tiles at stride 2 goes through V = Bᵀ d B, the weight through U = G g Gᵀ, each of the 16 tile
 * positions is one matrix product V[ξ]·U[ξ] (the probe's SGEMM), and the products come back as
 * 2×2 output tiles through Aᵀ m A. A 3×3 stride-1 convolution then costs 16 multiplies per 2×2
 * outputs instead of 36. The input gradient is the same correlation with the flipped kernel, whose
 * transform is U at permuted tile positions; the weight gradient is Gᵀ (Σ over tiles V ⊙ A dy Aᵀ) G.
 * The pipeline works at heap addresses and serves both the executor's ONNX convolutions
 * (convGrad.ts, through the tensor wrappers at the end) and TF.js's (wasmConvKernels.ts). The
 * transforms are WASM SIMD kernels (scripts/wasm/winograd.mjs); the ONNX weight transform, done
 * once per parameter and run, is here.
 *
 * The executor's forward passes and input gradients also run as F(4×4, 3×3) where its tiles pay
 * (winogradTile): 6×6 input tiles at stride 4, 36 products, 4×4 outputs, so 36 multiplies per 16
 * outputs instead of 144; its input gradient takes the flipped kernel's own transform
 * (winogradWeightsFor). Its weight gradients too, where they have enough tiles
 * (winogradWeightGradTile). Its float32 error is some 2–4× F(2×2, 3×3)'s (of the largest value,
 * up to 2e-5 against 1e-5 on the tests' shapes).
 */
import * as tf from '@tensorflow/tfjs-core';
import { wasmKernels, type MatrixRef, type WasmKernels, type WinogradOperands } from './wasm/wasmKernels';
import { heapAddress, heapMalloc, withScratch, type Alloc, type WasmBackendHeap } from './wasm/heap';
import { queuedTensors, type QueuedTensors } from './wasm/queuedTensors';
import {
  packedB,
  packedBFloats,
  taskSettings,
  winogradBlockFloats,
  winogradPositions,
  type WinogradTile,
} from './wasm/kernelTasks';

/**
 * The fewest 2×2 output tiles worth the transforms (tests lower it to send small models through
 * this path). Each tile is a row of the 16 products, and fewer rows than the GEMM's register tile
 * (6) leave it mostly idle. Alternating bare passes in one process on the 2-core VM measured
 * (paired medians of ten rounds): 8 made ResNet-18 (batch 8, 64×64; its last stage's three 3×3
 * convolutions have 8 tiles) 11% faster on one thread and 3% on two than 64 did, and ResNet-34 at
 * batch 2 5% and 1.5%; 2 made ResNet-34 10% and 15% slower (its last stage, 2 tiles). Inception-v3,
 * EfficientNetV2-S and RegNet-Y-400MF moved within the machine's noise either way.
 */
export const winogradSettings = {
  minTiles: 8,
  minWeightGradTiles: 16,
  minTiles4: 8,
  maxProducts4: 0.75,
  minWeightGradTiles4: 16,
};

/**
 * The tiling of a Winograd convolution with an output of n × oh × ow: F(4×4, 3×3) (36 multiplies
 * per 4×4 outputs, 4× fewer than im2col; 1.78× fewer than F(2×2, 3×3)) where its products, tiles
 * past the output included, are at most maxProducts4 of F(2×2, 3×3)'s and it has minTiles4 tiles;
 * else F(2×2, 3×3). ResNet-18 at 64×64: its first three stages (outputs 16², 8², 4²) take
 * F(4×4, 3×3), its last (2², where a 4×4 tile would be three quarters empty) F(2×2, 3×3).
 */
export function winogradTile(n: number, oh: number, ow: number): WinogradTile {
  const tiles = (t: number) => n * Math.ceil(oh / t) * Math.ceil(ow / t);
  const fewer = 36 * tiles(4) <= winogradSettings.maxProducts4 * 16 * tiles(2);
  return tiles(4) >= winogradSettings.minTiles4 && fewer ? 4 : 2;
}

/**
 * Whether a Winograd convolution's weight gradient runs as Winograd too (else as the tap matrix's
 * product, dyᵀ·cols, as other convolutions'). Its 16 products sum over the tiles, so with few
 * tiles they are thin (K = 8 for ResNet-18's last stage at batch 8) while its transforms stay as
 * large. Alternating passes in one process (paired medians of ten rounds), a threshold of 16 made
 * two-thread passes 5% faster for ResNet-18 (batch 8) in two sessions and 8–12% for ResNet-34
 * (batch 2, whose third stage has 8 tiles); one-thread passes moved by −5% to +6%, within the
 * machine's noise. Not a thread-count choice: the two forms round differently.
 */
export function winogradWeightGradFits(n: number, oh: number, ow: number): boolean {
  const [th, tw] = tilesOf(oh, ow);
  return n * th * tw >= winogradSettings.minWeightGradTiles;
}

/**
 * The tiling of a Winograd weight gradient (for a convolution whose winogradWeightGradFits): that
 * of its forward pass when F(4×4, 3×3) and it has minWeightGradTiles4 tiles of 4×4, else
 * F(2×2, 3×3). Its 36 products sum over the tiles and write 36 blocks [ci][co], 2.25× what
 * F(2×2, 3×3)'s write, so it takes more tiles to pay than the forward pass (ResNet-18 at batch 8:
 * its first two stages, 128 and 32 tiles; its third's 8 stay F(2×2, 3×3)).
 */
export function winogradWeightGradTile(n: number, oh: number, ow: number): WinogradTile {
  const tiles4 = n * Math.ceil(oh / 4) * Math.ceil(ow / 4);
  return winogradTile(n, oh, ow) === 4 && tiles4 >= winogradSettings.minWeightGradTiles4 ? 4 : 2;
}

/** Winograd convolutions run so far in this process, and of those F(4×4, 3×3) (tests check that a path was taken). */
export let winogradRuns = 0;
export let winograd4Runs = 0;

/**
 * U[ξ][ci][co] = (G g Gᵀ)[ξ] for the 3×3 kernels g of an ONNX weight [co, ci, 3, 3] on the WASM
 * backend: the right-hand operands of the forward products (forwardOperands) and, read at flipped
 * tile positions and transposed, of the input gradient's (inputGradOperands). The weight goes to
 * HWIO through the WASM transpose, then through the SIMD transform TF.js's convolutions use
 * (wgWeightsHwio), in float32: ResNet-18's 512-channel weights took 210–270 ms each in the
 * float64 JavaScript loops this replaced.
 */
export function winogradWeights(w: tf.Tensor4D): tf.Tensor3D {
  const [co, ci] = w.shape;
  const { backend, k } = heapBackend();
  const hwio = tf.transpose(w, [2, 3, 1, 0]);
  try {
    const u = backend.makeOutput([16, ci, co], 'float32');
    k.wgWeightsHwio(heapAddress(backend, hwio), ci * co, heapAddress(backend, u));
    return tf.engine().makeTensorFromTensorInfo(u) as tf.Tensor3D;
  } finally {
    hwio.dispose();
  }
}

/** G of F(2×2, 3×3) (points 0, ±1, ∞) and of F(4×4, 3×3) (0, ±1, ±2, ∞): U = G g Gᵀ. */
const G2 = [
  [1, 0, 0],
  [1 / 2, 1 / 2, 1 / 2],
  [1 / 2, -1 / 2, 1 / 2],
  [0, 0, 1],
];
const G4 = [
  [1 / 4, 0, 0],
  [-1 / 6, -1 / 6, -1 / 6],
  [-1 / 6, 1 / 6, -1 / 6],
  [1 / 24, 1 / 12, 1 / 6],
  [1 / 24, -1 / 12, 1 / 6],
  [0, 0, 1],
];

/**
 * Winograd weights of an ONNX weight [co, ci, 3, 3] on the WASM backend as the executor's products
 * read them, for F(2×2, 3×3) (`tile` 2: 16 blocks) or F(4×4, 3×3) (4: 36): the forward
 * products' [P, ci, co], or (`inputGrad`) the input gradient's, the flipped kernel's with inputs
 * and outputs swapped, [P, co, ci]. F(4×4, 3×3) has no permutation that turns one into the other;
 * for F(2×2, 3×3) these are U at flipped positions, transposed, which the input gradient read in
 * place before (inputGradOperands), but its products of few rows then had to pack their
 * transposed blocks first (ResNet-18's last stage, 8 tiles: 16 products 8×512×512 took 3.6 ms on
 * one core, against 2.0 ms row-major and read in place). One product of (G ⊗ G) [P, 9] with the
 * taps [9, ci·co] (the weight through the WASM transpose; for the flip, tap 8 − t stands for tap
 * t), which lands in that layout; float32, once per parameter and run (a 512-channel weight: some
 * 15 ms on one core).
 */
export function winogradWeightsFor(w: tf.Tensor4D, tile: WinogradTile, inputGrad: boolean): tf.Tensor3D {
  const [co, ci] = w.shape;
  const g = tile === 4 ? G4 : G2;
  const positions = winogradPositions(tile);
  const kron = new Float32Array(positions * 9);
  for (let xi = 0; xi < positions; xi++)
    for (let t = 0; t < 9; t++) {
      const tap = inputGrad ? 8 - t : t;
      const [r, q] = [Math.floor(xi / (tile + 2)), xi % (tile + 2)];
      kron[xi * 9 + t] = g[r][Math.floor(tap / 3)] * g[q][tap % 3];
    }
  return tf.tidy(() => {
    const taps = tf.reshape(tf.transpose(w, inputGrad ? [2, 3, 0, 1] : [2, 3, 1, 0]), [9, ci * co]);
    const u = tf.matMul(tf.tensor2d(kron, [positions, 9]), taps);
    return tf.reshape(u, inputGrad ? [positions, co, ci] : [positions, ci, co]);
  }) as tf.Tensor3D;
}

/** The tile position of the flipped kernel's transform: G·J = P·G, P swapping rows 0 and 3. */
const flipped = (xi: number) => [3, 1, 2, 0][xi >> 2] * 4 + [3, 1, 2, 0][xi & 3];

/** The forward products' right-hand operands: U [16][ci][co] at byte address `u`, block ξ as it lies. */
export function forwardOperands(u: number, ci: number, co: number): WinogradOperands {
  return { ptr: u, plane: 4 * ci * co, rowStride: co, colStride: 1, flip: false };
}

/**
 * The input gradient's operands from the same U: the flipped kernel's transform is U at permuted
 * tile positions, and [co][ci] is its block read transposed.
 */
export function inputGradOperands(u: number, ci: number, co: number): WinogradOperands {
  return { ptr: u, plane: 4 * ci * co, rowStride: 1, colStride: co, flip: true };
}

/** The forward products' right-hand operands from U [P][ci][co] packed by packWinogradWeights. */
export function packedOperands(u: number, ci: number, co: number): WinogradOperands {
  return { ...packedB(u, co), plane: 4 * packedBFloats(ci, co), flip: false };
}

/** Transformed weights whose blocks packWinogradWeights packed (their layout is not their shape's). */
const packedWeights = new WeakSet<tf.Tensor>();

/**
 * Transformed weights U [P][ci][co] as the SGEMM's packed panels, block by block, when that takes
 * no more floats than U (co a multiple of 8, ci at most 256 or a multiple of it), else U itself.
 * For the weights a probe keeps for its whole run (convGrad.ts): each product then reads its
 * panels where they lie, where it had packed its block of U again in every pass, and each thread
 * its own copy (kernelTasks.ts). `u` is disposed when a packed copy replaces it.
 */
export function packWinogradWeights(u: tf.Tensor3D): tf.Tensor3D {
  const [positions, ci, co] = u.shape;
  if (packedBFloats(ci, co) !== ci * co) return u;
  const { backend, k } = heapBackend();
  const packed = backend.makeOutput(u.shape, 'float32');
  const [from, to] = [heapAddress(backend, u), heapAddress(backend, packed)];
  for (let xi = 0; xi < positions; xi++)
    k.packB({ ptr: from + 4 * xi * ci * co, rowStride: co, colStride: 1 }, ci, co, to + 4 * xi * ci * co);
  u.dispose();
  const t = tf.engine().makeTensorFromTensorInfo(packed) as tf.Tensor3D;
  packedWeights.add(t);
  return t;
}

/** The right-hand operand of product ξ (the wgConv kernel finds the same one itself). */
export function operandAt(u: WinogradOperands, xi: number): MatrixRef {
  return {
    ptr: u.ptr + u.plane * (u.flip ? flipped(xi) : xi),
    rowStride: u.rowStride,
    colStride: u.colStride,
  };
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

/** Tile rows and columns covering an output of oh × ow. */
const tilesOf = (oh: number, ow: number) => [Math.ceil(oh / 2), Math.ceil(ow / 2)];

/**
 * A 3×3 stride-1 correlation at heap addresses: NHWC `x` [n, h, w, c] padded by (top, left), tile
 * position ξ multiplied by the [c × co] operand `operandAt(u, ξ)`, into `y` [n, oh, ow, co] (tiles
 * past the input read zeros), in F(2×2, 3×3) or (`tile` 4, u then unflipped [36] blocks)
 * F(4×4, 3×3). On the kernel threads, when large enough, as one job of tile slices (wgConv);
 * else the input transform, the 16 (36) products as one job, and the output transform.
 */
export function winogradCorrelate(
  k: WasmKernels,
  alloc: Alloc,
  x: number,
  [n, h, w, c]: number[],
  top: number,
  left: number,
  u: WinogradOperands,
  co: number,
  y: number,
  oh: number,
  ow: number,
  tile: WinogradTile = 2,
): void {
  if (tile === 4 && u.flip) throw new Error('F(4×4, 3×3) takes the flipped kernel as operands of its own');
  winogradRuns++;
  if (tile === 4) winograd4Runs++;
  const [th, tw] = [Math.ceil(oh / tile), Math.ceil(ow / tile)];
  const tiles = n * th * tw;
  const positions = winogradPositions(tile);
  const [vs, ms] = [winogradBlockFloats(tiles, c), winogradBlockFloats(tiles, co)];
  const v = alloc(positions * vs);
  const m = alloc(positions * ms);
  // Large enough: one job of tile slices on the threads, each with both transforms.
  if (k.wgConv({ x, shape: [n, h, w, c], pt: top, pl: left, th, tw, u, co, y, oh, ow, v, m, tile })) return;
  k.wgInput(x, n, h, w, c, top, left, th, tw, v, tile);
  k.sgemmMany(
    Array.from({ length: positions }, (_, xi) => ({
      m: tiles,
      n: co,
      k: c,
      a: { ptr: v + 4 * xi * vs, rowStride: c, colStride: 1 },
      b: operandAt(u, xi),
      c: m + 4 * xi * ms,
      ldc: co,
      acc: false,
    })),
  );
  k.wgOutput(m, n, oh, ow, co, th, tw, y, tile);
}

/**
 * The weight gradient's tile sums at heap addresses, for input `x` [n, h, w, ci] padded by
 * (top, left) and output gradient `dy` [n, oh, ow, co]: M[ξ] = Σ over tiles of (Bᵀ d B) ⊙ (A dy
 * Aᵀ), as 16 matrix products Vᵀ[ξ]·D[ξ] (36 in F(4×4, 3×3), `tile` 4: its A is the transpose of
 * its output transform's Aᵀ). Returns M [16 or 36][ci][co]; dW = Gᵀ M G (wgWeightOut for the ONNX
 * layout, wgWeightGradHwio for HWIO in F(2×2, 3×3)).
 */
export function winogradTileSums(
  k: WasmKernels,
  alloc: Alloc,
  x: number,
  [n, h, w, ci]: number[],
  top: number,
  left: number,
  dy: number,
  [oh, ow, co]: number[],
  tile: WinogradTile = 2,
): number {
  winogradRuns++;
  if (tile === 4) winograd4Runs++;
  const [th, tw] = [Math.ceil(oh / tile), Math.ceil(ow / tile)];
  const tiles = n * th * tw;
  const positions = winogradPositions(tile);
  const v = alloc(positions * winogradBlockFloats(tiles, ci));
  k.wgInput(x, n, h, w, ci, top, left, th, tw, v, tile);
  const d = alloc(positions * winogradBlockFloats(tiles, co));
  k.wgGradOut(dy, n, oh, ow, co, th, tw, d, tile);
  const m = alloc(positions * ci * co);
  k.sgemmMany(tileSumProducts(v, d, m, tiles, ci, co, tile));
  return m;
}

/**
 * The 16 (`tile` 4: 36) products of the tile sums: M[ξ] [ci][co] = V[ξ]ᵀ · D[ξ] over the tiles
 * (V's and D's blocks at winogradBlockFloats's strides).
 */
export function tileSumProducts(
  v: number,
  d: number,
  m: number,
  tiles: number,
  ci: number,
  co: number,
  tile: WinogradTile = 2,
) {
  const [vs, ds] = [winogradBlockFloats(tiles, ci), winogradBlockFloats(tiles, co)];
  return Array.from({ length: winogradPositions(tile) }, (_, xi) => ({
    m: ci,
    n: co,
    k: tiles,
    a: { ptr: v + 4 * xi * vs, rowStride: 1, colStride: ci },
    b: { ptr: d + 4 * xi * ds, rowStride: co, colStride: 1 },
    c: m + 4 * xi * ci * co,
    ldc: co,
    acc: false,
  }));
}

/**
 * winogradWeightGrad's steps queued for the kernel threads (wasm/queuedTensors.ts): the caller
 * goes on with the input gradient while the workers compute this one; `x` and `dy` are held, and
 * the weight gradient is fenced, until the last step is done. The same kernels and the same cut,
 * so the same bits.
 */
function queuedWeightGrad(
  queued: QueuedTensors,
  backend: WasmBackendHeap,
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  top: number,
  left: number,
  tile: WinogradTile,
): tf.Tensor4D {
  winogradRuns++;
  if (tile === 4) winograd4Runs++;
  const [n, h, w, ci] = x.shape;
  const [, oh, ow, co] = dy.shape;
  const [th, tw] = [Math.ceil(oh / tile), Math.ceil(ow / tile)];
  const tiles = n * th * tw;
  const heap = backend.wasm;
  const positions = winogradPositions(tile);
  const [vs, ds] = [winogradBlockFloats(tiles, ci), winogradBlockFloats(tiles, co)];
  const release = queued.hold([x, dy], 4 * positions * (vs + ds + ci * co));
  const scratch: number[] = [];
  const alloc = (floats: number) => {
    const p = heapMalloc(heap, 4 * floats);
    if (!p) {
      for (const q of scratch) heap._free(q);
      throw new Error(`the WASM heap has no room for ${floats} floats of scratch`);
    }
    scratch.push(p);
    return p;
  };
  let v: number, d: number, m: number;
  try {
    v = alloc(positions * vs);
    d = alloc(positions * ds);
    m = alloc(positions * ci * co);
  } catch (e) {
    release();
    throw e;
  }
  const dw = backend.makeOutput([co, ci, 3, 3], 'float32');
  const later = queued.later;
  later.wgInput(queued.address(x), n, h, w, ci, top, left, th, tw, v, tile, queued.pending(x));
  later.wgGradOut(queued.address(dy), n, oh, ow, co, th, tw, d, tile, queued.pending(dy));
  later.sgemmMany(tileSumProducts(v, d, m, tiles, ci, co, tile), true);
  const written = queued.writing(dw);
  later.wgWeightOut(m, ci, co, queued.address(dw), tile, true, () => {
    for (const q of scratch) heap._free(q);
    release();
    written();
  });
  return tf.engine().makeTensorFromTensorInfo(dw) as tf.Tensor4D;
}

function heapBackend(): { backend: WasmBackendHeap; k: WasmKernels } {
  const backend = tf.backend() as unknown as WasmBackendHeap;
  return { backend, k: wasmKernels(backend.wasm) };
}

/**
 * The correlation above on tensors: NHWC `x` with the transformed weights `u` [16, ci, co] of
 * winogradWeights, forward or (`inputGrad`, x then being the output gradient) for the input
 * gradient, giving [n, oh, ow, co] (forward) or [n, oh, ow, ci]. The input gradient may also take
 * winogradWeightsFor's [16, co, ci] with `inputGrad` false: it is then a forward correlation.
 * Operands of 36 blocks (winogradWeightsFor's, forward or input gradient's) run as F(4×4, 3×3),
 * always with `inputGrad` false.
 */
export function winogradConv(
  x: tf.Tensor4D,
  u: tf.Tensor3D,
  inputGrad: boolean,
  top: number,
  left: number,
  oh: number,
  ow: number,
): tf.Tensor4D {
  const { backend, k } = heapBackend();
  const [positions, ci, co] = u.shape;
  if (inputGrad && packedWeights.has(u))
    throw new Error('packed Winograd weights serve forward correlations only');
  const tile: WinogradTile = positions === 36 ? 4 : 2;
  const out = inputGrad ? ci : co;
  const ptr = heapAddress(backend, u);
  const y = backend.makeOutput([x.shape[0], oh, ow, out], 'float32');
  withScratch(backend.wasm, (alloc) =>
    winogradCorrelate(
      k,
      alloc,
      heapAddress(backend, x),
      x.shape,
      top,
      left,
      packedWeights.has(u)
        ? packedOperands(ptr, ci, co)
        : inputGrad
          ? inputGradOperands(ptr, ci, co)
          : forwardOperands(ptr, ci, co),
      out,
      heapAddress(backend, y),
      oh,
      ow,
      tile,
    ),
  );
  return tf.engine().makeTensorFromTensorInfo(y) as tf.Tensor4D;
}

/**
 * The weight gradient on tensors, for input `x` padded by (top, left) and output gradient `dy`,
 * in F(2×2, 3×3) or (`tile` 4) F(4×4, 3×3): ONNX layout [co, ci, 3, 3].
 */
export function winogradWeightGrad(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  top: number,
  left: number,
  tile: WinogradTile = 2,
): tf.Tensor4D {
  const { backend, k } = heapBackend();
  const queued = queuedTensors();
  const [th, tw] = [Math.ceil(dy.shape[1] / tile), Math.ceil(dy.shape[2] / tile)];
  // Products too small for the threads are not worth queuing either (nor waking a worker for).
  const minWork = taskSettings.minGemmWork * (queued?.later.cold ? taskSettings.coldFactor : 1);
  const work = winogradPositions(tile) * x.shape[0] * th * tw * x.shape[3] * dy.shape[3];
  if (queued?.queues && work >= minWork) return queuedWeightGrad(queued, backend, x, dy, top, left, tile);
  const ci = x.shape[3];
  const [, oh, ow, co] = dy.shape;
  const dw = backend.makeOutput([co, ci, 3, 3], 'float32');
  withScratch(backend.wasm, (alloc) => {
    const m = winogradTileSums(
      k,
      alloc,
      heapAddress(backend, x),
      x.shape,
      top,
      left,
      heapAddress(backend, dy),
      [oh, ow, co],
      tile,
    );
    k.wgWeightOut(m, ci, co, heapAddress(backend, dw), tile);
  });
  return tf.engine().makeTensorFromTensorInfo(dw) as tf.Tensor4D;
}
