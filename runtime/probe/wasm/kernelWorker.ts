/**
 * The source of a kernel thread (runtime/probe/wasm/kernelThreads.ts), run with `eval` so that
 * the bundles need no separate worker file. It instantiates the probe's kernel modules on the
 * shared heap, then for each job the main thread posts (a new value of the generation word) it
 * takes task indices from a shared counter and runs them through `runTask` with its own scratch
 * record, until none are left, and wakes the main thread. A worker that comes to a job after its
 * tasks were all taken leaves it at once: the main thread does not wait for it. A failure stops
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
  /** Background queue: the index of its first job not yet done. */
  qHead: 11,
  /** Background queue: the index of its next job (jobs qHead … qTail − 1 are queued). */
  qTail: 12,
  /** Background queue: 1 + the index of the first thread whose background task failed (0: none). */
  qError: 13,
  /** 1 while the main thread sleeps on qHead waiting for the background queue to empty. */
  qWaiting: 14,
  /** Workers asleep on the generation word. */
  sleepers: 15,
  /** Threads asked for, the main thread included: workers of this index or above take no background task. */
  wanted: 16,
  /**
   * The generation of the last job whose tasks were all taken: a worker that comes to it after
   * that leaves at once, and so the main thread waits only for the workers that came before.
   */
  closed: 18,
  /** First of the per-worker words: the generation of the last job the worker is enlisted in. */
  enlist: 24,
  /** First of the per-worker words: 1 once the worker is ready for jobs. */
  ready: 24 + 64,
  /** First of the per-worker words: 1 while the worker runs (or is about to claim) a background task. */
  inBg: 24 + 128,
  /**
   * First of the per-worker words: the queue index a worker's scan of the background queue
   * started from, −1 when it is not scanning (the main thread refills a job's slot only once no
   * scan can still see the job that held it).
   */
  scan: 24 + 192,
  /** First of the per-worker words: 1 while the worker sleeps on the generation word. */
  sleeping: 24 + 256,
  /**
   * First of the per-worker words: the generation of the job the worker has come to (set before
   * it reads the job's words, 0 again once it is done with the job); the main thread waits while
   * it is the current job's.
   */
  working: 24 + 320,
} as const;

/** Control words in all (CTL.working's per-worker words last). */
export const CTL_WORDS = CTL.working + 64;

/** Job slots of the background queue (a ring; the main thread waits when it is full). */
export const QUEUE_SLOTS = 1024;

/**
 * Words of one background job's slot: the next task to claim, the task count, the task table's
 * heap address, tasks done, 1 when the job waits for every earlier job (a barrier), the kernel
 * build.
 */
export const Q = { next: 0, count: 1, table: 2, done: 3, after: 4, build: 5, words: 8 } as const;

/** Bytes of the message buffer (a failure's text, UTF-8, after a 4-byte length). */
export const MESSAGE_BYTES = 4096;

/** What a worker gets at start. */
export interface KernelWorkerData {
  /** The kernel modules by build (index as in CTL.build; a missing build is null). */
  modules: (WebAssembly.Module | null)[];
  memory: WebAssembly.Memory;
  control: SharedArrayBuffer;
  messages: SharedArrayBuffer;
  /** The background queue's job slots (QUEUE_SLOTS × Q.words Int32). */
  queue: SharedArrayBuffer;
  /** This worker's index (1 …; the main thread is 0). */
  index: number;
  /** Heap address of its scratch record. */
  scratch: number;
  /** Task record size in bytes. */
  taskBytes: number;
}

/**
 * Claiming and finishing background tasks (plain JavaScript, shared by the workers and, through
 * `new Function`, the main thread). Jobs are taken in queue order; a job marked `after` only once
 * every earlier job is done. `claimBackground(ctl, q, scanWord)` sets `claimed` {slot, task} and
 * returns true, or returns false when no task can be taken now; `scanWord` (−1 for the main
 * thread, which refills the slots itself) publishes where the scan started. `finishBackground`
 * counts the task done and moves the head past finished jobs, waking a main thread that waits.
 */
export const BACKGROUND_SOURCE = `
const claimed = { slot: 0, task: 0 };
function claimBackground(ctl, q, scanWord) {
  let head = Atomics.load(ctl, C.qHead);
  if (scanWord >= 0) {
    // Publish the scan's start, then check that the head did not move meanwhile: a slot whose
    // job is behind the published start is never refilled under this scan.
    for (;;) {
      Atomics.store(ctl, scanWord, head);
      const again = Atomics.load(ctl, C.qHead);
      if (again === head) break;
      head = again;
    }
  }
  let found = false;
  const tail = Atomics.load(ctl, C.qTail);
  for (let j = head; j < tail && !found; j++) {
    const s = (j % SLOTS) * Q.words;
    if (q[s + Q.after] && Atomics.load(ctl, C.qHead) !== j) break;
    const count = q[s + Q.count];
    for (let i = Atomics.load(q, s + Q.next); i < count; i = Atomics.load(q, s + Q.next))
      if (Atomics.compareExchange(q, s + Q.next, i, i + 1) === i) {
        claimed.slot = s;
        claimed.task = i;
        found = true;
        break;
      }
  }
  if (scanWord >= 0) Atomics.store(ctl, scanWord, -1);
  return found;
}
function finishBackground(ctl, q, s) {
  if (Atomics.add(q, s + Q.done, 1) !== q[s + Q.count] - 1) return;
  for (;;) {
    const h = Atomics.load(ctl, C.qHead);
    if (h >= Atomics.load(ctl, C.qTail)) break;
    const hs = (h % SLOTS) * Q.words;
    if (Atomics.load(q, hs + Q.done) !== q[hs + Q.count]) break;
    Atomics.compareExchange(ctl, C.qHead, h, h + 1);
  }
  if (Atomics.load(ctl, C.qWaiting)) Atomics.notify(ctl, C.qHead);
}
`;

