/**
 * How each kernel call is cut into tasks for the kernel threads (kernelThreads.ts), so that every
 * task writes its own part of the output and no two tasks write the same float:
 *
 * - SGEMM: row blocks of C (each packs its own copy of B, unless B came packed once: packB) or,
 *   when C is wider than tall, column blocks (each packs its own A); K is never split, so every
 *   output keeps its single sum in the same order and the result is the same bits for any number
 *   of threads. A batch of products (the 16 or 36 of a Winograd convolution) is one job.
 * - Winograd transforms and im2col: whole images, or ranges of tile / output rows of one image
 *   (the pads shifted to the range's first row). A large Winograd correlation is one job of such
 *   slices, each running both transforms and its rows of the 16 (36) products (wgConv, wgConv4).
 * - col2im and the max-pool gradient add onto their output, so only whole images (each image's
 *   sums stay in one task, in the same order).
 * - The statistics (gradStats, diffSq): chunks of STATS_CHUNK floats, a size that does not depend
 *   on the number of threads, each writing its partial sums to its own slot; the caller adds the
 *   slots in chunk order, so the sums are the same bits on any number of threads, and on one
 *   (which runs the same chunks itself).
 * - Transpose: ranges of output rows (a copy: the bits cannot depend on the split).
 *
 * Small calls stay on the calling thread: below a hundred microseconds or so of work, waking the
 * workers (tens of microseconds) costs more than it saves; and after a serial stretch, when the
 * workers have slept long enough for their core to idle (up to 100 µs to wake), only calls
 * coldFactor times larger go to them (jobScale).
 */
import type {
  MatrixRef,
  TapGeometry,
  VolumeConvCall,
  VolumeTapGeometry,
  WinogradCorrelation,
} from './wasmKernels';
import type { TransposePlan } from './transposePlan';

/** Task kinds: the order of TASKS in scripts/wasm/tasks.mjs (a unit test compares them). */
export const TaskKind = {
  sgemm: 0,
  wgInput: 1,
  wgOutput: 2,
  wgGradOut: 3,
  im2col: 4,
  col2im: 5,
  im2colHwc: 6,
  col2imHwc: 7,
  maxPoolGrad: 8,
  im2colPlanar: 9,
  gradStats: 10,
  diffSq: 11,
  transpose: 12,
  wgConv: 13,
  wgWeightOut: 14,
  wgInput4: 15,
  wgOutput4: 16,
  wgConv4: 17,
  wgGradOut4: 18,
  wgWeightOut4: 19,
  im2col3d: 20,
  col2im3d: 21,
  conv3dDepths: 22,
  conv3dGradChannels: 23,
  conv3dFilterDepths: 24,
} as const;

/** Rows of the blocks of a packed B (scripts/wasm/gemm.mjs's KC; a unit test compares them). */
export const PACKED_KC = 256;

/** Floats of B [k × n] packed by packB: blocks of min(k, KC) rows, columns rounded up to 8. */
export function packedBFloats(k: number, n: number): number {
  const p = Math.min(k, PACKED_KC);
  return p > 0 ? Math.ceil(k / p) * p * Math.ceil(n / 8) * 8 : 0;
}

/** The right-hand operand of a product that reads B [· × n] packed by packB at `ptr`. */
export function packedB(ptr: number, n: number): MatrixRef {
  return { ptr, rowStride: Math.ceil(n / 8) * 8, colStride: 0 };
}

/** One task: its kind, then the kernel's arguments. */
export type Task = number[];

