/**
 * The probe's kernel threads: worker threads that run the WASM kernels on the shared TF.js heap
 * (sharedHeap.ts) beside the main thread. A job is a table of independent tasks on the heap
 * (kernelTasks.ts cuts each kernel call into them, every task writing its own part of the
 * output); the main thread posts it through a few shared control words (kernelWorker.ts), takes
 * tasks itself like any worker, and waits for the others to finish. Which thread runs which task
 * changes nothing in the results: they are the same bits for any number of threads.
 *
 * The workers start once per process (the first probe that asks for more than one thread) and
 * sleep on a futex between jobs; they are unref'd, so they never keep a process alive. A worker
 * that fails ends the job with its error; one that dies is noticed (by its exit or, during a
 * job, by the main thread's wait) and replaced before the next run.
 *
 * Background jobs (post, settle) are work the caller does not wait for: a ring of job slots in
 * shared memory that the workers take tasks from, in queue order, between the main thread's jobs
 * and while it works alone; the main thread takes them too while it waits for a job of its own,
 * and settle runs what is left. A job marked `after` starts only once every earlier one is done.
 */
import { Worker } from 'node:worker_threads';
import * as os from 'node:os';
import {
  BACKGROUND_SOURCE,
  CTL,
  CTL_WORDS,
  KERNEL_WORKER_SOURCE,
  MESSAGE_BYTES,
  Q,
  QUEUE_SLOTS,
  type KernelWorkerData,
} from './kernelWorker';
import type { EmscriptenHeap } from './wasmKernels';
import { heapMalloc } from './heap';
import { kernelWorkerThreads, lowerHelperThreads } from './helperPriority';

/** Bytes of one task record (the TASK_WORDS of scripts/wasm/tasks.mjs). */
export const TASK_BYTES = 96;

/** The most threads used (also the cap on the setting). */
export const MAX_THREADS = 64;

/** Bytes of a thread's GEMM scratch: packed A and B blocks and the edge tile (the largest of the builds). */
export interface GemmScratch {
  pa: number;
  pb: number;
  tmp: number;
}

/** Tuning: spins before a futex wait (workers, and the main thread waiting for them). */
export const threadSettings = {
  /**
   * How long a worker spins on the generation word after a job before it sleeps on it (µs). Read
   * at each job, so a change applies from the next one. Jobs come in bursts, and a worker that
   * spins answers at once where one that sleeps takes 40–100 µs once its core has idled
   * (bench/threadWake.ts); but a worker that spins through the main thread's serial stretches
   * burns its core, and on a core shared with the main thread (SMT) slows it. On the 2-core VMs
   * measured it did not pay: a ResNet-18 probe on two threads (batch 8, 64×64, steady medians of
   * 4-batch probes alternating in one process) took 94.3 ms a batch spinning 12 µs and 98.3 ms
   * spinning 20 ms (paired ratio 0.985), for 169 against 196 ms of CPU a batch; bare passes
   * alternating gained 0–7% on ResNets and nothing on transformers.
   */
  workerSpinUs: 20,
  /**
   * Whether the probe queues work that nothing waits for at once (the statistics of the
   * gradients, the weight gradients) as background jobs that the workers run between the main
   * thread's jobs (KernelThreads.post), instead of running it as jobs of its own.
   */
  background: true,
  /** Main-thread spins on the workers' words before sleeping on them. */
  mainSpin: 20000,
  /** How long the main thread sleeps between checks that the workers it waits for are alive (ms). */
  checkMs: 200,
  /** How long to wait for a new worker to start (ms). */
  startMs: 15000,
  /**
   * Whether the process's other threads (V8's compiler and GC helpers) go to the lowest priority
   * once more than one thread runs (helperPriority.ts; Linux only).
   */
  lowerHelpers: true,
};

/** The number of cores (the default thread count). */
export function coreCount(): number {
  const n = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, Math.min(MAX_THREADS, n || 1));
}

interface Slot {
  worker: Worker;
  ready: boolean;
  dead: boolean;
  /** Resolves once the worker is ready or has failed to start. */
  started: Promise<void>;
}

/** Thrown when a kernel thread fails or dies during a job. */
export class KernelThreadError extends Error {}

/** The background queue's claim and finish functions, as the workers run them (kernelWorker.ts). */
interface Background {
  claimed: { slot: number; task: number };
  claimBackground(ctl: Int32Array, q: Int32Array, scanWord: number): boolean;
  finishBackground(ctl: Int32Array, q: Int32Array, slot: number): void;
}

