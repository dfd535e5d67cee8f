/**
 * Shape rules for the ONNX ops that transformer exports add to the usual set: ScatterND (Swin's
 * window masks), Einsum and Range (positions from a dynamic sequence length).
 */
import type { Dim, Shape } from '../model/ir';
import { broadcast, type RuleCtx, type ShapeRule } from './shapes';

const scatterND: ShapeRule = (c) => {
  c.setDtype(0, c.dtype(0));
  return [c.shape(0)];
};

/** Output shape of an Einsum: each output index takes its size from the inputs (ellipses broadcast). */
const einsum: ShapeRule = (c) => {
  const eq = c.str('equation', '').replace(/\s+/g, '');
  const [lhs, rhs] = eq.split('->');
  const terms = lhs.split(',');
  const shapes = terms.map((_, i) => c.shape(i));
  if (shapes.some((s) => !s)) return null;
  const size = new Map<string, Dim>();
  const ellipses: Shape[] = [];
  terms.forEach((term, i) => {
    const s = shapes[i]!;
    const [before, after] = term.includes('...') ? term.split('...') : [term, ''];
    const ell = s.length - before.length - after.length;
    [...before].forEach((ch, a) => size.set(ch, pick(size.get(ch), s[a])));
    [...after].forEach((ch, a) => size.set(ch, pick(size.get(ch), s[s.length - after.length + a])));
    ellipses.push(s.slice(before.length, before.length + Math.max(0, ell)));
  });
  const ell = broadcast(ellipses) ?? [];
  let out: string;
  if (rhs !== undefined) out = rhs;
  else {
    const letters = terms.join('').replace(/\./g, '');
    out = `${eq.includes('...') ? '...' : ''}${[...new Set(letters)]
      .filter((ch) => letters.indexOf(ch) === letters.lastIndexOf(ch))
      .sort()
      .join('')}`;
  }
  const [before, after] = out.includes('...') ? out.split('...') : [out, ''];
  return [
    [
      ...[...before].map((ch) => size.get(ch) ?? null),
      ...(out.includes('...') ? ell : []),
      ...[...after].map((ch) => size.get(ch) ?? null),
    ],
  ];
};

/** A known size wins over a symbolic one, and anything over a broadcast 1. */
function pick(had: Dim | undefined, d: Dim): Dim {
  if (had === undefined || had === 1) return d;
  if (d === 1 || d === had) return had;
  return typeof had === 'number' ? had : d;
}

const range: ShapeRule = (c: RuleCtx) => {
  c.setDtype(0, c.dtype(0));
  const [s, l, d] = [0, 1, 2].map((i) => c.known(i)?.[0]);
  if (typeof s === 'number' && typeof l === 'number' && typeof d === 'number' && d !== 0) {
    const n = Math.max(Math.ceil((l - s) / d), 0);
    if (n <= 64)
      c.setKnown(
        0,
        Array.from({ length: n }, (_, i) => s + i * d),
      );
    return [[n]];
  }
  // arange(seq): the length is the symbolic dim itself.
  if (s === 0 && d === 1 && typeof l === 'string') return [[l]];
  return [[null]];
};

/** Transformer-export op → shape rule. */
export const TRANSFORMER_SHAPE_RULES: Record<string, ShapeRule> = {
  ScatterND: scatterND,
  Einsum: einsum,
  Range: range,
};
