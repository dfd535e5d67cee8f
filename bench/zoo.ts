/**
 * Model-zoo benchmark: ms per batch (forward + backward with every probe attached, the
 * mean-square loss, batch 2) of full-width models of every architecture family the probe runs
 * (torchvision's ResNet-34, RegNet-Y-400MF, MobileNetV3-L, Inception-v3, EfficientNetV2-S, a ViT,
 * r3d_18; a 3-D U-Net, a GPT-style decoder, an LSTM tagger: bench/make_zoo.py), on the WASM
 * backend at 1 thread and at N = cores threads, against PyTorch CPU on the same model, weights
 * and batch at 1 thread and at its default thread count, all in one run.
 *
 * The zoo is exported on demand into bench/models/zoo/ (git-ignored) by bench/make_zoo.py with
 * Debian's python3-torch and python3-torchvision, random weights, BatchNorm folded. One PyTorch
 * process (make_zoo.py serve) times every model, so that the four settings of a model interleave
 * round by round — PyTorch 1 thread, Skipscope 1 thread, PyTorch default, Skipscope N — and see
 * the same load drift on a shared machine. Each setting's figure is the median of all its steady
 * steps over the rounds (warm-up steps apart); on Skipscope's side a step is a probe of --batches
 * B batches (6; the input repeated) and its steady median, the batches after the first, as a
 * sidecar that stays at one thread count sees them. On more than one thread the last batch of a
 * probe also finishes the work its pass queued for the workers, which no next pass overlaps: a
 * 3-batch probe has two steady batches, the last of them this one, and their median is their
 * mean; the median of five steady batches leaves a slow last one out. Prints JSON: per model the medians, the ratios
 * (Skipscope over PyTorch: below 1, Skipscope is faster), the loss of both (they compute the same
 * function), and over the models the geometric mean and the maximum of each ratio. With
 * --breakdown, per model and thread count (1 and N) the WASM kernels and the probe's own kernels
 * over one pass, their call count, and the time of the pass outside any kernel (dispatch, tape,
 * probes).
 *
 *   npx tsx bench/zoo.ts [--models a,b,…] [--threads N] [--runs R] [--batches B] [--rounds K] [--warmup W] [--no-torch] [--breakdown]
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { openModel } from '../runtime/analysis/openModel';
import { runProbe, releaseExecutor } from '../runtime/probe/runProbe';
import type { ProbeOptions, ProbeResult } from '../runtime/probe/probeTypes';
import type { Model } from '../runtime/model/ir';
import { coreCount } from '../runtime/probe/wasm/kernelThreads';
import { argValue, median, repeatedInput, timeKernels, timeOwnKernels } from './probeTiming';

const root = process.cwd();
const args = process.argv.slice(2);
const runs = Number(argValue('--runs')) || 5;
const perRun = Math.max(1, Number(argValue('--batches')) || 6);
const rounds = Number(argValue('--rounds')) || 2;
/** Probes of each thread count before the timed ones (1: the first run only; V8 goes on compiling for some 200 passes). */
const warmup = Math.max(1, Number(argValue('--warmup')) || 1);
const many = Number(argValue('--threads')) || coreCount();
const withTorch = !args.includes('--no-torch');
const breakdown = args.includes('--breakdown');
const zooDir = path.join(root, 'bench/models/zoo');
const python = '/usr/bin/python3';
const makeZoo = path.join(root, 'bench/make_zoo.py');

interface ZooMeta {
  name: string;
  about: string;
  model: string;
  input: string;
  inputShape: number[];
  params: number;
}

interface TorchReply {
  name: string;
  threads: number;
  msPerBatch: number;
  msPerBatchAll: number[];
  loss: number;
  torch: string;
  error?: string;
}