const background = new Function(
  'C',
  'Q',
  'SLOTS',
  `${BACKGROUND_SOURCE}\nreturn { claimed, claimBackground, finishBackground };`,
)(CTL, Q, QUEUE_SLOTS) as Background;

/** A background job as the main thread keeps it: how it runs its tasks, and what to free once it is done. */
interface QueuedJob {
  runTask: (task: number, scratch: number) => void;
  done: (() => void)[];
}

/** The kernel threads of one heap. */
export class KernelThreads {
  private readonly ctl: Int32Array;
  private readonly control = new SharedArrayBuffer(4 * CTL_WORDS);
  private readonly messages = new SharedArrayBuffer(MESSAGE_BYTES);
  private readonly queue = new SharedArrayBuffer(4 * QUEUE_SLOTS * Q.words);
  private readonly q = new Int32Array(this.queue);
  /** The background jobs by slot, as posted. */
  private readonly queued: (QueuedJob | undefined)[] = [];
  /** The first background job whose clean-up has not run (it runs once the job is done). */
  private reclaimed = 0;
  /** The first failure of a background task run on the main thread (thrown by settle()). */
  private mainFailure: unknown;
  private readonly slots: (Slot | undefined)[] = [];
  /** Heap addresses of the scratch records by thread (0 the main thread); a restarted worker reuses its slot's. */
  private readonly scratch: number[] = [];
  /** Bytes of the tap table of every thread's scratch record (all grow together). */
  private tabBytes = 0;
  private taskTable = 0;
  private taskCapacity = 0;
  private wanted = 1;
  private disposed = false;
  /** When the last job ended (performance.now()); -Infinity before the first. */
  private lastJobEnd = -Infinity;
  /**
   * Jobs run and the time spent in them, and of that the time the main thread waited for the
   * workers after its own share of the tasks (benchmarks read it); background jobs queued.
   */
  readonly stats = { jobs: 0, tasks: 0, ms: 0, waitMs: 0, queued: 0 };

  constructor(
    private readonly heap: EmscriptenHeap,
    private readonly modules: (WebAssembly.Module | null)[],
    private readonly gemmScratch: GemmScratch,
  ) {
    this.ctl = new Int32Array(this.control);
    this.ctl.fill(-1, CTL.scan, CTL.scan + MAX_THREADS);
    this.scratch[0] = this.newScratch();
  }

  /** The threads asked for (resize), the main thread included. */
  get asked(): number {
    return this.wanted;
  }

  /** Threads a job runs on now: the main thread and the workers that are ready, up to the number wanted. */
  get threads(): number {
    // Counted in place (no list): kernels ask before every call.
    let ready = 0;
    for (let i = 1; i < this.slots.length && 1 + ready < this.wanted; i++) if (this.isReady(i)) ready++;
    return 1 + ready;
  }

  /**
   * Threads jobs run on once the workers still starting are up: the main thread and every worker
   * not known to have failed, up to the number wanted. What a probe reports.
   */
  get available(): number {
    let alive = 0;
    for (let i = 1; i < Math.min(this.wanted, this.slots.length); i++) if (!this.isDead(i)) alive++;
    return 1 + alive;
  }

  /**
   * Asks for `n` threads (main thread included), starting workers as needed. Jobs use each
   * worker from the moment it is ready (it says so in a shared word, no event needed), so a
   * caller need not wait: the promise resolves, to the threads then available, once every new
   * worker is ready or has failed to start.
   */
  resize(n: number): Promise<number> {
    if (this.disposed) return Promise.resolve(1);
    this.wanted = Math.max(1, Math.min(MAX_THREADS, Math.floor(n)));
    Atomics.store(this.ctl, CTL.wanted, this.wanted);
    this.reap();
    const starting: Promise<void>[] = [];
    // Workers still starting (asked for without waiting) are waited for too.
    for (let i = 1; i < this.wanted; i++) starting.push(this.slots[i]?.started ?? this.start(i));
    return Promise.all(starting).then(() => {
      this.lowerHelpers();
      return this.threads;
    });
  }

  /** With more than one thread asked for, the process's other threads to the lowest priority (helperPriority.ts). */
  private lowerHelpers(): void {
    if (threadSettings.lowerHelpers && this.wanted > 1 && !this.disposed) lowerHelperThreads();
  }

