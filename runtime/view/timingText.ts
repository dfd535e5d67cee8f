/**
 * How long a probe took, in words, for the CLI table, the editor's notification and its status
 * bar: the first batch (which pays the set-up: weight transforms, buffers) apart from the median
 * of the others, and the threads that ran.
 */
import type { ProbeResult } from '../probe/probeTypes';

const ms = (v: number) => `${v < 10 ? v.toFixed(1) : v.toFixed(0)} ms`;

/** "85 ms per batch (median of 3; the first took 140 ms) on 2 threads". */
export function timingText(r: Pick<ProbeResult, 'timing' | 'backend' | 'batches'>): string {
  const { firstBatchMs, steadyMedianMs } = r.timing;
  const steady =
    steadyMedianMs === undefined
      ? `${ms(firstBatchMs)} for its one batch (set-up included)`
      : `${ms(steadyMedianMs)} per batch (median of ${r.batches - 1}; the first took ${ms(firstBatchMs)})`;
  return r.backend.threads ? `${steady} on ${threadsText(r.backend)}` : steady;
}

/** "2 threads", or "1 thread (2 asked: no kernel call was large enough to share out)". */
export function threadsText(b: Pick<ProbeResult['backend'], 'threads' | 'threadsAsked'>): string {
  const t = `${b.threads} thread${b.threads === 1 ? '' : 's'}`;
  return b.threadsAsked ? `${t} (${b.threadsAsked} asked: no kernel call was large enough to share out)` : t;
}

/** "wasm ×2 · 85 ms/batch": the status bar's short form. */
export function timingBrief(r: Pick<ProbeResult, 'timing' | 'backend'>): string {
  const per = r.timing.steadyMedianMs ?? r.timing.firstBatchMs;
  const t = r.backend.threads;
  return `${r.backend.name}${t > 1 ? ` ×${t}` : ''} · ${ms(per)}/batch`;
}