/** Tuning of the cut. */
export const taskSettings = {
  /** Fewest multiply-adds of a GEMM job worth waking the threads for (100–200 µs on one core). */
  minGemmWork: 1 << 21,
  /** Fewest multiply-adds of one GEMM task. */
  minTaskWork: 1 << 18,
  /**
   * Rows (or columns) of C a GEMM task should have at least, unless that leaves threads idle: each
   * task packs its own copy of the other operand, which costs about as much as 4 multiply-adds
   * per element, so a task of 128 rows spends some 3% of its time packing.
   */
  minTaskDim: 128,
  /**
   * Fewest tiles of a Winograd slice (wgConv): each slice packs all 16 U[ξ] for its own products,
   * some 4/tiles of its work (6% at 64), unless U came packed (a probe's weights: winograd.ts's
   * packWinogradWeights). Alternating passes on two threads, 64 against 128:
   * ResNet-34 3.9% faster, ResNet-18 0–2.2%.
   */
  minSliceTiles: 64,
  /**
   * Fewest bytes written by a transform or copy job worth the threads (some 100 µs of copying).
   * At 256 KB, ResNet-18's pass on two threads ran no faster (98–102 ms either way, alternating
   * in one process) and the sample model's 10–15% slower than on one thread.
   */
  minCopyBytes: 1 << 20,
  /** Fewest bytes written by one such task. */
  minTaskBytes: 1 << 16,
  /**
   * Fewest bytes read by a statistics call worth the threads (200–400 µs at 10–20 GB/s). Calls
   * back to back pay from 0.5 MB, but in a probe the workers sleep before a statistics call (it
   * follows TF.js's own kernels), and waking one took some 100 µs on the 2-core VM measured:
   * there two threads broke even with one at 2 MB (gradStats) to 4 MB (diffSq) and won above
   * (bench/statsKernel.ts, `Asleep`).
   */
  minStatsBytes: 1 << 22,
  /**
   * Fewest bytes read by a statistics call worth queuing for the workers (wasmKernels.ts's
   * LaterKernels): queuing one costs the calling thread some 5–20 µs (its task table, the holds),
   * about what reading 256 KB takes. Smaller calls run at once. While the workers sleep (past
   * warmMs), queuing also wakes one, and only calls of minStatsBytes queue (weight gradients,
   * likewise, from coldFactor × minGemmWork): queuing the sample model's statistics on sleeping
   * workers had made its two-thread probe 5–8% slower than one thread (paired, 30 rounds; now
   * 1–2%), and the rule made two-thread ResNet-34 passes 7% faster, Inception-v3's within ±2%.
   */
  minQueueBytes: 1 << 18,
  /**
   * Most floats of the partial sums of a fused 3-D weight gradient (all blocks, all batch
   * elements): more blocks of output depths split the work finer, fewer cost less memory.
   */
  maxPartialFloats: 1 << 22,
  /** Tasks aimed at per thread: more balance the load on a busy machine, fewer cost less. */
  tasksPerThread: 4,
  /**
   * A worker that went to sleep (after spinning for threadSettings.workerSpinUs) less than this
   * long ago (ms) answers the next job within 15–25 µs; one that has slept longer takes 40–100 µs
   * on the 2-core VM measured (its core had gone idle: `npx tsx bench/threadWake.ts --gap 5`),
   * while the main thread works alone and then waits for the task the worker took last.
   */
  warmMs: 1,
  /**
   * How many times the thresholds above a job must be when the workers have slept longer than
   * warmMs: the first kernel call after a serial stretch goes to the threads only when it is large.
   * At 4, Inception-v3 at batch 2, 75×75 (products of 0.6–5 M multiply-adds after TF.js's serial
   * concatenations and pools) kept most of its products on the calling thread; at 2, whole
   * two-thread probes alternating in one process ran 6–13% faster there, EfficientNetV2-S 3–5%,
   * ResNet-34 2%, ResNet-18 at batch 8, MobileNetV3-L and RegNet-Y-400MF the same within ±3%, and
   * the sample model and the smallest fixtures still sent the threads nothing (threadTrial.ts).
   * At 1 the sample model sent them a few calls a batch and ran 8% slower than on one thread.
   */
  coldFactor: 2,
};

/**
 * The factor the thresholds are multiplied by for the call being cut: coldFactor while the
 * workers have slept longer than warmMs, else 1. Set by the kernels (wasmKernels.ts) from the
 * pool's idle time just before they cut a call; it decides only where a call runs, never what it
 * computes.
 */
export const jobScale = { value: 1 };

/** One matrix product C (+)= A·B of a batch. */
export interface GemmOp {
  m: number;
  n: number;
  k: number;
  a: MatrixRef;
  b: MatrixRef;
  c: number;
  ldc: number;
  acc: boolean;
}

/** `total` split into `pieces` ranges as equal as can be. */
function ranges(total: number, pieces: number): [number, number][] {
  const out: [number, number][] = [];
  for (let p = 0; p < pieces; p++) {
    const a = Math.floor((p * total) / pieces);
    const b = Math.floor(((p + 1) * total) / pieces);
    if (b > a) out.push([a, b]);
  }
  return out;
}