  /** A task table with room for `count` records; returns its heap address (valid until the next call). */
  table(count: number): number {
    if (count > this.taskCapacity) {
      if (this.taskTable) this.heap._free(this.taskTable);
      this.taskCapacity = Math.max(count, 2 * this.taskCapacity, 64);
      this.taskTable = this.malloc(this.taskCapacity * TASK_BYTES);
    }
    return this.taskTable;
  }

  /** Makes every thread's tap table at least `bytes` long (before a job of tap kernels). */
  ensureTapTable(bytes: number): void {
    if (bytes <= this.tabBytes) return;
    this.tabBytes = Math.max(bytes, 2 * this.tabBytes, 4096);
    for (const s of this.scratch) {
      if (!s) continue;
      const words = new Int32Array(this.heap.asm.memory.buffer, s, 4);
      if (words[3]) this.heap._free(words[3]);
      const t = this.malloc(this.tabBytes);
      new Int32Array(this.heap.asm.memory.buffer, s, 4)[3] = t;
    }
  }

  /**
   * Runs `count` tasks of the table on the threads, the main thread with `runTask` of `build`
   * (0 fma, 1 simd). Returns when all are done; throws a KernelThreadError when a thread failed.
   */
  run(count: number, build: number, runTask: (task: number, scratch: number) => void): void {
    const t0 = performance.now();
    this.reapKnown();
    const ctl = this.ctl;
    // A worker busy with a background task joins once that task is done (if tasks are left).
    const enlisted = this.readyWorkers(true).slice(0, Math.min(this.wanted, count) - 1);
    const gen = (Atomics.load(ctl, CTL.gen) + 1) | 0;
    Atomics.store(ctl, CTL.next, 0);
    Atomics.store(ctl, CTL.count, count);
    Atomics.store(ctl, CTL.tasks, this.taskTable);
    Atomics.store(ctl, CTL.build, build);
    Atomics.store(ctl, CTL.stop, 0);
    Atomics.store(ctl, CTL.error, 0);
    Atomics.store(ctl, CTL.spin, Math.max(0, Math.round(threadSettings.workerSpinUs)));
    for (const i of enlisted) Atomics.store(ctl, CTL.enlist + i - 1, gen);
    Atomics.store(ctl, CTL.gen, gen);
    if (enlisted.length) Atomics.notify(ctl, CTL.gen);
    let failure: unknown;
    try {
      for (;;) {
        if (Atomics.load(ctl, CTL.stop)) break;
        const i = Atomics.add(ctl, CTL.next, 1);
        if (i >= count) break;
        runTask(this.taskTable + i * TASK_BYTES, this.scratch[0]);
      }
    } catch (e) {
      Atomics.store(ctl, CTL.stop, 1);
      failure = e;
    }
    const tw = performance.now();
    const lost = this.waitFor(enlisted, gen);
    this.stats.waitMs += performance.now() - tw;
    this.stats.jobs++;
    this.stats.tasks += count;
    this.lastJobEnd = performance.now();
    this.stats.ms += this.lastJobEnd - t0;
    if (failure) throw failure;
    const failed = Atomics.load(ctl, CTL.error);
    if (failed) {
      const len = new Int32Array(this.messages, 0, 1)[0];
      const text = new TextDecoder().decode(new Uint8Array(this.messages, 4, len).slice());
      throw new KernelThreadError(`kernel thread ${failed - 1} failed: ${text}`);
    }
    if (lost.length)
      throw new KernelThreadError(
        `kernel thread${lost.length > 1 ? 's' : ''} ${lost.join(', ')} stopped during a job; the next probe restarts ${lost.length > 1 ? 'them' : 'it'}.`,
      );
  }

