/**
 * Gradient-probe benchmark: ms per batch (forward + backward with every probe attached) for a
 * full-width ResNet-18 at batch 8, 64×64, on the WASM backend on one thread and on one thread
 * per core (or --threads N), against PyTorch CPU (bench/probe_torch.py, Debian's python3-torch)
 * on the same machine, model and batch on one thread and at its default thread count, all in one
 * run. Each timed run is a probe of --batches B batches (4; the input repeated) and gives its
 * steady median (`timing.steadyMedianMs`, the batches after the first), as a sidecar that stays at
 * one thread count sees it: on the 2-core VM measured, a two-thread batch right after a
 * one-thread one took some 10% longer (the second core had idled for its whole length). The two
 * thread counts alternate run by run; each PyTorch setting is timed in a session before and one
 * after them, and ratios are taken against the faster session. PyTorch is also timed right after
 * each run, at the settings that run is compared with, by a PyTorch process kept beside this one
 * (probe_torch.py --serve): `pairedRatio` is the median of those pairs, which a slow spell of the
 * machine (on the VMs measured, both sides slowed by up to a third for minutes) moves together. PyTorch runs with glibc's malloc
 * keeping the memory it frees (bench/torch_step.py's keep_freed_memory): as installed, each step
 * faults its buffers in afresh, and on the VMs measured that made its median step 1–4× the steady
 * one, by session. It is also timed so, at its default thread count (`defaultMallocAsInstalled`,
 * with its own ratio), since that is what a user's plain session gets. Prints JSON with medians,
 * the first (cold) batch apart, ratios, the parallel efficiency (also as `pairedSpeedup`, the
 * median of each run on all threads against the one-thread run before it), the load average and
 * peak RSS.
 *
 * With --breakdown it also times, on one thread and on all, the forward pass alone and
 * forward + backward without probes, and lists the TF.js WASM kernels (inclusive of the kernels
 * they call) and the probe's own kernels (wall time of each call, the threads included), as
 * medians over --profile-passes probe passes (5): the rest of a pass is what stays serial. Its
 * `scaling` compares the two: how much faster the own kernels ran on all threads than on one,
 * and how long the rest took on each.
 *
 * It also times small models (samples/sample.onnx and the smallest probe fixtures, batch 4 as
 * the editor runs them) on one thread and on all: there the kernels stay on the calling thread,
 * and the threads must cost nothing.
 *
 *   npx tsx bench/probe.ts [--narrow] [--runs N] [--batches B] [--warmup K] [--threads N] [--batch N] [--size N] [--breakdown] [--profile-passes P]
 *
 * `--backend webgpu` benchmarks the GPU path instead (bench/probeGpu.ts: ResNet-50 at 224×224,
 * batch 32 by default, or --model vit_b16, against PyTorch CUDA and WASM).
 */
import { spawn, spawnSync } from 'node:child_process';
import * as readline from 'node:readline';
import * as fs from 'node:fs';
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
import { median, repeatedInput, timeKernels, timeOwnKernels, type KernelTime } from './probeTiming';
import { gpuBench } from './probeGpu';
import { coreCount } from '../runtime/probe/wasm/kernelThreads';
import { kernelThreadsOf, type EmscriptenHeap } from '../runtime/probe/wasm/wasmKernels';

// Run from the repository root (also when bundled for another machine).
const root = process.cwd();
const args = process.argv.slice(2);
const narrow = args.includes('--narrow');
const runs = Number(args[args.indexOf('--runs') + 1]) || 5;
const breakdown = args.includes('--breakdown');
const many = Number(args[args.indexOf('--threads') + 1]) || coreCount();
const batch = Number(args[args.indexOf('--batch') + 1]) || 8;
const size = Number(args[args.indexOf('--size') + 1]) || 64;
const warmup = Math.max(1, Number(args[args.indexOf('--warmup') + 1]) || 1);
const perRun = Math.max(1, Number(args[args.indexOf('--batches') + 1]) || 4);
const profilePasses = Math.max(1, Number(args[args.indexOf('--profile-passes') + 1]) || 5);

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