/** The GEMM tasks of a batch of products on `threads` threads (`mr` the register tile's rows); [] when not worth it. */
export function gemmTasks(ops: GemmOp[], threads: number, mr: number): Task[] {
  const opWork = ops.map((o) => o.m * o.n * Math.max(o.k, 1));
  const total = opWork.reduce((s, w) => s + w, 0);
  if (threads < 2 || total < taskSettings.minGemmWork * jobScale.value) return [];
  const target = threads * taskSettings.tasksPerThread;
  const tasks: Task[] = [];
  ops.forEach((o, i) => {
    if (o.m <= 0 || o.n <= 0) return;
    const rows = o.m >= o.n;
    const dim = rows ? o.m : o.n;
    const unit = rows ? mr : 8;
    const units = Math.ceil(dim / unit);
    const byWork = Math.max(1, Math.floor(opWork[i] / taskSettings.minTaskWork));
    const byDim = Math.max(threads, Math.floor(dim / taskSettings.minTaskDim));
    const pieces = Math.max(1, Math.min(units, byWork, byDim, Math.round((target * opWork[i]) / total)));
    for (const [u0, u1] of ranges(units, pieces)) {
      const s = u0 * unit;
      const e = Math.min(dim, u1 * unit);
      const a = rows ? o.a.ptr + 4 * s * o.a.rowStride : o.a.ptr;
      // A packed B's column s (a multiple of 8) lies s·min(k, KC) floats on, in every block.
      const bStep = o.b.colStride === 0 ? Math.min(o.k, PACKED_KC) : o.b.colStride;
      const b = rows ? o.b.ptr : o.b.ptr + 4 * s * bStep;
      const c = rows ? o.c + 4 * s * o.ldc : o.c + 4 * s;
      tasks.push([
        TaskKind.sgemm,
        rows ? e - s : o.m,
        rows ? o.n : e - s,
        o.k,
        a,
        o.a.rowStride,
        o.a.colStride,
        b,
        o.b.rowStride,
        o.b.colStride,
        c,
        o.ldc,
        o.acc ? 1 : 0,
      ]);
    }
  });
  // Largest first: the threads that finish early then pick up the small ones, and the job's tail is short.
  const work = (t: Task) => t[1] * t[2] * Math.max(t[3], 1);
  return tasks.sort((p, q) => work(q) - work(p));
}

/** A part of an NHWC batch: images b0 … b1 − 1, and of those rows r0 … r1 − 1 (all rows unless one image). */
interface Slice {
  b0: number;
  b1: number;
  r0: number;
  r1: number;
}

/**
 * The parts of a batch of `n` images of `rows` rows each that a job of `bytes` output splits
 * into: whole images when there are enough, else row ranges of single images (when `rowsOk`).
 * [] when the job is too small for the threads.
 */
function slices(n: number, rows: number, bytes: number, threads: number, rowsOk: boolean): Slice[] {
  if (threads < 2 || bytes < taskSettings.minCopyBytes * jobScale.value || n <= 0 || rows <= 0) return [];
  const pieces = Math.max(
    1,
    Math.min(threads * taskSettings.tasksPerThread, Math.floor(bytes / taskSettings.minTaskBytes)),
  );
  return slicesOf(n, rows, pieces, rowsOk);
}

/** A batch of `n` images of `rows` rows each in about `pieces` parts (fewer than two: []). */
function slicesOf(n: number, rows: number, pieces: number, rowsOk: boolean): Slice[] {
  if (pieces <= n || !rowsOk) {
    const out = ranges(n, Math.min(pieces, n)).map(([b0, b1]) => ({ b0, b1, r0: 0, r1: rows }));
    return out.length > 1 ? out : [];
  }
  const perImage = Math.min(rows, Math.ceil(pieces / n));
  const out: Slice[] = [];
  for (let b = 0; b < n; b++)
    for (const [r0, r1] of ranges(rows, perImage)) out.push({ b0: b, b1: b + 1, r0, r1 });
  return out;
}

/** Output rows and columns of a Winograd tile: 2 for F(2×2, 3×3), 4 for F(4×4, 3×3). */
export type WinogradTile = 2 | 4;

/** The Winograd kernels that come in both tilings: each F(2×2, 3×3) task kind and its F(4×4, 3×3) twin. */
const TILED_4 = {
  [TaskKind.wgInput]: TaskKind.wgInput4,
  [TaskKind.wgOutput]: TaskKind.wgOutput4,
  [TaskKind.wgGradOut]: TaskKind.wgGradOut4,
  [TaskKind.wgWeightOut]: TaskKind.wgWeightOut4,
  [TaskKind.wgConv]: TaskKind.wgConv4,
};

