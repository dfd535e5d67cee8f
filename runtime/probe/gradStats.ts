/**
 * Turns the raw numbers of several passes into the probe contract (DESIGN.md): per-parameter,
 * per-activation and per-merge statistics as means over batches with their spread, and a summary
 * that names vanishing or exploding stretches along the learned layers.
 */
import type {
  ActivationGrad,
  FlowIssue,
  InputGrad,
  MergeGrad,
  NonFiniteReport,
  ParamGrad,
  TimestepGrad,
} from './probeTypes';
import type { PassStats, SkipTap } from './gradPass';

/** What the statistics read of a runner: its parameters and its nodes (in graph order). */
export interface ProbedGraph {
  params: { name: string; shape: number[]; node: string }[];
  nodes: { name: string; outputs: string[] }[];
}

function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
}

function std(xs: number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) * (b - m), 0) / (xs.length - 1));
}

/** The most NaN/Inf elements of any pass, as an optional field (absent when none). */
function nonFinite(counts: number[]): { nonFinite?: number } {
  const n = Math.max(0, ...counts);
  return n > 0 ? { nonFinite: n } : {};
}

/** Per-parameter statistics; `weightL2` per parameter in executor order. */
export function paramStats(ex: ProbedGraph, passes: PassStats[], weightL2: number[]): ParamGrad[] {
  return ex.params.map((p, i) => {
    const l2s = passes.map((s) => Math.sqrt(s.params[i].sumSq));
    const size = passes[0]?.params[i].size ?? 1;
    const l2 = mean(l2s);
    return {
      name: p.name,
      shape: p.shape,
      node: p.node,
      grad: {
        l2,
        rms: mean(l2s.map((v) => v / Math.sqrt(size))),
        maxAbs: mean(passes.map((s) => s.params[i].maxAbs)),
        meanAbs: mean(passes.map((s) => s.params[i].sumAbs / size)),
        l2Spread: std(l2s),
        ...nonFinite(passes.map((s) => s.params[i].nonFinite)),
      },
      weightL2: weightL2[i],
      ratio: weightL2[i] > 0 ? l2 / weightL2[i] : 0,
    };
  });
}

/** The statistics of one value's gradient (a node output or a graph input) over the passes that measured it. */
type ValueGrad = Omit<InputGrad, 'input'>;

function valueGrad(passes: PassStats[], value: string, batchSize: number): ValueGrad | undefined {
  const per = passes.map((s) => s.activations.get(value)).filter((v) => v !== undefined);
  if (per.length === 0) return undefined;
  const rms = per.map((v) => Math.sqrt(v.sumSq / Math.max(v.size, 1)));
  const zeros = per.map((v) => v.zeros / Math.max(v.size, 1));
  return {
    rms: mean(rms),
    rmsSpread: std(rms),
    l2PerSample: mean(per.map((v) => Math.sqrt(v.sumSq / Math.max(batchSize, 1)))),
    zeroFraction: mean(zeros),
    zeroFractionSpread: std(zeros),
    ...nonFinite(per.map((v) => v.nonFinite)),
  };
}

/** Per node output, in graph order: gradient RMS (mean, spread) and the fraction of exact zeros. */
export function activationStats(ex: ProbedGraph, passes: PassStats[], batchSize: number): ActivationGrad[] {
  const out: ActivationGrad[] = [];
  for (const node of ex.nodes)
    for (const tensor of node.outputs) {
      const g = valueGrad(passes, tensor, batchSize);
      if (g) out.push({ node: node.name, tensor, ...g });
    }
  return out;
}

/** Per graph input whose gradient a pass measured: the same statistics as at a node output. */
export function inputStats(inputs: string[], passes: PassStats[], batchSize: number): InputGrad[] {
  const out: InputGrad[] = [];
  for (const input of inputs) {
    const g = valueGrad(passes, input, batchSize);
    if (g) out.push({ input, ...g });
  }
  return out;
}

/** Per skip: RMS of the gradient reaching its fork through the skip and through the branch. */
export function mergeStats(taps: Pick<SkipTap, 'merge' | 'source'>[], passes: PassStats[]): MergeGrad[] {
  return taps.map((t, i) => {
    const size = Math.max(passes[0]?.skips[i].size ?? 1, 1);
    const skipSq = mean(passes.map((s) => s.skips[i].skipSq));
    const branchSq = mean(passes.map((s) => s.skips[i].branchSq));
    return {
      merge: t.merge,
      skip: t.source,
      skipRms: Math.sqrt(skipSq / size),
      branchRms: Math.sqrt(branchSq / size),
      skipShare: skipSq + branchSq > 0 ? skipSq / (skipSq + branchSq) : 0,
    };
  });
}

/** Per recurrent node and direction: the gradient norm at each step's hidden state, mean over batches. */
export function timestepStats(passes: PassStats[]): TimestepGrad[] {
  const out: TimestepGrad[] = [];
  for (const first of passes[0]?.timesteps ?? []) {
    const per = passes
      .map((s) => s.timesteps?.find((x) => x.node === first.node && x.direction === first.direction))
      .filter((v) => v !== undefined);
    const steps = Math.max(...per.map((v) => v.sumSq.length));
    out.push({
      node: first.node,
      direction: first.direction,
      l2: Array.from({ length: steps }, (_, t) => mean(per.map((v) => Math.sqrt(v.sumSq[t] ?? 0)))),
    });
  }
  return out;
}

