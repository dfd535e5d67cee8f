/**
 * Gradient-probe benchmark: ms per batch (forward + backward with every probe attached) for a
 * full-width ResNet-18 at batch 8, 64×64, on the WASM backend, against PyTorch CPU
 * (bench/probe_torch.py, Debian's python3-torch) on the same machine, model, batch and thread
 * count, in one run. PyTorch is timed in a session before and one after Skipscope's runs, and the
 * ratio is taken against the faster of the two medians. Prints JSON with medians, the ratio and
 * peak RSS.
 *
 * With --breakdown it also times, on the same model and batch, the forward pass alone and
 * forward + backward without probes, and lists WASM kernel times (inclusive of kernels they call)
 * over one probe pass; the rest of a pass is JS outside kernels (tape bookkeeping, JS loops).
 *
 *   npx tsx bench/probe.ts [--narrow] [--runs N] [--breakdown]
 *
 * `--backend webgpu` benchmarks the GPU path instead (bench/probeGpu.ts: ResNet-50 at 224×224,
 * batch 32 by default, or --model vit_b16, against PyTorch CUDA and WASM).
 */
import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs-core';
import * as os from 'node:os';
import * as path from 'node:path';
import { openModel } from '../runtime/analysis/openModel';
import { initBackend } from '../runtime/probe/backend';
import { runProbe } from '../runtime/probe/runProbe';
import { Executor } from '../runtime/probe/executor';
import { gradPass } from '../runtime/probe/gradPass';
import { makeLoss } from '../runtime/probe/losses';
import { readNpy } from '../runtime/probe/npy';
import type { Model } from '../runtime/model/ir';
import { median, timeKernels } from './probeTiming';
import { gpuBench } from './probeGpu';

// Run from the repository root (also when bundled for another machine).
const root = process.cwd();
const args = process.argv.slice(2);
const narrow = args.includes('--narrow');
const runs = Number(args[args.indexOf('--runs') + 1]) || 5;
const breakdown = args.includes('--breakdown');
const batch = 8;
const size = 64;

async function timeMedian(f: () => unknown): Promise<number> {
  await f(); // warm-up
  const ts: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await f();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

/** Forward only, forward + backward without probes, with probes, and kernel times of one probe pass. */
async function breakdownOf(model: Model, input: string): Promise<Record<string, unknown>> {
  const ex = new Executor(model);
  const a = readNpy(input);
  const x = tf.tensor(a.data, a.shape, 'float32');
  const feeds = { [model.graph.inputs[0]]: x };
  const loss = makeLoss('mean-square', {}, model.file);
  const names = ex.params.map((p) => p.name);
  const forwardMs = await timeMedian(() => tf.dispose(ex.forward(feeds)));
  const plainMs = await timeMedian(() =>
    tf.tidy(() => {
      const { value, grads } = tf.valueAndGrads((...ps: tf.Tensor[]) =>
        loss(ex.run(feeds, {}, new Map(names.map((n, i) => [n, ps[i]]))).map((v) => v.nat())),
      )(ex.params.map((p) => p.tensor));
      value.dataSync();
      for (const g of grads) g.dataSync();
    }),
  );
  const probedMs = await timeMedian(() => gradPass(ex, feeds, loss, []));
  const timer = timeKernels();
  const t0 = performance.now();
  await gradPass(ex, feeds, loss, []);
  const passMs = performance.now() - t0;
  const kernels = timer.stop(20);
  ex.dispose();
  x.dispose();
  return {
    forwardMs,
    forwardBackwardMs: plainMs,
    withProbesNoSkipsMs: probedMs,
    timedPassMs: passMs,
    kernels,
  };
}

interface TorchResult {
  model: string;
  input: string;
  params: number;
  threads: number;
  torch: string;
  loss: number;
  msPerBatch: number;
  peakRssMB: number;
}

/** One PyTorch session (bench/probe_torch.py exports the model it times, the same each time). */
function torchSession(threads: number): TorchResult {
  const run = spawnSync(
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
      String(threads),
      '--runs',
      String(Math.max(runs, 7)),
      ...(narrow ? ['--narrow'] : []),
    ],
    { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: String(threads) } },
  );
  if (run.status !== 0) throw new Error(`bench/probe_torch.py failed: ${run.stderr.slice(-2000)}`);
  return JSON.parse(run.stdout.trim().split('\n').pop()!) as TorchResult;
}

async function main(): Promise<void> {
  const backend = await initBackend('wasm');
  // PyTorch's median moves by a third from one session to the next on this machine: time it
  // before and after Skipscope and compare against the faster session (the harder target).
  const before = torchSession(backend.threads);
  const torch = before;
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
  const after = torchSession(backend.threads);
  const torchMs = Math.min(before.msPerBatch, after.msPerBatch);
  const parts = breakdown ? await breakdownOf(model, path.resolve(root, torch.input)) : undefined;
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
          msPerBatchMedian: torchMs,
          sessionMedians: [before.msPerBatch, after.msPerBatch],
          peakRssMB: Math.max(before.peakRssMB, after.peakRssMB),
          loss: torch.loss,
        },
        ratio: ms / torchMs,
        lossRelDiff: Math.abs(warm.loss.values[0] - torch.loss) / Math.abs(torch.loss),
        ...(parts ? { breakdown: parts } : {}),
      },
      null,
      2,
    ),
  );
}

(args.includes('--backend') && args[args.indexOf('--backend') + 1] === 'webgpu'
  ? gpuBench(args)
  : main()
).catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
