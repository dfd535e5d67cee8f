/**
 * Gradient-probe benchmark of the webgpu backend (`npx tsx bench/probe.ts --backend webgpu …`):
 * one torchvision model (resnet18, resnet50 or vit_b16) exported by bench/probe_gpu_torch.py, a
 * probe pass (forward + backward with every probe attached) on webgpu — the first batch apart
 * (adapter, device, shader compilation), then the median of later batches and the peak GPU
 * memory TF.js allocated — beside the same pass on WASM and PyTorch's forward + backward (CUDA
 * when present) on the same model and batch, in one run. Prints JSON.
 *
 *   npx tsx bench/probe.ts --backend webgpu --model resnet50 --batch 32 --size 224 [--runs 5]
 *     [--torch-device cuda|cpu] [--wasm-runs 1 | --no-wasm] [--python /usr/bin/python3]
 *
 * On a software adapter (llvmpipe) the figures only show that the path works.
 */
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { openModel } from '../runtime/analysis/openModel';
import { releaseBackends } from '../runtime/probe/backend';
import { runProbe } from '../runtime/probe/runProbe';
import type { ProbeOptions, ProbeResult } from '../runtime/probe/probeTypes';
import { median } from './probeTiming';

interface TorchResult {
  model: string;
  input: string;
  params: number;
  device: string;
  torch: string;
  loss: number;
  firstBatchMs: number;
  msPerBatch: number;
  peakDeviceMB: number | null;
}

function opt(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : dflt;
}

/** Runs the benchmark of `args` (the command line after bench/probe.ts) and prints its JSON. */
export async function gpuBench(args: string[]): Promise<void> {
  const root = process.cwd();
  const model = opt(args, 'model', 'resnet50');
  const batch = Number(opt(args, 'batch', '32'));
  const size = Number(opt(args, 'size', '224'));
  const runs = Number(opt(args, 'runs', '5'));
  const wasmRuns = args.includes('--no-wasm') ? 0 : Number(opt(args, 'wasm-runs', '1'));
  const torchDevice = opt(args, 'torch-device', 'cuda');
  const python = opt(args, 'python', '/usr/bin/python3');
  const torchRun = spawnSync(
    python,
    [
      path.join(root, 'bench/probe_gpu_torch.py'),
      '--out',
      path.join(root, 'bench/results/probe-gpu'),
      '--model',
      model,
      '--batch',
      String(batch),
      '--size',
      String(size),
      '--device',
      torchDevice,
      '--runs',
      String(Math.max(runs, 5)),
    ],
    { encoding: 'utf8', maxBuffer: 1 << 26 },
  );
  if (torchRun.status !== 0)
    throw new Error(`bench/probe_gpu_torch.py failed: ${torchRun.stderr.slice(-2000)}`);
  const torch = JSON.parse(torchRun.stdout.trim().split('\n').pop()!) as TorchResult;
  const ir = await openModel(path.resolve(root, torch.model));
  const opts: ProbeOptions = {
    source: { kind: 'npy', files: { '': path.resolve(root, torch.input) } },
    batchSize: batch,
    batches: 1,
    loss: 'mean-square',
  };

  /** The first run apart, then the median of `n` more (each one batch of the same data). */
  async function time(backend: 'webgpu' | 'wasm', n: number) {
    const first: ProbeResult = await runProbe(ir, { ...opts, backend });
    const ms: number[] = [];
    for (let i = 0; i < n; i++) ms.push((await runProbe(ir, { ...opts, backend })).timing.msPerBatch);
    const mem = tf.memory() as { numBytesAllocatedInGPU?: number };
    return {
      backend: first.backend.name,
      device: first.backend.device,
      setupMs: first.timing.setupMs,
      firstBatchMs: first.timing.firstBatchMs,
      msPerBatchMedian: ms.length ? median(ms) : undefined,
      msPerBatchAll: ms,
      peakGpuMB: mem.numBytesAllocatedInGPU !== undefined ? mem.numBytesAllocatedInGPU / 2 ** 20 : undefined,
      loss: first.loss.values[0],
      probes: {
        params: first.params.length,
        activations: first.activations.length,
        merges: first.merges.length,
      },
    };
  }

  const gpu = await time('webgpu', runs);
  const wasm = wasmRuns > 0 ? await time('wasm', wasmRuns - 1) : undefined;
  const wasmMs = wasm ? (wasm.msPerBatchMedian ?? wasm.firstBatchMs!) : undefined;
  releaseBackends();
  console.log(
    JSON.stringify(
      {
        bench: 'probe-webgpu',
        model,
        params: torch.params,
        batch,
        size,
        cpu: os.cpus()[0]?.model ?? 'unknown',
        webgpu: gpu,
        wasm,
        pytorch: {
          version: torch.torch,
          device: torch.device,
          firstBatchMs: torch.firstBatchMs,
          msPerBatchMedian: torch.msPerBatch,
          peakDeviceMB: torch.peakDeviceMB,
          loss: torch.loss,
        },
        ratioToPytorch: gpu.msPerBatchMedian! / torch.msPerBatch,
        speedupOverWasm: wasmMs ? wasmMs / gpu.msPerBatchMedian! : undefined,
        lossRelDiff: Math.abs(gpu.loss - torch.loss) / Math.abs(torch.loss),
        peakRssMB: process.resourceUsage().maxRSS / 1024,
      },
      null,
      2,
    ),
  );
}