/**
 * How much gradient reaches the first step a direction processes (t = 0 forward, the last step
 * in reverse) relative to the last one it processes: below 1 the gradient vanishes through time.
 * 0 when the last step gets no gradient.
 */
export function timeDecay(g: TimestepGrad): number {
  const first = g.direction === 'forward' ? g.l2[0] : g.l2[g.l2.length - 1];
  const last = g.direction === 'forward' ? g.l2[g.l2.length - 1] : g.l2[0];
  return last > 0 ? first / last : 0;
}

/** Sentences for the recurrent directions whose gradient changes more than FLOW_FACTOR× through time. */
export function timeIssuesText(timesteps: TimestepGrad[]): string {
  return timesteps
    .map((g) => ({ g, f: timeDecay(g) }))
    .filter(({ f }) => f > 0 && (f < 1 / FLOW_FACTOR || f > FLOW_FACTOR))
    .map(
      ({ g, f }) =>
        `Gradient ${f < 1 ? 'vanishes' : 'explodes'} through time in ${g.node} (${g.direction}): its norm ${f < 1 ? `falls ${(1 / f).toPrecision(3)}×` : `grows ${f.toPrecision(3)}×`} from the last of its ${g.l2.length} steps back to the first.`,
    )
    .join(' ');
}

/** How far gradient RMS may change along the learned layers before the summary calls it out. */
export const FLOW_FACTOR = 1000;

/**
 * Finds the strongest vanishing and exploding stretches along `layers` (learned-op outputs in
 * graph order, input side first, measured by the per-sample gradient L2 norm, which unlike the
 * RMS does not shrink just because a layer is wider). Gradient flows from the output back to the
 * input, so a stretch runs from a later layer (`from`) to an earlier one (`to`). The sums are
 * exact over float32's range, so a gradient of 1e-35 takes part (vanishing, not zero) and only
 * exact zeros (dead layers: diagnosis.ts) stay out, as do non-finite norms.
 */
export function flowIssues(layers: { node: string; rms: number }[]): FlowIssue[] {
  const pts = layers.filter((l) => l.rms > 0 && Number.isFinite(l.rms));
  const issues: FlowIssue[] = [];
  let bestVan = { f: 1, i: -1, j: -1 };
  let bestExp = { f: 1, i: -1, j: -1 };
  for (let j = 0; j < pts.length; j++) {
    for (let i = 0; i < j; i++) {
      const f = pts[i].rms / pts[j].rms; // earlier / later
      if (f < bestVan.f) bestVan = { f, i, j };
      if (f > bestExp.f) bestExp = { f, i, j };
    }
  }
  if (bestVan.f < 1 / FLOW_FACTOR) {
    const { i, j, f } = bestVan;
    issues.push({
      kind: 'vanishing',
      from: pts[j].node,
      to: pts[i].node,
      factor: f,
      message: `gradient vanishes from ${pts[j].node} back to ${pts[i].node}: gradient norm falls ${(1 / f).toPrecision(3)}× over ${j - i} learned layers, to ${pts[i].rms.toPrecision(3)} per sample (tiny, not zero)`,
    });
  }
  if (bestExp.f > FLOW_FACTOR) {
    const { i, j, f } = bestExp;
    issues.push({
      kind: 'exploding',
      from: pts[j].node,
      to: pts[i].node,
      factor: f,
      message: `gradient explodes from ${pts[j].node} back to ${pts[i].node}: gradient norm grows ${f.toPrecision(3)}× over ${j - i} learned layers, to ${pts[i].rms.toPrecision(3)} per sample`,
    });
  }
  return issues;
}

/** The sentence `s` capitalised, with a full stop. */
const sentence = (s: string) => `${s[0].toUpperCase()}${s.slice(1)}.`;

/**
 * One paragraph for people: where NaN/Inf began (when it did), the issues, or how much the
 * gradient RMS varies when healthy.
 */
export function summaryText(
  layers: { node: string; rms: number }[],
  issues: FlowIssue[],
  merges: MergeGrad[],
  nonFiniteAt?: NonFiniteReport,
): string {
  const parts: string[] = [];
  if (nonFiniteAt)
    parts.push(
      `NaN or Infinity in batch ${nonFiniteAt.batch + 1}: ${nonFiniteAt.message}; statistics that it reaches read NaN or Infinity.`,
    );
  if (issues.length) parts.push(...issues.map((i) => sentence(i.message)));
  else if (layers.length >= 2) {
    const rms = layers.map((l) => l.rms).filter((r) => r > 0 && Number.isFinite(r));
    const spread = rms.length ? Math.max(...rms) / Math.min(...rms) : 1;
    parts.push(
      `Gradient flow looks healthy: across ${layers.length} learned layers the per-sample gradient norm stays within ${spread.toPrecision(3)}×.`,
    );
  }
  const shares = merges.map((m) => m.skipShare).filter(Number.isFinite);
  if (shares.length) {
    parts.push(
      `On average ${(mean(shares) * 100).toFixed(0)}% of the gradient energy at the ${shares.length} skip forks arrives through the skips.`,
    );
  }
  return parts.join(' ');
}
