/**
 * The source of a kernel thread (runtime/probe/wasm/kernelThreads.ts), run with `eval` so that
 * the bundles need no separate worker file. It instantiates the probe's kernel modules on the
 * shared heap, then for each job the main thread posts (a new value of the generation word) it
 * takes task indices from a shared counter and runs them through `runTask` with its own scratch
 * record, until none are left; the last thread to finish wakes the main thread. A failure stops
 * the job: its text goes to the shared message buffer and the main thread throws it.
 */

/** Indices of the control words (Int32Array over a SharedArrayBuffer). */
export const CTL = {
  /** Incremented by the main thread for each job. */
  gen: 0,
  /** The next task index to take. */
  next: 1,
  /** Tasks in the job. */
  count: 2,
  /** Enlisted workers that have not finished the job. */
  active: 3,
  /** Set on a failure: take no more tasks. */
  stop: 4,
  /** 1 + the index of the first thread that failed (0: none). */
  error: 5,
  /** Test hook: the index of a worker to fail on its next job, minus it for one to exit (0: none). */
  fail: 6,
  /** Heap address of the task table. */
  tasks: 7,
  /** The build of the job: 0 fma, 1 simd. */
  build: 8,
  /** Set to make every worker leave its loop. */
  quit: 9,
  /**
   * Microseconds a worker spins on the generation word after a job before it sleeps on it
   * (threadSettings.workerSpinUs; 0 before the first job).
   */
  spin: 10,
  /** First of the per-worker words: the generation of the last job the worker is enlisted in. */
  enlist: 16,
  /** First of the per-worker words: 1 once the worker is ready for jobs. */
  ready: 16 + 64,
} as const;

/** Bytes of the message buffer (a failure's text, UTF-8, after a 4-byte length). */
export const MESSAGE_BYTES = 4096;

/** What a worker gets at start. */
export interface KernelWorkerData {
  /** The kernel modules by build (index as in CTL.build; a missing build is null). */
  modules: (WebAssembly.Module | null)[];
  memory: WebAssembly.Memory;
  control: SharedArrayBuffer;
  messages: SharedArrayBuffer;
  /** This worker's index (1 …; the main thread is 0). */
  index: number;
  /** Heap address of its scratch record. */
  scratch: number;
  /** Task record size in bytes. */
  taskBytes: number;
}

/** The worker's code (plain JavaScript: it runs as is in the worker). */
export const KERNEL_WORKER_SOURCE = `'use strict';
const { workerData, parentPort } = require('node:worker_threads');
const d = workerData;
const C = ${JSON.stringify(CTL)};
const ctl = new Int32Array(d.control);
const runs = d.modules.map((m) => (m ? new WebAssembly.Instance(m, { env: { memory: d.memory } }).exports.runTask : null));
const report = (text) => {
  if (Atomics.compareExchange(ctl, C.error, 0, d.index + 1) !== 0) return;
  const bytes = new TextEncoder().encode(text).subarray(0, ${MESSAGE_BYTES} - 4);
  new Uint8Array(d.messages).set(bytes, 4);
  new Int32Array(d.messages, 0, 1)[0] = bytes.length;
};
let seen = Atomics.load(ctl, C.gen);
// Whether this worker has just run a job (and so spins before it sleeps); one left out of a job
// sleeps at once.
let busy = false;
Atomics.store(ctl, C.ready + d.index - 1, 1);
parentPort.postMessage({ ready: true });
for (;;) {
  let g = Atomics.load(ctl, C.gen);
  if (g === seen && busy) {
    // Spin (reading the clock every 256 loads: a call costs up to a microsecond in a VM), then sleep.
    const until = performance.now() + Atomics.load(ctl, C.spin) / 1000;
    for (let i = 1; g === seen; i++) {
      g = Atomics.load(ctl, C.gen);
      if ((i & 255) === 0 && performance.now() >= until) break;
    }
  }
  if (g === seen) {
    busy = false;
    Atomics.wait(ctl, C.gen, seen);
    continue;
  }
  seen = g;
  if (Atomics.load(ctl, C.quit)) break;
  busy = Atomics.load(ctl, C.enlist + d.index - 1) === g;
  if (!busy) continue;
  try {
    const fail = Atomics.load(ctl, C.fail);
    if (fail === d.index || fail === -d.index) {
      Atomics.store(ctl, C.fail, 0);
      if (fail < 0) process.exit(1);
      throw new Error('a failure injected by a test');
    }
    const run = runs[Atomics.load(ctl, C.build)];
    if (!run) throw new Error('this thread has no such kernel build');
    const base = Atomics.load(ctl, C.tasks);
    const count = Atomics.load(ctl, C.count);
    for (;;) {
      if (Atomics.load(ctl, C.stop)) break;
      const i = Atomics.add(ctl, C.next, 1);
      if (i >= count) break;
      run(base + i * d.taskBytes, d.scratch);
    }
  } catch (e) {
    Atomics.store(ctl, C.stop, 1);
    report(e && e.message ? e.constructor.name + ': ' + e.message : String(e));
  }
  if (Atomics.sub(ctl, C.active, 1) === 1) Atomics.notify(ctl, C.active);
}
`;
