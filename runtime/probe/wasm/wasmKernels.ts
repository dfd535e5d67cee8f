/**
 * The probe's own WebAssembly kernels (scripts/make_wasm_kernels.mjs), instantiated on the TF.js
 * WASM backend's heap so that they work on tensors in place (kernelModules.ts picks the build).
 * Where the heap is shared and more than one thread is asked for (setKernelThreads), the GEMM,
 * the Winograd transforms, the tap copies, the max-pool gradient and the statistics run on the
 * kernel threads (kernelThreads.ts), cut into tasks by kernelTasks.ts; small calls, and every
 * call on one thread, run here on the calling thread (the statistics in the same chunks, so
 * their sums are the same bits either way).
 */
import { kernelModule, type KernelBuild } from './kernelModules';
import { KernelThreads, TASK_BYTES, threadSettings } from './kernelThreads';
import {
  STATS_WIDTH,
  TaskKind,
  conv3dChannelTasks,
  conv3dDepthTasks,
  conv3dFilterTasks,
  gemmTasks,
  jobScale,
  maxPoolGradTasks,
  planarTasks,
  planeFloats,
  statsChunks,
  statsTasks,
  statsWorthThreads,
  taskSettings,
  tapTasks,
  transposeOuterArgs,
  transposeTasks,
  volumeArgs,
  volumeFilterBlocks,
  volumeTapFloats,
  volumeTasks,
  wgConvTasks,
  wgInputTasks,
  wgOutputTasks,
  type GemmOp,
  type Task,
  type WinogradTile,
  tiledKind,
  winogradBlockFloats,
} from './kernelTasks';
import { isShared } from './sharedHeap';
import { heapMalloc } from './heap';
import type { TransposePlan } from './transposePlan';

/** wgInput's arguments: x, n, h, w, c, pt, pl, th, tw, out, the tiling (LaterKernels's, where it is not optional). */
type WgInputArgs = [
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  WinogradTile,
];
/** wgGradOut's arguments: dy, n, oh, ow, c, th, tw, out, the tiling. */
type WgGradOutArgs = [number, number, number, number, number, number, number, number, WinogradTile];

/** The input transform's arguments as the kernel takes them: WgInputArgs's first ten, then the blocks' stride. */
function inputArgs(...a: [number, number, number, number, number, number, number, number, number, number]) {
  const [, n, , , c, , , th, tw] = a;
  return [...a, winogradBlockFloats(n * th * tw, c)] as Parameters<KernelExports['wgInput']>;
}

/** The part of the TF.js WASM backend (an Emscripten module) the kernels need. */
export interface EmscriptenHeap {
  asm: { memory: WebAssembly.Memory };
  _malloc(bytes: number): number;
  _free(ptr: number): void;
}

interface KernelExports {
  sgemm(
    m: number,
    n: number,
    k: number,
    a: number,
    rsa: number,
    csa: number,
    b: number,
    rsb: number,
    csb: number,
    c: number,
    ldc: number,
    acc: number,
    pa: number,
    pb: number,
    tmp: number,
  ): void;
  wgInput(
    x: number,
    n: number,
    h: number,
    w: number,
    c: number,
    pt: number,
    pl: number,
    th: number,
    tw: number,
    out: number,
    blockStride: number,
  ): void;
  wgOutput(
    m: number,
    n: number,
    oh: number,
    ow: number,
    c: number,
    th: number,
    tw: number,
    y: number,
    blockStride: number,
  ): void;
  wgInput4: KernelExports['wgInput'];
  wgOutput4: KernelExports['wgOutput'];
  wgGradOut(
    dy: number,
    n: number,
    oh: number,
    ow: number,
    c: number,
    th: number,
    tw: number,
    out: number,
    blockStride: number,
  ): void;
  wgWeightOut(m: number, ci: number, co: number, out: number): void;
  wgGradOut4: KernelExports['wgGradOut'];
  wgWeightOut4: KernelExports['wgWeightOut'];
  gradStats(p: number, n: number, out: number): void;
  diffSq(pt: number, ps: number, n: number, out: number): void;
  transpose(
    src: number,
    dst: number,
    r0: number,
    r1: number,
    len: number,
    inner: number,
    ...outer: number[]
  ): void;
  colSum(p: number, rows: number, cols: number, out: number, scr: number): void;
  reluGrad(dy: number, x: number, out: number, n: number): void;
  addBias(y: number, b: number, rows: number, cols: number): void;
  im2col(x: number, out: number, ...geomAndScratch: number[]): void;
  im2colPlanar(x: number, out: number, ...geomAndScratch: number[]): void;
  col2im(cols: number, dx: number, ...geomAndScratch: number[]): void;
  im2colHwc(x: number, out: number, ...geomAndScratch: number[]): void;
  col2imHwc(cols: number, dx: number, ...geomAndScratch: number[]): void;
  wgWeightsHwio(w: number, cc: number, out: number): void;
  wgWeightGradHwio(m: number, cc: number, out: number): void;
  maxPoolGrad(dy: number, x: number, y: number, dx: number, ...geomAndScratch: number[]): void;
  packB(b: number, rsb: number, csb: number, k: number, n: number, dst: number): void;
  runTask(task: number, scratch: number): void;
  im2col3d(x: number, out: number, ...geom: number[]): void;
  col2im3d(cols: number, dx: number, ...geomAndZero: number[]): void;
  conv3dDepths(...args: number[]): void;
  conv3dGradChannels(...args: number[]): void;
  conv3dFilterDepths(...args: number[]): void;
  MR: WebAssembly.Global;
  NR: WebAssembly.Global;
  MC: WebAssembly.Global;
  KC: WebAssembly.Global;
  NC: WebAssembly.Global;
}

