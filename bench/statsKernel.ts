/**
 * The probe's statistics kernels (gradStats, diffSq) on the WASM heap: median milliseconds (wall,
 * and the process's CPU time, all threads, which a loaded machine inflates less) and GB/s over a
 * tensor of ordinary gradient values and over one whose squares leave float32's range (values
 * from 1e-40 to 1e30, which take the kernels' exact f64 path), in both builds, on 1 and on 2
 * kernel threads (or --threads); then, for the fma build on ordinary values, the medians by
 * tensor size on 1 thread and on the threads with every call sent to them, calls back to back
 * (the workers awake) and after 2 ms of other work (`Asleep`: the workers must be woken, as in a
 * probe), which shows where the threads start to pay (taskSettings.minStatsBytes in
 * runtime/probe/wasm/kernelTasks.ts).
 *
 *   npx tsx bench/statsKernel.ts [--floats N] [--reps R] [--threads 1,2] [--sizes 16384,65536,…]
 */
import * as tf from '@tensorflow/tfjs-core';
import * as os from 'node:os';
import { initBackend } from '../runtime/probe/backend';
import { heapAddress, type WasmBackendHeap } from '../runtime/probe/wasm/heap';
import { setKernelThreads, wasmKernels } from '../runtime/probe/wasm/wasmKernels';
import { taskSettings } from '../runtime/probe/wasm/kernelTasks';
import { median } from './probeTiming';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

function list(name: string, dflt: number[]): number[] {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1].split(',').map(Number) : dflt;
}

/** Seeded values: normal-ish gradients of unit scale, or spread over 1e-40 … 1e30. */
function values(n: number, extreme: boolean): Float32Array {
  let s = 12345;
  const next = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  return Float32Array.from({ length: n }, () => {
    const v = next();
    return extreme ? v * 10 ** Math.round(next() * 35 - 5) : v;
  });
}

/**
 * Median wall and CPU milliseconds of `f` over `reps` runs; with `gapMs`, the main thread spins
 * that long before each run, so that the kernel threads have gone to sleep (as in a probe, where
 * a statistics call follows TF.js's own kernels).
 */
function time(f: () => void, reps: number, gapMs = 0): { wall: number; cpu: number } {
  for (let i = 0; i < 5; i++) f(); // warm, and let V8 tier the module up
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < reps; i++) {
    const end = performance.now() + gapMs;
    while (performance.now() < end);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    f();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { wall: median(wall), cpu: median(cpu) };
}

async function main(): Promise<void> {
  const n = arg('floats', 4 * 1024 * 1024);
  const reps = arg('reps', 31);
  const threadCounts = list('threads', [1, 2]);
  const sizes = list('sizes', [65536, 131072, 262144, 524288, 1048576, 2359296]);
  await initBackend('wasm', { threads: 1 });
  const backend = tf.backend() as unknown as WasmBackendHeap;
  const rows = [];
  for (const extreme of [false, true]) {
    const a = tf.tensor1d(values(n, extreme));
    const b = tf.tensor1d(values(n, extreme).reverse());
    for (const build of ['fma', 'simd'] as const) {
      const k = wasmKernels(backend.wasm, build);
      const pa = heapAddress(backend, a);
      const pb = heapAddress(backend, b);
      for (const threads of threadCounts) {
        const used = await setKernelThreads(backend.wasm, threads);
        const g = time(() => k.gradStats(pa, n), reps);
        const d = time(() => k.diffSq(pa, pb, n), reps);
        rows.push({
          values: extreme ? '1e-40…1e30' : 'unit scale',
          build,
          threads: used,
          gradStatsMs: +g.wall.toFixed(3),
          gradStatsCpuMs: +g.cpu.toFixed(3),
          gradStatsGBs: +((4 * n) / g.wall / 1e6).toFixed(2),
          diffSqMs: +d.wall.toFixed(3),
          diffSqCpuMs: +d.cpu.toFixed(3),
          diffSqGBs: +((8 * n) / d.wall / 1e6).toFixed(2),
        });
      }
    }
    tf.dispose([a, b]);
  }
  // By size: 1 thread, then every call on the threads (however small).
  const k = wasmKernels(backend.wasm, 'fma');
  const bySize = [];
  const saved = taskSettings.minStatsBytes;
  const most = Math.max(...threadCounts);
  for (const size of sizes) {
    const a = tf.tensor1d(values(size, false));
    const b = tf.tensor1d(values(size, false).reverse());
    const [pa, pb] = [heapAddress(backend, a), heapAddress(backend, b)];
    const row: Record<string, number> = { floats: size };
    for (const threads of [1, most]) {
      await setKernelThreads(backend.wasm, threads);
      taskSettings.minStatsBytes = 0;
      for (const [gap, tag] of [
        [0, ''],
        [2, 'Asleep'],
      ] as const) {
        row[`gradStatsMs${threads}${tag}`] = +time(() => k.gradStats(pa, size), reps, gap).wall.toFixed(4);
        row[`diffSqMs${threads}${tag}`] = +time(() => k.diffSq(pa, pb, size), reps, gap).wall.toFixed(4);
      }
      taskSettings.minStatsBytes = saved;
    }
    bySize.push(row);
    tf.dispose([a, b]);
  }
  await setKernelThreads(backend.wasm, 1);
  console.log(
    JSON.stringify(
      {
        floats: n,
        reps,
        cores: os.cpus().length,
        load: os.loadavg().map((l) => +l.toFixed(2)),
        minStatsBytes: taskSettings.minStatsBytes,
        rows,
        bySize,
      },
      null,
      2,
    ),
  );
}

void main();
