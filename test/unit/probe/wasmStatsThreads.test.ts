/**
 * The statistics kernels (gradStats, diffSq) on the kernel threads: on odd lengths around the
 * kernels' block (512) and the threads' chunk (65536), with ordinary values, blocks of huge (1e30)
 * and tiny (1e-30) ones, subnormals, zeros, NaN and ±Inf, the results on 1, 2, 3 and 4 threads are
 * the same bits, and they agree with float64 sums in JavaScript (sums within 1e-6 relative, the
 * maximum and the counts exactly). Calls too small for the threads stay on the calling thread
 * and give the same bits as the threads.
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../runtime/probe/backend';
import {
  kernelThreadsOf,
  setKernelThreads,
  wasmKernels,
  type EmscriptenHeap,
} from '../../../runtime/probe/wasm/wasmKernels';
import { STATS_CHUNK, taskSettings } from '../../../runtime/probe/wasm/kernelTasks';
import { heapMalloc } from '../../../runtime/probe/wasm/heap';

const LENGTHS = [0, 1, 511, 513, 65535, 65537, 3 * 65536 + 7];
const KINDS = ['unit', 'extreme', 'inf', 'nan'] as const;
type Kind = (typeof KINDS)[number];

/** Relative tolerance of the sums against float64 (the kernels add blocks of 512 in f32 lanes). */
const TOL = 1e-6;

/**
 * Seeded values: unit scale with every 9th exactly zero; 'extreme' puts 1e30 in every third block
 * of 512 and 1e-30 (with subnormals) in the next; 'inf' adds +Inf and −Inf, 'nan' also a NaN.
 */
function values(kind: Kind, n: number, phase: number): Float32Array {
  const a = Float32Array.from({ length: n }, (_, i) => {
    if (i % 9 === 4) return 0;
    const v = Math.sin(i * 1.37 + phase) + (i % 2 ? 0.3 : -0.3);
    if (kind === 'unit') return v;
    const block = Math.floor(i / 512) % 3;
    if (block === 1) return v * 1e30;
    if (block === 2) return v * (i % 5 === 0 ? 1e-40 : 1e-30);
    return v;
  });
  const put = (at: number, x: number) => {
    if (n > 0) a[Math.min(n - 1, at)] = x;
  };
  if (kind === 'inf' || kind === 'nan') {
    put(n - 1, Infinity);
    put(Math.floor(n / 3), -Infinity);
  }
  if (kind === 'nan') put(Math.floor(n / 2) + 1, NaN);
  return a;
}

/** gradStats and diffSq in float64. */
function reference(t: Float32Array, s: Float32Array): number[] {
  let sq = 0;
  let ab = 0;
  let mx = 0;
  let z = 0;
  let nf = 0;
  let ss = 0;
  let dd = 0;
  for (let i = 0; i < t.length; i++) {
    const x = t[i];
    sq += x * x;
    ab += Math.abs(x);
    mx = Math.max(mx, Math.abs(x));
    if (x === 0) z++;
    if (!Number.isFinite(x)) nf++;
    ss += s[i] * s[i];
    dd += (t[i] - s[i]) ** 2;
  }
  return [sq, ab, mx, z, nf, ss, dd];
}

function close(got: number, want: number, what: string): void {
  if (!Number.isFinite(want)) {
    assert.ok(Object.is(got, want), `${what}: ${got} vs ${want}`);
    return;
  }
  const err = want === 0 ? Math.abs(got) : Math.abs(got - want) / Math.abs(want);
  assert.ok(err <= TOL, `${what}: ${got} vs ${want} (relative error ${err})`);
}