/** Forward only, forward + backward without probes, with probes, and kernel times of one probe pass, on `threads`. */
async function breakdownOf(model: Model, input: string, threads: number): Promise<Record<string, unknown>> {
  await initBackend('wasm', { threads });
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
  const pool = kernelThreadsOf((tf.backend() as unknown as { wasm: EmscriptenHeap }).wasm);
  const zero = { jobs: 0, tasks: 0, ms: 0, waitMs: 0 };
  // Profiled passes, each on its own: the medians over them (one pass scatters by a fifth here).
  const passes: {
    passMs: number;
    own: KernelTime[];
    kernels: KernelTime[];
    jobs: typeof zero;
  }[] = [];
  for (let i = 0; i < profilePasses; i++) {
    const jobs0 = { ...(pool?.stats ?? zero) };
    const timer = timeKernels();
    const own = timeOwnKernels();
    const t0 = performance.now();
    await gradPass(ex, feeds, loss, []);
    const passMs = performance.now() - t0;
    const s = pool?.stats ?? zero;
    passes.push({
      passMs,
      own: own.stop(),
      kernels: timer.stop(20),
      jobs: {
        jobs: s.jobs - jobs0.jobs,
        tasks: s.tasks - jobs0.tasks,
        ms: s.ms - jobs0.ms,
        waitMs: s.waitMs - jobs0.waitMs,
      },
    });
  }
  ex.dispose();
  x.dispose();
  const round = (v: number) => Math.round(v * 10) / 10;
  const med = (f: (p: (typeof passes)[number]) => number) => round(median(passes.map(f)));
  const ownMs = (p: (typeof passes)[number]) => p.own.reduce((sum, k) => sum + k.ms, 0);
  return {
    threads,
    forwardMs,
    forwardBackwardMs: plainMs,
    withProbesNoSkipsMs: probedMs,
    profiledPasses: profilePasses,
    timedPassMs: med((p) => p.passMs),
    ownKernelsMs: med(ownMs),
    outsideOwnKernelsMs: med((p) => p.passMs - ownMs(p)),
    threadJobs: pool
      ? {
          jobs: med((p) => p.jobs.jobs),
          tasks: med((p) => p.jobs.tasks),
          ms: med((p) => p.jobs.ms),
          mainWaitMs: med((p) => p.jobs.waitMs),
        }
      : undefined,
    ownKernels: medianKernels(passes.map((p) => p.own)),
    kernels: medianKernels(passes.map((p) => p.kernels)),
  };
}

/**
 * From the breakdowns on one thread and on the most: the own kernels' speedup (their time on one
 * thread over their time on the most) and the time outside them on each (what stays serial).
 */
function scalingOf(parts: Record<string, unknown>[]): Record<string, number> | undefined {
  if (parts.length < 2) return undefined;
  const [one, most] = [parts[0], parts[parts.length - 1]] as {
    ownKernelsMs: number;
    outsideOwnKernelsMs: number;
  }[];
  return {
    ownKernelsSpeedup: Math.round((one.ownKernelsMs / most.ownKernelsMs) * 100) / 100,
    outsideOneThreadMs: one.outsideOwnKernelsMs,
    outsideAllThreadsMs: most.outsideOwnKernelsMs,
  };
}

/** Each kernel's median time over passes (0 in a pass that did not call it) and its calls in the first. */
function medianKernels(perPass: KernelTime[][]): KernelTime[] {
  const names = [...new Set(perPass.flatMap((ks) => ks.map((k) => k.name)))];
  return names
    .map((name) => ({
      name,
      ms: Math.round(median(perPass.map((ks) => ks.find((k) => k.name === name)?.ms ?? 0)) * 10) / 10,
      calls: perPass[0].find((k) => k.name === name)?.calls ?? 0,
    }))
    .sort((p, q) => q.ms - p.ms);
}

interface TorchResult {
  model: string;
  input: string;
  params: number;
  threads: number;
  torch: string;
  freedMemoryKept: boolean;
  loss: number;
  msPerBatch: number;
  peakRssMB: number;
}

/**
 * One PyTorch session on `threads` threads (0: its default; probe_torch.py exports the model it
 * times, the same each time), with glibc's malloc keeping freed memory unless `asInstalled`.
 */
