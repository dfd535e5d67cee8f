/**
 * Paired A/B of kernel-thread settings: bare probe passes (forward and backward with every probe
 * attached, bench/probe.ts's `withProbesNoSkipsMs`) of one model, each configuration in turn,
 * round after round in one process, so that the machine's drift and its slow spells fall on all of
 * them alike. A configuration is [threads, threadSettings patch, taskSettings patch]
 * (runtime/probe/wasm/kernelThreads.ts, kernelTasks.ts). Prints JSON: each configuration's median
 * ms per pass and the median of its per-round ratios to the first configuration (the paired
 * ratio, steadier than a ratio of medians on a noisy machine).
 *
 *   npx tsx bench/settingsAB.ts [--model FILE.onnx] [--rounds R] [--configs JSON]
 *
 * The model's input is FILE.input.npy beside it (bench/probe.ts and bench/make_zoo.py write
 * them); the default is the ResNet-18 of bench/probe.ts. Examples: the workers' spin,
 * `--configs '[[2,{"workerSpinUs":20},{}],[2,{"workerSpinUs":20000},{}]]'`; Winograd slices off
 * (Infinity is written 1e9), `--configs '[[2,{},{}],[2,{},{"minSliceTiles":1e9}]]'`.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../runtime/probe/backend';
import { setKernelThreads, type EmscriptenHeap } from '../runtime/probe/wasm/wasmKernels';
import { threadSettings } from '../runtime/probe/wasm/kernelThreads';
import { taskSettings } from '../runtime/probe/wasm/kernelTasks';
import { argValue, barePasses, median } from './probeTiming';

type Config = [number, Partial<typeof threadSettings>, Partial<typeof taskSettings>];

const modelFile = path.resolve(argValue('--model') ?? 'bench/results/probe/resnet18_full.onnx');
const rounds = Math.max(1, Number(argValue('--rounds')) || 20);

/** The --configs list: [threads, threadSettings patch, taskSettings patch] each. */
function parseConfigs(text: string): Config[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    v = undefined;
  }
  const ok = (c: unknown) =>
    Array.isArray(c) &&
    c.length === 3 &&
    Number.isInteger(c[0]) &&
    c[0] >= 1 &&
    typeof c[1] === 'object' &&
    typeof c[2] === 'object';
  if (!Array.isArray(v) || !v.length || !v.every(ok))
    throw new Error(`--configs must be a JSON list of [threads, threadSettings, taskSettings], not ${text}`);
  return v as Config[];
}

async function main(): Promise<void> {
  const configs = parseConfigs(argValue('--configs') ?? '[[1,{},{}],[2,{},{}]]');
  await initBackend('wasm', { threads: Math.max(...configs.map((c) => c[0])) });
  const heap = (tf.backend() as unknown as { wasm: EmscriptenHeap }).wasm;
  const { pass } = await barePasses(modelFile);
  const saved = { thread: { ...threadSettings }, task: { ...taskSettings } };
  const times: number[][] = configs.map(() => []);
  // Round 0 warms up; in each round a configuration runs a pass to settle, then the timed one.
  for (let r = 0; r <= rounds; r++)
    for (const [i, [threads, thread, task]] of configs.entries()) {
      Object.assign(threadSettings, saved.thread, thread);
      Object.assign(taskSettings, saved.task, task);
      await setKernelThreads(heap, threads);
      await pass();
      const t0 = performance.now();
      await pass();
      if (r > 0) times[i].push(performance.now() - t0);
    }
  Object.assign(threadSettings, saved.thread);
  Object.assign(taskSettings, saved.task);
  const round = (v: number, d = 10) => Math.round(v * d) / d;
  console.log(
    JSON.stringify(
      {
        bench: 'settingsAB',
        model: path.basename(modelFile),
        cpu: os.cpus()[0]?.model,
        cores: os.cpus().length,
        rounds,
        results: configs.map((config, i) => ({
          config,
          msPerPassMedian: round(median(times[i])),
          pairedRatioToFirst: round(median(times[i].map((t, j) => t / times[0][j])), 1000),
        })),
      },
      null,
      1,
    ),
  );
  process.exit(0);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
