/**
 * Number and shape formatting shared by the hover cards, the details panel and the status bar.
 */
import type { Shape } from '../model/ir';

/** A shape as `1×64×56×56`; symbolic dims by name, unknown dims as `?`, unknown rank as `?`. */
export function formatShape(shape: Shape | undefined): string {
  if (!shape) return '?';
  if (shape.length === 0) return 'scalar';
  return shape.map((d) => (d === null ? '?' : String(d))).join('×');
}

/** A count with thousands separators: 11,689,512. */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** A large quantity in engineering units: 1.82 G, 3.4 M, 512. */
export function formatCompact(n: number): string {
  const units: [number, string][] = [
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [scale, unit] of units) {
    if (Math.abs(n) >= scale) return `${(n / scale).toPrecision(3).replace(/\.?0+$/, '')} ${unit}`;
  }
  return String(Math.round(n));
}

/** A small statistic with 3 significant digits (1.23e-5 style when tiny or huge). */
export function formatStat(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const a = Math.abs(x);
  return a >= 1e-3 && a < 1e5 ? String(Number(x.toPrecision(3))) : x.toExponential(2);
}