  /**
   * Queues a background job: `tasks` (records of TASK_BYTES, as a job's table) that the workers
   * run between the main thread's jobs, in queue order, while the caller goes on; with `after`,
   * only once every job queued before it is done. The main thread runs what is left when it
   * settles (settle()). `done` runs on the main thread once the job is done (it frees what the
   * tasks read and write). Jobs are posted only where more than one thread runs.
   */
  post(
    tasks: Int32Array,
    count: number,
    build: number,
    runTask: QueuedJob['runTask'],
    after: boolean,
    done?: () => void,
  ): void {
    const ctl = this.ctl;
    const q = this.q;
    this.reclaim();
    const tail = Atomics.load(ctl, CTL.qTail);
    // A full ring: run jobs here until one slot is free.
    while (tail - Atomics.load(ctl, CTL.qHead) >= QUEUE_SLOTS) this.settleStep();
    this.reclaim();
    // The slot's last job is done; wait out any scan that began before it was (a few loads).
    const old = tail - QUEUE_SLOTS;
    if (old >= 0)
      for (let i = 1; i < this.slots.length; i++)
        for (
          let v = Atomics.load(ctl, CTL.scan + i - 1);
          v !== -1 && v <= old;
          v = Atomics.load(ctl, CTL.scan + i - 1)
        )
          if (this.isDead(i)) break;
    const table = this.malloc(count * TASK_BYTES);
    new Int32Array(this.heap.asm.memory.buffer, table, (count * TASK_BYTES) / 4).set(
      tasks.subarray(0, (count * TASK_BYTES) / 4),
    );
    const s = (tail % QUEUE_SLOTS) * Q.words;
    q[s + Q.count] = count;
    q[s + Q.table] = table;
    q[s + Q.done] = 0;
    q[s + Q.after] = after ? 1 : 0;
    q[s + Q.build] = build;
    Atomics.store(q, s + Q.next, 0);
    this.queued[tail % QUEUE_SLOTS] = {
      runTask,
      done: [() => this.heap._free(table), ...(done ? [done] : [])],
    };
    Atomics.store(ctl, CTL.qTail, tail + 1);
    // A new generation wakes the workers (one enlisted in no job looks at the queue).
    Atomics.add(ctl, CTL.gen, 1);
    if (Atomics.load(ctl, CTL.sleepers) > 0) Atomics.notify(ctl, CTL.gen);
    this.stats.queued++;
  }

  /** Background jobs queued and not yet done. */
  get pending(): number {
    return Atomics.load(this.ctl, CTL.qTail) - Atomics.load(this.ctl, CTL.qHead);
  }

  /**
   * Returns once every background job is done, running what is left of them here meanwhile; then
   * throws a KernelThreadError when a task failed (on any thread) or a worker died holding one.
   * The queue is empty afterwards either way.
   */
  settle(): void {
    let failure: unknown;
    try {
      while (this.pending > 0) this.settleStep();
    } catch (e) {
      failure = e;
      this.abandonQueue();
    }
    this.reclaim();
    if (failure === undefined && this.mainFailure !== undefined) failure = this.mainFailure;
    this.mainFailure = undefined;
    const failed = Atomics.exchange(this.ctl, CTL.qError, 0);
    if (failure !== undefined) throw failure;
    if (failed) {
      const len = new Int32Array(this.messages, 0, 1)[0];
      const text = new TextDecoder().decode(new Uint8Array(this.messages, 4, len).slice());
      throw new KernelThreadError(`kernel thread ${failed - 1} failed: ${text}`);
    }
  }

  /** Runs one background task here, or waits a while for those in flight on the workers. */
  private settleStep(): void {
    const ctl = this.ctl;
    if (this.runBackground()) return;
    // The head moves only when its job is done; none left to wait for when it reached the tail.
    const head = Atomics.load(ctl, CTL.qHead);
    if (head === Atomics.load(ctl, CTL.qTail)) return;
    for (let i = 0; i < threadSettings.mainSpin; i++) if (Atomics.load(ctl, CTL.qHead) !== head) return;
    Atomics.store(ctl, CTL.qWaiting, 1);
    const woke = Atomics.wait(ctl, CTL.qHead, head, threadSettings.checkMs);
    Atomics.store(ctl, CTL.qWaiting, 0);
    if (woke !== 'timed-out') return;
    // A worker that died holding a task never finishes it.
    const lost: number[] = [];
    for (let i = 1; i < this.slots.length; i++) if (this.slots[i] && this.isDead(i)) lost.push(i);
    if (lost.length)
      throw new KernelThreadError(
        `kernel thread${lost.length > 1 ? 's' : ''} ${lost.join(', ')} stopped during a background job; the next probe restarts ${lost.length > 1 ? 'them' : 'it'}.`,
      );
  }

  /** Runs one background task here if one can be claimed now. */
  private runBackground(): boolean {
    if (!background.claimBackground(this.ctl, this.q, -1)) return false;
    const s = background.claimed.slot;
    const job = this.queued[s / Q.words]!;
    try {
      job.runTask(this.q[s + Q.table] + background.claimed.task * TASK_BYTES, this.scratch[0]);
    } catch (e) {
      this.mainFailure ??= e;
    }
    background.finishBackground(this.ctl, this.q, s);
    return true;
  }