/** The task kind of Winograd kernel `kind` (named by its F(2×2, 3×3) kind) in `tile`'s tiling. */
export const tiledKind = (kind: keyof typeof TILED_4, tile: WinogradTile): number =>
  tile === 4 ? TILED_4[kind] : kind;

/** The tile positions (blocks, products) of a Winograd tiling: 16 for F(2×2, 3×3), 36 for F(4×4, 3×3). */
export const winogradPositions = (tile: WinogradTile) => (tile + 2) * (tile + 2);

/**
 * The stride in floats of the blocks [rows][c] a Winograd transform writes or reads, one per tile
 * position: rows·c rounded up to 4 KB, plus 64 bytes. A tile's 16 or 36 values, one in each
 * block, then lie in as many different L1 sets. With the blocks back to back their stride was
 * often a multiple of 4 KB (ResNet-18's 64 channels: 128 tiles, 32 KB), every value of a tile fell
 * in one set, and the transforms took 2.5–4× as long (one core: the input transform of 8×16×16×64
 * in 2×2 tiles 494–513 → 208–209 µs; in 4×4 tiles 441–503 → 116–168 µs).
 */
export const winogradBlockFloats = (rows: number, c: number) => Math.ceil((rows * c) / 1024) * 1024 + 16;

/**
 * The wgInput arguments of slice `s` of NHWC x [n, h, w, c] in th × tw tiles an image (pads pt,
 * pl; `tile` output rows a tile) into out [P][n·th·tw][c]: its first image, its images, the pad
 * shifted to its first tile row, its tile rows, its first row of the P blocks, and their stride.
 */
function inputSliceArgs(
  s: Slice,
  x: number,
  [n, h, w, c]: number[],
  pt: number,
  pl: number,
  th: number,
  tw: number,
  out: number,
  tile: WinogradTile,
): number[] {
  const rows = s.r1 - s.r0;
  return [
    x + 4 * s.b0 * h * w * c,
    s.b1 - s.b0,
    h,
    w,
    c,
    pt - tile * s.r0,
    pl,
    rows,
    tw,
    out + 4 * (s.b0 * th + s.r0) * tw * c,
    winogradBlockFloats(n * th * tw, c),
  ];
}

/**
 * Slice `s` of the tiles [P][n·th·tw][c] at `tilesPtr` and of NHWC [n, oh, ow, c] at `image`
 * (`tile` output rows a tile): its first row of the blocks, its first output pixel, and the output
 * rows it may write (all of them for whole images; for tile rows of one image, those from its
 * first row on).
 */
function outputSlice(
  s: Slice,
  tilesPtr: number,
  [oh, ow, c]: number[],
  th: number,
  tw: number,
  image: number,
  tile: WinogradTile,
): { t: number; y: number; oh: number } {
  return {
    t: tilesPtr + 4 * (s.b0 * th + s.r0) * tw * c,
    y: image + 4 * (s.b0 * oh + tile * s.r0) * ow * c,
    oh: s.b1 - s.b0 > 1 ? oh : oh - tile * s.r0,
  };
}

/** wgInput (wgInput4 for `tile` 4) tasks: NHWC x [n, h, w, c] in th × tw tiles (pads pt, pl) into out [P][n·th·tw][c]. */
export function wgInputTasks(
  threads: number,
  x: number,
  shape: number[],
  pt: number,
  pl: number,
  th: number,
  tw: number,
  out: number,
  tile: WinogradTile = 2,
): Task[] {
  const [n, , , c] = shape;
  const bytes = 4 * winogradPositions(tile) * n * th * tw * c;
  return slices(n, th, bytes, threads, true).map((s) => [
    tiledKind(TaskKind.wgInput, tile),
    ...inputSliceArgs(s, x, shape, pt, pl, th, tw, out, tile),
  ]);
}

/**
 * wgOutput (`kind` wgOutput) or wgGradOut (`kind` wgGradOut) tasks, wgOutput4 or wgGradOut4 for
 * `tile` 4: tiles [P][n·th·tw][c] ↔ NHWC [n, oh, ow, c].
 */