/**
 * One operand of a GEMM: the byte address of its first float and its row and column strides in
 * floats. A right-hand operand packed once by `packB` has column stride 0 and, as row stride, its
 * columns rounded up to 8 (packedB).
 */
export interface MatrixRef {
  ptr: number;
  rowStride: number;
  colStride: number;
}

/**
 * The right-hand operands of a Winograd correlation's 16 products: U[ξ] as a matrix with the
 * given strides (floats) at `ptr` + `plane`·ξ bytes, or, with `flip`, at the flipped tile position
 * (the input gradient's: winograd.ts).
 */
export interface WinogradOperands {
  ptr: number;
  plane: number;
  rowStride: number;
  colStride: number;
  flip: boolean;
}

/**
 * A whole Winograd correlation at heap addresses: NHWC `x` of `shape` [n, h, w, c] padded by
 * (pt, pl), th × tw tiles an image, product ξ with the operand U[ξ] of `u`, into `y` [n, oh, ow,
 * co]; `v` (16 or 36 blocks [n·th·tw][c]) and `m` (blocks [n·th·tw][co]) the scratch blocks of the
 * transformed tiles and of the products, each at the stride winogradBlockFloats gives.
 */
export interface WinogradCorrelation {
  x: number;
  shape: number[];
  pt: number;
  pl: number;
  th: number;
  tw: number;
  u: WinogradOperands;
  co: number;
  y: number;
  oh: number;
  ow: number;
  v: number;
  m: number;
  /** Output rows and columns of a tile: 2 for F(2×2, 3×3) (the default), 4 for F(4×4, 3×3) (36 positions, never flipped). */
  tile?: WinogradTile;
}

/**
 * Geometry of a tap copy or pooling window on NHWC tensors: input [n, h, w, c], output pixels
 * oh × ow, window kh × kw, strides, dilations, and the top and left pads (negative: a crop).
 */
export interface TapGeometry {
  n: number;
  h: number;
  w: number;
  c: number;
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
}

/**
 * Geometry of a 3-D tap copy on one batch element of a channels-first tensor: input [c, d, h, w],
 * the output depths od0 … od0 + odn − 1 of an output with oh × ow voxels per depth, window
 * kd × kh × kw, strides, dilations, and the front, top and left pads (negative: a crop).
 */
export interface VolumeTapGeometry {
  c: number;
  d: number;
  h: number;
  w: number;
  od0: number;
  odn: number;
  oh: number;
  ow: number;
  kd: number;
  kh: number;
  kw: number;
  sd: number;
  sh: number;
  sw: number;
  dd: number;
  dh: number;
  dw: number;
  front: number;
  top: number;
  left: number;
}

/**
 * A 3-D convolution's products fused with its tap copies (conv3dForward, conv3dInputGrad,
 * conv3dFilterGrad): the tap geometry of one batch element over all output depths (od0 0, odn the
 * output depth), and byte addresses of channels-first tensors.
 */
export interface VolumeConvCall {
  g: VolumeTapGeometry;
  /** Batch elements. */
  n: number;
  /** Output channels. */
  co: number;
  group: number;
  /**
   * Output depths a step: each step's tap matrix (or its gradient, for a task's channels) is made
   * and used by one thread at once, in a buffer of its own.
   */
  step: number;
  /** The weight [co, c/group, kd, kh, kw] (unread by conv3dFilterGrad). */
  w: number;
  /** The input [n, c, d, h, w], or its gradient (conv3dInputGrad, written). */
  x: number;
  /** The output [n, co, od, oh, ow] (conv3dForward, written), or its gradient (read by the others). */
  y: number;
}

/**
 * Kernels queued as background jobs (KernelThreads.post) where more than one thread runs: the
 * workers run them between the calling thread's jobs, while it goes on, and `settle` waits for
 * them. On one thread every call runs at once. Each call is cut into the same tasks as its
 * immediate form, so the results are the same bits. The caller keeps what a queued call reads
 * alive, and reads nothing it writes, until the call's `done` runs or `settle` returns. A call's
 * `done` runs on the calling thread once the call is done (at once when it ran at once): at a
 * later queue call or at settle, in queue order.
 */
export interface LaterKernels {
  /** Whether calls queue (more than one thread is running); otherwise they run at once. */
  readonly queues: boolean;
  /**
   * Whether the workers have slept past their warm spell (taskSettings.warmMs), so that a call
   * queued now first wakes one: callers then queue only larger calls (as jobs go to the threads
   * only when large, taskSettings.coldFactor).
   */
  readonly cold: boolean;
  /** gradStats, its value readable once the call is done (after settle). */
  gradStats(
    p: number,
    n: number,
    after: boolean,
    done?: () => void,
  ): () => [number, number, number, number, number];
  /** diffSq, its value readable once the call is done (after settle). */
  diffSq(pTotal: number, pSkip: number, n: number, after: boolean, done?: () => void): () => [number, number];
  /** sgemmMany; with `after`, once every call queued before it is done. */
  sgemmMany(ops: GemmOp[], after: boolean, done?: () => void): void;
  /** wgInput (arguments as WasmKernels.wgInput); with `after`, once every call queued before it is done. */
  wgInput(...args: [...WgInputArgs, after: boolean, done?: () => void]): void;
  /** wgGradOut (arguments as WasmKernels.wgGradOut); with `after`, once every call queued before it is done. */
  wgGradOut(...args: [...WgGradOutArgs, after: boolean, done?: () => void]): void;
  /** wgWeightOut (arguments as WasmKernels.wgWeightOut); with `after`, once every call queued before it is done. */
  wgWeightOut(
    m: number,
    ci: number,
    co: number,
    out: number,
    tile: WinogradTile,
    after: boolean,
    done?: () => void,
  ): void;
  /** Returns once every queued call is done; throws when one failed (KernelThreadError). */
  settle(): void;
}