/** The zoo's model names, from make_zoo.py. */
function zooNames(): string[] {
  const r = spawnSync(python, [makeZoo, 'list'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench/make_zoo.py list failed: ${r.stderr.slice(-2000)}`);
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { name: string }).name);
}

/** Exports the models whose files are missing (make_zoo.py export). */
function ensureExported(names: string[]): ZooMeta[] {
  const missing = names.filter((n) => !fs.existsSync(path.join(zooDir, `${n}.json`)));
  if (missing.length) {
    console.error(`exporting ${missing.join(', ')} into ${path.relative(root, zooDir)}/ …`);
    const r = spawnSync(python, [makeZoo, 'export', ...missing], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    if (r.status !== 0) throw new Error(`bench/make_zoo.py export failed (exit ${r.status}).`);
  }
  return names.map((n) => JSON.parse(fs.readFileSync(path.join(zooDir, `${n}.json`), 'utf8')) as ZooMeta);
}

/** One long-lived PyTorch timer (make_zoo.py serve): a request a line, a reply a line. */
class TorchTimer {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterableIterator<string>;

  constructor() {
    const env = { ...process.env };
    delete env.OMP_NUM_THREADS; // PyTorch's default thread count is its own
    delete env.MKL_NUM_THREADS;
    this.proc = spawn(python, [makeZoo, 'serve'], { env });
    this.proc.stderr.on('data', () => undefined); // export warnings
    this.lines = readline.createInterface({ input: this.proc.stdout })[Symbol.asyncIterator]();
  }

  async time(name: string, threads: number, n: number): Promise<TorchReply> {
    this.proc.stdin.write(JSON.stringify({ name, threads, runs: n }) + '\n');
    const next = await this.lines.next();
    if (next.done) throw new Error('bench/make_zoo.py serve ended early.');
    const reply = JSON.parse(next.value) as TorchReply;
    if (reply.error) throw new Error(`PyTorch on ${name}: ${reply.error}`);
    return reply;
  }

  close(): void {
    this.proc.stdin.end();
  }
}

const round = (v: number) => Math.round(v * 100) / 100;
const geomean = (xs: number[]) => Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length);

function probeOptions(meta: ZooMeta, threads: number, batches = 1): ProbeOptions {
  return {
    source: { kind: 'npy', files: { '': repeatedInput(meta.input, batches) } },
    batchSize: meta.inputShape[0],
    batches,
    loss: 'mean-square',
    backend: 'wasm',
    threads,
  };
}

/**
 * `n` probe runs of `perRun` batches each (the input repeated): the steady median of each (its
 * batches after the first), as a sidecar that stays at one thread count sees them.
 */
async function skipscopeTimes(model: Model, meta: ZooMeta, threads: number, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = (await runProbe(model, probeOptions(meta, threads, perRun))).timing;
    out.push(t.steadyMedianMs ?? t.msPerBatch);
  }
  return out;
}

/** Kernel times of one probe pass at `threads` (after a warm run). */
async function breakdownOf(model: Model, meta: ZooMeta, threads: number): Promise<Record<string, unknown>> {
  await runProbe(model, probeOptions(meta, threads));
  const timer = timeKernels();
  const own = timeOwnKernels();
  const r = await runProbe(model, probeOptions(meta, threads));
  const ownKernels = own.stop();
  const all = timer.stop(1000);
  const passMs = r.timing.msPerBatch;
  const tfjsMs = all.reduce((s, k) => s + k.ms, 0);
  return {
    threads,
    passMs: round(passMs),
    tfjsKernelMs: round(tfjsMs),
    tfjsKernelCalls: all.reduce((s, k) => s + k.calls, 0),
    outsideKernelsMs: round(passMs - tfjsMs),
    ownKernelsMs: round(ownKernels.reduce((s, k) => s + k.ms, 0)),
    kernels: all.slice(0, 12),
    ownKernels: ownKernels.slice(0, 8),
  };
}

interface TorchSetting {
  threads: number;
  msPerBatchMedian: number;
  msPerBatchAll: number[];
}

interface ModelResult {
  name: string;
  about: string;
  params: number;
  input: number[];
  skipscope: Record<string, { msPerBatchMedian: number; msPerBatchAll: number[]; firstBatchMs: number }>;
  pytorch?: { version: string; threads1: TorchSetting; default: TorchSetting };
  ratio?: { oneThreadVsPytorchOneThread: number; manyVsPytorchDefault: number };
  loss: { skipscope: number; pytorch?: number; relDiff?: number };
  breakdown?: Record<string, unknown>[];
}

async function benchModel(
  meta: ZooMeta,
  counts: number[],
  torch: TorchTimer | undefined,
): Promise<ModelResult> {
  const model = await openModel(meta.model);
  const sk = new Map<number, number[]>(counts.map((t) => [t, []]));
  const first = new Map<number, number>();
  const th = new Map<number, number[]>([
    [1, []],
    [0, []],
  ]);
  const thThreads = new Map<number, number>();
  let skLoss = NaN;
  let tLoss: number | undefined;
  let torchVersion = '';
  // Warm-up: the first run of each count pays the set-up (weights, kernel tier-up).
  for (const t of counts) {
    const r: ProbeResult = await runProbe(model, probeOptions(meta, t));
    first.set(t, r.timing.firstBatchMs);
    skLoss = r.loss.values[0];
  }
  for (let i = 1; i < warmup; i++) for (const t of counts) await runProbe(model, probeOptions(meta, t));
  for (let k = 0; k < rounds; k++) {
    for (const [i, t] of counts.entries()) {
      // PyTorch at 1 thread before Skipscope at 1, PyTorch at its default before Skipscope at N.
      if (torch) {
        const pt = i === 0 ? 1 : 0;
        const r = await torch.time(meta.name, pt, runs);
        th.get(pt)!.push(...r.msPerBatchAll);
        thThreads.set(pt, r.threads);
        tLoss = r.loss;
        torchVersion = r.torch;
      }
      sk.get(t)!.push(...(await skipscopeTimes(model, meta, t, runs)));
    }
  }
  const bd: Record<string, unknown>[] = [];
  if (breakdown) for (const t of counts) bd.push(await breakdownOf(model, meta, t));
  releaseExecutor();
  const skMs = (t: number) => median(sk.get(t)!);
  const result: ModelResult = {
    name: meta.name,
    about: meta.about,
    params: meta.params,
    input: meta.inputShape,
    skipscope: Object.fromEntries(
      counts.map((t) => [
        `threads${t}`,
        {
          msPerBatchMedian: round(skMs(t)),
          msPerBatchAll: sk.get(t)!.map(round),
          firstBatchMs: round(first.get(t)!),
        },
      ]),
    ),
    loss: { skipscope: skLoss },
  };
  if (torch) {
    const tMs = (t: number) => median(th.get(t)!);
    result.pytorch = {
      version: torchVersion,
      threads1: { threads: 1, msPerBatchMedian: round(tMs(1)), msPerBatchAll: th.get(1)!.map(round) },
      default: {
        threads: thThreads.get(0)!,
        msPerBatchMedian: round(tMs(0)),
        msPerBatchAll: th.get(0)!.map(round),
      },
    };
    result.ratio = {
      oneThreadVsPytorchOneThread: round(skMs(1) / tMs(1)),
      manyVsPytorchDefault: round(skMs(counts[counts.length - 1]) / tMs(0)),
    };
    result.loss.pytorch = tLoss;
    result.loss.relDiff = Math.abs(skLoss - tLoss!) / Math.abs(tLoss!);
  }
  if (breakdown) result.breakdown = bd;
  return result;
}

async function main(): Promise<void> {
  const known = zooNames();
  const picked = argValue('--models')?.split(',') ?? known;
  const unknown = picked.filter((n) => !known.includes(n));
  if (unknown.length) {
    console.error(`bench/zoo.ts: unknown model ${unknown.join(', ')} (known: ${known.join(', ')})`);
    process.exitCode = 2;
    return;
  }
  const metas = ensureExported(picked);
  const load = os.loadavg();
  const counts = [...new Set([1, many])];
  const torch = withTorch ? new TorchTimer() : undefined;
  const models: ModelResult[] = [];
  try {
    for (const meta of metas) {
      console.error(`${meta.name} …`);
      const r = await benchModel(meta, counts, torch);
      models.push(r);
      const ms = Object.entries(r.skipscope).map(([k, v]) => `${k} ${v.msPerBatchMedian}`);
      const pt = r.pytorch
        ? ` | pytorch 1: ${r.pytorch.threads1.msPerBatchMedian}, default: ${r.pytorch.default.msPerBatchMedian}`
        : '';
      console.error(
        `  ${ms.join(', ')}${pt}${r.ratio ? ` | ratios ${r.ratio.oneThreadVsPytorchOneThread}, ${r.ratio.manyVsPytorchDefault}` : ''}`,
      );
    }
  } finally {
    torch?.close();
  }
  const ratios = (k: 'oneThreadVsPytorchOneThread' | 'manyVsPytorchDefault') =>
    models.filter((m) => m.ratio).map((m) => m.ratio![k]);
  const summary = (k: 'oneThreadVsPytorchOneThread' | 'manyVsPytorchDefault') => {
    const rs = ratios(k);
    if (!rs.length) return undefined;
    const worst = models.reduce((a, b) => (b.ratio![k] > a.ratio![k] ? b : a));
    return { geomean: round(geomean(rs)), max: round(Math.max(...rs)), maxModel: worst.name };
  };
  console.log(
    JSON.stringify(
      {
        bench: 'zoo',
        cpu: os.cpus()[0]?.model ?? 'unknown',
        cores: coreCount(),
        threads: counts,
        runs,
        rounds,
        warmup,
        loadAverage: { before: load, after: os.loadavg() },
        models,
        // Skipscope's ms per batch over PyTorch's (below 1: Skipscope is faster).
        ...(withTorch
          ? {
              summary: {
                oneThreadVsPytorchOneThread: summary('oneThreadVsPytorchOneThread'),
                [`threads${many}VsPytorchDefault`]: summary('manyVsPytorchDefault'),
              },
            }
          : {}),
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
