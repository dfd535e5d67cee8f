/**
 * Gradient-probe benchmark: ms per batch (forward + backward with every probe attached) for a
 * full-width ResNet-18 at batch 8, 64×64, on the WASM backend, against PyTorch CPU
 * (bench/probe_torch.py, Debian's python3-torch) on the same machine, model, batch and thread
 * count, in one run. Prints JSON with medians, the ratio and peak RSS.
 *
 *   npx tsx bench/probe.ts [--narrow] [--runs N]
 */
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { openModel } from '../runtime/model/open';
import { initBackend } from '../runtime/probe/backend';
import { runProbe } from '../runtime/probe/runProbe';

// Run from the repository root (also when bundled for another machine).
const root = process.cwd();
const args = process.argv.slice(2);
const narrow = args.includes('--narrow');
const runs = Number(args[args.indexOf('--runs') + 1]) || 5;
const batch = 8;
const size = 64;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function main(): Promise<void> {
  const backend = await initBackend('wasm');
  const torchRun = spawnSync(
    '/usr/bin/python3',
    [
      path.join(root, 'bench/probe_torch.py'),
      '--out',
      path.join(root, 'bench/results/probe'),
      '--batch',
      String(batch),
      '--size',
      String(size),
      '--threads',
      String(backend.threads),
      ...(narrow ? ['--narrow'] : []),
    ],
    { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: String(backend.threads) } },
  );
  if (torchRun.status !== 0) throw new Error(`bench/probe_torch.py failed: ${torchRun.stderr.slice(-2000)}`);
  const torch = JSON.parse(torchRun.stdout.trim().split('\n').pop()!) as {
    model: string;
    input: string;
    params: number;
    threads: number;
    torch: string;
    loss: number;
    msPerBatch: number;
    peakRssMB: number;
  };
  const model = await openModel(path.resolve(root, torch.model));
  const opts = {
    source: { kind: 'npy' as const, files: { '': path.resolve(root, torch.input) } },
    batchSize: batch,
    batches: 1,
    loss: 'mean-square' as const,
    backend: 'wasm' as const,
  };
  const warm = await runProbe(model, opts);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push((await runProbe(model, opts)).timing.msPerBatch);
  const ms = median(times);
  console.log(
    JSON.stringify(
      {
        bench: 'probe',
        model: path.basename(torch.model),
        params: torch.params,
        batch,
        size,
        cpu: os.cpus()[0]?.model ?? 'unknown',
        threads: backend.threads,
        skipscope: {
          backend: backend.name,
          device: backend.device,
          probes: {
            params: warm.params.length,
            activations: warm.activations.length,
            merges: warm.merges.length,
          },
          msPerBatchMedian: ms,
          msPerBatchAll: times,
          peakRssMB: process.resourceUsage().maxRSS / 1024,
          loss: warm.loss.values[0],
        },
        pytorch: {
          version: torch.torch,
          threads: torch.threads,
          msPerBatchMedian: torch.msPerBatch,
          peakRssMB: torch.peakRssMB,
          loss: torch.loss,
        },
        ratio: ms / torch.msPerBatch,
        lossRelDiff: Math.abs(warm.loss.values[0] - torch.loss) / Math.abs(torch.loss),
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