/** The kernels bound to one heap. */
export interface WasmKernels {
  /** The background forms of the kernels a probe can leave to the workers. */
  readonly later: LaterKernels;
  /** 'fma' (relaxed SIMD) or 'simd'. */
  readonly build: KernelBuild;
  /** C[m×n] = A[m×k]·B[k×n] (or += with `accumulate`); C row-major with row stride `ldc` floats. */
  sgemm(
    m: number,
    n: number,
    k: number,
    a: MatrixRef,
    b: MatrixRef,
    c: number,
    ldc: number,
    accumulate?: boolean,
  ): void;
  /** Several independent products (distinct outputs) as one job: the threads share them all. */
  sgemmMany(ops: GemmOp[]): void;
  /**
   * Winograd F(2×2, 3×3) input transform: NHWC `x` [n, h, w, c] (c a multiple of 4), 4×4 tiles at
   * stride 2 starting at (−pt, −pl), th × tw tiles per image, into `out`: 16 blocks [n·th·tw][c]
   * at the stride winogradBlockFloats(n·th·tw, c) gives (the allocation's: 16 such strides). With
   * `tile` 4, F(4×4, 3×3)'s: 6×6 tiles at stride 4 into 36 blocks.
   */
  wgInput(
    x: number,
    n: number,
    h: number,
    w: number,
    c: number,
    pt: number,
    pl: number,
    th: number,
    tw: number,
    out: number,
    tile?: WinogradTile,
  ): void;
  /**
   * A whole Winograd correlation (wgInput, the 16 or 36 products V[ξ]·U[ξ], wgOutput) as one job of
   * tile slices on the kernel threads. False, with nothing done, when the call is not worth
   * cutting so (one thread, too little work, too few tiles): the caller then runs the three
   * steps. The same bits either way.
   */
  wgConv(w: WinogradCorrelation): boolean;
  /**
   * Winograd output transform: `m` (16 blocks [n·th·tw][c] at winogradBlockFloats's stride) into
   * NHWC `y` [n, oh, ow, c] (c a multiple of 4); with `tile` 4, F(4×4, 3×3)'s from 36 blocks.
   */
  wgOutput(
    m: number,
    n: number,
    oh: number,
    ow: number,
    c: number,
    th: number,
    tw: number,
    y: number,
    tile?: WinogradTile,
  ): void;
  /**
   * Winograd weight-gradient transform: NHWC output gradient `dy` [n, oh, ow, c] in 2×2 tiles to
   * `out`, 16 blocks [n·th·tw][c] at winogradBlockFloats's stride; with `tile` 4, F(4×4, 3×3)'s:
   * 4×4 tiles to 36 blocks.
   */
  wgGradOut(
    dy: number,
    n: number,
    oh: number,
    ow: number,
    c: number,
    th: number,
    tw: number,
    out: number,
    tile?: WinogradTile,
  ): void;
  /**
   * Winograd weight gradient: tile sums `m` [16][ci][co] (co a multiple of 4) to Gᵀ M G as ONNX
   * [co][ci][3][3]; with `tile` 4, F(4×4, 3×3)'s from [36][ci][co].
   */
  wgWeightOut(m: number, ci: number, co: number, out: number, tile?: WinogradTile): void;
  /**
   * Over n floats at byte address p: [Σx², Σ|x|, max |x|, count(x = 0), count(x is NaN or ±Inf)],
   * exact over float32's whole range (NaN in, NaN out; see scripts/wasm/stats.mjs).
   */
  gradStats(p: number, n: number): [number, number, number, number, number];
  /** Over n floats at pSkip and pTotal: [Σ skip², Σ (total − skip)²]. */
  diffSq(pTotal: number, pSkip: number, n: number): [number, number];
  /**
   * Transpose of 4-byte elements from byte address `src` to `dst` by a reduced plan (transposePlan.ts),
   * on the threads (row ranges) when it is large; OUTER outer axes at most.
   */
  transpose(src: number, dst: number, plan: TransposePlan): void;
  /** out[c] = Σ_r p[r·cols + c] for a row-major rows × cols float block at p (float32 out at byte address out). */
  colSum(p: number, rows: number, cols: number, out: number): void;
  /**
   * The ReLU gradient: out[i] = dy[i] · step(x[i]) for n floats at byte addresses dy, x, out
   * (step: 1 where x > 0, NaN where x is NaN, else 0), in one pass.
   */
  reluGrad(dy: number, x: number, out: number, n: number): void;
  /** y[r·cols + c] += b[c] in place, for a row-major rows × cols float block at byte address y. */
  addBias(y: number, b: number, rows: number, cols: number): void;
  /**
   * im2col: writes the tap matrix [n·oh·ow, c·kh·kw] ((c, kh, kw) order, zeros for taps in the
   * padding) of the NHWC input at byte address `x` to `out`.
   */
  im2col(x: number, out: number, g: TapGeometry): void;
  /** col2im, the adjoint of im2col: sums the tap matrix at `cols` onto the NHWC input gradient `dx` (overwritten). */
  col2im(cols: number, dx: number, g: TapGeometry): void;
  /**
   * im2col for HWIO filters: the tap matrix [n·oh·ow, kh·kw·c] in (kh, kw, c) order (zeros for
   * taps in the padding), so that a convolution is this matrix times the filter read as
   * [kh·kw·c, co].
   */
  im2colHwc(x: number, out: number, g: TapGeometry): void;
  /** The adjoint of im2colHwc: sums the tap matrix at `cols` onto the NHWC input gradient `dx` (overwritten). */
  col2imHwc(cols: number, dx: number, g: TapGeometry): void;
  /**
   * Winograd weight transform of an HWIO 3×3 filter [3][3][ci][co] (cc = ci·co, a multiple of 4)
   * into `out` [16][ci][co].
   */
  wgWeightsHwio(w: number, cc: number, out: number): void;
  /** Winograd weight gradient: tile sums `m` [16][ci][co] (cc = ci·co, a multiple of 4) to HWIO [3][3][ci][co]. */
  wgWeightGradHwio(m: number, cc: number, out: number): void;
  /**
   * Packs the right-hand operand `b` [k × n] into `dst` (packedBFloats(k, n) floats) as the SGEMM's
   * panels, once: products with packedB(dst, n) as their B then skip packing it (the same bits).
   */
  packB(b: MatrixRef, k: number, n: number, dst: number): void;
  /**
   * MaxPoolGrad: `dx` (overwritten, input-shaped) gets each window's `dy` at the window's first
   * position (row-major, padding skipped) equal to the pooled output `y`.
   */
  maxPoolGrad(dy: number, x: number, y: number, dx: number, g: TapGeometry): void;
  /**
   * 3-D im2col on one channels-first batch element at `x`: the tap matrix
   * [c·kd·kh·kw, odn·oh·ow] ((c, kd, kh, kw) rows, zeros for taps in the padding) to `out`.
   */
  im2col3d(x: number, out: number, g: VolumeTapGeometry): void;
  /** The adjoint of im2col3d: adds the tap matrix at `cols` onto the input gradient `dx` ([c, d, h, w]; zeroed first with `zero`). */
  col2im3d(cols: number, dx: number, g: VolumeTapGeometry, zero: boolean): void;
  /**
   * A 3-D convolution's forward pass y = W · im2col3d(x) per batch element and group, `step`
   * output depths at a time, each step's tap matrix made and multiplied by the same thread
   * (conv3dDepths): on the threads by depth ranges when worth it, else here in a buffer from
   * `alloc`. Every output value is the same bits either way.
   */
  conv3dForward(c: VolumeConvCall, alloc: (floats: number) => number): void;
  /**
   * A 3-D convolution's input gradient dx = col2im3d(Wᵀ · dy) (x written from y), `step` output
   * depths at a time, by ranges of input channels (conv3dGradChannels): the same bits on any
   * thread count, since a channel's gradient takes its own rows only, in the same steps.
   */
  conv3dInputGrad(c: VolumeConvCall, alloc: (floats: number) => number): void;
  /**
   * A 3-D convolution's weight gradient dW = Σ dy · im2col3d(x)ᵀ into `dw` (overwritten), `step`
   * output depths at a time, each step's tap matrix made and multiplied by the same thread
   * (conv3dFilterDepths): blocks of depths (volumeFilterBlocks) sum into partials of their own,
   * which are then summed in a fixed order (colSum), so the same bits on any thread count.
   */
  conv3dFilterGrad(c: VolumeConvCall, dw: number, alloc: (floats: number) => number): void;
}

