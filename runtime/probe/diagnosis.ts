/**
 * The diagnosis of a probe run in plain words: where NaN or Infinity began, vanishing (tiny but
 * non-zero) and exploding stretches along the learned layers (from → to, by what factor), dead
 * layers (exact zeros), layers that get no gradient at all, and merges whose skip carries almost
 * all or almost none of the gradient — each finding with the nodes it concerns (the editor
 * focuses them) and the thresholds used, so that a reader can judge it. Computed from the probe
 * result alone, so the CLI, the reports and the editor agree.
 */
import type { ProbeResult } from './probeTypes';

/** The limits a finding is judged by. */
export interface DiagnosisThresholds {
  /** A stretch vanishes when the per-sample gradient norm falls at least this much toward the input. */
  vanishingFactor: number;
  /** A stretch explodes when the per-sample gradient norm grows at least this much toward the input. */
  explodingFactor: number;
  /** A layer is dead when at least this fraction of its output gradient is exactly zero. */
  deadFraction: number;
  /** A skip carries almost all of the gradient at its fork from this share up… */
  skipAll: number;
  /** …and almost none up to this share. */
  skipNone: number;
}

/** What a finding is about. */
export type FindingKind =
  'non-finite' | 'vanishing' | 'exploding' | 'dead' | 'no-gradient' | 'skip-all' | 'skip-none';

/** One finding. */
export interface Finding {
  kind: FindingKind;
  /** `warning` for what hurts training; `info` for what is worth knowing. */
  severity: 'warning' | 'info';
  /** The nodes concerned (the editor focuses the first and marks the rest). */
  nodes: string[];
  /** Stretches: the later layer (`from`, where the gradient arrives first) and the earlier one. */
  from?: string;
  to?: string;
  /** Stretches: the change of the gradient norm from `from` to `to`, as a factor ≥ 1. */
  factor?: number;
  /** Stretches: learned layers from `from` back to `to`. */
  layers?: number;
  /** Dead layers: the zero fraction; skips: the skip share. */
  value?: number;
  /** One sentence. */
  message: string;
}

/** The diagnosis of a run. */
export interface Diagnosis {
  thresholds: DiagnosisThresholds;
  /** Warnings first, then by size. */
  findings: Finding[];
  /** One paragraph: what is wrong, or that nothing is. */
  text: string;
}

/** The thresholds used unless the caller gives others. */
export const DEFAULT_THRESHOLDS: DiagnosisThresholds = {
  vanishingFactor: 1000,
  explodingFactor: 1000,
  deadFraction: 0.9,
  skipAll: 0.95,
  skipNone: 0.05,
};

const sig = (v: number) => (v >= 1e5 ? v.toExponential(1) : v.toPrecision(3));
const pct = (v: number) => `${(v * 100).toFixed(v > 0.999 || v < 0.001 ? 1 : 0)}%`;

/** A learned layer: its node and its output gradient's per-sample norm. */
interface Point {
  node: string;
  g: number;
}

/**
 * The strongest stretch inside pts[lo..hi] where g[i] / g[j] (i < j) is largest (`grow`) or
 * smallest, in one pass (running extreme of the earlier ends).
 */
function strongest(pts: Point[], lo: number, hi: number, grow: boolean) {
  let best = { f: 1, i: -1, j: -1 };
  let ext = lo;
  for (let j = lo + 1; j <= hi; j++) {
    const f = pts[ext].g / pts[j].g;
    if (grow ? f > best.f : f < best.f) best = { f, i: ext, j };
    if (grow ? pts[j].g > pts[ext].g : pts[j].g < pts[ext].g) ext = j;
  }
  return best;
}

/** Non-overlapping stretches at or beyond the limit, strongest first, found by splitting around each. */
function stretches(pts: Point[], grow: boolean, limit: number): { i: number; j: number; f: number }[] {
  const out: { i: number; j: number; f: number }[] = [];
  const todo: [number, number][] = [[0, pts.length - 1]];
  while (todo.length) {
    const [lo, hi] = todo.pop()!;
    if (hi <= lo) continue;
    const b = strongest(pts, lo, hi, grow);
    const factor = grow ? b.f : 1 / b.f;
    if (b.i < 0 || factor < limit) continue;
    out.push({ i: b.i, j: b.j, f: factor });
    todo.push([lo, b.i], [b.j, hi]);
  }
  return out.sort((a, b) => b.f - a.f);
}

