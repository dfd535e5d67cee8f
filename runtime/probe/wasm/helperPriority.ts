/**
 * While kernel threads run, the process's other threads — V8's compiler and garbage-collector
 * helpers, libuv's pool — at the lowest priority (nice 19), on Linux. A two-thread probe keeps
 * both cores of a 2-core machine busy, and for its first couple of hundred passes V8 goes on
 * compiling the engine's and the executor's JavaScript on a helper thread (7–10 ms of CPU a
 * ResNet-18 pass), which then took its time from the kernel threads; at nice 19 it runs in what
 * they leave (two-thread probes of four batches from a process's start 8% faster, median of six
 * process pairs; bare passes 40–80 of a process 2.6–4.4%).
 * Nothing else changes: the main thread and the kernel workers keep their priority, V8 lets the
 * main thread finish a garbage collection's parallel work itself when helpers are slow to come,
 * and a helper that never gets a core only delays an optimization. A thread's priority cannot be
 * raised again without privileges, so only threads known not to be the main thread or a kernel
 * worker are lowered, and each once. Elsewhere (no /proc) it does nothing.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';

/** Threads already lowered (by id). */
const lowered = new Set<number>();

/**
 * The kernel workers of every pool in this process: how many are starting (their threads cannot
 * yet be told apart), and the thread ids of those that started (never lowered).
 */
export const kernelWorkerThreads = { starting: 0, ids: new Set<number>() };

/**
 * Lowers every thread of this process but the main one and the kernel workers to nice 19 (once
 * each); nothing while a kernel worker is starting.
 */
export function lowerHelperThreads(): void {
  if (kernelWorkerThreads.starting > 0) return;
  let tasks: string[];
  try {
    tasks = fs.readdirSync('/proc/self/task');
  } catch {
    return;
  }
  const spared = new Set([process.pid, ...kernelWorkerThreads.ids]);
  for (const name of tasks) {
    const id = Number(name);
    if (!Number.isInteger(id) || spared.has(id) || lowered.has(id)) continue;
    lowered.add(id);
    try {
      os.setPriority(id, 19);
    } catch {
      // Gone already, or not ours to change: nothing to do.
    }
  }
}