function torchSession(threads: number, asInstalled = false): TorchResult {
  const env = { ...process.env };
  if (threads > 0) env.OMP_NUM_THREADS = String(threads);
  else delete env.OMP_NUM_THREADS;
  const run = spawnSync(
    '/usr/bin/python3',
    torchArgs(['--threads', String(threads), ...(asInstalled ? ['--malloc-as-installed'] : [])]),
    { encoding: 'utf8', env },
  );
  if (run.status !== 0) throw new Error(`bench/probe_torch.py failed: ${run.stderr.slice(-2000)}`);
  return JSON.parse(run.stdout.trim().split('\n').pop()!) as TorchResult;
}

/** probe_torch.py and its arguments for this bench's model, batch and runs, with `extra`. */
function torchArgs(extra: string[]): string[] {
  return [
    path.join(root, 'bench/probe_torch.py'),
    '--out',
    path.join(root, 'bench/results/probe'),
    '--batch',
    String(batch),
    '--size',
    String(size),
    '--runs',
    String(Math.max(runs, 7)),
    ...(narrow ? ['--narrow'] : []),
    ...extra,
  ];
}

/** The PyTorch process kept beside this one: `time` gives the median ms of its steps on `threads`. */
interface TorchServer {
  time(threads: number): Promise<number>;
  close(): void;
}

/**
 * A PyTorch process kept beside this one (probe_torch.py --serve, same model, batch and malloc
 * setting as the sessions): each call times its steps on a thread count (0: its default) while
 * this process waits, so that Skipscope's run and PyTorch's just after it see the same spell of a
 * noisy machine.
 */
