/**
 * The probe job: picks the backend, compiles (or reuses) the executor, plans batches, runs one
 * forward + backward pass per batch with every probe attached and turns the numbers into the
 * contract of DESIGN.md. Reports progress and stops between batches when cancelled.
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { Model } from '../model/ir';
import { ModelError } from '../errors';
import { analyzeSkips } from '../analysis/analyzeSkips';
import type { NonFiniteReport, ProbeOptions, ProbeResult } from './probeTypes';
import {
  afterRun,
  threadTrial,
  backendGeneration,
  backendSetupMs,
  beforeBackendRelease,
  initBackend,
  type BackendConfig,
  type BackendInfo,
} from './backend';
import { guardGpu } from './webgpu/gpuGuard';
import { Executor } from './executor';
import {
  disposeLayersRunner,
  layersGradPass,
  layersSkipTaps,
  loadLayersRunner,
  type LayersRunner,
} from './layersRunner';
import {
  disposeGraphRunner,
  graphGradPass,
  graphSkipTaps,
  loadGraphRunner,
  type GraphRunner,
} from './graphRunner';
import { gradPass, startGradPass, type PassStats, type RunPass, type SkipTap } from './gradPass';
import { planBatches } from './batchSource';
import { makeLoss, type LossInputs } from './losses';
import { readNpy } from './npy';
import { integers } from './random';
import { checkMemory } from './memoryGuard';
import {
  activationStats,
  flowIssues,
  inputStats,
  mergeStats,
  paramStats,
  summaryText,
  timeIssuesText,
  timestepStats,
} from './gradStats';
import { readLater, statsKernels } from './statsKernels';
import { resolveCuts, type CutPlan } from './cuts';
import { diagnose } from './diagnosis';

/** Thrown when a run is cancelled; the sidecar answers with a cancellation, the CLI never sees it. */
export class ProbeCancelled extends Error {
  constructor() {
    super('the probe run was cancelled.');
  }
}

/** Hooks of a run: progress and cancellation, plus where backends load from. */
export interface ProbeHooks {
  onProgress?(done: number, total: number, message: string): void;
  isCancelled?(): boolean;
  backendConfig?: BackendConfig;
}

/**
 * The runner of the model probed last (ONNX executor or TF.js layers model), reused by the
 * sidecar across runs on the same model and backend. One slot: its parameters live in backend
 * memory, which no garbage collector frees.
 */
let cached:
  | {
      model: Model;
      backend: string;
      generation: number;
      ex?: Executor;
      layers?: LayersRunner;
      graph?: GraphRunner;
    }
  | undefined;

async function runnerFor(
  model: Model,
  backend: BackendInfo,
): Promise<{ ex?: Executor; layers?: LayersRunner; graph?: GraphRunner }> {
  const generation = backendGeneration();
  if (cached && cached.model === model && cached.backend === backend.name && cached.generation === generation)
    return cached;
  releaseExecutor();
  const key = { model, backend: backend.name, generation };
  if (model.format === 'onnx') cached = { ...key, ex: new Executor(model) };
  else if (model.format === 'tfjs-layers') cached = { ...key, layers: await loadLayersRunner(model.file) };
  else cached = { ...key, graph: await loadGraphRunner(model) };
  return cached;
}

/** Frees the cached runner. */
export function releaseExecutor(): void {
  const c = cached;
  cached = undefined;
  try {
    c?.ex?.dispose();
    if (c?.layers) disposeLayersRunner(c.layers);
    if (c?.graph) disposeGraphRunner(c.graph);
  } catch {
    // its tensors lived on a GPU device that is gone
  }
}
// The runner's parameters live in GPU memory: free them before the device goes.
beforeBackendRelease(releaseExecutor);

