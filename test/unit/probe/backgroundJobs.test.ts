/**
 * Background jobs on the kernel threads (KernelThreads.post, wasmKernels.ts's LaterKernels,
 * queuedTensors.ts): a queued chain of kernels gives the very bits it gives run at once on one
 * thread, respects its barriers and runs each job's clean-up once, in queue order; a tensor a
 * queued call writes is waited for by any TF.js access, and tensors it reads stay in place when
 * TF.js frees them; small calls queue only while the workers are awake; a task that fails, or a
 * worker that dies holding one, makes settle throw, and the pool carries on.
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../runtime/probe/backend';
import { heapBuffers, values } from '../helpers/heapBuffers';
import {
  kernelThreadsOf,
  setKernelThreads,
  wasmKernels,
  type EmscriptenHeap,
  type WasmKernels,
} from '../../../runtime/probe/wasm/wasmKernels';
import {
  taskSettings,
  winogradBlockFloats,
  winogradPositions,
  type GemmOp,
} from '../../../runtime/probe/wasm/kernelTasks';
import { KernelThreadError, threadSettings } from '../../../runtime/probe/wasm/kernelThreads';
import { queuedTensors, queueSettings } from '../../../runtime/probe/wasm/queuedTensors';
import { readNow, statsKernels } from '../../../runtime/probe/statsKernels';
import { tileSumProducts, winogradWeightGrad } from '../../../runtime/probe/winograd';

/** Blocks the calling thread for `ms` (the workers go on). */
const pause = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