/** The geometry as the kernels' trailing integer arguments. */
function geomArgs(g: TapGeometry): number[] {
  return [g.n, g.h, g.w, g.c, g.oh, g.ow, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.top, g.left];
}

/** gradStats from its chunks' partials, in chunk order; Math.max keeps a chunk's NaN maximum (a chunk with a NaN has one). */
function combineStats(r: Float64Array): [number, number, number, number, number] {
  const out: [number, number, number, number, number] = [r[0], r[1], r[2], r[3], r[4]];
  for (let i = 5; i < r.length; i += 5) {
    out[0] += r[i];
    out[1] += r[i + 1];
    out[2] = Math.max(out[2], r[i + 2]);
    out[3] += r[i + 3];
    out[4] += r[i + 4];
  }
  return out;
}

/** diffSq from its chunks' partials, in chunk order. */
function combineSplit(r: Float64Array): [number, number] {
  const out: [number, number] = [r[0], r[1]];
  for (let i = 2; i < r.length; i += 2) {
    out[0] += r[i];
    out[1] += r[i + 1];
  }
  return out;
}

const bound = new WeakMap<EmscriptenHeap, Map<KernelBuild, WasmKernels>>();
const pools = new WeakMap<EmscriptenHeap, KernelThreads>();

/**
 * Asks for `n` kernel threads (the calling thread included) on `heap`, starting workers once per
 * process. With `wait` (the default) resolves, once new workers are up, to the number that will
 * run; without, at once to the number asked for (less any worker known to have failed), the
 * workers joining jobs as they come up (a probe on a small model need not wait for them). 1 where
 * the heap is not shared or the engine has no WebAssembly SIMD.
 */