/** The skips to split, located on the executor's nodes (by name, functions inlined alike). */
function skipTaps(model: Model, ex: Executor): SkipTap[] {
  let analysis;
  try {
    analysis = analyzeSkips(model);
  } catch {
    return []; // a graph the analysis cannot read still gets parameter and activation probes
  }
  const byName = new Map(ex.nodes.map((n) => [n.name, n]));
  const taps: SkipTap[] = [];
  for (const s of analysis.skips) {
    const merge = byName.get(s.merge);
    if (!merge || (!ex.hookable.has(s.source) && !model.graph.inputs.includes(s.source))) continue;
    const skipSide = new Set([...s.skipNodes, s.merge]);
    const first =
      merge.inputs[s.skipInput] === s.source
        ? merge
        : ex.nodes.find((n) => skipSide.has(n.name) && n.name !== s.merge && n.inputs.includes(s.source));
    if (first) taps.push({ merge: s.merge, source: s.source, skipNode: first.index });
  }
  return taps;
}

function lossInputs(model: Model, opts: ProbeOptions, batchSize: number, b: number): LossInputs {
  const extra: LossInputs = {};
  if (opts.loss === 'cross-entropy') {
    const out = model.graph.values.get(model.graph.outputs[0]);
    const classes = typeof out?.shape?.[1] === 'number' ? out.shape[1] : undefined;
    if (opts.labels) {
      extra.labels = Int32Array.from(
        { length: batchSize },
        (_, i) => opts.labels![(b * batchSize + i) % opts.labels!.length],
      );
    } else {
      if (!classes)
        throw new ModelError(
          `${model.file}: the number of classes of output "${model.graph.outputs[0]}" is unknown; give labels.`,
          model.file,
        );
      extra.labels = integers(batchSize, classes, (opts.seed ?? 0) * 31 + b + 17);
    }
  }
  return extra;
}

/** Runs in flight, by model: a model closed meanwhile keeps its runner until they end. */
const running = new Map<Model, number>();
/** Models closed while a run was using their runner. */
const closedWhileRunning = new WeakSet<Model>();

/**
 * Frees the runner of `model` (its parameters in backend memory) once the model is closed: now, or
 * when the runs in flight on it end. Without it a closed model's tensors live until another probe.
 */
export function releaseRunnerOf(model: Model): void {
  if (running.has(model)) closedWhileRunning.add(model);
  else if (cached?.model === model) releaseExecutor();
}

/** Runs the probes of `opts` on `model`. */
export async function runProbe(
  model: Model,
  opts: ProbeOptions,
  hooks: ProbeHooks = {},
): Promise<ProbeResult> {
  running.set(model, (running.get(model) ?? 0) + 1);
  try {
    return await probeModel(model, opts, hooks);
  } finally {
    const left = running.get(model)! - 1;
    if (left) running.set(model, left);
    else {
      running.delete(model);
      if (closedWhileRunning.has(model)) releaseRunnerOf(model);
    }
  }
}