function torchServer(): TorchServer {
  const child = spawn('/usr/bin/python3', torchArgs(['--serve']), { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  return {
    async time(threads) {
      child.stdin!.write(`${threads}\n`);
      const next = await lines.next();
      if (next.done) throw new Error('bench/probe_torch.py --serve stopped');
      return (JSON.parse(next.value) as { msPerBatch: number }).msPerBatch;
    },
    close: () => child.stdin!.end(),
  };
}

/**
 * CPU time of the main thread so far (ms, Linux only): on a busy machine the process CPU time
 * hides how the work divides between the threads, the main thread's does not (its waits for the
 * workers count only while it spins).
 */
function mainThreadCpuMs(): number | undefined {
  try {
    const f = fs.readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return undefined;
  }
}

/**
 * Small models, batch 4: steady ms per batch on each thread count (alternating, at least 15
 * rounds), medians, and `paired`: the median over rounds of each count's time over one thread's
 * in the same round (a ratio of two medians of such short probes moved by ±20% from run to run).
 */
async function smallModels(counts: number[]): Promise<Record<string, Record<string, number>>> {
  const files = [
    'samples/sample.onnx',
    'test/fixtures/grads/tiny_conv.onnx',
    'test/fixtures/onnx/probe/densenet.onnx',
  ];
  const out: Record<string, Record<string, number>> = {};
  for (const file of files) {
    const model = await openModel(path.resolve(root, file));
    const opts = {
      source: { kind: 'synthetic' as const },
      batchSize: 4,
      batches: 3,
      loss: 'mean-square' as const,
      backend: 'wasm' as const,
    };
    const times = new Map<number, number[]>(counts.map((t) => [t, []]));
    for (const threads of counts) await runProbe(model, { ...opts, threads }); // warm-up
    for (let i = 0; i < Math.max(runs, 15); i++)
      for (const threads of counts)
        times.get(threads)!.push((await runProbe(model, { ...opts, threads })).timing.steadyMedianMs!);
    const one = times.get(1)!;
    const round2 = (x: number) => Math.round(x * 100) / 100;
    out[path.basename(file)] = Object.fromEntries([
      ...counts.map((t) => [String(t), round2(median(times.get(t)!))]),
      ...counts
        .filter((t) => t !== 1)
        .map((t) => [
          `paired${t}`,
          Math.round(median(times.get(t)!.map((ms, i) => ms / one[i])) * 1000) / 1000,
        ]),
    ]);
  }
  return out;
}

/** Runs of one thread count: the steady medians, and the first (cold) batch of its first run. */
interface Series {
  firstBatchMs: number;
  times: number[];
  /** CPU time of the process (all threads) per run: what the threads cost on a busy machine. */
  cpuMs: number[];
  /** CPU time of the main thread alone (Linux, 10 ms ticks): with the workers' spins it bounds the idle wall time. */
  mainCpuMs: number[];
}

async function main(): Promise<void> {
  const load = os.loadavg();
  const backend = await initBackend('wasm', { threads: 1 });
  // PyTorch on one thread, at its default and (where that differs) on as many threads as Skipscope,
  // with freed memory kept (steady from session to session), and at its default as installed.
  const torchSettings = [...new Set([1, 0, many])];
  const before = new Map(torchSettings.map((t) => [t, torchSession(t)]));
  const beforeAsInstalled = torchSession(0, true);
  const beforeOne = before.get(1)!;
  const model = await openModel(path.resolve(root, beforeOne.model));
  const opts = {
    source: {
      kind: 'npy' as const,
      files: { '': repeatedInput(path.resolve(root, beforeOne.input), perRun) },
    },
    batchSize: batch,
    batches: perRun,
    loss: 'mean-square' as const,
    backend: 'wasm' as const,
  };
  const counts = [...new Set([1, many])];
  const series = new Map<number, Series>();
  let warm: Awaited<ReturnType<typeof runProbe>> | undefined;
  let threadsUsed = 1;
  // The first run of each count pays the set-up (weight transforms, tier-up of the kernels);
  // --warmup K runs K passes of each before the timed ones (V8 goes on compiling the engine's and
  // the executor's JavaScript for some 50 passes, on the cores the kernel threads use).
  for (const threads of counts) {
    const r = await runProbe(model, { ...opts, threads });
    warm ??= r;
    threadsUsed = Math.max(threadsUsed, r.backend.threads);
    series.set(threads, { firstBatchMs: r.timing.firstBatchMs, times: [], cpuMs: [], mainCpuMs: [] });
  }
  for (let i = 1; i < warmup; i++) for (const threads of counts) await runProbe(model, { ...opts, threads });
  // Alternate the counts, so that both see the same load drift; after each run, PyTorch at the
  // settings it is compared with (one thread after one thread; its default, and as many threads,
  // after all threads).
  const server = torchServer();
  const peers = new Map<number, number[]>(torchSettings.map((t) => [t, []]));
  const peersOf = (threads: number) => [
    ...new Set([...(threads === 1 ? [1] : []), ...(threads === many ? [0, many] : [])]),
  ];
  try {
    for (let i = 0; i < runs; i++)
      for (const threads of counts) {
        const cpu0 = process.cpuUsage();
        const main0 = mainThreadCpuMs();
        const r = await runProbe(model, { ...opts, threads });
        const cpu = process.cpuUsage(cpu0);
        series.get(threads)!.times.push(r.timing.steadyMedianMs ?? r.timing.msPerBatch);
        series.get(threads)!.cpuMs.push((cpu.user + cpu.system) / 1000 / r.batches);
        if (main0 !== undefined)
          series.get(threads)!.mainCpuMs.push((mainThreadCpuMs()! - main0) / r.batches);
        for (const t of peersOf(threads)) peers.get(t)!.push(await server.time(t));
      }
  } finally {
    server.close();
  }
  // Each Skipscope run over the PyTorch timing just after it, the median over runs.
  const paired = (threads: number, t: number) =>
    median(series.get(threads)!.times.map((ms, i) => ms / peers.get(t)![i]));
  const after = new Map(torchSettings.map((t) => [t, torchSession(t)]));
  const afterAsInstalled = torchSession(0, true);
  const small = await smallModels(counts);
  const torchMs = (t: number) => Math.min(before.get(t)!.msPerBatch, after.get(t)!.msPerBatch);
  const torchName = (t: number) => (t === 0 ? 'default' : `threads${t}`);
  const one = median(series.get(1)!.times);
  const all = median(series.get(many)!.times);
  // One thread count after the other: each sets the pool's size.
  const parts: Record<string, unknown>[] = [];
  if (breakdown)
    for (const t of counts) parts.push(await breakdownOf(model, path.resolve(root, beforeOne.input), t));
  const round = (v: number) => Math.round(v * 100) / 100;
  console.log(
    JSON.stringify(
      {
        bench: 'probe',
        model: path.basename(beforeOne.model),
        params: beforeOne.params,
        batch,
        size,
        cpu: os.cpus()[0]?.model ?? 'unknown',
        cores: coreCount(),
        loadAverage: { before: load, after: os.loadavg() },
        skipscope: {
          backend: backend.name,
          device: backend.device,
          probes: {
            params: warm!.params.length,
            activations: warm!.activations.length,
            merges: warm!.merges.length,
          },
          threads: Object.fromEntries(
            counts.map((t) => {
              const s = series.get(t)!;
              return [
                t,
                {
                  msPerBatchMedian: round(median(s.times)),
                  msPerBatchAll: s.times.map(round),
                  firstBatchMs: round(s.firstBatchMs),
                  cpuMsPerBatchMedian: round(median(s.cpuMs)),
                  mainThreadCpuMsPerBatchMean: s.mainCpuMs.length
                    ? round(s.mainCpuMs.reduce((a, b) => a + b, 0) / s.mainCpuMs.length)
                    : undefined,
                },
              ];
            }),
          ),
          threadsUsed,
          warmupRuns: warmup,
          speedup: round(one / all),
          parallelEfficiency: round(one / all / threadsUsed),
          // Each run on all threads against the one-thread run just before it: the machine's slow
          // spells, which last a run or two, then move both sides of a ratio.
          pairedSpeedup: round(median(series.get(1)!.times.map((t, i) => t / series.get(many)!.times[i]))),
          peakRssMB: process.resourceUsage().maxRSS / 1024,
          loss: warm!.loss.values[0],
        },
        pytorch: {
          version: beforeOne.torch,
          ...Object.fromEntries(
            torchSettings.map((t) => [
              torchName(t),
              {
                threads: before.get(t)!.threads,
                msPerBatchMedian: round(torchMs(t)),
                sessionMedians: [before.get(t)!.msPerBatch, after.get(t)!.msPerBatch].map(round),
              },
            ]),
          ),
          freedMemoryKept: before.get(0)!.freedMemoryKept,
          // PyTorch as installed, whose glibc returns freed memory to the kernel: each step
          // faults its buffers in again, at a cost that differs from session to session.
          defaultMallocAsInstalled: {
            msPerBatchMedian: round(Math.min(beforeAsInstalled.msPerBatch, afterAsInstalled.msPerBatch)),
            sessionMedians: [beforeAsInstalled.msPerBatch, afterAsInstalled.msPerBatch].map(round),
          },
          peakRssMB: Math.max(...[...before.values(), ...after.values()].map((r) => r.peakRssMB)),
          loss: beforeOne.loss,
        },
        // Skipscope's ms per batch over PyTorch's (below 1: Skipscope is faster), medians against
        // the faster of PyTorch's sessions before and after.
        ratio: {
          oneThreadVsPytorchOneThread: round(one / torchMs(1)),
          [`threads${many}VsPytorchDefault`]: round(all / torchMs(0)),
          [`threads${many}VsPytorchThreads${many}`]: round(all / torchMs(many)),
          [`threads${many}VsPytorchDefaultMallocAsInstalled`]: round(
            all / Math.min(beforeAsInstalled.msPerBatch, afterAsInstalled.msPerBatch),
          ),
        },
        // The same, paired: each run over PyTorch timed just after it (probe_torch.py --serve,
        // steps on the same settings), the median over runs. A slow spell of the machine then
        // moves both sides of each ratio.
        pairedRatio: {
          oneThreadVsPytorchOneThread: round(paired(1, 1)),
          [`threads${many}VsPytorchDefault`]: round(paired(many, 0)),
          [`threads${many}VsPytorchThreads${many}`]: round(paired(many, many)),
        },
        pytorchInterleaved: Object.fromEntries(
          torchSettings.map((t) => [torchName(t), { msPerBatchMedian: round(median(peers.get(t)!)) }]),
        ),
        small,
        lossRelDiff: Math.abs(warm!.loss.values[0] - beforeOne.loss) / Math.abs(beforeOne.loss),
        ...(breakdown ? { breakdown: parts, scaling: scalingOf(parts) } : {}),
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