export function wgOutputTasks(
  threads: number,
  kind: typeof TaskKind.wgOutput | typeof TaskKind.wgGradOut,
  tilesPtr: number,
  [n, oh, ow, c]: number[],
  th: number,
  tw: number,
  image: number,
  tile: WinogradTile = 2,
): Task[] {
  const tiles = n * th * tw;
  const bytes = kind === TaskKind.wgOutput ? 4 * n * oh * ow * c : 4 * winogradPositions(tile) * tiles * c;
  const out = tiledKind(kind, tile);
  return slices(n, th, bytes, threads, true).map((s) => {
    const o = outputSlice(s, tilesPtr, [oh, ow, c], th, tw, image, tile);
    const stride = winogradBlockFloats(tiles, c);
    return kind === TaskKind.wgOutput
      ? [out, o.t, s.b1 - s.b0, o.oh, ow, c, s.r1 - s.r0, tw, o.y, stride]
      : [out, o.y, s.b1 - s.b0, o.oh, ow, c, s.r1 - s.r0, tw, o.t, stride];
  });
}

/**
 * wgConv tasks: the whole Winograd correlation `w` (wasmKernels.ts's wgConv) cut into slices of
 * the tiles (whole images, or tile-row ranges of one), each running the input transform, its rows
 * of the 16 (36) products and the output transform. Each slice packs every U[ξ] for its own products,
 * so a slice has minSliceTiles tiles at least; [] when that leaves fewer slices than threads, or
 * the job is too small for them (the caller then runs the three steps, the products shared out
 * one by one).
 */
export function wgConvTasks(threads: number, w: WinogradCorrelation): Task[] {
  const [n, , , c] = w.shape;
  const tiles = n * w.th * w.tw;
  const tile = w.tile ?? 2;
  const work = winogradPositions(tile) * tiles * c * w.co;
  if (threads < 2 || work < taskSettings.minGemmWork * jobScale.value) return [];
  const pieces = Math.min(
    threads * taskSettings.tasksPerThread,
    Math.floor(tiles / taskSettings.minSliceTiles),
  );
  if (pieces < threads) return [];
  const { u } = w;
  return slicesOf(n, w.th, pieces, true).map((s) => {
    const o = outputSlice(s, w.m, [w.oh, w.ow, w.co], w.th, w.tw, w.y, tile);
    return [
      tiledKind(TaskKind.wgConv, tile),
      ...inputSliceArgs(s, w.x, w.shape, w.pt, w.pl, w.th, w.tw, w.v, tile),
      u.ptr,
      u.plane,
      u.rowStride,
      u.colStride,
      u.flip ? 1 : 0,
      w.co,
      o.t,
      winogradBlockFloats(tiles, w.co),
      o.y,
      o.oh,
      w.ow,
    ];
  });
}

/** The geometry as the kernels' integer arguments. */
function geomArgs(g: TapGeometry): number[] {
  return [g.n, g.h, g.w, g.c, g.oh, g.ow, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.top, g.left];
}

/** The geometry of a slice: its images, its output rows (the top pad shifted to its first row). */
function sliceGeom(g: TapGeometry, s: Slice): TapGeometry {
  return { ...g, n: s.b1 - s.b0, oh: s.r1 - s.r0, top: g.top - s.r0 * g.sh };
}

/**
 * Tap-copy tasks (`kind` im2col or im2colHwc: images or output-row ranges; col2im or col2imHwc:
 * whole images) between NHWC `x` and the tap matrix `cols` [n·oh·ow, kh·kw·c].
 */
export function tapTasks(
  threads: number,
  kind:
    typeof TaskKind.im2col | typeof TaskKind.im2colHwc | typeof TaskKind.col2im | typeof TaskKind.col2imHwc,
  x: number,
  cols: number,
  g: TapGeometry,
): Task[] {
  const k = g.kh * g.kw * g.c;
  const gather = kind === TaskKind.im2col || kind === TaskKind.im2colHwc;
  const bytes = 4 * (gather ? g.n * g.oh * g.ow * k : g.n * g.h * g.w * g.c + g.n * g.oh * g.ow * k);
  return slices(g.n, g.oh, bytes, threads, gather).map((s) => {
    const xs = x + 4 * s.b0 * g.h * g.w * g.c;
    const cs = cols + 4 * (s.b0 * g.oh + s.r0) * g.ow * k;
    return [kind, ...(gather ? [xs, cs] : [cs, xs]), ...geomArgs(sliceGeom(g, s))];
  });
}

/** Rows of the zero-padded planes im2colPlanar makes for output rows of `g`. */
function planeRows(g: TapGeometry): number {
  return (g.oh - 1) * g.sh + (g.kh - 1) * g.dh + 1;
}