async function probeModel(model: Model, opts: ProbeOptions, hooks: ProbeHooks): Promise<ProbeResult> {
  const t0 = performance.now();
  if (model.graph.outputs.length === 0)
    throw new ModelError(
      `${model.file}: the graph has no outputs, so there is no loss to differentiate.`,
      model.file,
    );
  const backend = await initBackend(opts.backend ?? 'auto', {
    nativePath: opts.nativePath,
    threads: opts.threads,
    ...hooks.backendConfig,
  });
  const setupMs = backendSetupMs();
  const cuts = opts.cut ? resolveCuts(model, opts.cut) : { merges: [], inputs: [] };
  const plan = planBatches(model, opts);
  const warning = checkMemory(model, plan.batchSize, backend.name, opts.dims, backend.adapter);
  const guard = (step: string) => ({ file: model.file, step, batchSize: plan.batchSize });
  // On a GPU every step runs inside error scopes: errors end the run instead of being printed.
  const runner = await guardGpu(guard('loading the model'), () => runnerFor(model, backend));
  const taps = runner.ex ? skipTaps(model, runner.ex) : [];
  const zero = cutInputs(model, runner.ex, cuts);
  const layerTaps = runner.layers ? layersSkipTaps(runner.layers, model) : [];
  const graphTaps = runner.graph ? graphSkipTaps(runner.graph, model) : [];
  const target = opts.loss === 'mse' ? loadTarget(model, opts) : undefined;
  const passes: PassStats[] = [];
  const losses: number[] = [];
  let nonFinite: NonFiniteReport | undefined;
  const passMs: number[] = [];
  const trial = threadTrial(backend);
  const record = (b: number, stats: PassStats) => {
    passes.push(stats);
    losses.push(stats.loss);
    if (stats.nonFinite && !nonFinite) nonFinite = { batch: b, ...stats.nonFinite };
  };
  // The ONNX executor's passes on WASM overlap: what a pass queued for the kernel threads (weight
  // gradients, statistics) finishes beside the next pass's forward pass, and the pass is read
  // after that one (gradPass.ts's startGradPass). Each batch's time then holds the previous one's
  // remainder, and the last batch its own.
  const overlap = !!runner.ex && backend.name === 'wasm';
  let prev: { pass: RunPass; b: number; free: () => void } | undefined;
  const readPass = async (p: { pass: RunPass; b: number; free: () => void }) => {
    try {
      record(p.b, await p.pass.read());
    } finally {
      try {
        p.pass.dispose();
      } finally {
        p.free();
      }
    }
  };
  try {
    for (let b = 0; b < plan.count; b++) {
      if (hooks.isCancelled?.()) throw new ProbeCancelled();
      hooks.onProgress?.(
        b,
        plan.count,
        `batch ${b + 1} of ${plan.count} on ${backend.name} (${backend.device})`,
      );
      const feeds = plan.feeds(b);
      const extra = lossInputs(model, opts, plan.batchSize, b);
      if (target) extra.target = tf.slice(target, b * plan.batchSize, plan.batchSize);
      const free = () => {
        tf.dispose(Object.values(feeds));
        extra.target?.dispose();
      };
      const ts = performance.now();
      const step = guard(`batch ${b + 1} of ${plan.count}`);
      if (overlap) {
        const before = prev;
        let pass: RunPass;
        try {
          const lossFn = makeLoss(opts.loss, extra, model.file);
          pass = await guardGpu(step, async () =>
            startGradPass(runner.ex!, feeds, lossFn, taps, zero, before && (() => before.pass.settle())),
          );
        } catch (e) {
          free();
          throw e;
        }
        prev = { pass, b, free };
        if (before) await readPass(before);
      } else
        try {
          const lossFn = makeLoss(opts.loss, extra, model.file);
          const stats = await guardGpu(step, () =>
            runner.ex
              ? gradPass(runner.ex, feeds, lossFn, taps, zero)
              : runner.layers
                ? layersGradPass(runner.layers, feeds, lossFn, layerTaps)
                : graphGradPass(runner.graph!, feeds, lossFn, graphTaps),
          );
          record(b, stats);
        } finally {
          free();
        }
      passMs.push(performance.now() - ts);
      if (b === 0) trial?.firstBatchDone(plan.count > 1);
      // Let the event loop read cancellation requests between batches.
      await new Promise((r) => setImmediate(r));
    }
    if (prev) {
      const last = prev;
      prev = undefined;
      const ts = performance.now();
      await readPass(last);
      passMs[passMs.length - 1] += performance.now() - ts;
    }
  } finally {
    if (prev)
      try {
        prev.pass.dispose();
      } catch {
        // The run has failed already; this pass's own failure adds nothing.
      } finally {
        prev.free();
      }
    trial?.finish();
    target?.dispose();
  }
  hooks.onProgress?.(plan.count, plan.count, 'done');
  const graph = runner.ex ?? runner.layers ?? runner.graph!;
  const kernels = statsKernels();
  // Awaited, inside error scopes: a GPU cannot be read back synchronously.
  const weightL2 = await guardGpu(guard('reading the weights'), () =>
    Promise.all(graph.params.map(async (p) => Math.sqrt((await readLater(kernels.moments(p.tensor))).sumSq))),
  );
  const params = paramStats(graph, passes, weightL2);
  const activations = activationStats(graph, passes, plan.batchSize);
  const inputs = inputStats(model.graph.inputs, passes, plan.batchSize);
  const merges = mergeStats(runner.layers ? layerTaps : runner.graph ? graphTaps : taps, passes);
  const learned = new Set(params.map((p) => p.node));
  const layers = activations
    .filter((a) => learned.has(a.node))
    .map((a) => ({ node: a.node, rms: a.l2PerSample ?? a.rms }));
  const issues = flowIssues(layers);
  const timesteps = timestepStats(passes);
  let text = summaryText(layers, issues, merges, nonFinite);
  const inTime = timeIssuesText(timesteps);
  if (inTime) text += ` ${inTime}`;
  if (params.length === 0 && inputs.length > 0)
    text += `${text ? ' ' : ''}The model has no parameters: the gradients are those at its ${activations.length.toLocaleString('en-US')} node output${activations.length === 1 ? '' : 's'} and its input${inputs.length === 1 ? '' : 's'} ${inputs.map((i) => `"${i.input}"`).join(', ')}.`;
  if (warning) text += ` Memory: ${warning}`;
  const result: ProbeResult = {
    model: path.basename(model.file),
    backend: afterRun(backend, trial),
    loss: { kind: opts.loss, values: losses },
    batchSize: plan.batchSize,
    batches: plan.count,
    params,
    activations,
    ...(inputs.length ? { inputs } : {}),
    merges,
    timesteps,
    summary: { issues, text },
    ...(nonFinite ? { nonFinite } : {}),
    timing: { ...batchTiming(passMs), totalMs: performance.now() - t0, setupMs },
    source: plan.describe,
    cut: cuts.merges,
  };
  result.diagnosis = diagnose(result);
  return result;
}