export async function setKernelThreads(heap: EmscriptenHeap, n: number, wait = true): Promise<number> {
  let pool = pools.get(heap);
  if (!pool) {
    if (n <= 1 || !isShared(heap.asm.memory)) return 1;
    const modules = (['fma', 'simd'] as const).map((b) => kernelModule(b, true) ?? null);
    if (!modules.some((m) => m)) return 1;
    // Each thread packs GEMM blocks as large as the builds' blocking constants say.
    const scratch = { pa: 0, pb: 0, tmp: 0 };
    for (const m of modules) {
      if (!m) continue;
      const x = new WebAssembly.Instance(m, { env: { memory: heap.asm.memory } })
        .exports as unknown as KernelExports;
      const [mr, nr, mc, kc, nc] = [x.MR, x.NR, x.MC, x.KC, x.NC].map((g) => g.value as number);
      scratch.pa = Math.max(scratch.pa, 4 * mc * kc);
      scratch.pb = Math.max(scratch.pb, 4 * kc * nc);
      scratch.tmp = Math.max(scratch.tmp, 4 * mr * nr);
    }
    pool = new KernelThreads(heap, modules, scratch);
    pools.set(heap, pool);
  }
  const started = pool.resize(n);
  return wait ? started : pool.available;
}

/** The kernel threads of `heap`, if any were asked for. */
export function kernelThreadsOf(heap: EmscriptenHeap): KernelThreads | undefined {
  return pools.get(heap);
}