/** Floats of zero-padded planes that im2colPlanar needs for `g`. */
export function planeFloats(g: TapGeometry): number {
  const wp = (g.ow - 1) * g.sw + (g.kw - 1) * g.dw + 1;
  return g.n * g.c * planeRows(g) * wp;
}

/**
 * im2colPlanar tasks (images or output-row ranges, each with its own planes); `planes(floats)`
 * allocates the planes of all of them, called once when the job is cut.
 */
export function planarTasks(
  threads: number,
  x: number,
  cols: number,
  g: TapGeometry,
  planes: (floats: number) => number,
): Task[] {
  const k = g.kh * g.kw * g.c;
  const parts = slices(g.n, g.oh, 4 * g.n * g.oh * g.ow * k, threads, true);
  if (!parts.length) return [];
  const geoms = parts.map((s) => sliceGeom(g, s));
  let p = planes(geoms.reduce((sum, sg) => sum + planeFloats(sg), 0));
  return parts.map((s, i) => {
    const task = [
      TaskKind.im2colPlanar,
      x + 4 * s.b0 * g.h * g.w * g.c,
      cols + 4 * (s.b0 * g.oh + s.r0) * g.ow * k,
      ...geomArgs(geoms[i]),
      p,
    ];
    p += 4 * planeFloats(geoms[i]);
    return task;
  });
}

/** The 3-D geometry as the kernels' trailing integer arguments. */
export function volumeArgs(g: VolumeTapGeometry): number[] {
  return [
    g.c,
    g.d,
    g.h,
    g.w,
    g.od0,
    g.odn,
    g.oh,
    g.ow,
    g.kd,
    g.kh,
    g.kw,
    g.sd,
    g.sh,
    g.sw,
    g.dd,
    g.dh,
    g.dw,
    g.front,
    g.top,
    g.left,
  ];
}

/**
 * 3-D tap-copy tasks (im2col3d, or col2im3d with its `zero` flag) between a channels-first volume
 * `x` [c, d, h, w] and the tap matrix `cols` [c·kd·kh·kw, odn·oh·ow]: channel ranges. A channel's
 * rows of the tap matrix read (or add onto) that channel's volume alone, so no two tasks touch the
 * same float, and each float is computed as on one thread. Channels may run on across batch
 * elements ([n, c, …] read as n·c channels) where the tap matrices of the elements lie back to back.
 */
export function volumeTasks(
  threads: number,
  kind: typeof TaskKind.im2col3d | typeof TaskKind.col2im3d,
  x: number,
  cols: number,
  g: VolumeTapGeometry,
  zero = false,
): Task[] {
  const taps = g.kd * g.kh * g.kw * g.odn * g.oh * g.ow;
  const volume = g.d * g.h * g.w;
  const gather = kind === TaskKind.im2col3d;
  const bytes = 4 * g.c * (gather ? taps : taps + volume);
  return slices(g.c, 1, bytes, threads, false).map(({ b0, b1 }) => {
    const xs = x + 4 * b0 * volume;
    const cs = cols + 4 * b0 * taps;
    const args = volumeArgs({ ...g, c: b1 - b0 });
    return gather ? [kind, xs, cs, ...args] : [kind, cs, xs, ...args, zero ? 1 : 0];
  });
}

/** Sizes of a fused 3-D convolution call: taps a window, voxels of an input and output channel, rows of a group. */
function volumeSizes(c: VolumeConvCall) {
  const kvol = c.g.kd * c.g.kh * c.g.kw;
  const plane = c.g.oh * c.g.ow;
  const cig = c.g.c / c.group;
  return {
    kvol,
    plane,
    cig,
    cog: c.co / c.group,
    rows: cig * kvol,
    sIn: c.g.d * c.g.h * c.g.w,
    sOut: c.g.odn * plane,
  };
}

/**
 * Floats of the buffer one thread needs for a task of a fused 3-D convolution call: a step's tap
 * matrix, all groups (forward), or a step's rows of the tap-matrix gradient for a group's channels
 * at most (`inputGrad`).
 */
export function volumeTapFloats(c: VolumeConvCall, inputGrad: boolean): number {
  const { rows, plane } = volumeSizes(c);
  return (inputGrad ? rows : rows * c.group) * Math.min(c.step, c.g.odn) * plane;
}

