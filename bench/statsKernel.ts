/**
 * The probe's statistics kernels (gradStats, diffSq) on the WASM heap: median milliseconds (wall,
 * and the process's CPU time, which a loaded machine inflates less) and GB/s over a tensor of
 * ordinary gradient values and over one whose squares leave float32's range (values from 1e-40
 * to 1e30, which take the kernels' exact f64 path), in both builds.
 *
 *   npx tsx bench/statsKernel.ts [--floats N] [--reps R]
 */
import * as tf from '@tensorflow/tfjs-core';
import * as os from 'node:os';
import { initBackend } from '../runtime/probe/backend';
import { heapAddress, type WasmBackendHeap } from '../runtime/probe/wasm/heap';
import { wasmKernels } from '../runtime/probe/wasm/wasmKernels';
import { median } from './probeTiming';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
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

async function main(): Promise<void> {
  const n = arg('floats', 4 * 1024 * 1024);
  const reps = arg('reps', 31);
  await initBackend('wasm');
  const backend = tf.backend() as unknown as WasmBackendHeap;
  const rows = [];
  for (const extreme of [false, true]) {
    const a = tf.tensor1d(values(n, extreme));
    const b = tf.tensor1d(values(n, extreme).reverse());
    for (const build of ['fma', 'simd'] as const) {
      const k = wasmKernels(backend.wasm, build);
      const pa = heapAddress(backend, a);
      const pb = heapAddress(backend, b);
      /** Median wall and CPU milliseconds of `f`. */
      const time = (f: () => void) => {
        for (let i = 0; i < 5; i++) f(); // warm, and let V8 tier the module up
        const wall: number[] = [];
        const cpu: number[] = [];
        for (let i = 0; i < reps; i++) {
          const c0 = process.cpuUsage();
          const t0 = performance.now();
          f();
          wall.push(performance.now() - t0);
          cpu.push(process.cpuUsage(c0).user / 1000);
        }
        return { wall: median(wall), cpu: median(cpu) };
      };
      const g = time(() => k.gradStats(pa, n));
      const d = time(() => k.diffSq(pa, pb, n));
      rows.push({
        values: extreme ? '1e-40…1e30' : 'unit scale',
        build,
        gradStatsMs: +g.wall.toFixed(3),
        gradStatsCpuMs: +g.cpu.toFixed(3),
        gradStatsGBs: +((4 * n) / g.wall / 1e6).toFixed(2),
        diffSqMs: +d.wall.toFixed(3),
        diffSqCpuMs: +d.cpu.toFixed(3),
        diffSqGBs: +((8 * n) / d.wall / 1e6).toFixed(2),
      });
    }
    tf.dispose([a, b]);
  }
  console.log(
    JSON.stringify({ floats: n, reps, load: os.loadavg().map((l) => +l.toFixed(2)), rows }, null, 2),
  );
}

void main();
