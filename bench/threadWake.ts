/**
 * What waking a kernel thread costs on this machine: a worker that sleeps on a futex word the way
 * runtime/probe/wasm/kernelWorker.ts does (Atomics.wait on a generation word after a short spin)
 * is sent a new generation (Atomics.store + Atomics.notify) after the main thread has been busy
 * for --gap ms, so that it has gone to sleep, as between the kernel calls of a probe; it answers
 * by storing the generation in a second word. Prints JSON: medians and 90th percentiles of the
 * main thread's cost of the notify and of the time until the worker answers, for a worker asleep
 * and for one spinning (the answer then takes a load of a shared cache line). The answer time is
 * how long the main thread works alone at the start of each kernel-thread job
 * (runtime/probe/wasm/kernelTasks.ts sizes its smallest jobs by it).
 *
 *   npx tsx bench/threadWake.ts [--reps R] [--gap MS]
 */
import { Worker } from 'node:worker_threads';
import * as os from 'node:os';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const reps = opt('--reps', 400);
const gapMs = opt('--gap', 1);

/** Words: 0 the generation, 1 the worker's answer, 2 its spins before sleeping, 3 quit. */
const WORKER = `
const { workerData } = require('node:worker_threads');
const c = new Int32Array(workerData);
let seen = 0;
for (;;) {
  let g = Atomics.load(c, 0);
  const spin = Atomics.load(c, 2);
  for (let i = 0; i < spin && g === seen; i++) g = Atomics.load(c, 0);
  if (g === seen) { Atomics.wait(c, 0, seen); continue; }
  seen = g;
  if (Atomics.load(c, 3)) break;
  Atomics.store(c, 1, g);
}`;

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.floor(q * (xs.length - 1))];

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

async function main(): Promise<void> {
  const words = new Int32Array(new SharedArrayBuffer(16));
  const worker = new Worker(WORKER, { eval: true, workerData: words.buffer });
  await new Promise((r) => worker.once('online', r));
  let gen = 0;
  const measure = (spin: number) => {
    Atomics.store(words, 2, spin);
    const notifyUs: number[] = [];
    const answerUs: number[] = [];
    for (let r = 0; r < reps + 20; r++) {
      busy(gapMs);
      const g = ++gen;
      const t0 = performance.now();
      Atomics.store(words, 0, g);
      Atomics.notify(words, 0);
      const t1 = performance.now();
      while (Atomics.load(words, 1) !== g);
      const t2 = performance.now();
      if (r < 20) continue; // warm-up: let V8 optimize both loops
      notifyUs.push((t1 - t0) * 1000);
      answerUs.push((t2 - t0) * 1000);
    }
    const r1 = (v: number) => Math.round(v * 10) / 10;
    return {
      notifyUsMedian: r1(quantile(notifyUs, 0.5)),
      notifyUsP90: r1(quantile(notifyUs, 0.9)),
      answerUsMedian: r1(quantile(answerUs, 0.5)),
      answerUsP90: r1(quantile(answerUs, 0.9)),
    };
  };
  const load = os.loadavg()[0];
  const asleep = measure(0);
  // Spinning through the whole gap: the answer needs no wake-up.
  const spinning = measure(1e9);
  Atomics.store(words, 3, 1);
  Atomics.store(words, 0, ++gen);
  Atomics.notify(words, 0);
  await worker.terminate();
  console.log(
    JSON.stringify(
      {
        bench: 'threadWake',
        cpu: os.cpus()[0]?.model,
        cores: os.cpus().length,
        load,
        reps,
        gapMs,
        asleep,
        spinning,
      },
      null,
      2,
    ),
  );
}

void main();