/**
 * Whether a fused 3-D convolution call is worth the threads (its multiply-adds). Each thread's
 * buffer holds a step's tap matrix: the caller keeps steps small (convGrad3d.ts's fusedFloats).
 */
function volumeWorthThreads(c: VolumeConvCall, threads: number): boolean {
  const { rows, cog, sOut } = volumeSizes(c);
  return threads > 1 && c.n * c.group * cog * rows * sOut >= taskSettings.minGemmWork * jobScale.value;
}

/**
 * The tasks of a fused 3-D convolution call: for each of its `parts` (batch elements, or batch
 * elements and groups), ranges of the part's `units` (steps or blocks of output depths, input
 * channels), made by `task`; on one thread (`threads` 1) one task a part. [] when not worth the
 * threads.
 */
function fusedTasks(
  threads: number,
  c: VolumeConvCall,
  parts: number,
  units: number,
  task: (part: number, u0: number, u1: number) => Task,
): Task[] {
  if (threads > 1 && !volumeWorthThreads(c, threads)) return [];
  const pieces =
    threads > 1 ? Math.min(units, Math.ceil((threads * taskSettings.tasksPerThread) / parts)) : 1;
  const tasks: Task[] = [];
  for (let p = 0; p < parts; p++) for (const [u0, u1] of ranges(units, pieces)) tasks.push(task(p, u0, u1));
  return threads > 1 && tasks.length < 2 ? [] : tasks;
}

/**
 * conv3dDepths tasks: per batch element, ranges of whole steps of output depths. `geom` is the
 * address of the geometry record.
 */
export function conv3dDepthTasks(threads: number, geom: number, c: VolumeConvCall): Task[] {
  const { sIn, sOut } = volumeSizes(c);
  return fusedTasks(threads, c, c.n, Math.ceil(c.g.odn / c.step), (b, s0, s1) => [
    TaskKind.conv3dDepths,
    geom,
    c.x + 4 * b * c.g.c * sIn,
    s0 * c.step,
    Math.min(c.g.odn, s1 * c.step),
    c.step,
    c.w,
    c.y + 4 * b * c.co * sOut,
    sOut,
    c.co,
    c.group,
  ]);
}

/**
 * The blocks of output depths of a fused weight gradient (conv3dFilterDepths), each summed into a
 * partial of its own: whole steps, as many a block as keep all the partials (every batch element)
 * within taskSettings.maxPartialFloats. Fixed by the call alone, not by the thread count, so that
 * the partials, and their sum, are the same bits on any.
 */
export function volumeFilterBlocks(c: VolumeConvCall): {
  depths: number;
  perElement: number;
  floats: number;
} {
  const steps = Math.ceil(c.g.odn / c.step);
  const weight = c.co * volumeSizes(c).rows;
  const stepsPerBlock = Math.max(1, Math.ceil((c.n * steps * weight) / taskSettings.maxPartialFloats));
  const perElement = Math.ceil(steps / stepsPerBlock);
  return { depths: stepsPerBlock * c.step, perElement, floats: c.n * perElement * weight };
}

/**
 * conv3dFilterDepths tasks: per batch element, ranges of whole blocks of output depths, the
 * partials at `part` ([n · blocks per element, co · c/group · kvol]).
 */
export function conv3dFilterTasks(threads: number, geom: number, c: VolumeConvCall, part: number): Task[] {
  const { sIn, sOut, rows } = volumeSizes(c);
  const blocks = volumeFilterBlocks(c);
  return fusedTasks(threads, c, c.n, blocks.perElement, (b, k0, k1) => [
    TaskKind.conv3dFilterDepths,
    geom,
    c.x + 4 * b * c.g.c * sIn,
    k0 * blocks.depths,
    Math.min(c.g.odn, k1 * blocks.depths),
    c.step,
    c.y + 4 * b * c.co * sOut,
    sOut,
    part + 4 * (b * blocks.perElement + k0) * c.co * rows,
    blocks.depths,
    c.co,
    c.group,
  ]);
}

/** conv3dGradChannels tasks: per batch element and group, ranges of the group's input channels. */
export function conv3dChannelTasks(threads: number, geom: number, c: VolumeConvCall): Task[] {
  const { kvol, cig, cog, rows, sIn, sOut } = volumeSizes(c);
  return fusedTasks(threads, c, c.n * c.group, cig, (p, c0, c1) => {
    const [b, gi] = [Math.floor(p / c.group), p % c.group];
    return [
      TaskKind.conv3dGradChannels,
      geom,
      c.w + 4 * (gi * cog * rows + c0 * kvol),
      rows,
      (c1 - c0) * kvol,
      cog,
      c.y + 4 * (b * c.co + gi * cog) * sOut,
      sOut,
      c.x + 4 * (b * c.g.c + gi * cig + c0) * sIn,
      c1 - c0,
      c.step,
    ];
  });
}