/** Diagnoses `r` (its learned layers in graph order, its merges) against `t`. */
export function diagnose(r: ProbeResult, t: DiagnosisThresholds = DEFAULT_THRESHOLDS): Diagnosis {
  const learned = new Set(r.params.map((p) => p.node));
  const seen = new Set<string>();
  const layers = r.activations.filter((a) => {
    if (!learned.has(a.node) || seen.has(a.node)) return false;
    seen.add(a.node);
    return true;
  });
  const pts: Point[] = layers
    .map((a) => ({ node: a.node, g: a.l2PerSample ?? a.rms }))
    .filter((p) => p.g > 0 && Number.isFinite(p.g));
  const findings: Finding[] = [];
  for (const s of stretches(pts, false, t.vanishingFactor)) {
    const from = pts[s.j].node;
    const to = pts[s.i].node;
    findings.push({
      kind: 'vanishing',
      severity: 'warning',
      nodes: [from, to],
      from,
      to,
      factor: s.f,
      layers: s.j - s.i,
      message: `Gradient vanishes from ${from} back to ${to}: its norm falls ${sig(s.f)}× over ${s.j - s.i} learned layers (threshold ${sig(t.vanishingFactor)}×).`,
    });
  }
  for (const s of stretches(pts, true, t.explodingFactor)) {
    const from = pts[s.j].node;
    const to = pts[s.i].node;
    findings.push({
      kind: 'exploding',
      severity: 'warning',
      nodes: [from, to],
      from,
      to,
      factor: s.f,
      layers: s.j - s.i,
      message: `Gradient explodes from ${from} back to ${to}: its norm grows ${sig(s.f)}× over ${s.j - s.i} learned layers (threshold ${sig(t.explodingFactor)}×).`,
    });
  }
  const paramL2 = new Map<string, number>();
  for (const p of r.params) paramL2.set(p.node, (paramL2.get(p.node) ?? 0) + p.grad.l2);
  for (const [node, l2] of paramL2)
    if (l2 === 0)
      findings.push({
        kind: 'no-gradient',
        severity: 'warning',
        nodes: [node],
        message: `${node} gets no gradient at all: its parameters would not train.`,
      });
  for (const a of layers)
    if (a.zeroFraction >= t.deadFraction && (paramL2.get(a.node) ?? 1) > 0)
      findings.push({
        kind: 'dead',
        severity: 'warning',
        nodes: [a.node],
        value: a.zeroFraction,
        message: `${a.node} is mostly dead: ${pct(a.zeroFraction)} of its output gradient is exactly zero (threshold ${pct(t.deadFraction)}).`,
      });
  const cut = new Set(r.cut ?? []);
  for (const m of r.merges) {
    if (cut.has(m.merge)) continue; // a cut skip carries nothing by construction
    if (m.skipShare >= t.skipAll)
      findings.push({
        kind: 'skip-all',
        severity: 'info',
        nodes: [m.merge],
        value: m.skipShare,
        message: `At ${m.merge} the skip carries almost all of the gradient (${pct(m.skipShare)}, threshold ${pct(t.skipAll)}): the branch it bypasses adds little.`,
      });
    else if (m.skipShare <= t.skipNone)
      findings.push({
        kind: 'skip-none',
        severity: 'info',
        nodes: [m.merge],
        value: m.skipShare,
        message: `At ${m.merge} the skip carries almost none of the gradient (${pct(m.skipShare)}, threshold ${pct(t.skipNone)}): the branch dominates.`,
      });
  }
  const rank = (f: Finding) => (f.severity === 'warning' ? 0 : 1);
  findings.sort((a, b) => rank(a) - rank(b) || (b.factor ?? b.value ?? 0) - (a.factor ?? a.value ?? 0));
  // NaN or Infinity first: every statistic it reaches reads NaN or Infinity (probeTypes.ts).
  if (r.nonFinite)
    findings.unshift({
      kind: 'non-finite',
      severity: 'warning',
      nodes: [r.nonFinite.node ?? r.activations[r.activations.length - 1]?.node ?? r.model],
      message: `NaN or Infinity in batch ${r.nonFinite.batch + 1}: ${r.nonFinite.message}.`,
    });
  return { thresholds: t, findings, text: diagnosisText(pts, findings, t) };
}

function diagnosisText(pts: Point[], findings: Finding[], t: DiagnosisThresholds): string {
  const count = (k: FindingKind) => findings.filter((f) => f.kind === k).length;
  const flow = findings.filter((f) => f.kind === 'vanishing' || f.kind === 'exploding');
  const parts: string[] = findings.filter((f) => f.kind === 'non-finite').map((f) => f.message);
  if (flow.length) parts.push(flow[0].message);
  else if (pts.length >= 2) {
    const gs = pts.map((p) => p.g);
    parts.push(
      `No vanishing or exploding stretch: across ${pts.length} learned layers the per-sample gradient norm stays within ${sig(Math.max(...gs) / Math.min(...gs))}× (threshold ${sig(t.vanishingFactor)}×).`,
    );
  }
  if (flow.length > 1) parts.push(`${flow.length - 1} more stretch${flow.length > 2 ? 'es' : ''}.`);
  const dead = count('dead');
  if (dead) parts.push(`${dead} dead layer${dead === 1 ? '' : 's'}.`);
  const none = count('no-gradient');
  if (none) parts.push(`${none} layer${none === 1 ? '' : 's'} without gradient.`);
  return parts.join(' ');
}
