/**
 * Transpose on the WASM backend (runtime/probe/wasm/transposeKernel.ts): the reduced plan
 * (transposePlan.ts) drops axes of size 1 and merges input axes that stay neighbours; a
 * permutation that keeps the elements in order shares the input's buffer; float32 and int32 go
 * through Skipscope's WASM kernel, on the kernel threads when large, other types through the JS
 * walk — and every path gives exactly the CPU backend's result, for ranks 1 to 6, with axes of
 * size 1 and 0, and on 1 to 4 threads the same bits.
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../runtime/probe/backend';
import { uniform } from '../../../runtime/probe/random';
import { transposePlan } from '../../../runtime/probe/wasm/transposePlan';
import { transposeRuns } from '../../../runtime/probe/wasm/transposeKernel';
import { taskSettings } from '../../../runtime/probe/wasm/kernelTasks';
import {
  kernelThreadsOf,
  setKernelThreads,
  type EmscriptenHeap,
} from '../../../runtime/probe/wasm/wasmKernels';

type Dtype = 'float32' | 'int32' | 'bool';

/** Seeded permutations (Fisher–Yates on the probe's own seeded generator). */
function shuffled(n: number, seed: number): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  const u = uniform(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(u() * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

/** Distinct values per element (a transpose that moves one to the wrong place fails). */
function data(n: number, dtype: Dtype): Float32Array | Int32Array | Uint8Array {
  if (dtype === 'bool') return Uint8Array.from({ length: n }, (_, i) => ((i * 7) % 3 === 0 ? 1 : 0));
  if (dtype === 'int32') return Int32Array.from({ length: n }, (_, i) => i * 3 - 7);
  return Float32Array.from({ length: n }, (_, i) => i + 0.25 - (i % 5) * 1e-3);
}

async function transposeOn(
  backend: 'wasm' | 'cpu',
  shape: number[],
  perm: number[],
  dtype: Dtype,
): Promise<number[]> {
  await initBackend(backend, { threads: 1 });
  const n = shape.reduce((s, d) => s * d, 1);
  return tf.tidy(() => Array.from(tf.transpose(tf.tensor(data(n, dtype), shape, dtype), perm).dataSync()));
}

describe('WASM Transpose', function () {
  this.timeout(120000);

  it('reduces permutations: unit axes dropped, neighbours merged, order kept', () => {
    assert.equal(transposePlan([5, 1, 7], [1, 0, 2]), 'same-order');
    assert.equal(transposePlan([1, 1, 4], [2, 0, 1]), 'same-order');
    assert.equal(transposePlan([2, 3, 4], [0, 1, 2]), 'same-order');
    // [B, S, H, D] → [B, H, S, D]: rows of D contiguous elements.
    assert.deepEqual(transposePlan([2, 65, 6, 64], [0, 2, 1, 3]), {
      rows: 2 * 6 * 65,
      len: 64,
      inner: 1,
      outer: [
        [65, 6 * 64],
        [6, 64],
        [2, 65 * 6 * 64],
      ],
    });
    // A weight [K, N] → [N, K]: N rows gathering K elements N apart.
    assert.deepEqual(transposePlan([768, 192], [1, 0]), {
      rows: 192,
      len: 768,
      inner: 192,
      outer: [[192, 1]],
    });
    // [N, C, H, W] → [N, H, W, C]: H and W merge.
    assert.deepEqual(transposePlan([2, 3, 4, 5], [0, 2, 3, 1]), {
      rows: 2 * 20,
      len: 3,
      inner: 20,
      outer: [
        [20, 1],
        [2, 60],
      ],
    });
  });

  const cases: [number[], number[], Dtype][] = [
    [[7], [0], 'float32'],
    [[3, 5], [1, 0], 'float32'],
    [[3, 5], [1, 0], 'int32'],
    [[3, 5], [1, 0], 'bool'],
    [[2, 65, 6, 64], [0, 2, 1, 3], 'float32'],
    [[6, 65, 64], [1, 2, 0], 'float32'],
    [[6, 64, 65], [2, 0, 1], 'int32'],
    [[2, 1, 3, 1, 5], [4, 3, 2, 1, 0], 'float32'],
    [[1, 4, 1, 3], [3, 1, 0, 2], 'float32'],
    [[2, 0, 3], [2, 1, 0], 'float32'],
    [[2, 3, 2, 3, 2, 3], [5, 3, 1, 4, 2, 0], 'float32'],
    [[2, 3, 2, 3, 2, 3], [1, 0, 3, 2, 5, 4], 'int32'],
    [[3, 2, 4, 2, 3, 2], [0, 2, 4, 1, 3, 5], 'bool'],
  ];
  for (let seed = 1; seed <= 6; seed++) {
    const rank = 2 + (seed % 5);
    const shape = Array.from({ length: rank }, (_, i) => 1 + ((seed * 5 + i * 3) % 5));
    cases.push([shape, shuffled(rank, seed), seed % 2 ? 'float32' : 'int32']);
  }
  for (const [shape, perm, dtype] of cases)
    it(`[${shape}] by [${perm}] (${dtype}) as the CPU backend does`, async () => {
      const runs = { ...transposeRuns };
      const got = await transposeOn('wasm', shape, perm, dtype);
      const took = (Object.keys(runs) as (keyof typeof runs)[]).filter((k) => transposeRuns[k] > runs[k]);
      const want = await transposeOn('cpu', shape, perm, dtype);
      assert.deepEqual(got, want);
      // tf.transpose clones a rank-1 tensor without calling the kernel; an empty one needs no plan.
      const plan = shape.length < 2 || shape.includes(0) ? undefined : transposePlan(shape, perm);
      const expected = !plan ? [] : plan === 'same-order' ? ['shared'] : dtype === 'bool' ? ['js'] : ['wasm'];
      assert.deepEqual(took, expected);
    });

  it('a large transpose runs on the threads and gives the same bits on 1 to 4 threads', async () => {
    await initBackend('wasm', { threads: 1 });
    const heap = (tf.backend() as unknown as { wasm: EmscriptenHeap }).wasm;
    const saved = { ...taskSettings };
    Object.assign(taskSettings, { minCopyBytes: 0, minTaskBytes: 1 });
    try {
      const cases: [number[], number[]][] = [
        [
          [37, 29],
          [1, 0],
        ],
        [
          [3, 17, 5, 11],
          [0, 2, 1, 3],
        ],
        [
          [5, 7, 3, 9],
          [3, 1, 0, 2],
        ],
      ];
      for (const [shape, perm] of cases) {
        const n = shape.reduce((s, d) => s * d, 1);
        const x = tf.tensor(data(n, 'float32'), shape, 'float32');
        const bits = () =>
          tf.tidy(() => Array.from(new Uint32Array(tf.transpose(x, perm).dataSync().slice().buffer)));
        assert.equal(await setKernelThreads(heap, 1), 1);
        const want = bits();
        for (const threads of [2, 3, 4]) {
          assert.equal(await setKernelThreads(heap, threads), threads);
          const jobs = kernelThreadsOf(heap)!.stats.jobs;
          assert.deepEqual(bits(), want, `[${shape}] by [${perm}] on ${threads} threads`);
          assert.ok(kernelThreadsOf(heap)!.stats.jobs > jobs, `no job ran on ${threads} threads`);
        }
        x.dispose();
      }
    } finally {
      Object.assign(taskSettings, saved);
      await setKernelThreads(heap, 1);
    }
  });
});
