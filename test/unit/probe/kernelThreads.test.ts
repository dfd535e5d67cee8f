/**
 * The WASM kernels on 2, 3 and 4 kernel threads give the very bits they give on one (each output
 * float written by one task, no sum split across threads): SGEMM and batches of products,
 * the Winograd transforms, im2col (wide and planar), col2im in both tap orders and the max-pool
 * gradient, on odd shapes cut into whole images and into row ranges; convolutions and their
 * gradients through TF.js; a whole probe. A worker that throws or dies ends the job with a clear
 * error, and the pool carries on and is restored.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../runtime/probe/backend';
import { withScratch } from '../../../runtime/probe/wasm/heap';
import { heapBuffers, values } from '../helpers/heapBuffers';
import {
  kernelThreadsOf,
  setKernelThreads,
  wasmKernels,
  type EmscriptenHeap,
  type MatrixRef,
  type TapGeometry,
  type VolumeConvCall,
  type VolumeTapGeometry,
  type WasmKernels,
} from '../../../runtime/probe/wasm/wasmKernels';
import {
  TaskKind,
  packedB,
  packedBFloats,
  taskSettings,
  volumeFilterBlocks,
  winogradBlockFloats,
  winogradPositions,
} from '../../../runtime/probe/wasm/kernelTasks';
import { KernelThreadError, threadSettings } from '../../../runtime/probe/wasm/kernelThreads';
import { kernelWorkerThreads } from '../../../runtime/probe/wasm/helperPriority';
import {
  forwardOperands,
  inputGradOperands,
  packedOperands,
  winogradCorrelate,
  winogradSettings,
} from '../../../runtime/probe/winograd';
import { openModel } from '../../../runtime/analysis/openModel';
import { runProbe } from '../../../runtime/probe/runProbe';
import { conv3dOwn, volumeRuns, volumeSettings, type VolumeGeom } from '../../../runtime/probe/convGrad3d';
import { timingText } from '../../../runtime/view/timingText';
import { tapeMark } from '../../../runtime/probe/gradientGuard';
import type { ProbeOptions, ProbeResult } from '../../../runtime/probe/probeTypes';

const root = path.resolve(__dirname, '../../..');

/** Forces every call through the threads, however small (the defaults keep small calls serial). */
function forceTasks(perThread: number): () => void {
  const saved = { ...taskSettings };
  Object.assign(taskSettings, {
    minGemmWork: 0,
    minTaskWork: 1,
    minTaskDim: 1,
    minSliceTiles: 1,
    minCopyBytes: 0,
    minTaskBytes: 1,
    minQueueBytes: 0,
    minStatsBytes: 0,
    tasksPerThread: perThread,
  });
  return () => Object.assign(taskSettings, saved);
}

/**
 * forceTasks, and every 3×3 convolution through Winograd, its weight gradient too, so that both
 * kinds of weight gradient are queued (and the statistics). Returns the restore.
 */
function forceTasksAndWinograd(perThread: number): () => void {
  const restoreTasks = forceTasks(perThread);
  const saved = { ...winogradSettings };
  Object.assign(winogradSettings, { minTiles: 1, minWeightGradTiles: 1 });
  return () => {
    Object.assign(winogradSettings, saved);
    restoreTasks();
  };
}

/** Probe options for the ResNet-18 fixture at batch 2, on WASM (threads set by the caller). */
function resnetProbe(seed: number, batches: number): ProbeOptions {
  return { source: { kind: 'synthetic', seed }, batchSize: 2, batches, loss: 'mean-square', backend: 'wasm' };
}

/** Two probes' statistics, the same bits: the loss, every parameter, node output and merge. */
function assertSameStatistics(got: ProbeResult, want: ProbeResult): void {
  assert.deepEqual(got.loss.values, want.loss.values);
  assert.deepEqual(got.params, want.params);
  assert.deepEqual(got.activations, want.activations);
  assert.deepEqual(got.merges, want.merges);
}

