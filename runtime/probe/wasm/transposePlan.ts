/**
 * A Transpose reduced to what the kernel must move: axes of size 1 dropped and input axes that
 * stay neighbours in the output merged, so that [B, S, H, D] → [B, H, S, D] is three axes, a
 * weight's [K, N] → [N, K] two, and a permutation that only moves axes of size 1 none at all (the
 * data keeps its order: the output can share the input's buffer). The output is then rows of
 * `len` elements, `inner` elements apart in the input, through the outer axes (innermost first).
 */

/** Rows of `len` elements: the input offset of each row walks `outer` ([size, input stride], innermost first). */
export interface TransposePlan {
  rows: number;
  len: number;
  /** Input stride, in elements, between neighbours in a row. */
  inner: number;
  outer: [number, number][];
}

/** The plan of transposing `shape` by `perm`, or 'same-order' when the elements keep their order. */
export function transposePlan(shape: number[], perm: number[]): TransposePlan | 'same-order' {
  // Input axes of size > 1, renumbered; the permutation restricted to them.
  const kept = shape.map((d, i) => (d > 1 ? i : -1)).filter((i) => i >= 0);
  const rank = new Map(kept.map((a, i) => [a, i]));
  const p = perm.filter((a) => rank.has(a)).map((a) => rank.get(a)!);
  const dims = kept.map((a) => shape[a]);
  // Groups of input axes that follow each other in the output, in output order.
  const groups: number[][] = [];
  for (const a of p) {
    const g = groups[groups.length - 1];
    if (g && g[g.length - 1] === a - 1) g.push(a);
    else groups.push([a]);
  }
  if (groups.length <= 1) return 'same-order';
  // Each group's size, and its stride in the input (groups in input order, row-major).
  const size = groups.map((g) => g.reduce((s, a) => s * dims[a], 1));
  const byInput = groups.map((_, i) => i).sort((i, j) => groups[i][0] - groups[j][0]);
  const stride = new Array<number>(groups.length);
  for (let k = byInput.length - 1, s = 1; k >= 0; k--) {
    stride[byInput[k]] = s;
    s *= size[byInput[k]];
  }
  const last = groups.length - 1;
  const outer: [number, number][] = [];
  for (let j = last - 1; j >= 0; j--) outer.push([size[j], stride[j]]);
  return {
    rows: size.slice(0, last).reduce((s, d) => s * d, 1),
    len: size[last],
    inner: stride[last],
    outer,
  };
}
