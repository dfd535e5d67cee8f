/**
 * The colour scale of gradient overlays and charts: viridis (perceptually uniform, readable by
 * colour-blind readers, distinct in light, dark and high-contrast themes) on a log10 domain, and
 * a blue–white–orange diverging scale for ratios between two runs.
 */

/** Viridis at nine evenly spaced stops (matplotlib's table). */
const VIRIDIS = [
  '#440154',
  '#482878',
  '#3e4989',
  '#31688e',
  '#26828e',
  '#1f9e89',
  '#35b779',
  '#6ece58',
  '#fde725',
];
/** Blue → light grey → orange (colour-blind safe), for log ratios B/A. */
const DIVERGING = ['#2166ac', '#67a9cf', '#d1e5f0', '#f7f7f7', '#fee0b6', '#f1a340', '#b35806'];

function rgb(hex: string): [number, number, number] {
  const v = parseInt(hex.slice(1), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

function ramp(stops: string[], t: number): string {
  const x = Math.max(0, Math.min(1, Number.isFinite(t) ? t : 0)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const a = rgb(stops[i]);
  const b = rgb(stops[i + 1]);
  const c = a.map((v, k) => Math.round(v + (b[k] - v) * f));
  return `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
}

/** The viridis colour at t ∈ [0, 1]. */
export function viridis(t: number): string {
  return ramp(VIRIDIS, t);
}

/** The diverging colour at t ∈ [0, 1] (0.5 is "no change"). */
export function diverging(t: number): string {
  return ramp(DIVERGING, t);
}

/** A log10 domain: values map to [0, 1]; ticks at whole decades. */
export interface LogDomain {
  lo: number;
  hi: number;
}

/** The decades spanning the positive finite `values` (one decade when all are equal; undefined when none). */
export function logDomain(values: Iterable<number>): LogDomain | undefined {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values)
    if (v > 0 && Number.isFinite(v)) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  if (!Number.isFinite(lo)) return undefined;
  let a = Math.floor(Math.log10(lo));
  let b = Math.ceil(Math.log10(hi));
  if (b <= a) b = a + 1;
  if (b - a > 40) a = b - 40; // beyond 40 decades nothing is readable: clamp the bottom
  return { lo: a, hi: b };
}

/** Where `v` sits in the domain, 0..1 (NaN for non-positive values). */
export function logPosition(d: LogDomain, v: number): number {
  if (!(v > 0)) return NaN;
  return Math.max(0, Math.min(1, (Math.log10(v) - d.lo) / (d.hi - d.lo)));
}

/** "1e-4" style label of decade `e`. */
export function decadeLabel(e: number): string {
  return e === 0 ? '1' : `1e${e}`;
}
