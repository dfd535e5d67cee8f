/**
 * The statistics kernels inside a probe: per pass of a zoo model (bench/zoo.ts exports them), the
 * milliseconds spent in gradStats and diffSq, by call size (under 64K floats, under the threads'
 * threshold, above it), on 1 thread and on N, passes alternating between the two; medians over
 * the passes, with the kernel-thread jobs the statistics ran. What threading the statistics saves
 * a pass, measured where the calls really happen (workers asleep or not, tensors in cache or not).
 *
 *   npx tsx bench/statsInProbe.ts [--model resnet34] [--threads N] [--passes P]
 */
import * as tf from '@tensorflow/tfjs-core';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openModel } from '../runtime/analysis/openModel';
import { runProbe, releaseExecutor } from '../runtime/probe/runProbe';
import type { ProbeOptions } from '../runtime/probe/probeTypes';
import { coreCount } from '../runtime/probe/wasm/kernelThreads';
import { kernelThreadsOf, wasmKernels, type EmscriptenHeap } from '../runtime/probe/wasm/wasmKernels';
import { STATS_CHUNK, taskSettings } from '../runtime/probe/wasm/kernelTasks';
import { argValue, median } from './probeTiming';

const name = argValue('--model') ?? 'resnet34';
const many = Number(argValue('--threads')) || coreCount();
const passes = Number(argValue('--passes')) || 7;

async function main(): Promise<void> {
  const metaFile = path.join(process.cwd(), 'bench/models/zoo', `${name}.json`);
  if (!fs.existsSync(metaFile)) {
    console.error(
      `bench/statsInProbe.ts: no ${metaFile}; run bench/zoo.ts --models ${name} once to export it.`,
    );
    process.exitCode = 2;
    return;
  }
  const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8')) as {
    model: string;
    input: string;
    inputShape: number[];
  };
  const model = await openModel(meta.model);
  const opts = (threads: number): ProbeOptions => ({
    source: { kind: 'npy', files: { '': meta.input } },
    batchSize: meta.inputShape[0],
    batches: 1,
    loss: 'mean-square',
    backend: 'wasm',
    threads,
  });
  const load = os.loadavg();
  const counts = [1, many];
  const series = new Map(counts.map((t) => [t, [] as Record<string, number>[]]));
  for (const t of counts) await runProbe(model, opts(t)); // warm-up
  for (let p = 0; p < passes; p++)
    for (const t of counts) {
      // The probe's kernels object is made on the first run; wrap its statistics for this pass.
      const heap = (tf.backend() as unknown as { wasm: EmscriptenHeap }).wasm;
      const k = wasmKernels(heap) as unknown as Record<string, (...a: number[]) => unknown>;
      const pool = kernelThreadsOf(heap);
      const row: Record<string, number> = { small: 0, serial: 0, threaded: 0, calls: 0, jobs: 0 };
      const originals = { gradStats: k.gradStats, diffSq: k.diffSq };
      for (const [fn, perFloat] of [
        ['gradStats', 4],
        ['diffSq', 8],
      ] as const) {
        const orig = originals[fn];
        k[fn] = (...a: number[]) => {
          const n = fn === 'gradStats' ? a[1] : a[2];
          const jobs = pool?.stats.jobs ?? 0;
          const t0 = performance.now();
          const r = orig(...a);
          const ms = performance.now() - t0;
          const cls =
            n < STATS_CHUNK ? 'small' : perFloat * n < taskSettings.minStatsBytes ? 'serial' : 'threaded';
          row[cls] += ms;
          row.calls++;
          row.jobs += (pool?.stats.jobs ?? 0) - jobs;
          return r;
        };
      }
      const r = await runProbe(model, opts(t));
      Object.assign(k, originals);
      row.passMs = r.timing.msPerBatch;
      row.statsMs = row.small + row.serial + row.threaded;
      series.get(t)!.push(row);
    }
  releaseExecutor();
  const summary = Object.fromEntries(
    counts.map((t) => {
      const rows = series.get(t)!;
      const med = (key: string) => +median(rows.map((r) => r[key])).toFixed(2);
      return [
        `threads${t}`,
        {
          passMs: med('passMs'),
          statsMs: med('statsMs'),
          byCallMs: { under64K: med('small'), underThreshold: med('serial'), threaded: med('threaded') },
          calls: rows[0].calls,
          jobs: rows[0].jobs,
        },
      ];
    }),
  );
  console.log(
    JSON.stringify(
      {
        bench: 'statsInProbe',
        model: name,
        input: meta.inputShape,
        passes,
        minStatsBytes: taskSettings.minStatsBytes,
        loadAverage: { before: load, after: os.loadavg() },
        ...summary,
      },
      null,
      2,
    ),
  );
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