/** Max-pool gradient tasks (whole images): dy and y [n, oh, ow, c], x and dx [n, h, w, c]. */
export function maxPoolGradTasks(
  threads: number,
  dy: number,
  x: number,
  y: number,
  dx: number,
  g: TapGeometry,
): Task[] {
  const bytes = 4 * g.n * (g.h * g.w + 2 * g.oh * g.ow) * g.c;
  return slices(g.n, g.oh, bytes, threads, false).map((s) => {
    const o = 4 * s.b0 * g.oh * g.ow * g.c;
    const i = 4 * s.b0 * g.h * g.w * g.c;
    return [TaskKind.maxPoolGrad, dy + o, x + i, y + o, dx + i, ...geomArgs(sliceGeom(g, s))];
  });
}

/**
 * Floats per chunk of a statistics call (a multiple of the kernels' BLOCK of 512): fixed, not
 * tuned to the threads, since the chunks fix the order of the sums.
 */
export const STATS_CHUNK = 1 << 16;

/** f64 partials per chunk: gradStats's five, diffSq's two. */
export const STATS_WIDTH = { [TaskKind.gradStats]: 5, [TaskKind.diffSq]: 2 } as const;

/** Chunks of a statistics call over `n` floats (one at least, so that n = 0 still writes its zeros). */
export function statsChunks(n: number): number {
  return Math.max(1, Math.ceil(n / STATS_CHUNK));
}

/**
 * The tasks of a statistics call over `n` floats at `ptrs` (gradStats: the tensor; diffSq: total
 * then skip), chunk i writing its partials to the f64 slot at `slots` + 8·width·i. The same tasks
 * on any number of threads; the calling thread runs them itself when statsWorthThreads says no.
 */
export function statsTasks(
  kind: typeof TaskKind.gradStats | typeof TaskKind.diffSq,
  ptrs: number[],
  n: number,
  slots: number,
): Task[] {
  const width = STATS_WIDTH[kind];
  return Array.from({ length: statsChunks(n) }, (_, i) => {
    const start = i * STATS_CHUNK;
    return [kind, ...ptrs.map((p) => p + 4 * start), Math.min(STATS_CHUNK, n - start), slots + 8 * width * i];
  });
}

/** Outer axes a transpose task walks (scripts/wasm/transpose.mjs). */
export const TRANSPOSE_OUTER = 5;

/** A transpose plan's outer axes as the kernel's arguments: [size, input stride in bytes] each, padded with [1, 0]. */
export function transposeOuterArgs(plan: TransposePlan): number[] {
  if (plan.outer.length > TRANSPOSE_OUTER)
    throw new Error(`a transpose kernel walks at most ${TRANSPOSE_OUTER} outer axes`);
  const out: number[] = [];
  for (let k = 0; k < TRANSPOSE_OUTER; k++) {
    const [d, s] = plan.outer[k] ?? [1, 0];
    out.push(d, 4 * s);
  }
  return out;
}

/**
 * The tasks of a transpose of 4-byte elements (`plan` from transposePlan.ts): ranges of output
 * rows. [] when the output is too small for the threads.
 */
export function transposeTasks(src: number, dst: number, plan: TransposePlan, threads: number): Task[] {
  const bytes = 4 * plan.rows * plan.len;
  if (threads < 2 || bytes < taskSettings.minCopyBytes * jobScale.value || plan.rows < 2) return [];
  const pieces = Math.min(
    threads * taskSettings.tasksPerThread,
    Math.floor(bytes / taskSettings.minTaskBytes),
    plan.rows,
  );
  const outer = transposeOuterArgs(plan);
  return ranges(plan.rows, pieces).map(([r0, r1]) => [
    TaskKind.transpose,
    src,
    dst,
    r0,
    r1,
    plan.len,
    4 * plan.inner,
    ...outer,
  ]);
}

/** Whether a statistics call reading `bytes` is worth waking the threads for. */
export function statsWorthThreads(threads: number, bytes: number): boolean {
  return threads > 1 && bytes >= taskSettings.minStatsBytes * jobScale.value;
}