/** The worker's code (plain JavaScript: it runs as is in the worker). */
export const KERNEL_WORKER_SOURCE = `'use strict';
const { workerData, parentPort } = require('node:worker_threads');
const d = workerData;
const C = ${JSON.stringify(CTL)};
const Q = ${JSON.stringify(Q)};
const SLOTS = ${QUEUE_SLOTS};
const ctl = new Int32Array(d.control);
const q = new Int32Array(d.queue);
const runs = d.modules.map((m) => (m ? new WebAssembly.Instance(m, { env: { memory: d.memory } }).exports.runTask : null));
const report = (word, text) => {
  if (Atomics.compareExchange(ctl, word, 0, d.index + 1) !== 0) return;
  const bytes = new TextEncoder().encode(text).subarray(0, ${MESSAGE_BYTES} - 4);
  new Uint8Array(d.messages).set(bytes, 4);
  new Int32Array(d.messages, 0, 1)[0] = bytes.length;
};
const describe = (e) => (e && e.message ? e.constructor.name + ': ' + e.message : String(e));
// The test hook (KernelThreads.failNextJob): throw, or stop dead, when this worker is named.
const injectedFailure = () => {
  const fail = Atomics.load(ctl, C.fail);
  if (fail !== d.index && fail !== -d.index) return;
  Atomics.store(ctl, C.fail, 0);
  if (fail < 0) process.exit(1);
  throw new Error('a failure injected by a test');
};
${BACKGROUND_SOURCE}
let seen = Atomics.load(ctl, C.gen);
// Whether this worker has just run a job or a background task (and so spins before it sleeps);
// one left out of a job sleeps at once.
let busy = false;
const inBg = C.inBg + d.index - 1;
const scan = C.scan + d.index - 1;
const sleeping = C.sleeping + d.index - 1;
const working = C.working + d.index - 1;
Atomics.store(ctl, scan, -1);
Atomics.store(ctl, C.ready + d.index - 1, 1);
// Its thread id (Linux), so that the pool never lowers this thread's priority (helperPriority.ts).
let tid;
try {
  tid = Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop()) || undefined;
} catch {}
parentPort.postMessage({ ready: true, tid });
for (;;) {
  let g = Atomics.load(ctl, C.gen);
  if (g === seen) {
    // Between jobs: a background task, announced first so that the main thread leaves this worker
    // out of a job posted meanwhile (it would wait for the task).
    Atomics.store(ctl, inBg, 1);
    if (
      Atomics.load(ctl, C.gen) === seen &&
      d.index < Atomics.load(ctl, C.wanted) &&
      claimBackground(ctl, q, scan)
    ) {
      const s = claimed.slot;
      const run = runs[q[s + Q.build]];
      try {
        injectedFailure();
        if (!run) throw new Error('this thread has no such kernel build');
        run(q[s + Q.table] + claimed.task * d.taskBytes, d.scratch);
      } catch (e) {
        report(C.qError, describe(e));
      }
      Atomics.store(ctl, inBg, 0);
      finishBackground(ctl, q, s);
      busy = true;
      continue;
    }
    Atomics.store(ctl, inBg, 0);
    g = Atomics.load(ctl, C.gen);
  }
  if (g === seen && busy) {
    // Spin (reading the clock every 256 loads: a call costs up to a microsecond in a VM), then
    // sleep; a background job queued meanwhile ends the spin too.
    const tail = Atomics.load(ctl, C.qTail);
    const until = performance.now() + Atomics.load(ctl, C.spin) / 1000;
    for (let i = 1; g === seen; i++) {
      g = Atomics.load(ctl, C.gen);
      if ((i & 255) === 0 && (Atomics.load(ctl, C.qTail) !== tail || performance.now() >= until)) break;
    }
  }
  if (g === seen) {
    busy = false;
    Atomics.add(ctl, C.sleepers, 1);
    Atomics.store(ctl, sleeping, 1);
    // A background job always comes with a new generation, so none is missed while asleep.
    if (
      Atomics.load(ctl, C.qHead) === Atomics.load(ctl, C.qTail) ||
      d.index >= Atomics.load(ctl, C.wanted)
    )
      Atomics.wait(ctl, C.gen, seen);
    Atomics.store(ctl, sleeping, 0);
    Atomics.sub(ctl, C.sleepers, 1);
    continue;
  }
  seen = g;
  if (Atomics.load(ctl, C.quit)) break;
  busy = Atomics.load(ctl, C.enlist + d.index - 1) === g;
  if (!busy) continue;
  // Announced before the job's words are read. The main thread closes the job once its tasks are
  // all taken, then waits for every worker that has come: one that comes after that leaves at once.
  Atomics.store(ctl, working, g);
  try {
    injectedFailure();
    if (Atomics.load(ctl, C.gen) === g && Atomics.load(ctl, C.closed) !== g) {
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
    }
  } catch (e) {
    Atomics.store(ctl, C.stop, 1);
    report(C.error, describe(e));
  }
  Atomics.store(ctl, working, 0);
  Atomics.notify(ctl, working);
}
`;
