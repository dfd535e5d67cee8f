/**
 * One probe run's use of the kernel threads. A run whose first batch sent no kernel call to them
 * (every call fell below the thresholds of kernelTasks.ts, as on a small model) runs its other
 * batches on the calling thread alone, exactly as a run asked for one thread does, and says so.
 * With several threads each kernel call first weighs whether to share its work out, and the
 * queued forms whether the workers sleep: on a model none of whose calls is worth it that cost
 * 3–5% a batch and bought nothing (the sample model and the smallest fixtures, on the 2-core VM
 * measured). Which thread computes what never changes the results (kernelTasks.ts), so neither
 * does this.
 */
import { kernelThreadsOf, type EmscriptenHeap } from './wasmKernels';
import type { KernelThreads } from './kernelThreads';

export class ThreadTrial {
  private readonly pool?: KernelThreads;
  private readonly before?: { jobs: number; queued: number };
  /** The threads the run was asked for, once it went down to one (else undefined). */
  private asked?: number;

  /** Before the run's first batch; does nothing unless more than one thread is up. */
  constructor(heap: EmscriptenHeap) {
    const pool = kernelThreadsOf(heap);
    if (!pool || pool.threads < 2) return;
    this.pool = pool;
    this.before = { jobs: pool.stats.jobs, queued: pool.stats.queued };
  }

  /** After the first batch, when `more` batches follow: one thread for those if it sent the threads nothing. */
  firstBatchDone(more: boolean): void {
    const { pool, before } = this;
    if (!more || !pool || !before || this.asked !== undefined) return;
    if (pool.stats.jobs !== before.jobs || pool.stats.queued !== before.queued) return;
    this.asked = pool.asked;
    void pool.resize(1);
  }

  /** The threads asked for when the run went down to one, else undefined. */
  get narrowedFrom(): number | undefined {
    return this.asked;
  }

  /** At the end of the run, failed or not: the threads as they were asked for. */
  finish(): void {
    if (this.pool && this.asked !== undefined) void this.pool.resize(this.asked);
  }
}
