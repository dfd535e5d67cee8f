/**
 * The SGEMM jobs of one probe pass, replayed back to back: records every sgemm / sgemmMany call
 * of a pass (shapes, strides, accumulation; the batches of products as they are, one job each),
 * lays each operand out afresh on the WASM heap, then runs the whole list on one thread and on all
 * (or --threads N), alternating, --reps times each. Prints JSON: ms for the list, GFLOP/s and the
 * speedup. Against the same kernels' time inside a pass (`bench/probe.ts --breakdown`), the gap
 * is what a pass costs them beyond the arithmetic: operands just written by the main thread, a
 * worker that idled through the serial stretch before each job.
 *
 *   npx tsx bench/gemmReplay.ts [--model FILE.onnx] [--reps R] [--threads N]
 *
 * The model's input is FILE.input.npy beside it; the default is the ResNet-18 of bench/probe.ts.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../runtime/probe/backend';
import {
  setKernelThreads,
  wasmKernels,
  type EmscriptenHeap,
  type MatrixRef,
} from '../runtime/probe/wasm/wasmKernels';
import { coreCount } from '../runtime/probe/wasm/kernelThreads';
import type { GemmOp } from '../runtime/probe/wasm/kernelTasks';
import { argValue, barePasses, median } from './probeTiming';
import { heapMalloc } from '../runtime/probe/wasm/heap';

const modelFile = path.resolve(argValue('--model') ?? 'bench/results/probe/resnet18_full.onnx');
const reps = Math.max(1, Number(argValue('--reps')) || 15);
const many = Math.max(1, Number(argValue('--threads')) || coreCount());

/** Floats a strided operand spans. */
const extent = (r: MatrixRef, rows: number, cols: number) =>
  rows && cols ? (rows - 1) * r.rowStride + (cols - 1) * r.colStride + 1 : 0;

async function main(): Promise<void> {
  await initBackend('wasm', { threads: 1 });
  const heap = (tf.backend() as unknown as { wasm: EmscriptenHeap }).wasm;
  const k = wasmKernels(heap);
  const { ex, pass } = await barePasses(modelFile);
  await pass();
  // Record one pass's jobs (sgemm goes through sgemmMany).
  const jobs: GemmOp[][] = [];
  const sgemmMany = k.sgemmMany;
  k.sgemmMany = (ops) => {
    jobs.push(ops.map((o) => ({ ...o, a: { ...o.a }, b: { ...o.b } })));
    sgemmMany(ops);
  };
  try {
    await pass();
  } finally {
    k.sgemmMany = sgemmMany;
  }
  ex.dispose();
  // Fresh operands for every product, filled so that no float is a denormal or NaN.
  let flops = 0;
  const fill = (floats: number, value: number) => {
    const p = heapMalloc(heap, 4 * Math.max(floats, 1));
    if (!p) throw new Error('the WASM heap has no room for the replayed operands');
    new Float32Array(heap.asm.memory.buffer, p, floats).fill(value);
    return p;
  };
  const replay = jobs.map((ops) =>
    ops.map((o) => {
      flops += 2 * o.m * o.n * o.k;
      return {
        ...o,
        a: { ...o.a, ptr: fill(extent(o.a, o.m, o.k), 0.5) },
        b: { ...o.b, ptr: fill(extent(o.b, o.k, o.n), 0.25) },
        c: fill(o.m ? (o.m - 1) * o.ldc + o.n : 0, 0),
      };
    }),
  );
  const runAll = () => {
    const t0 = performance.now();
    for (const ops of replay) k.sgemmMany(ops);
    return performance.now() - t0;
  };
  const counts = [...new Set([1, many])];
  const times = new Map(counts.map((t) => [t, [] as number[]]));
  for (let r = 0; r <= reps; r++)
    for (const t of counts) {
      await setKernelThreads(heap, t);
      runAll();
      const ms = runAll();
      if (r > 0) times.get(t)!.push(ms);
    }
  await setKernelThreads(heap, 1);
  const round = (v: number, d = 10) => Math.round(v * d) / d;
  const ms = (t: number) => median(times.get(t)!);
  console.log(
    JSON.stringify(
      {
        bench: 'gemmReplay',
        model: path.basename(modelFile),
        cpu: os.cpus()[0]?.model,
        cores: os.cpus().length,
        jobs: jobs.length,
        products: jobs.reduce((s, ops) => s + ops.length, 0),
        gflop: round(flops / 1e9, 100),
        threads: Object.fromEntries(
          counts.map((t) => [t, { msMedian: round(ms(t), 100), gflops: round(flops / 1e6 / ms(t)) }]),
        ),
        speedup: round(ms(1) / ms(many), 100),
      },
      null,
      1,
    ),
  );
  process.exit(0);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