describe('WASM statistics kernels on the kernel threads', function () {
  this.timeout(180000);
  let heap: EmscriptenHeap;
  const saved = { ...taskSettings };

  before(async () => {
    await initBackend('wasm', { threads: 1 });
    heap = (tf.backend() as unknown as { wasm: EmscriptenHeap }).wasm;
  });

  afterEach(() => {
    Object.assign(taskSettings, saved);
  });

  after(async () => {
    await setKernelThreads(heap, 1);
  });

  /** A heap copy of `v`, freed by `free`. */
  const ptrs: number[] = [];
  function buffer(v: Float32Array): number {
    const p = heapMalloc(heap, 4 * Math.max(v.length, 1));
    ptrs.push(p);
    new Float32Array(heap.asm.memory.buffer, p, v.length).set(v);
    return p;
  }
  const free = () => {
    for (const p of ptrs.splice(0)) heap._free(p);
  };

  for (const build of ['fma', 'simd'] as const)
    for (const kind of KINDS)
      it(`${build}, ${kind} values: lengths ${LENGTHS.join(', ')} give the same bits on 1–4 threads, and float64's sums`, async () => {
        const k = wasmKernels(heap, build);
        try {
          for (const n of LENGTHS) {
            const t = values(kind, n, 0);
            const s = values(kind, n, 2);
            const pt = buffer(t);
            const ps = buffer(s);
            const run = () => [...k.gradStats(pt, n), ...k.diffSq(pt, ps, n)];
            assert.equal(await setKernelThreads(heap, 1), 1);
            const want = run();
            const ref = reference(t, s);
            const names = ['Σx²', 'Σ|x|', 'max |x|', 'zeros', 'NaN/Inf', 'Σs²', 'Σ(t−s)²'];
            names.forEach((name, i) => {
              const what = `n ${n}: ${name}`;
              if (name === 'max |x|' || name === 'zeros' || name === 'NaN/Inf')
                assert.ok(Object.is(want[i], ref[i]), `${what}: ${want[i]} vs ${ref[i]}`);
              else close(want[i], ref[i], what);
            });
            // Every call through the threads, however small.
            taskSettings.minStatsBytes = 0;
            for (const threads of [2, 3, 4]) {
              assert.equal(await setKernelThreads(heap, threads), threads);
              const jobs = kernelThreadsOf(heap)!.stats.jobs;
              const got = run();
              const chunks = Math.ceil(n / STATS_CHUNK);
              if (chunks > 1)
                assert.equal(
                  kernelThreadsOf(heap)!.stats.jobs,
                  jobs + 2,
                  `n ${n}: two jobs on ${threads} threads`,
                );
              got.forEach((g, i) =>
                assert.ok(
                  Object.is(g, want[i]),
                  `n ${n}, ${threads} threads: ${names[i]} ${g} vs ${want[i]}`,
                ),
              );
            }
            Object.assign(taskSettings, saved);
          }
        } finally {
          free();
        }
      });

  it('small calls stay on the calling thread, large ones go to the threads, with the same bits', async () => {
    const k = wasmKernels(heap);
    try {
      assert.equal(await setKernelThreads(heap, 2), 2);
      const pool = kernelThreadsOf(heap)!;
      for (const n of [2 * STATS_CHUNK + 5, 8 * STATS_CHUNK + 3, 16 * STATS_CHUNK + 3]) {
        // The threshold itself, not the larger one after the workers have slept (kernelThreads.test.ts).
        taskSettings.coldFactor = 1;
        const t = values('extreme', n, 0);
        const s = values('extreme', n, 1);
        const pt = buffer(t);
        const ps = buffer(s);
        // gradStats reads 4 bytes a float, diffSq 8.
        const threaded = [4 * n, 8 * n].filter((b) => b >= taskSettings.minStatsBytes).length;
        const jobs = pool.stats.jobs;
        const got = [...k.gradStats(pt, n), ...k.diffSq(pt, ps, n)];
        assert.equal(pool.stats.jobs - jobs, threaded, `n ${n}: jobs`);
        // The other way round.
        taskSettings.minStatsBytes = Infinity;
        const serial = [...k.gradStats(pt, n), ...k.diffSq(pt, ps, n)];
        taskSettings.minStatsBytes = 0;
        const onThreads = [...k.gradStats(pt, n), ...k.diffSq(pt, ps, n)];
        Object.assign(taskSettings, saved);
        assert.equal(pool.stats.jobs - jobs, threaded + 2, `n ${n}: jobs`);
        assert.deepEqual(serial, got, `n ${n}: the calling thread differs`);
        assert.deepEqual(onThreads, got, `n ${n}: the threads differ`);
      }
    } finally {
      free();
    }
  });
});