/** The executor's input slots that a cut reads as zeros; ONNX models only. */
function cutInputs(
  model: Model,
  ex: Executor | undefined,
  cuts: CutPlan,
): Map<number, Set<number>> | undefined {
  if (cuts.inputs.length === 0) return undefined;
  if (!ex)
    throw new ModelError(
      `${model.file}: cutting skips works on ONNX models only; this is a ${model.format} model.`,
      model.file,
    );
  const byName = new Map(ex.nodes.map((n) => [n.name, n]));
  const zero = new Map<number, Set<number>>();
  for (const c of cuts.inputs) {
    const node = byName.get(c.merge);
    if (!node)
      throw new ModelError(
        `${model.file}: cannot cut the skip into "${c.merge}": the merge does not run in the probe (it sits inside a function call or feeds no output).`,
        model.file,
      );
    zero.set(node.index, (zero.get(node.index) ?? new Set()).add(c.input));
  }
  return zero;
}

/** The first batch apart from the median of the others, and the mean of all. */
function batchTiming(ms: number[]): Omit<ProbeResult['timing'], 'totalMs'> {
  const rest = ms.slice(1).sort((a, b) => a - b);
  const mid = rest.length >> 1;
  return {
    msPerBatch: ms.reduce((s, v) => s + v, 0) / Math.max(ms.length, 1),
    firstBatchMs: ms[0] ?? 0,
    ...(rest.length ? { steadyMedianMs: rest.length % 2 ? rest[mid] : (rest[mid - 1] + rest[mid]) / 2 } : {}),
  };
}

function loadTarget(model: Model, opts: ProbeOptions): tf.Tensor {
  if (!opts.target) throw new ModelError(`${model.file}: the mse loss needs a target .npy file.`, model.file);
  const a = readNpy(opts.target);
  return tf.tensor(a.data, a.shape, 'float32');
}
