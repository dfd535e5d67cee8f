/**
 * ONNX Einsum as transposes, sums and (batched) matrix products, so that every equation gets
 * TF.js's gradients (TF.js's own Einsum kernel has none, and WASM has no kernel at all). Operands
 * are contracted left to right; per pair, the indices both share and the output keeps are batch
 * axes, those both share and nothing later needs are summed by the product, and indices only one
 * operand has are kept or summed beforehand. Ellipses broadcast as in numpy. Repeated indices
 * within one operand (diagonals, traces) are refused.
 */
import * as tf from '@tensorflow/tfjs-core';
import { nat, type Val } from '../val';
import { aStr, type OpContext } from './opContext';

/** An operand: a tensor and the index symbol of each axis. */
interface Term {
  t: tf.Tensor;
  syms: string[];
}

/** Splits the equation into per-input symbol lists and the output list (ellipses expanded). */
function parse(c: OpContext, eq: string, ranks: number[]): { inputs: string[][]; output: string[] } {
  const [lhs, rhs] = eq.replace(/\s+/g, '').split('->');
  const terms = lhs.split(',');
  if (terms.length !== ranks.length)
    c.fail(`has an equation with ${terms.length} operands but ${ranks.length} inputs`);
  // Ellipsis axes get symbols of their own, aligned from the right as numpy broadcasting does.
  const ell = (i: number) => `…${i}`;
  let maxEll = 0;
  const inputs = terms.map((term, n) => {
    const letters = term.replace('...', '');
    if (!/^[A-Za-z]*$/.test(letters)) c.fail(`has an equation term "${term}" that is not letters`);
    const count = term.includes('...') ? ranks[n] - letters.length : 0;
    if (!term.includes('...') && letters.length !== ranks[n])
      c.fail(`has the term "${term}" for an input of rank ${ranks[n]}`);
    maxEll = Math.max(maxEll, count);
    const [before, after] = term.includes('...') ? term.split('...') : [term, ''];
    return { before, after, count };
  });
  const expanded = inputs.map(({ before, after, count }) => [
    ...before,
    ...Array.from({ length: count }, (_, i) => ell(maxEll - count + i)),
    ...after,
  ]);
  for (const syms of expanded)
    if (new Set(syms).size !== syms.length)
      c.fail('repeats an index within one operand (a diagonal or trace), which is not supported');
  let output: string[];
  if (rhs !== undefined) {
    const [before, after] = rhs.includes('...') ? rhs.split('...') : [rhs, ''];
    const ellSyms = rhs.includes('...') ? Array.from({ length: maxEll }, (_, i) => ell(i)) : [];
    output = [...before, ...ellSyms, ...after];
  } else {
    // Implicit output: the ellipsis axes, then every letter used exactly once, in order.
    const counts = new Map<string, number>();
    for (const syms of expanded) for (const s of syms) counts.set(s, (counts.get(s) ?? 0) + 1);
    const once = [...counts.keys()].filter((s) => !s.startsWith('…') && counts.get(s) === 1).sort();
    output = [...Array.from({ length: maxEll }, (_, i) => ell(i)), ...once];
  }
  return { inputs: expanded, output };
}

/** Sums away the axes of `a` whose symbols are not in `keep`. */
function sumExcept(a: Term, keep: Set<string>): Term {
  const axes = a.syms.map((s, i) => (keep.has(s) ? -1 : i)).filter((i) => i >= 0);
  if (axes.length === 0) return a;
  return { t: tf.sum(a.t, axes), syms: a.syms.filter((s) => keep.has(s)) };
}

/** `a` with its axes in the order of `syms`, broadcast to `sizes` where it has size 1. */
function arrange(a: Term, syms: string[], sizes: Map<string, number>): tf.Tensor {
  const perm = syms.map((s) => a.syms.indexOf(s));
  let t = perm.every((p, i) => p === i) ? a.t : tf.transpose(a.t, perm);
  const want = syms.map((s) => sizes.get(s)!);
  if (t.shape.some((d, i) => d !== want[i])) t = tf.broadcastTo(t, want);
  return t;
}

/** Contracts two operands, keeping the symbols in `keep`. */
function contract(a0: Term, b0: Term, keep: Set<string>, sizes: Map<string, number>): Term {
  const inB = new Set(b0.syms);
  const inA = new Set(a0.syms);
  const a = sumExcept(a0, new Set([...a0.syms].filter((s) => keep.has(s) || inB.has(s))));
  const b = sumExcept(b0, new Set([...b0.syms].filter((s) => keep.has(s) || inA.has(s))));
  const batch = a.syms.filter((s) => inB.has(s) && keep.has(s));
  const summed = a.syms.filter((s) => inB.has(s) && !keep.has(s));
  const aOnly = a.syms.filter((s) => !inB.has(s));
  const bOnly = b.syms.filter((s) => !inA.has(s));
  const size = (ss: string[]) => ss.reduce((p, s) => p * sizes.get(s)!, 1);
  const [nb, m, k, n] = [size(batch), size(aOnly), size(summed), size(bOnly)];
  const at = tf.reshape(arrange(a, [...batch, ...aOnly, ...summed], sizes), [nb, m, k]);
  const bt = tf.reshape(arrange(b, [...batch, ...summed, ...bOnly], sizes), [nb, k, n]);
  const y =
    nb === 1
      ? tf.matMul(tf.reshape(at, [m, k]), tf.reshape(bt, [k, n]))
      : tf.matMul(at as tf.Tensor3D, bt as tf.Tensor3D);
  const syms = [...batch, ...aOnly, ...bOnly];
  return {
    t: tf.reshape(
      y,
      syms.map((s) => sizes.get(s)!),
    ),
    syms,
  };
}

/** The Einsum op. */
export function einsum(c: OpContext): Val[] {
  const count = [...Array(c.count).keys()].filter((i) => c.has(i)).length;
  const ts = Array.from({ length: count }, (_, i) => c.nat(i));
  const { inputs, output } = parse(
    c,
    aStr(c.node, 'equation', ''),
    ts.map((t) => t.rank),
  );
  const sizes = new Map<string, number>();
  inputs.forEach((syms, i) =>
    syms.forEach((s, a) => {
      const d = ts[i].shape[a];
      const had = sizes.get(s);
      if (had !== undefined && had !== d && had !== 1 && d !== 1)
        c.fail(`gives index ${s} the sizes ${had} and ${d}`);
      sizes.set(s, Math.max(had ?? 1, d));
    }),
  );
  for (const s of output) if (!sizes.has(s)) c.fail(`has an output index ${s} that no input has`);
  let terms: Term[] = ts.map((t, i) => ({
    t: t.dtype === 'float32' ? t : tf.cast(t, 'float32'),
    syms: inputs[i],
  }));
  while (terms.length > 1) {
    const later = new Set([...output, ...terms.slice(2).flatMap((x) => x.syms)]);
    terms = [contract(terms[0], terms[1], later, sizes), ...terms.slice(2)];
  }
  const last = sumExcept(terms[0], new Set(output));
  return [nat(arrange(last, output, sizes))];
}