  /** After a failure: waits for the live workers to leave their background tasks, then empties the queue. */
  private abandonQueue(): void {
    const ctl = this.ctl;
    // Nothing more gets claimed: every job counts as taken.
    const tail = Atomics.load(ctl, CTL.qTail);
    for (let j = Atomics.load(ctl, CTL.qHead); j < tail; j++) {
      const s = (j % QUEUE_SLOTS) * Q.words;
      Atomics.store(this.q, s + Q.next, this.q[s + Q.count]);
    }
    for (let i = 1; i < this.slots.length; i++)
      while (this.slots[i] && !this.isDead(i) && Atomics.load(ctl, CTL.inBg + i - 1))
        Atomics.wait(ctl, CTL.qHead, Atomics.load(ctl, CTL.qHead), 1);
    Atomics.store(ctl, CTL.qHead, tail);
  }

  /** Runs the clean-up of every background job done since the last call. */
  private reclaim(): void {
    const head = Atomics.load(this.ctl, CTL.qHead);
    // Counted before its clean-up runs: a clean-up that re-enters never runs a job's twice.
    while (this.reclaimed < head) {
      const slot = this.reclaimed++ % QUEUE_SLOTS;
      const job = this.queued[slot];
      this.queued[slot] = undefined;
      for (const f of job?.done ?? []) f();
    }
  }

  /** Milliseconds since the last job ended (Infinity before the first): how deeply the workers sleep. */
  idleMs(): number {
    return performance.now() - this.lastJobEnd;
  }

  /**
   * Whether every worker a job would enlist is asleep. One busy with background tasks (or
   * spinning after them) answers a job once its task is done, without a wake-up.
   */
  get asleep(): boolean {
    let left = this.wanted - 1;
    for (let i = 1; i < this.slots.length && left > 0; i++) {
      if (!this.isReady(i)) continue;
      left--;
      if (Atomics.load(this.ctl, CTL.sleeping + i - 1) !== 1) return false;
    }
    return true;
  }

  /** Test hook: makes worker `index` throw on its next job or background task (with `exit`, stop dead instead). */
  failNextJob(index: number, exit = false): void {
    Atomics.store(this.ctl, CTL.fail, exit ? -index : index);
  }

  /** The worker of thread `index` (tests stop one to see the pool recover). */
  workerOf(index: number): Worker | undefined {
    return this.slots[index]?.worker;
  }

  /** Stops every worker (their scratch stays allocated on the heap, which outlives them). */
  async dispose(): Promise<void> {
    try {
      this.settle();
    } catch {
      // The run that queued the jobs has reported the failure.
    }
    this.disposed = true;
    Atomics.store(this.ctl, CTL.quit, 1);
    Atomics.add(this.ctl, CTL.gen, 1);
    Atomics.notify(this.ctl, CTL.gen);
    await Promise.all(this.slots.map((s) => s?.worker.terminate()));
    this.slots.length = 0;
  }

  /**
   * Closes job `gen` (its tasks are all taken) and waits until the workers that came to it are
   * done; returns those of `enlisted` that died in it instead (the job then failed). A worker
   * that has not come yet is not waited for: it finds the job closed and leaves it.
   */
  private waitFor(enlisted: number[], gen: number): number[] {
    const ctl = this.ctl;
    // Closed before the workers' words are read: one that announces itself after the read sees it.
    Atomics.store(ctl, CTL.closed, gen);
    // The test hook (failNextJob) fails the worker it names on this job: wait until it has come.
    const hooked = Math.abs(Atomics.load(ctl, CTL.fail));
    if (enlisted.includes(hooked))
      while (Atomics.load(ctl, CTL.fail) !== 0 && !this.isDead(hooked))
        Atomics.wait(ctl, CTL.fail, Atomics.load(ctl, CTL.fail), 1);
    const inJob = (i: number) => Atomics.load(ctl, CTL.working + i - 1) === gen;
    // Background tasks meanwhile: the queue has to be done by the end of the pass anyway.
    while (enlisted.some(inJob) && this.pending > 0 && this.runBackground());
    let spins = threadSettings.mainSpin;
    const lost: number[] = [];
    for (const i of enlisted) {
      while (spins > 0 && inJob(i)) spins--;
      while (inJob(i)) {
        if (Atomics.wait(ctl, CTL.working + i - 1, gen, threadSettings.checkMs) !== 'timed-out') continue;
        // A worker that died mid-job never reports: stop the others.
        if (!this.isDead(i)) continue;
        Atomics.store(ctl, CTL.stop, 1);
        lost.push(i);
        break;
      }
    }
    return lost;
  }

