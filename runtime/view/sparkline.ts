/**
 * A series of positive numbers (a gradient norm per timestep) as one line of block characters, on a
 * log scale within the series' own range: the CLI's timestep table and the node cards show it.
 */

const SPARK = '▁▂▃▄▅▆▇█';

/** One character per value (buckets of values beyond `width`): log10 of the value within the row's range; a space for 0. */
export function sparkline(l2: number[], width = 48): string {
  const n = Math.min(l2.length, width);
  const cells = Array.from({ length: n }, (_, i) => {
    const part = l2.slice(Math.floor((i * l2.length) / n), Math.floor(((i + 1) * l2.length) / n));
    return Math.sqrt(part.reduce((a, v) => a + v * v, 0) / Math.max(part.length, 1));
  });
  const logs = cells.filter((v) => v > 0).map(Math.log10);
  const lo = Math.min(...logs);
  const hi = Math.max(...logs);
  return cells
    .map((v) => (v > 0 ? SPARK[hi > lo ? Math.round(((Math.log10(v) - lo) / (hi - lo)) * 7) : 7] : ' '))
    .join('');
}