describe('WASM kernel threads', function () {
  this.timeout(180000);
  let heap: EmscriptenHeap;
  let k: WasmKernels;
  const { buffer, bits, freeAll } = heapBuffers(() => heap);

  /**
   * Runs `f` (which writes `n` floats at `out`) on 1 thread and then on 2, 3 and 4, in both task
   * cuts, and checks the outputs are identical bit for bit (the output is reset to NaN in between)
   * and, unless `splits` is false (a kernel that only splits whole images, on one image), that
   * the threads ran it.
   */
  /**
   * Runs `f` on 1 thread, then on 2–4 (forced into tasks), and compares the n floats at `out`: all
   * of them, or (`blocks`) the first `len` floats of each of `count` blocks `stride` floats apart,
   * a Winograd transform's (the padding between them is never written).
   */
  async function sameOnAllThreads(
    out: number,
    n: number,
    f: () => void,
    splits = true,
    blocks?: { count: number; stride: number; len: number },
  ): Promise<void> {
    const reset = () => new Float32Array(heap.asm.memory.buffer, out, n).fill(Number.NaN);
    const read = (p: number, count: number) => {
      const all = bits(p, count);
      if (!blocks) return all;
      const picked = new Uint32Array(blocks.count * blocks.len);
      for (let b = 0; b < blocks.count; b++)
        picked.set(all.subarray(b * blocks.stride, b * blocks.stride + blocks.len), b * blocks.len);
      return picked;
    };
    assert.equal(await setKernelThreads(heap, 1), 1);
    reset();
    f();
    const want = read(out, n);
    assert.ok(
      new Float32Array(want.buffer).every((v) => !Number.isNaN(v)),
      'the single-threaded kernel left outputs unwritten',
    );
    for (const perThread of [1, 4]) {
      const restore = forceTasks(perThread);
      try {
        for (const threads of [2, 3, 4]) {
          assert.equal(await setKernelThreads(heap, threads), threads);
          const jobs = kernelThreadsOf(heap)!.stats.jobs;
          reset();
          f();
          if (splits) assert.ok(kernelThreadsOf(heap)!.stats.jobs > jobs, `no job ran on ${threads} threads`);
          const got = read(out, n);
          const first = got.findIndex((v, i) => v !== want[i]);
          assert.equal(
            first,
            -1,
            `${threads} threads (${perThread} task(s) per thread): float ${first} differs`,
          );
        }
      } finally {
        restore();
      }
    }
  }

  before(async () => {
    await initBackend('wasm', { threads: 1 });
    heap = (tf.backend() as unknown as { wasm: EmscriptenHeap }).wasm;
    k = wasmKernels(heap);
  });

  afterEach(() => freeAll());

  after(async () => {
    await setKernelThreads(heap, 1);
  });

  it('task kinds are in the order of the dispatcher (scripts/wasm/tasks.mjs)', async () => {
    const { TASKS } = (await import(path.join(root, 'scripts/wasm/tasks.mjs'))) as {
      TASKS: { name: string }[];
    };
    assert.deepEqual(
      TASKS.map((t) => t.name),
      Object.entries(TaskKind)
        .sort((a, b) => a[1] - b[1])
        .map(([name]) => name),
    );
  });

  const gemmShapes: [number, number, number][] = [
    [7, 9, 13],
    [31, 33, 2],
    [150, 40, 70],
    [13, 17, 300], // K past one KC block
    [5, 4100, 3], // N past one NC block, wider than tall: column blocks
    [37, 3, 0], // K = 0
  ];
  for (const build of ['fma', 'simd'] as const)
    for (const [m, n, kk] of gemmShapes)
      it(`${build} SGEMM ${m}×${kk} · ${kk}×${n}: same bits on 1–4 threads, every transpose, with and without accumulation`, async () => {
        const kb = wasmKernels(heap, build);
        const a = buffer(values(m * kk, 0.1));
        const b = buffer(values(kk * n, 0.7));
        const c0 = values(m * n, 1.9);
        const c = buffer(m * n);
        for (const ta of [false, true])
          for (const tb of [false, true])
            for (const acc of [false, true]) {
              const ar: MatrixRef = { ptr: a, rowStride: ta ? 1 : kk, colStride: ta ? m : 1 };
              const br: MatrixRef = { ptr: b, rowStride: tb ? 1 : n, colStride: tb ? kk : 1 };
              await sameOnAllThreads(c, m * n, () => {
                if (acc) new Float32Array(heap.asm.memory.buffer, c, m * n).set(c0);
                kb.sgemm(m, n, kk, ar, br, c, n, acc);
              });
            }
      });

  for (const [m, n, kk] of [
    [150, 40, 300], // row blocks, K past one KC block
    [5, 4100, 3], // column blocks, N past one NC block
    [9, 200, 270], // column blocks of a packed B whose second block has 14 rows
  ])
    it(`SGEMM ${m}×${kk} · ${kk}×${n} with B packed once (packB): same bits on 1–4 threads as packing it per product`, async () => {
      const a = buffer(values(m * kk, 0.1));
      const b = buffer(values(kk * n, 0.7));
      const packed = buffer(packedBFloats(kk, n));
      k.packB({ ptr: b, rowStride: n, colStride: 1 }, kk, n, packed);
      const c = buffer(m * n);
      const ar: MatrixRef = { ptr: a, rowStride: kk, colStride: 1 };
      k.sgemm(m, n, kk, ar, { ptr: b, rowStride: n, colStride: 1 }, c, n);
      const own = bits(c, m * n);
      await sameOnAllThreads(c, m * n, () => k.sgemm(m, n, kk, ar, packedB(packed, n), c, n));
      assert.deepEqual(bits(c, m * n), own);
    });

  it('after the workers have slept, only a call coldFactor times the threshold wakes them; right after a job, the threshold itself', async () => {
    const saved = { ...taskSettings };
    const savedSpin = threadSettings.workerSpinUs;
    // A product of 64·64·64 multiply-adds, twice the threshold; cold, it needs four times.
    const [m, n, kk] = [64, 64, 64];
    Object.assign(taskSettings, {
      minGemmWork: (m * n * kk) / 2,
      minTaskWork: 1,
      minTaskDim: 1,
      warmMs: 1,
      coldFactor: 4,
    });
    const a = buffer(values(m * kk, 0.2));
    const b = buffer(values(kk * n, 0.9));
    const c = buffer(m * n);
    const big = buffer(values(256 * kk, 0.4));
    const cBig = buffer(256 * n);
    const ar: MatrixRef = { ptr: a, rowStride: kk, colStride: 1 };
    const br: MatrixRef = { ptr: b, rowStride: n, colStride: 1 };
    try {
      assert.equal(await setKernelThreads(heap, 2), 2);
      const pool = kernelThreadsOf(heap)!;
      const product = () => k.sgemm(m, n, kk, ar, br, c, n);
      const jobsAfter = (f: () => void) => {
        const before = pool.stats.jobs;
        f();
        return pool.stats.jobs - before;
      };
      const bigJob = () => k.sgemm(256, n, kk, { ptr: big, rowStride: kk, colStride: 1 }, br, cBig, n);
      // Past the workers' spin after the last job and warmMs more: they sleep.
      const asleep = () => new Promise((r) => setTimeout(r, threadSettings.workerSpinUs / 1000 + 20));
      await asleep();
      assert.equal(jobsAfter(product), 0, 'a cold call twice the threshold woke the workers');
      const warm = () => {
        // Four times the threshold: worth waking them; then the small one follows at once.
        bigJob();
        product();
      };
      assert.equal(jobsAfter(warm), 2, 'the small call right after a job stayed on the calling thread');
      // While the workers still spin after a job (here 200 ms), the threshold itself holds too.
      threadSettings.workerSpinUs = 200000;
      await asleep();
      assert.equal(jobsAfter(bigJob), 1);
      await new Promise((r) => setTimeout(r, 10));
      assert.equal(
        jobsAfter(product),
        1,
        'a call 10 ms after a job, the workers spinning, stayed on the calling thread',
      );
      await asleep();
      assert.equal(jobsAfter(product), 0, 'a call after the spin woke the workers');
    } finally {
      Object.assign(taskSettings, saved);
      threadSettings.workerSpinUs = savedSpin;
      await setKernelThreads(heap, 1);
    }
  });

  it('a worker spins for workerSpinUs after a job, then sleeps', async () => {
    const savedSpin = threadSettings.workerSpinUs;
    const restore = forceTasks(4);
    const a = buffer(values(64 * 64, 0.3));
    const c = buffer(64 * 64);
    const ar: MatrixRef = { ptr: a, rowStride: 64, colStride: 1 };
    /** CPU milliseconds of the whole process (every thread) while the main thread sleeps `ms`. */
    const cpuWhileIdle = async (ms: number) => {
      const u0 = process.cpuUsage();
      await new Promise((r) => setTimeout(r, ms));
      const u = process.cpuUsage(u0);
      return (u.user + u.system) / 1000;
    };
    try {
      assert.equal(await setKernelThreads(heap, 2), 2);
      const pool = kernelThreadsOf(heap)!;
      threadSettings.workerSpinUs = 400000;
      const jobs = pool.stats.jobs;
      k.sgemm(64, 64, 64, ar, ar, c, 64);
      assert.equal(pool.stats.jobs, jobs + 1);
      const spinning = await cpuWhileIdle(200);
      assert.ok(spinning > 60, `the worker used ${spinning} ms of CPU in the 200 ms after a job`);
      await new Promise((r) => setTimeout(r, 300));
      const asleep = await cpuWhileIdle(200);
      assert.ok(asleep < 30, `the worker used ${asleep} ms of CPU in 200 ms, 0.5 s after a job`);
      // A worker left out of a job (one thread of three wanted, then two) sleeps at once.
      assert.equal(await setKernelThreads(heap, 3), 3);
      assert.equal(await setKernelThreads(heap, 2), 2);
      k.sgemm(64, 64, 64, ar, ar, c, 64);
      await new Promise((r) => setTimeout(r, 500));
      k.sgemm(64, 64, 64, ar, ar, c, 64);
      const one = await cpuWhileIdle(200);
      assert.ok(
        one > 60 && one < 300,
        `the workers used ${one} ms of CPU in the 200 ms after a two-thread job`,
      );
    } finally {
      restore();
      threadSettings.workerSpinUs = savedSpin;
      await setKernelThreads(heap, 1);
    }
  });

  it('a batch of 16 products of odd shapes (one job): same bits on 1–4 threads', async () => {
    const shapes = Array.from({ length: 16 }, (_, i) => [3 + 5 * i, 2 + ((7 * i) % 19), 1 + ((11 * i) % 23)]);
    const total = shapes.reduce((s, [m, n]) => s + m * n, 0);
    const c = buffer(total);
    let off = 0;
    const ops = shapes.map(([m, n, kk], i) => {
      const op = {
        m,
        n,
        k: kk,
        a: { ptr: buffer(values(m * kk, i)), rowStride: kk, colStride: 1 },
        b: { ptr: buffer(values(kk * n, i + 0.5)), rowStride: 1, colStride: kk },
        c: c + 4 * off,
        ldc: n,
        acc: false,
      };
      off += m * n;
      return op;
    });
    await sameOnAllThreads(c, total, () => k.sgemmMany(ops));
  });

  const wgCases: { x: number[]; pt: number; pl: number; oh: number; ow: number }[] = [
    { x: [3, 9, 11, 8], pt: 1, pl: 1, oh: 9, ow: 11 },
    { x: [1, 13, 6, 4], pt: 2, pl: 0, oh: 12, ow: 5 },
    { x: [7, 5, 5, 12], pt: 0, pl: 2, oh: 3, ow: 6 },
  ];
  for (const { x, pt, pl, oh, ow } of wgCases)
    for (const tile of [2, 4] as const) {
      const [n, h, w, c] = x;
      const th = Math.ceil(oh / tile);
      const tw = Math.ceil(ow / tile);
      const tiles = n * th * tw;
      const positions = winogradPositions(tile);
      const f = `F(${tile}×${tile}, 3×3)`;
      /** The blocks of a transform with `ch` channels: their floats, and the part sameOnAllThreads compares. */
      const blocksOf = (ch: number) => {
        const stride = winogradBlockFloats(tiles, ch);
        return { floats: positions * stride, blocks: { count: positions, stride, len: tiles * ch } };
      };
      it(`Winograd ${f} input transform of [${x}] (pads ${pt}, ${pl}): same bits on 1–4 threads`, async () => {
        const xp = buffer(values(n * h * w * c, 0.3));
        const { floats, blocks } = blocksOf(c);
        const out = buffer(floats);
        await sameOnAllThreads(
          out,
          floats,
          () => k.wgInput(xp, n, h, w, c, pt, pl, th, tw, out, tile),
          true,
          blocks,
        );
      });
      it(`Winograd ${f} correlation of [${x}] as one job of tile slices (wgConv), forward${tile === 2 ? ' and input-gradient' : ''} operands: same bits as its three steps on 1 thread, on 2–4`, async () => {
        const co = 8;
        const xp = buffer(values(n * h * w * c, 0.7));
        const u = buffer(values(positions * c * co, 1.7));
        const y = buffer(n * oh * ow * co);
        const alloc = (floats: number) => buffer(floats);
        // U packed once as the products' panels (packWinogradWeights): the forward's bits.
        const per = packedBFloats(c, co);
        const packed = buffer(positions * per);
        for (let xi = 0; xi < positions; xi++)
          k.packB({ ptr: u + 4 * xi * c * co, rowStride: co, colStride: 1 }, c, co, packed + 4 * xi * per);
        const operands = [
          forwardOperands(u, c, co),
          packedOperands(packed, c, co),
          ...(tile === 2 ? [inputGradOperands(u, co, c)] : []),
        ];
        const outputs: Uint32Array[] = [];
        for (const ops of operands) {
          let fused = 0;
          const correlate = () => {
            const t = {
              ...k,
              wgConv: (...a: Parameters<WasmKernels['wgConv']>) => k.wgConv(...a) && ++fused > 0,
            };
            winogradCorrelate(t, alloc, xp, x, pt, pl, ops, co, y, oh, ow, tile);
          };
          await sameOnAllThreads(y, n * oh * ow * co, correlate);
          assert.equal(fused, 6, 'the correlation did not run as one job of slices on 2–4 threads');
          outputs.push(bits(y, n * oh * ow * co));
        }
        assert.deepEqual(outputs[1], outputs[0], 'packed operands gave other bits than U read as it lies');
        // Unforced, a correlation this small stays three steps (the products shared out one by one).
        assert.equal(await setKernelThreads(heap, 2), 2);
        const v = buffer(blocksOf(c).floats);
        const m = buffer(blocksOf(co).floats);
        const call = {
          x: xp,
          shape: x,
          pt,
          pl,
          th,
          tw,
          u: forwardOperands(u, c, co),
          co,
          y,
          oh,
          ow,
          v,
          m,
          tile,
        };
        assert.equal(k.wgConv(call), false);
        await setKernelThreads(heap, 1);
      });
      it(`Winograd ${f} output and output-gradient transforms to/from [${n}, ${oh}, ${ow}, ${c}]: same bits on 1–4 threads`, async () => {
        const { floats, blocks } = blocksOf(c);
        const m = buffer(values(floats, 1.1));
        const y = buffer(n * oh * ow * c);
        await sameOnAllThreads(y, n * oh * ow * c, () => k.wgOutput(m, n, oh, ow, c, th, tw, y, tile));
        const dy = buffer(values(n * oh * ow * c, 2.2));
        const d = buffer(floats);
        await sameOnAllThreads(d, floats, () => k.wgGradOut(dy, n, oh, ow, c, th, tw, d, tile), true, blocks);
      });
    }

  const geoms: TapGeometry[] = [
    // strided, dilated, asymmetric taps, channels not in fours
    { n: 3, h: 9, w: 7, c: 6, oh: 5, ow: 5, kh: 3, kw: 2, sh: 2, sw: 1, dh: 1, dw: 2, top: 1, left: 0 },
    // an RGB stem (planar im2col), one image: row ranges only
    { n: 1, h: 13, w: 11, c: 3, oh: 7, ow: 6, kh: 7, kw: 7, sh: 2, sw: 2, dh: 1, dw: 1, top: 3, left: 3 },
    // many images, a plain 3×3
    { n: 7, h: 6, w: 5, c: 8, oh: 6, ow: 5, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, top: 1, left: 1 },
  ];
  for (const g of geoms) {
    const xs = g.n * g.h * g.w * g.c;
    const cs = g.n * g.oh * g.ow * g.kh * g.kw * g.c;
    const label = `[${g.n}, ${g.h}, ${g.w}, ${g.c}] ${g.kh}×${g.kw} s${g.sh},${g.sw} d${g.dh},${g.dw}`;
    it(`im2col and im2colHwc of ${label}: same bits on 1–4 threads`, async () => {
      const xp = buffer(values(xs, 0.9));
      const out = buffer(cs);
      await sameOnAllThreads(out, cs, () => k.im2col(xp, out, g));
      if (g.c >= 4) await sameOnAllThreads(out, cs, () => k.im2colHwc(xp, out, g));
    });
    it(`col2im and col2imHwc of ${label}: same bits on 1–4 threads`, async () => {
      const cols = buffer(values(cs, 1.7));
      const dx = buffer(xs);
      if (g.c >= 4) await sameOnAllThreads(dx, xs, () => k.col2im(cols, dx, g), g.n > 1);
      await sameOnAllThreads(dx, xs, () => k.col2imHwc(cols, dx, g), g.n > 1);
    });
  }

  const volumes: [string, VolumeTapGeometry][] = [
    [
      // strided, dilated, asymmetric pads and a crop, channels not in fours, a range of output depths
      '[5, 5, 6, 7] 3×2×3 s2,1,2 d1,2,1, depths 1–2',
      {
        c: 5,
        d: 5,
        h: 6,
        w: 7,
        od0: 1,
        odn: 2,
        oh: 4,
        ow: 4,
        kd: 3,
        kh: 2,
        kw: 3,
        sd: 2,
        sh: 1,
        sw: 2,
        dd: 1,
        dh: 2,
        dw: 1,
        front: 1,
        top: 0,
        left: -1,
      },
    ],
    [
      // two batch elements' 3 channels read as 6 (convGrad3d's kept tap matrices), a plain 3×3×3
      '[2·3, 4, 5, 6] 3×3×3 pad 1, all depths',
      {
        c: 6,
        d: 4,
        h: 5,
        w: 6,
        od0: 0,
        odn: 4,
        oh: 5,
        ow: 6,
        kd: 3,
        kh: 3,
        kw: 3,
        sd: 1,
        sh: 1,
        sw: 1,
        dd: 1,
        dh: 1,
        dw: 1,
        front: 1,
        top: 1,
        left: 1,
      },
    ],
  ];
  for (const [label, g] of volumes) {
    const xs = g.c * g.d * g.h * g.w;
    const cs = g.c * g.kd * g.kh * g.kw * g.odn * g.oh * g.ow;
    it(`3-D im2col (im2col3d) of ${label}: same bits on 1–4 threads`, async () => {
      const xp = buffer(values(xs, 0.9));
      const out = buffer(cs);
      await sameOnAllThreads(out, cs, () => k.im2col3d(xp, out, g));
    });
    it(`3-D col2im (col2im3d) of ${label}, zeroing and accumulating: same bits on 1–4 threads`, async () => {
      const cols = buffer(values(cs, 1.7));
      const dx = buffer(xs);
      await sameOnAllThreads(dx, xs, () => k.col2im3d(cols, dx, g, true));
      const start = values(xs, 0.3);
      await sameOnAllThreads(dx, xs, () => {
        new Float32Array(heap.asm.memory.buffer, dx, xs).set(start);
        k.col2im3d(cols, dx, g, false);
      });
    });
  }

  // Two batch elements, two groups of 3 input channels, 4 output channels; strided, dilated and
  // cropped taps; 5 output depths in steps of 2.
  const convCall = (x: number, w: number, y: number): VolumeConvCall => ({
    g: {
      c: 6,
      d: 6,
      h: 5,
      w: 7,
      od0: 0,
      odn: 5,
      oh: 4,
      ow: 3,
      kd: 2,
      kh: 3,
      kw: 2,
      sd: 1,
      sh: 1,
      sw: 2,
      dd: 1,
      dh: 2,
      dw: 1,
      front: 1,
      top: 1,
      left: -1,
    },
    n: 2,
    co: 4,
    group: 2,
    step: 2,
    w,
    x,
    y,
  });
  it('a 3-D convolution fused with its tap copies (conv3dForward, conv3dInputGrad, conv3dFilterGrad), groups, steps of depths, blocks of partials: same bits on 1–4 threads', async () => {
    const probe = convCall(0, 0, 0);
    const xs = probe.n * probe.g.c * probe.g.d * probe.g.h * probe.g.w;
    const ys = probe.n * probe.co * probe.g.odn * probe.g.oh * probe.g.ow;
    const ws = probe.co * (probe.g.c / probe.group) * probe.g.kd * probe.g.kh * probe.g.kw;
    const x = buffer(values(xs, 0.9));
    const w = buffer(values(ws, 0.4));
    const y = buffer(ys);
    await sameOnAllThreads(y, ys, () =>
      withScratch(heap, (alloc) => k.conv3dForward(convCall(x, w, y), alloc)),
    );
    const dy = buffer(values(ys, 1.3));
    const dx = buffer(xs);
    await sameOnAllThreads(dx, xs, () =>
      withScratch(heap, (alloc) => k.conv3dInputGrad(convCall(dx, w, dy), alloc)),
    );
    // The weight gradient: a partial a step (3 a batch element), then blocks of two steps.
    const dw = buffer(ws);
    const filter = () => withScratch(heap, (alloc) => k.conv3dFilterGrad(convCall(x, 0, dy), dw, alloc));
    await sameOnAllThreads(dw, ws, filter);
    const saved = taskSettings.maxPartialFloats;
    taskSettings.maxPartialFloats = 2 * 2 * ws;
    try {
      assert.equal(volumeFilterBlocks(convCall(x, 0, dy)).depths, 4);
      await sameOnAllThreads(dw, ws, filter);
    } finally {
      taskSettings.maxPartialFloats = saved;
    }
  });

  it('max-pool gradient with ties and padding: same bits on 1–4 threads', async () => {
    const g: TapGeometry = {
      ...{ n: 5, h: 9, w: 7, c: 6, oh: 5, ow: 4, kh: 3, kw: 3, sh: 2, sw: 2, dh: 1, dw: 1, top: 1, left: 1 },
    };
    // Rounded values make ties inside windows.
    const xv = values(g.n * g.h * g.w * g.c, 0.2).map((v) => Math.round(v * 2) / 2);
    const xp = buffer(xv);
    const yv = new Float32Array(g.n * g.oh * g.ow * g.c);
    for (let b = 0; b < g.n; b++)
      for (let oy = 0; oy < g.oh; oy++)
        for (let ox = 0; ox < g.ow; ox++)
          for (let ch = 0; ch < g.c; ch++) {
            let best = -Infinity;
            for (let i = 0; i < g.kh; i++)
              for (let j = 0; j < g.kw; j++) {
                const y = oy * g.sh - g.top + i;
                const xx = ox * g.sw - g.left + j;
                if (y >= 0 && y < g.h && xx >= 0 && xx < g.w)
                  best = Math.max(best, xv[((b * g.h + y) * g.w + xx) * g.c + ch]);
              }
            yv[((b * g.oh + oy) * g.ow + ox) * g.c + ch] = best;
          }
    const y = buffer(yv);
    const dy = buffer(values(yv.length, 0.4));
    const dx = buffer(xv.length);
    await sameOnAllThreads(dx, xv.length, () => k.maxPoolGrad(dy, xp, y, dx, g));
  });

  /**
   * Runs `f` (tensors out, in a tidy) on 1 thread and then on 3, and checks that the threads ran
   * jobs and that every output is the same bits (`label`: what output i is).
   */
  async function sameTensorsOn1And3Threads(
    f: () => tf.Tensor[],
    label: (i: number) => string,
  ): Promise<void> {
    const run = () =>
      tf.tidy(f).map((t) => {
        const out = new Uint32Array((t.dataSync() as Float32Array).slice().buffer);
        t.dispose();
        return out;
      });
    try {
      await setKernelThreads(heap, 1);
      const want = run();
      await setKernelThreads(heap, 3);
      const jobs = kernelThreadsOf(heap)!.stats.jobs;
      const got = run();
      assert.ok(kernelThreadsOf(heap)!.stats.jobs > jobs, 'no job ran on the threads');
      got.forEach((t, i) => assert.deepEqual(t, want[i], `${label(i)} differs`));
    } finally {
      await setKernelThreads(heap, 1);
    }
  }

  it('convolutions through TF.js (im2col, Winograd; forward and both gradients): same bits on 1 and 3 threads', async () => {
    const restore = forceTasksAndWinograd(4);
    try {
      await sameTensorsOn1And3Threads(
        () => {
          const x = tf.tensor4d(values(2 * 11 * 9 * 8, 0.5), [2, 11, 9, 8]);
          const f = (xi: tf.Tensor, wi: tf.Tensor, w2: tf.Tensor) =>
            tf.sum(
              tf.square(
                tf.conv2d(
                  tf.relu(tf.conv2d(xi as tf.Tensor4D, wi as tf.Tensor4D, 1, 'same')),
                  w2 as tf.Tensor4D,
                  2,
                  'valid',
                ),
              ),
            );
          const w = tf.tensor4d(values(3 * 3 * 8 * 12, 1.5), [3, 3, 8, 12]);
          const w2 = tf.tensor4d(values(2 * 3 * 12 * 5, 2.5), [2, 3, 12, 5]);
          return tf.grads(f)([x, w, w2]);
        },
        (i) => `gradient ${i}`,
      );
    } finally {
      restore();
    }
  });

  for (const mode of ['kept taps', 'fused steps', 'steps not fused'] as const)
    it(`3-D convolutions through TF.js (${mode}; forward and both gradients, groups): same bits on 1 and 3 threads`, async () => {
      const restore = forceTasks(4);
      const saved = { ...volumeSettings };
      if (mode !== 'kept taps') Object.assign(volumeSettings, { keepTapsFloats: 0, chunkFloats: 1 });
      if (mode === 'steps not fused') volumeSettings.fusedFloats = 0;
      try {
        const g: VolumeGeom = {
          kernel: [3, 2, 3],
          strides: [1, 2, 1],
          dilations: [1, 1, 2],
          padBegin: [1, 0, 2],
          padEnd: [1, 1, 2],
        };
        await sameTensorsOn1And3Threads(
          () => {
            const x = tf.tensor(values(2 * 6 * 5 * 7 * 6, 0.5), [2, 6, 5, 7, 6]);
            const w = tf.tensor(values(4 * 3 * 3 * 2 * 3, 1.5), [4, 3, 3, 2, 3]);
            const f = (xi: tf.Tensor, wi: tf.Tensor) => tf.sum(tf.square(conv3dOwn(xi, wi, g, 2, true)));
            return [...tf.grads(f)([x, w]), conv3dOwn(x, w, g, 2, true)];
          },
          (i) => ['input gradient', 'weight gradient', 'output'][i],
        );
      } finally {
        Object.assign(volumeSettings, saved);
        restore();
      }
    });

  it('a whole probe gives the same statistics on 1 and 2 threads, and reports its threads', async () => {
    const model = await openModel(path.join(root, 'test/fixtures/onnx/probe/resnet18.onnx'));
    const opts = resnetProbe(3, 2);
    const restore = forceTasksAndWinograd(4);
    try {
      const one = await runProbe(model, { ...opts, threads: 1 });
      const two = await runProbe(model, { ...opts, threads: 2 });
      // The workers start once per process: another probe runs on the same ones (and with them
      // up from its start, it queues the statistics and weight gradients for them).
      const worker = kernelThreadsOf(heap)!.workerOf(1);
      assert.ok(worker);
      assert.equal(await setKernelThreads(heap, 2), 2);
      const queued = kernelThreadsOf(heap)!.stats.queued;
      const again = await runProbe(model, { ...opts, threads: 2 });
      assert.equal(kernelThreadsOf(heap)!.workerOf(1), worker);
      assert.ok(kernelThreadsOf(heap)!.stats.queued > queued, 'nothing was queued for the workers');
      assert.deepEqual(again.params, two.params);
      assert.deepEqual(again.activations, two.activations);
      assert.equal(one.backend.threads, 1);
      assert.equal(two.backend.threads, 2);
      assertSameStatistics(two, one);
    } finally {
      restore();
    }
  });

  it('a volumetric model (the r3d18 gradient fixture) gives the same statistics on 1 and 2 threads, its 3-D tap copies cut', async () => {
    const model = await openModel(path.join(root, 'test/fixtures/onnx/probe/r3d18.onnx'));
    const file = path.join(root, 'test/fixtures/grads/r3d18.input.npy');
    const opts: ProbeOptions = {
      source: { kind: 'npy', files: { '': file } },
      batchSize: 2,
      batches: 1,
      loss: 'mean-square',
      backend: 'wasm',
    };
    const restore = forceTasks(4);
    try {
      const one = await runProbe(model, { ...opts, threads: 1 });
      const jobs = kernelThreadsOf(heap)!.stats.jobs;
      const copies = volumeRuns.forward;
      const two = await runProbe(model, { ...opts, threads: 2 });
      assert.ok(volumeRuns.forward > copies, 'no convolution ran on the 3-D kernels');
      assert.ok(kernelThreadsOf(heap)!.stats.jobs > jobs, 'no job ran on the threads');
      assert.equal(two.backend.threads, 2);
      assertSameStatistics(two, one);
    } finally {
      restore();
    }
  });

  it("a pass's queued work runs on beside the next forward pass: one wait for the queue a batch, the same statistics", async () => {
    const model = await openModel(path.join(root, 'test/fixtures/onnx/probe/resnet18.onnx'));
    const opts = resnetProbe(4, 3);
    const restore = forceTasksAndWinograd(4);
    try {
      const one = await runProbe(model, { ...opts, threads: 1 });
      assert.equal(await setKernelThreads(heap, 2), 2);
      const pool = kernelThreadsOf(heap)!;
      const settle = pool.settle.bind(pool);
      // Where each wait came: the tape's length when inside a pass (recording its forward pass).
      const waits: (number | undefined)[] = [];
      pool.settle = () => (waits.push(tapeMark()), settle());
      const queued = pool.stats.queued;
      let two;
      try {
        two = await runProbe(model, { ...opts, threads: 2 });
      } finally {
        pool.settle = settle;
      }
      assert.ok(pool.stats.queued > queued, 'nothing was queued');
      // Each later pass waits for the one before between its forward and backward passes (a
      // tape recorded), and the last is waited for at the end: no pass end, no read waited.
      assert.equal(waits.length, opts.batches, `waits at tape lengths ${waits.join(', ')}`);
      assert.ok(waits.slice(0, -1).every((t) => t !== undefined && t > 0));
      assert.equal(waits.at(-1), undefined);
      assert.equal(two.backend.threads, 2);
      assertSameStatistics(two, one);
    } finally {
      restore();
    }
  });

  it('a probe whose first batch sends the threads nothing runs its others on one thread, and says so', async () => {
    const model = await openModel(path.join(root, 'samples/sample.onnx'));
    const opts: ProbeOptions = {
      source: { kind: 'synthetic', seed: 5 },
      batchSize: 4,
      batches: 3,
      loss: 'mean-square',
      backend: 'wasm',
    };
    const one = await runProbe(model, { ...opts, threads: 1 });
    assert.equal(await setKernelThreads(heap, 2), 2);
    const pool = kernelThreadsOf(heap)!;
    const before = { ...pool.stats };
    const resizes: number[] = [];
    const resize = pool.resize.bind(pool);
    pool.resize = (n: number) => (resizes.push(n), resize(n));
    let two;
    try {
      two = await runProbe(model, { ...opts, threads: 2 });
    } finally {
      pool.resize = resize;
    }
    // The sample model's kernel calls all stay below the thresholds: nothing went to the workers.
    assert.equal(pool.stats.jobs, before.jobs);
    assert.equal(pool.stats.queued, before.queued);
    // Down to one after the first batch, back to the two asked for once the run was over.
    assert.deepEqual(resizes.slice(1), [1, 2]);
    assert.equal(pool.threads, 2);
    assert.equal(two.backend.threads, 1);
    assert.equal(two.backend.threadsAsked, 2);
    assert.match(timingText(two), /on 1 thread \(2 asked: no kernel call was large enough to share out\)$/);
    assert.equal(one.backend.threadsAsked, undefined);
    assertSameStatistics(two, one);
    // One batch: nothing to decide.
    const single = await runProbe(model, { ...opts, batches: 1, threads: 2 });
    assert.equal(single.backend.threads, 2);
    assert.equal(single.backend.threadsAsked, undefined);
  });

  it("once two threads run, the process's other threads run at the lowest priority, the main thread and the workers at theirs (Linux)", async function () {
    if (!fs.existsSync('/proc/self/task')) this.skip();
    const niceOf = (tid: number) =>
      Number(fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ')[16]);
    const own = niceOf(process.pid);
    assert.equal(await setKernelThreads(heap, 3), 3);
    const workers = [...kernelWorkerThreads.ids].filter((t) => fs.existsSync(`/proc/self/task/${t}`));
    assert.ok(workers.length >= 2, `the workers reported ${workers.length} thread ids`);
    assert.equal(kernelWorkerThreads.starting, 0);
    const others = fs
      .readdirSync('/proc/self/task')
      .map(Number)
      .filter((t) => t !== process.pid && !workers.includes(t));
    assert.equal(niceOf(process.pid), own, 'the main thread was lowered');
    for (const t of workers) assert.equal(niceOf(t), own, `kernel worker ${t} was lowered`);
    // V8's helper threads (its compiler and garbage collector) are always there.
    assert.ok(
      others.some((t) => niceOf(t) === 19),
      `no other thread at nice 19: ${others.map((t) => `${t}:${niceOf(t)}`).join(' ')}`,
    );
    // And the kernels still give one thread's bits.
    const a = buffer(values(96 * 64, 0.3));
    const c = buffer(96 * 96);
    const ar: MatrixRef = { ptr: a, rowStride: 64, colStride: 1 };
    await sameOnAllThreads(c, 96 * 96, () =>
      k.sgemm(96, 96, 64, ar, { ptr: a, rowStride: 1, colStride: 64 }, c, 96),
    );
    await setKernelThreads(heap, 1);
  });

  describe('failures', () => {
    const m = 64;
    let a: number;
    let c: number;
    let want: Uint32Array;
    const product = () =>
      k.sgemm(m, m, m, { ptr: a, rowStride: m, colStride: 1 }, { ptr: a, rowStride: 1, colStride: m }, c, m);
    let restore: () => void;

    beforeEach(async () => {
      a = buffer(values(m * m, 0.1));
      c = buffer(m * m);
      await setKernelThreads(heap, 1);
      product();
      want = bits(c, m * m);
      restore = forceTasks(4);
      assert.equal(await setKernelThreads(heap, 3), 3);
    });
    afterEach(() => restore());

    const check = () => {
      new Float32Array(heap.asm.memory.buffer, c, m * m).fill(0);
      product();
      assert.deepEqual(bits(c, m * m), want);
    };

    it('a worker that throws ends the job with its error; the next job runs on every thread', () => {
      kernelThreadsOf(heap)!.failNextJob(2);
      assert.throws(
        product,
        (e: unknown) =>
          e instanceof KernelThreadError &&
          /kernel thread 2 failed: Error: a failure injected by a test/.test(e.message),
      );
      assert.equal(kernelThreadsOf(heap)!.threads, 3);
      check();
    });

    it('a worker that dies during a job ends it with an error; the pool carries on and is restored', async () => {
      const pool = kernelThreadsOf(heap)!;
      const dead = pool.workerOf(1);
      pool.failNextJob(1, true);
      assert.throws(
        product,
        (e: unknown) => e instanceof KernelThreadError && /stopped during a job/.test(e.message),
      );
      check();
      assert.equal(pool.workerOf(1), undefined);
      assert.equal(await setKernelThreads(heap, 3), 3);
      assert.ok(pool.workerOf(1) && pool.workerOf(1) !== dead);
      check();
    });

    it('a worker stopped between jobs is left out, then replaced', async () => {
      const pool = kernelThreadsOf(heap)!;
      const dead = pool.workerOf(2);
      await dead!.terminate();
      check();
      assert.equal(pool.workerOf(2), undefined);
      assert.equal(await setKernelThreads(heap, 3), 3);
      assert.ok(pool.workerOf(2) && pool.workerOf(2) !== dead);
      check();
    });

    it('a probe whose worker fails rejects with the message; the next probe runs on every thread', async () => {
      const model = await openModel(path.join(root, 'test/fixtures/onnx/probe/resnet18.onnx'));
      const opts: ProbeOptions = { ...resnetProbe(0, 1), threads: 3 };
      // Every call on the threads: with the thresholds as they are, whether a call of this small
      // model goes to them depends on how long the workers slept (the cold gate), and a probe
      // that gave worker 1 nothing would not fail.
      const restore = forceTasks(4);
      try {
        kernelThreadsOf(heap)!.failNextJob(1);
        await assert.rejects(runProbe(model, opts), /kernel thread 1 failed/);
        const r = await runProbe(model, opts);
        assert.equal(r.backend.threads, 3);
      } finally {
        restore();
      }
    });
  });
});