describe('WASM kernel threads: background jobs', function () {
  this.timeout(180000);
  let heap: EmscriptenHeap;
  let k: WasmKernels;
  const { buffer, bits, freeAll } = heapBuffers(() => heap);

  /** A large product queued first, so that what follows it waits behind real work. */
  function slowJob(s = 384): void {
    const a = buffer(values(s * s, 0.3));
    const c = buffer(s * s);
    const ref = { ptr: a, rowStride: s, colStride: 1 };
    k.later.sgemmMany([{ m: s, n: s, k: s, a: ref, b: ref, c, ldc: s, acc: false }], false);
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

  for (const tile of [2, 4] as const)
    it(`a Winograd F(${tile}×${tile}, 3×3) weight gradient queued as four jobs (two behind barriers) with a statistics call: the same bits as at once on one thread; clean-ups once each, in order, after their jobs`, async () => {
      const [n, h, w, ci, co] = [2, 9, 7, 8, 12];
      const [th, tw] = [Math.ceil(h / tile), Math.ceil(w / tile)];
      const tiles = n * th * tw;
      const positions = winogradPositions(tile);
      const x = buffer(values(n * h * w * ci, 0.5));
      const dy = buffer(values(n * h * w * co, 1.5));
      const v = buffer(positions * winogradBlockFloats(tiles, ci));
      const d = buffer(positions * winogradBlockFloats(tiles, co));
      const m = buffer(positions * ci * co);
      const out = buffer(co * ci * 9);
      const products: GemmOp[] = tileSumProducts(v, d, m, tiles, ci, co, tile);
      const run = (order: string[]) => {
        new Float32Array(heap.asm.memory.buffer, out, co * ci * 9).fill(Number.NaN);
        new Float32Array(heap.asm.memory.buffer, m, positions * ci * co).fill(Number.NaN);
        k.later.wgInput(x, n, h, w, ci, 1, 1, th, tw, v, tile, false, () => order.push('input'));
        k.later.wgGradOut(dy, n, h, w, co, th, tw, d, tile, false, () => order.push('gradOut'));
        k.later.sgemmMany(products, true, () => order.push('products'));
        const stats = k.later.gradStats(dy, n * h * w * co, false, () => order.push('stats'));
        k.later.wgWeightOut(m, ci, co, out, tile, true, () => order.push('weightOut'));
        return stats;
      };
      assert.equal(await setKernelThreads(heap, 1), 1);
      assert.equal(k.later.queues, false);
      const order1: string[] = [];
      const stats1 = run(order1)();
      const want = bits(out, co * ci * 9);
      assert.ok(new Float32Array(want.buffer).every((f) => !Number.isNaN(f)));
      assert.deepEqual(order1, ['input', 'gradOut', 'products', 'stats', 'weightOut']);
      for (const threads of [2, 3, 4]) {
        assert.equal(await setKernelThreads(heap, threads), threads);
        const pool = kernelThreadsOf(heap)!;
        assert.equal(k.later.queues, true);
        const queued = pool.stats.queued;
        slowJob();
        const order: string[] = [];
        const stats = run(order);
        assert.equal(pool.stats.queued, queued + 6, `${threads} threads: the calls were not queued`);
        assert.ok(
          !order.includes('weightOut'),
          `${threads} threads: a clean-up ran before its job could have`,
        );
        k.later.settle();
        assert.equal(pool.pending, 0);
        assert.deepEqual(order, ['input', 'gradOut', 'products', 'stats', 'weightOut'], `${threads} threads`);
        assert.deepEqual(bits(out, co * ci * 9), want, `${threads} threads: the weight gradient differs`);
        assert.deepEqual(stats(), stats1, `${threads} threads: the statistics differ`);
      }
    });

  it('a tensor written by a queued call is waited for by any TF.js access; tensors it reads stay in place when TF.js frees them', async () => {
    assert.equal(await setKernelThreads(heap, 2), 2);
    const q = queuedTensors()!;
    assert.ok(q.queues);
    const [m, kk, n] = [64, 48, 40];
    const a = tf.tensor2d(values(m * kk, 0.1), [m, kk]);
    const b = tf.tensor2d(values(kk * n, 0.7), [kk, n]);
    const want = tf.tidy(() => tf.matMul(a, b).dataSync().slice());
    const backend = tf.backend() as unknown as { makeOutput(s: number[], d: tf.DataType): tf.TensorInfo };
    const info = backend.makeOutput([m, n], 'float32');
    new Float32Array(heap.asm.memory.buffer, q.address(info), m * n).fill(Number.NaN);
    slowJob();
    const release = q.hold([a, b]);
    const written = q.writing(info);
    q.later.sgemmMany(
      [
        {
          m,
          n,
          k: kk,
          a: { ptr: q.address(a), rowStride: kk, colStride: 1 },
          b: { ptr: q.address(b), rowStride: n, colStride: 1 },
          c: q.address(info),
          ldc: n,
          acc: false,
        },
      ],
      true,
      () => {
        release();
        written();
      },
    );
    const c = tf.engine().makeTensorFromTensorInfo(info);
    // TF.js frees the operands now; their bytes stay until the product is done. Other tensors
    // made meanwhile must not take their place.
    a.dispose();
    b.dispose();
    const other = tf.fill([m * kk + kk * n], 7);
    assert.ok(q.pending(c), 'the product was done before it could be waited for');
    // A TF.js kernel reading c waits for the queue.
    const doubled = tf.mul(c, 2);
    assert.equal(q.pending(c), false);
    assert.deepEqual(c.dataSync(), want);
    assert.deepEqual(
      doubled.dataSync(),
      want.map((f) => f * 2),
    );
    tf.dispose([c, doubled, other]);
  });

  it('a worker busy with background jobs counts as awake: a call at the plain threshold goes to the threads, as after a job', async () => {
    const saved = { ...taskSettings };
    const [m, n, kk] = [64, 64, 64];
    // The product is twice the threshold; with the workers asleep it would need four times.
    Object.assign(taskSettings, {
      minGemmWork: (m * n * kk) / 2,
      minTaskWork: 1,
      minTaskDim: 1,
      coldFactor: 4,
    });
    try {
      assert.equal(await setKernelThreads(heap, 2), 2);
      const pool = kernelThreadsOf(heap)!;
      const a = buffer(values(m * kk, 0.2));
      const c = buffer(m * n);
      const ref = { ptr: a, rowStride: kk, colStride: 1 };
      const jobsAfter = (f: () => void) => {
        const before = pool.stats.jobs;
        f();
        return pool.stats.jobs - before;
      };
      const product = () => k.sgemm(m, n, kk, ref, ref, c, n);
      await new Promise((r) => setTimeout(r, 30));
      assert.ok(pool.asleep);
      assert.equal(jobsAfter(product), 0, 'a cold call twice the threshold woke the workers');
      // A long queued product keeps the worker busy (and awake) for a while.
      slowJob(768);
      pause(3);
      assert.equal(pool.asleep, false);
      assert.equal(jobsAfter(product), 1, 'the call stayed on the calling thread beside a busy worker');
      k.later.settle();
    } finally {
      Object.assign(taskSettings, saved);
    }
  });

  it('a job does not wait for a worker that has not come to it: the calling thread takes every task while the worker finishes a background task', async () => {
    const saved = { ...taskSettings };
    const [m, n, kk] = [64, 64, 64];
    // Every product in two tasks: the job's, and the background job's.
    Object.assign(taskSettings, {
      minGemmWork: 1,
      minTaskWork: 1,
      minTaskDim: 1,
      coldFactor: 1,
      tasksPerThread: 1,
    });
    try {
      const a = buffer(values(m * kk, 0.2));
      const c = buffer(m * n);
      const ref = { ptr: a, rowStride: kk, colStride: 1 };
      const product = () => k.sgemm(m, n, kk, ref, ref, c, n);
      await setKernelThreads(heap, 1);
      product();
      const want = bits(c, m * n);
      assert.equal(await setKernelThreads(heap, 2), 2);
      const pool = kernelThreadsOf(heap)!;
      new Float32Array(heap.asm.memory.buffer, c, m * n).fill(0);
      // Two tasks of some 10 ms each: the worker is in the first one when the job is posted.
      slowJob(768);
      pause(3);
      const jobs = pool.stats.jobs;
      product();
      assert.equal(pool.stats.jobs, jobs + 1, 'the product did not run as a job');
      // Had the job waited for the worker, the calling thread would have run the second
      // background task meanwhile, and the worker finished the first: none would be left.
      assert.equal(pool.pending, 1, 'the job waited for the worker busy with its background task');
      assert.deepEqual(bits(c, m * n), want);
      k.later.settle();
      assert.equal(pool.pending, 0);
    } finally {
      Object.assign(taskSettings, saved);
    }
  });

  /** Polls `ok` every 5 ms, for at most 5 s. */
  async function until(ok: () => boolean, what: string): Promise<void> {
    for (let i = 0; i < 1000 && !ok(); i++) await new Promise((r) => setTimeout(r, 5));
    assert.ok(ok(), what);
  }

  it('threadSettings.background off: nothing queues; the probe statistics queue from minQueueBytes read while the workers are warm, from minStatsBytes while they sleep, smaller ones are known at once', async () => {
    assert.equal(await setKernelThreads(heap, 2), 2);
    const stats = statsKernels(true);
    const small = tf.tensor1d(values(taskSettings.minQueueBytes / 4 - 1, 0.3));
    const large = tf.tensor1d(values(taskSettings.minQueueBytes / 4, 0.6));
    const huge = tf.tensor1d(values(taskSettings.minStatsBytes / 4, 0.9));
    try {
      threadSettings.background = false;
      assert.equal(k.later.queues, false);
      assert.ok('now' in stats.moments(large));
      threadSettings.background = true;
      assert.equal(k.later.queues, true);
      // Warm: a worker busy with a long background product.
      slowJob(768);
      await until(() => !k.later.cold, 'the workers did not take the queued product');
      assert.ok('now' in stats.moments(small), 'a call under minQueueBytes was queued');
      const queued = stats.moments(large);
      assert.ok('value' in queued, 'a call of minQueueBytes was not queued while a worker was busy');
      stats.settle!();
      assert.deepEqual(readNow(queued), readNow(statsKernels().moments(large)));
      // Cold: the workers asleep since (queuing would wake one).
      await until(() => k.later.cold, 'the workers did not go to sleep');
      assert.ok(
        'now' in stats.moments(large),
        'a call under minStatsBytes was queued while the workers slept',
      );
      const big = stats.moments(huge);
      assert.ok('value' in big, 'a call of minStatsBytes was not queued while the workers slept');
      stats.settle!();
      assert.deepEqual(readNow(big), readNow(statsKernels().moments(huge)));
    } finally {
      threadSettings.background = true;
      tf.dispose([small, large, huge]);
    }
  });

  it('a Winograd weight gradient of minGemmWork to coldFactor × minGemmWork queues while a worker is busy and runs at once while the workers sleep, with the same bits', async () => {
    assert.equal(await setKernelThreads(heap, 2), 2);
    const pool = kernelThreadsOf(heap)!;
    // 16 tiles of 96 → 96 channels: 16 products of 96×96 over 16 tiles.
    const x = tf.tensor4d(values(8 * 8 * 96, 0.2), [1, 8, 8, 96]);
    const dy = tf.tensor4d(values(8 * 8 * 96, 0.7), [1, 8, 8, 96]);
    const work = 16 * 16 * 96 * 96;
    assert.ok(work >= taskSettings.minGemmWork && work < taskSettings.coldFactor * taskSettings.minGemmWork);
    try {
      slowJob(768);
      await until(() => !k.later.cold, 'the workers did not take the queued product');
      let queued = pool.stats.queued;
      const warm = winogradWeightGrad(x, dy, 1, 1);
      assert.ok(pool.stats.queued > queued, 'not queued while a worker was busy');
      const want = warm.dataSync().slice();
      queuedTensors()!.settle();
      await until(() => k.later.cold, 'the workers did not go to sleep');
      queued = pool.stats.queued;
      const cold = winogradWeightGrad(x, dy, 1, 1);
      assert.equal(pool.stats.queued, queued, 'queued while the workers slept');
      assert.deepEqual(cold.dataSync(), want);
      tf.dispose([warm, cold]);
    } finally {
      tf.dispose([x, dy]);
    }
  });

  it('a call that would take the bytes queued calls hold past maxHeldBytes waits for the queue first', async () => {
    assert.equal(await setKernelThreads(heap, 2), 2);
    const q = queuedTensors()!;
    const saved = queueSettings.maxHeldBytes;
    const t = tf.tensor1d(values(1024, 0.5));
    try {
      queueSettings.maxHeldBytes = 4096 + 1024;
      slowJob(768);
      // A product of t with itself reads it: held until that call is done.
      const release = q.hold([t]);
      const c = buffer(32 * 32);
      const ref = { ptr: q.address(t), rowStride: 32, colStride: 1 };
      k.later.sgemmMany([{ m: 32, n: 32, k: 32, a: ref, b: ref, c, ldc: 32, acc: false }], false, release);
      assert.ok(kernelThreadsOf(heap)!.pending > 0, 'the product was done before the next hold');
      // 4 KB held; 4 KB more passes the cap: the queue is waited for (and the first hold released).
      const again = q.hold([t]);
      assert.equal(kernelThreadsOf(heap)!.pending, 0);
      again();
    } finally {
      queueSettings.maxHeldBytes = saved;
      q.settle();
      t.dispose();
    }
  });

  describe('failures', () => {
    const s = 96;
    let a: number;
    let c: number;
    const queueProducts = () => {
      const ref = { ptr: a, rowStride: s, colStride: 1 };
      k.later.sgemmMany(
        Array.from({ length: 8 }, () => ({ m: s, n: s, k: s, a: ref, b: ref, c, ldc: s, acc: false })),
        false,
      );
    };

    beforeEach(async () => {
      a = buffer(values(s * s, 0.2));
      c = buffer(s * s);
      // One worker: it alone takes the queued tasks until settle.
      assert.equal(await setKernelThreads(heap, 2), 2);
    });

    it('a background task that throws makes settle throw its error; the queue is empty after, and the pool carries on', () => {
      const pool = kernelThreadsOf(heap)!;
      pool.failNextJob(1);
      queueProducts();
      pause(50);
      assert.throws(
        () => k.later.settle(),
        (e: unknown) =>
          e instanceof KernelThreadError &&
          /kernel thread 1 failed: Error: a failure injected by a test/.test(e.message),
      );
      assert.equal(pool.pending, 0);
      queueProducts();
      k.later.settle();
      assert.equal(pool.threads, 2);
    });

    it('a worker that dies holding a background task makes settle throw; the next resize restores it', async () => {
      const pool = kernelThreadsOf(heap)!;
      const dead = pool.workerOf(1);
      pool.failNextJob(1, true);
      queueProducts();
      pause(50);
      assert.throws(
        () => k.later.settle(),
        (e: unknown) => e instanceof KernelThreadError && /stopped during a background job/.test(e.message),
      );
      assert.equal(pool.pending, 0);
      assert.equal(await setKernelThreads(heap, 2), 2);
      assert.ok(pool.workerOf(1) && pool.workerOf(1) !== dead);
      queueProducts();
      k.later.settle();
    });
  });
});