  /** Whether worker `i` has exited (its exit event may not have run yet: the main thread is busy). */
  private isDead(i: number): boolean {
    const s = this.slots[i];
    if (!s || s.dead) return true;
    // A stopped worker's event loop reports an idle time of −1 at once, before its exit event.
    if (s.worker.performance.eventLoopUtilization().idle < 0) s.dead = true;
    return s.dead;
  }

  /**
   * The workers ready for jobs. `probe` also asks each whether it is still running (a C++ call per
   * worker, done once per job); without, a worker counts until its exit event says otherwise (the
   * check every kernel call makes, which must cost nothing).
   */
  private readyWorkers(probe = false): number[] {
    const out: number[] = [];
    for (let i = 1; i < this.slots.length; i++)
      if (this.isReady(i) && !(probe && this.isDead(i))) out.push(i);
    return out;
  }

  /** Whether worker `index` is up and not known to have failed. */
  private isReady(index: number): boolean {
    const s = this.slots[index];
    if (!s || s.dead) return false;
    if (!s.ready && Atomics.load(this.ctl, CTL.ready + index - 1)) s.ready = true;
    return s.ready;
  }

  /** Forgets dead workers, so that resize starts new ones in their place. */
  private reap(): void {
    for (let i = 1; i < this.slots.length; i++)
      if (this.slots[i] && this.isDead(i)) this.slots[i] = undefined;
  }

  /** Forgets the workers already known dead (no liveness calls: cheap enough for every job). */
  private reapKnown(): void {
    for (let i = 1; i < this.slots.length; i++) if (this.slots[i]?.dead) this.slots[i] = undefined;
  }

  private malloc(bytes: number): number {
    const p = heapMalloc(this.heap, bytes);
    if (!p) throw new Error(`the WASM heap has no room for ${bytes} bytes of kernel-thread scratch`);
    return p;
  }

  /** A scratch record [pa, pb, tmp, tab] with its buffers. */
  private newScratch(): number {
    const rec = this.malloc(16);
    const { pa, pb, tmp } = this.gemmScratch;
    const words = [this.malloc(pa), this.malloc(pb), this.malloc(tmp), 0];
    if (this.tabBytes) words[3] = this.malloc(this.tabBytes);
    new Int32Array(this.heap.asm.memory.buffer, rec, 4).set(words);
    return rec;
  }

  private start(index: number): Promise<void> {
    const scratch = (this.scratch[index] ??= this.newScratch());
    const data: KernelWorkerData = {
      modules: this.modules,
      memory: this.heap.asm.memory,
      control: this.control,
      messages: this.messages,
      queue: this.queue,
      index,
      scratch,
      taskBytes: TASK_BYTES,
    };
    Atomics.store(this.ctl, CTL.enlist + index - 1, 0);
    Atomics.store(this.ctl, CTL.ready + index - 1, 0);
    Atomics.store(this.ctl, CTL.inBg + index - 1, 0);
    Atomics.store(this.ctl, CTL.scan + index - 1, -1);
    Atomics.store(this.ctl, CTL.sleeping + index - 1, 0);
    Atomics.store(this.ctl, CTL.working + index - 1, 0);
    const worker = new Worker(KERNEL_WORKER_SOURCE, { eval: true, workerData: data });
    worker.unref();
    const slot: Slot = { worker, ready: false, dead: false, started: Promise.resolve() };
    this.slots[index] = slot;
    // Until it says who it is, its thread must not be taken for a helper (helperPriority.ts).
    kernelWorkerThreads.starting++;
    let counted = true;
    const started = (tid?: number) => {
      if (tid !== undefined) kernelWorkerThreads.ids.add(tid);
      if (counted) kernelWorkerThreads.starting--;
      counted = false;
    };
    slot.started = new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        slot.dead = true;
        void worker.terminate();
        started();
        resolve();
      }, threadSettings.startMs);
      timer.unref();
      worker.once('message', (m: { tid?: number } | undefined) => {
        clearTimeout(timer);
        started(m?.tid);
        slot.ready = true;
        resolve();
      });
      worker.on('error', () => {
        clearTimeout(timer);
        slot.dead = true;
        started();
        resolve();
      });
      worker.on('exit', () => {
        clearTimeout(timer);
        slot.dead = true;
        started();
        resolve();
      });
    });
    return slot.started;
  }
}
