/**
 * Recurrent-net probe benchmark: ms per batch (forward + backward with every probe attached, the
 * per-timestep taps included) of a 2-layer LSTM tagger (vocabulary 10,000, embedding 128, hidden
 * 256, int64 token ids) and a 2-layer bidirectional GRU (hidden 128), both over 32 steps at batch
 * 8, on the WASM backend, against PyTorch CPU (bench/probe_recurrent_torch.py, Debian's
 * python3-torch) on the same models, batches and thread count. PyTorch is timed in a session
 * before and one after Skipscope's runs; each ratio is taken against the faster session. Prints
 * JSON with medians, ratios and the loss agreement.
 *
 *   npx tsx bench/probeRecurrent.ts [--runs N] [--backend wasm|cpu]
 */
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { openModel } from '../runtime/analysis/openModel';
import { initBackend } from '../runtime/probe/backend';
import { releaseExecutor, runProbe } from '../runtime/probe/runProbe';
import type { BackendName } from '../runtime/probe/probeTypes';
import { median } from './probeTiming';

// Run from the repository root.
const root = process.cwd();
const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1]) || 5;
const backendName = (
  args.includes('--backend') ? args[args.indexOf('--backend') + 1] : 'wasm'
) as BackendName;
const batch = 8;

interface TorchResult {
  model: string;
  input: string;
  params: number;
  threads: number;
  torch: string;
  loss: number;
  msPerBatch: number;
}

/** One PyTorch session over both models (the exports are the same every time). */
function torchSession(threads: number): TorchResult[] {
  const run = spawnSync(
    '/usr/bin/python3',
    [
      path.join(root, 'bench/probe_recurrent_torch.py'),
      '--out',
      path.join(root, 'bench/results/recurrent'),
      '--batch',
      String(batch),
      '--threads',
      String(threads),
      '--runs',
      String(Math.max(runs, 7)),
    ],
    { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: String(threads) } },
  );
  if (run.status !== 0) throw new Error(`bench/probe_recurrent_torch.py failed: ${run.stderr.slice(-2000)}`);
  return run.stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as TorchResult);
}

async function main(): Promise<void> {
  const backend = await initBackend(backendName);
  const before = torchSession(backend.threads);
  const results: (
    | { torch: TorchResult; warm: Awaited<ReturnType<typeof runProbe>>; ms: number; times: number[] }
    | { torch: TorchResult; error: string }
  )[] = [];
  for (const t of before) {
    const model = await openModel(path.resolve(root, t.model));
    const opts = {
      source: { kind: 'npy' as const, files: { '': path.resolve(root, t.input) } },
      batchSize: batch,
      batches: 1,
      loss: 'mean-square' as const,
      backend: backendName,
    };
    try {
      const warm = await runProbe(model, opts);
      const times: number[] = [];
      for (let i = 0; i < runs; i++) times.push((await runProbe(model, opts)).timing.msPerBatch);
      results.push({ torch: t, warm, ms: median(times), times });
    } catch (e) {
      // One model that cannot run is reported as such; the others are still timed.
      results.push({ torch: t, error: e instanceof Error ? e.message : String(e) });
    } finally {
      releaseExecutor();
    }
  }
  const after = torchSession(backend.threads);
  console.log(
    JSON.stringify(
      {
        bench: 'probeRecurrent',
        batch,
        cpu: os.cpus()[0]?.model ?? 'unknown',
        loadAverage: os.loadavg(),
        threads: backend.threads,
        backend: { name: backend.name, device: backend.device },
        pytorch: before[0]?.torch,
        models: results.map((r, i) => {
          const torch = r.torch;
          if (!('warm' in r)) return { model: path.basename(torch.model), error: r.error };
          const { warm, ms, times } = r;
          const torchMs = Math.min(torch.msPerBatch, after[i].msPerBatch);
          return {
            model: path.basename(torch.model),
            params: torch.params,
            skipscope: {
              msPerBatchMedian: ms,
              msPerBatchAll: times,
              timesteps: (warm.timesteps ?? []).map((s) => `${s.node} ${s.direction} ×${s.l2.length}`),
              loss: warm.loss.values[0],
            },
            pytorch: { msPerBatchMedian: torchMs, sessionMedians: [torch.msPerBatch, after[i].msPerBatch] },
            ratio: ms / torchMs,
            lossRelDiff: Math.abs(warm.loss.values[0] - torch.loss) / Math.abs(torch.loss),
          };
        }),
        peakRssMB: process.resourceUsage().maxRSS / 1024,
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