/** The kernels on `heap` (made once per heap); `prefer` 'simd' skips the FMA build (tests compare both). */
export function wasmKernels(heap: EmscriptenHeap, prefer: KernelBuild = 'fma'): WasmKernels {
  const builds = bound.get(heap) ?? new Map<KernelBuild, WasmKernels>();
  bound.set(heap, builds);
  const cached = builds.get(prefer);
  if (cached) return cached;
  const shared = isShared(heap.asm.memory);
  let build: KernelBuild = prefer;
  let mod = prefer === 'fma' ? kernelModule('fma', shared) : undefined;
  if (!mod) {
    build = 'simd';
    mod = kernelModule('simd', shared);
  }
  if (!mod) throw new Error('this JavaScript engine has no WebAssembly SIMD');
  const x = new WebAssembly.Instance(mod, { env: { memory: heap.asm.memory } })
    .exports as unknown as KernelExports;
  const mr = x.MR.value as number;
  const nr = x.NR.value as number;
  // Packing buffers and the edge tile, allocated once on the heap for the life of the process.
  const pa = heapMalloc(heap, (x.MC.value as number) * (x.KC.value as number) * 4);
  const pb = heapMalloc(heap, (x.KC.value as number) * (x.NC.value as number) * 4);
  const tmp = heapMalloc(heap, mr * nr * 4);
  // The column sums' f64 partials (8 vectors of 4 f64).
  const scr = heapMalloc(heap, 256);
  // The statistics' f64 partials, a slot per chunk, grown on demand.
  let slotsPtr = 0;
  let slotsBytes = 0;
  const slots = (bytes: number): number => {
    if (bytes > slotsBytes) {
      if (slotsPtr) heap._free(slotsPtr);
      slotsBytes = Math.max(bytes, 2 * slotsBytes, 4096);
      slotsPtr = heapMalloc(heap, slotsBytes);
      if (!slotsPtr) throw new Error(`the WASM heap has no room for ${bytes} bytes of statistics partials`);
    }
    return slotsPtr;
  };
  // Tables of the tap kernels, grown on demand.
  let scratchPtr = 0;
  let scratchBytes = 0;
  const scratch = (bytes: number): number => {
    if (bytes > scratchBytes) {
      if (scratchPtr) heap._free(scratchPtr);
      scratchBytes = Math.max(bytes, 2 * scratchBytes, 4096);
      scratchPtr = heapMalloc(heap, scratchBytes);
    }
    return scratchPtr;
  };
  // The geometry record of the fused 3-D convolution tasks (20 words; a job runs to its end before
  // the next call writes it).
  const volumeGeom = heapMalloc(heap, 4 * 20);
  const volumeRecord = (g: VolumeTapGeometry): number => {
    new Int32Array(heap.asm.memory.buffer, volumeGeom, 20).set(volumeArgs(g));
    return volumeGeom;
  };
  /**
   * A fused 3-D convolution call cut by `cut` (its tasks for a thread count): on the threads, each
   * with a buffer of `floats`, when worth it; else every task of the one-thread cut here, through
   * its export `run`, in one buffer from `alloc`.
   */
  const fused3d = (
    cut: (threads: number) => Task[],
    floats: number,
    alloc: (floats: number) => number,
    run: (...args: number[]) => void,
  ) => {
    const pool = threads();
    if (onThreads(pool, pool ? cut(pool.threads) : [], 4 * floats)) return;
    const buffer = alloc(floats);
    for (const t of cut(1)) run(...t.slice(1), pa, pb, tmp, buffer);
  };
  /**
   * Warm while the workers still spin after the last job (threadSettings.workerSpinUs) and for
   * warmMs after, and while they are awake at all (busy with background jobs); cold after.
   */
  const isCold = (pool: KernelThreads) =>
    pool.idleMs() > threadSettings.workerSpinUs / 1000 + taskSettings.warmMs && pool.asleep;
  /** The kernel threads when more than one runs, else undefined (the call runs here). */
  const threads = (): KernelThreads | undefined => {
    const pool = pools.get(heap);
    if (!pool || pool.threads < 2) return undefined;
    jobScale.value = isCold(pool) ? taskSettings.coldFactor : 1;
    return pool;
  };
  /** Runs `tasks` on the threads; false (nothing done) when there are none, so that the caller runs the kernel itself. */
  const onThreads = (pool: KernelThreads | undefined, tasks: Task[], tapTable = 0): boolean => {
    if (!pool || tasks.length < 2) return false;
    pool.ensureTapTable(tapTable);
    const table = pool.table(tasks.length);
    const words = new Int32Array(heap.asm.memory.buffer, table, (tasks.length * TASK_BYTES) / 4);
    tasks.forEach((t, i) => words.set(t, (i * TASK_BYTES) / 4));
    pool.run(tasks.length, build === 'fma' ? 0 : 1, x.runTask);
    return true;
  };
  /**
   * The partials of a statistics call over `n` floats at `ptrs`, chunk by chunk (kernelTasks.ts):
   * on the threads when the call is worth them, else here, in the same chunks.
   */
  const statsPartials = (
    kind: typeof TaskKind.gradStats | typeof TaskKind.diffSq,
    ptrs: number[],
    n: number,
  ) => {
    const width = STATS_WIDTH[kind];
    const chunks = statsChunks(n);
    const tasks = statsTasks(kind, ptrs, n, slots(8 * width * chunks));
    const pool = threads();
    if (!(pool && statsWorthThreads(pool.threads, 4 * ptrs.length * n) && onThreads(pool, tasks)))
      for (const t of tasks)
        if (kind === TaskKind.gradStats) x.gradStats(t[1], t[2], t[3]);
        else x.diffSq(t[1], t[2], t[3], t[4]);
    return new Float64Array(heap.asm.memory.buffer, slotsPtr, width * chunks);
  };
  const tapBytes = (g: TapGeometry) => 4 * (g.kh * g.kw + g.c);
  const sgemm = (o: GemmOp) =>
    x.sgemm(
      o.m,
      o.n,
      o.k,
      o.a.ptr,
      o.a.rowStride,
      o.a.colStride,
      o.b.ptr,
      o.b.rowStride,
      o.b.colStride,
      o.c,
      o.ldc,
      o.acc ? 1 : 0,
      pa,
      pb,
      tmp,
    );
  const sgemmMany = (ops: GemmOp[]) => {
    const pool = threads();
    if (!onThreads(pool, pool ? gemmTasks(ops, pool.threads, mr) : [])) for (const o of ops) sgemm(o);
  };
  /** The pool when background jobs can queue on it (more than one thread running), else undefined. */
  const queue = (): KernelThreads | undefined => {
    const pool = pools.get(heap);
    return pool && pool.threads > 1 && threadSettings.background ? pool : undefined;
  };
  /**
   * A call's tasks cut as for the threads whatever its size (a background job is worth queuing
   * however small), or `whole` as one task when the cut leaves it in one piece.
   */
  const cutAll = (cut: () => Task[], whole: Task): Task[] => {
    const scale = jobScale.value;
    jobScale.value = 0;
    try {
      const tasks = cut();
      return tasks.length ? tasks : [whole];
    } finally {
      jobScale.value = scale;
    }
  };
  const enqueue = (pool: KernelThreads, tasks: Task[], after: boolean, done?: () => void) => {
    const words = new Int32Array((tasks.length * TASK_BYTES) / 4);
    tasks.forEach((t, i) => words.set(t, (i * TASK_BYTES) / 4));
    pool.post(words, tasks.length, build === 'fma' ? 0 : 1, x.runTask, after, done);
  };
  /** A statistics call queued into partials of its own, copied out (and freed) once it is done. */
  const statsLater = (
    kind: typeof TaskKind.gradStats | typeof TaskKind.diffSq,
    ptrs: number[],
    n: number,
    after: boolean,
    done?: () => void,
  ) => {
    const pool = queue();
    if (!pool) {
      const r = statsPartials(kind, ptrs, n).slice();
      done?.();
      return () => r;
    }
    const floats = STATS_WIDTH[kind] * statsChunks(n);
    const partials = heapMalloc(heap, 8 * floats);
    if (!partials)
      throw new Error(`the WASM heap has no room for ${8 * floats} bytes of statistics partials`);
    let r: Float64Array | undefined;
    enqueue(pool, statsTasks(kind, ptrs, n, partials), after, () => {
      r = new Float64Array(heap.asm.memory.buffer, partials, floats).slice();
      heap._free(partials);
      done?.();
    });
    return () => {
      if (!r) later.settle();
      return r!;
    };
  };
  /** A later call on one thread: run now, then its clean-up. */
  const atOnce = (run: () => void, done?: () => void) => {
    run();
    done?.();
  };
  const later: LaterKernels = {
    get queues() {
      return queue() !== undefined;
    },
    get cold() {
      const pool = queue();
      return pool !== undefined && isCold(pool);
    },
    gradStats(p, n, after, done) {
      const r = statsLater(TaskKind.gradStats, [p], n, after, done);
      return () => combineStats(r());
    },
    diffSq(pTotal, pSkip, n, after, done) {
      const r = statsLater(TaskKind.diffSq, [pTotal, pSkip], n, after, done);
      return () => combineSplit(r());
    },
    sgemmMany(ops, after, done) {
      const pool = queue();
      if (!pool) return atOnce(() => sgemmMany(ops), done);
      const tasks = cutAll(() => gemmTasks(ops, pool.threads, mr), []);
      // gemmTasks cuts every product with work; none left is nothing to do (and nothing to wait for).
      if (tasks[0].length) enqueue(pool, tasks, after, done);
      else done?.();
    },
    wgInput(xp, n, h, w, c, pt, pl, th, tw, out, tile, after, done) {
      const pool = queue();
      if (!pool) return atOnce(() => kernels.wgInput(xp, n, h, w, c, pt, pl, th, tw, out, tile), done);
      const whole = [tiledKind(TaskKind.wgInput, tile), ...inputArgs(xp, n, h, w, c, pt, pl, th, tw, out)];
      const cut = () => wgInputTasks(pool.threads, xp, [n, h, w, c], pt, pl, th, tw, out, tile);
      enqueue(pool, cutAll(cut, whole), after, done);
    },
    wgGradOut(dy, n, oh, ow, c, th, tw, out, tile, after, done) {
      const pool = queue();
      if (!pool) return atOnce(() => kernels.wgGradOut(dy, n, oh, ow, c, th, tw, out, tile), done);
      const kind = tiledKind(TaskKind.wgGradOut, tile);
      const whole = [kind, dy, n, oh, ow, c, th, tw, out, winogradBlockFloats(n * th * tw, c)];
      const cut = () =>
        wgOutputTasks(pool.threads, TaskKind.wgGradOut, out, [n, oh, ow, c], th, tw, dy, tile);
      enqueue(pool, cutAll(cut, whole), after, done);
    },
    wgWeightOut(m, ci, co, out, tile, after, done) {
      const pool = queue();
      if (!pool) return atOnce(() => kernels.wgWeightOut(m, ci, co, out, tile), done);
      enqueue(pool, [[tiledKind(TaskKind.wgWeightOut, tile), m, ci, co, out]], after, done);
    },
    settle() {
      pools.get(heap)?.settle();
    },
  };
  /** Winograd kernel export `name` in `tile`'s tiling (the F(4×4, 3×3) one is `name` + 4). */
  const tiled = <K extends 'wgInput' | 'wgOutput' | 'wgGradOut' | 'wgWeightOut'>(
    name: K,
    tile: WinogradTile,
  ) => x[(tile === 4 ? `${name}4` : name) as K];
  /**
   * wgOutput (tiles to `image`) or wgGradOut (`image` to tiles), by `kind`, in `tile`'s tiling: on
   * the threads when worth it, else on this one.
   */
  const tileTransform = (
    kind: typeof TaskKind.wgOutput | typeof TaskKind.wgGradOut,
    tiles: number,
    image: number,
    shape: number[],
    th: number,
    tw: number,
    tile: WinogradTile,
  ) => {
    const pool = threads();
    if (onThreads(pool, pool ? wgOutputTasks(pool.threads, kind, tiles, shape, th, tw, image, tile) : []))
      return;
    const [n, oh, ow, c] = shape;
    const stride = winogradBlockFloats(n * th * tw, c);
    if (kind === TaskKind.wgOutput) tiled('wgOutput', tile)(tiles, n, oh, ow, c, th, tw, image, stride);
    else tiled('wgGradOut', tile)(image, n, oh, ow, c, th, tw, tiles, stride);
  };
  const kernels: WasmKernels = {
    build,
    later,
    sgemm(m, n, k, a, b, c, ldc, accumulate = false) {
      sgemmMany([{ m, n, k, a, b, c, ldc, acc: accumulate }]);
    },
    sgemmMany,
    wgInput(xp, n, h, w, c, pt, pl, th, tw, out, tile = 2) {
      const pool = threads();
      const tasks = pool ? wgInputTasks(pool.threads, xp, [n, h, w, c], pt, pl, th, tw, out, tile) : [];
      if (!onThreads(pool, tasks)) tiled('wgInput', tile)(...inputArgs(xp, n, h, w, c, pt, pl, th, tw, out));
    },
    wgConv(w) {
      const pool = threads();
      return onThreads(pool, pool ? wgConvTasks(pool.threads, w) : []);
    },
    wgOutput(m, n, oh, ow, c, th, tw, y, tile = 2) {
      tileTransform(TaskKind.wgOutput, m, y, [n, oh, ow, c], th, tw, tile);
    },
    wgGradOut(dy, n, oh, ow, c, th, tw, out, tile = 2) {
      tileTransform(TaskKind.wgGradOut, out, dy, [n, oh, ow, c], th, tw, tile);
    },
    wgWeightOut: (m, ci, co, out, tile = 2) => tiled('wgWeightOut', tile)(m, ci, co, out),
    gradStats: (p, n) => combineStats(statsPartials(TaskKind.gradStats, [p], n)),
    diffSq: (pTotal, pSkip, n) => combineSplit(statsPartials(TaskKind.diffSq, [pTotal, pSkip], n)),
    transpose(src, dst, plan) {
      const pool = threads();
      if (!onThreads(pool, pool ? transposeTasks(src, dst, plan, pool.threads) : []))
        x.transpose(src, dst, 0, plan.rows, plan.len, 4 * plan.inner, ...transposeOuterArgs(plan));
    },
    colSum(p, rows, cols, out) {
      x.colSum(p, rows, cols, out, scr);
    },
    reluGrad: (dy, xp, out, n) => x.reluGrad(dy, xp, out, n),
    addBias: (y, b, rows, cols) => x.addBias(y, b, rows, cols),
    im2col(xp, out, g) {
      const pool = threads();
      if (g.c < 4) {
        // Few channels: through zero-padded planes, made per call (the size of the padded input).
        let planes = 0;
        const alloc = (floats: number) => (planes = heapMalloc(heap, 4 * floats));
        try {
          if (!onThreads(pool, pool ? planarTasks(pool.threads, xp, out, g, alloc) : []))
            x.im2colPlanar(xp, out, ...geomArgs(g), planes || alloc(planeFloats(g)));
        } finally {
          heap._free(planes);
        }
        return;
      }
      if (onThreads(pool, pool ? tapTasks(pool.threads, TaskKind.im2col, xp, out, g) : [], tapBytes(g)))
        return;
      // The tap table (kh·kw addresses), then a zeroed run of c floats read for padded taps.
      const t = scratch(tapBytes(g));
      x.im2col(xp, out, ...geomArgs(g), t, t + 4 * g.kh * g.kw);
    },
    col2im(cols, dx, g) {
      const pool = threads();
      if (onThreads(pool, pool ? tapTasks(pool.threads, TaskKind.col2im, dx, cols, g) : [], tapBytes(g)))
        return;
      // The tap table, then a run of c floats that taps in the padding add onto.
      const t = scratch(tapBytes(g));
      x.col2im(cols, dx, ...geomArgs(g), t, t + 4 * g.kh * g.kw);
    },
    im2colHwc(xp, out, g) {
      const pool = threads();
      if (onThreads(pool, pool ? tapTasks(pool.threads, TaskKind.im2colHwc, xp, out, g) : [], tapBytes(g)))
        return;
      // The tap table, then a zeroed run of c floats read for taps in the padding.
      const t = scratch(tapBytes(g));
      x.im2colHwc(xp, out, ...geomArgs(g), t, t + 4 * g.kh * g.kw);
    },
    col2imHwc(cols, dx, g) {
      const pool = threads();
      if (onThreads(pool, pool ? tapTasks(pool.threads, TaskKind.col2imHwc, dx, cols, g) : [], tapBytes(g)))
        return;
      // The tap table, then the address that marks taps in the padding (skipped).
      const t = scratch(tapBytes(g));
      x.col2imHwc(cols, dx, ...geomArgs(g), t, t + 4 * g.kh * g.kw);
    },
    wgWeightsHwio: (...args) => x.wgWeightsHwio(...args),
    packB: (b, k, n, dst) => x.packB(b.ptr, b.rowStride, b.colStride, k, n, dst),
    wgWeightGradHwio: (...args) => x.wgWeightGradHwio(...args),
    maxPoolGrad(dy, xp, y, dx, g) {
      const pool = threads();
      if (onThreads(pool, pool ? maxPoolGradTasks(pool.threads, dy, xp, y, dx, g) : [], tapBytes(g))) return;
      x.maxPoolGrad(dy, xp, y, dx, ...geomArgs(g), scratch(4 * g.kh * g.kw));
    },
    im2col3d(xp, out, g) {
      const pool = threads();
      if (!onThreads(pool, pool ? volumeTasks(pool.threads, TaskKind.im2col3d, xp, out, g) : []))
        x.im2col3d(xp, out, ...volumeArgs(g));
    },
    conv3dForward(c, alloc) {
      const geom = volumeRecord(c.g);
      fused3d((n) => conv3dDepthTasks(n, geom, c), volumeTapFloats(c, false), alloc, x.conv3dDepths);
    },
    conv3dInputGrad(c, alloc) {
      const geom = volumeRecord(c.g);
      fused3d((n) => conv3dChannelTasks(n, geom, c), volumeTapFloats(c, true), alloc, x.conv3dGradChannels);
    },
    conv3dFilterGrad(c, dw, alloc) {
      const geom = volumeRecord(c.g);
      const blocks = volumeFilterBlocks(c);
      const part = alloc(blocks.floats);
      fused3d(
        (n) => conv3dFilterTasks(n, geom, c, part),
        volumeTapFloats(c, false),
        alloc,
        x.conv3dFilterDepths,
      );
      x.colSum(part, c.n * blocks.perElement, blocks.floats / (c.n * blocks.perElement), dw, scr);
    },
    col2im3d(cols, dx, g, zero) {
      const pool = threads();
      if (!onThreads(pool, pool ? volumeTasks(pool.threads, TaskKind.col2im3d, dx, cols, g, zero) : []))
        x.col2im3d(cols, dx, ...volumeArgs(g), zero ? 1 : 0);
    },
  };
  builds.set(prefer, kernels);
  return kernels;
}

/** The kernels on `heap`, or undefined where this engine cannot run them (no WebAssembly SIMD). */
export function wasmKernelsIfAvailable(heap: EmscriptenHeap): WasmKernels | undefined {
  try {
    return wasmKernels(heap);
  } catch {
    return undefined;
  }
}
