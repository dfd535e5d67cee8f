/**
 * What synthetic values an integer graph input gets, read from the graph: token ids (any input
 * whose values reach the index side of a Gather, through casts and reshapes) stay below the
 * number of rows of every table they index, so that an embedding lookup never leaves its table;
 * an input named like an attention mask is all ones (attend everywhere); an input that reaches the
 * sequence_lens of an LSTM/GRU/RNN holds the full length of that node's sequence; anything else is
 * 0 or 1.
 */
import type { Model } from '../model/ir';

/** How to fill one integer input. */
export type IntegerFill =
  | { kind: 'ids'; below: number; table: string }
  | { kind: 'ones' }
  | { kind: 'uniform'; below: number }
  /** Sequence lengths: every one the length of value `of` along its time `axis`. */
  | { kind: 'lengths'; of: string; axis: number };

/** Ops that pass index values through unchanged (only their layout or type changes). */
const CARRY = new Set([
  'Cast',
  'Identity',
  'Reshape',
  'Unsqueeze',
  'Squeeze',
  'Flatten',
  'Expand',
  'Transpose',
]);

/** The smallest table (rows along the Gather axis) that the values of `input` index, if any. */
function gatheredTable(model: Model, input: string): { below: number; table: string } | undefined {
  const g = model.graph;
  let best: { below: number; table: string } | undefined;
  const seen = new Set<string>();
  const todo = [input];
  while (todo.length) {
    const name = todo.pop()!;
    if (seen.has(name)) continue;
    seen.add(name);
    for (const idx of g.values.get(name)?.consumers ?? []) {
      const n = g.nodes[idx];
      if (n.op === 'Gather' && n.inputs[1] === name) {
        const table = g.values.get(n.inputs[0]);
        const shape = table?.initializer?.shape ?? table?.shape;
        const rank = shape?.length ?? 0;
        const raw = Number(n.attributes.axis ?? 0);
        const rows = shape?.[raw < 0 ? raw + rank : raw];
        if (typeof rows === 'number' && rows > 0 && (!best || rows < best.below))
          best = { below: rows, table: n.inputs[0] };
      } else if (CARRY.has(n.op) && n.inputs[0] === name) todo.push(...n.outputs.filter(Boolean));
    }
  }
  return best;
}

/** The sequence (and its time axis) of the recurrent node whose sequence_lens `input` feeds, if any. */
function lengthsOf(model: Model, input: string): { of: string; axis: number } | undefined {
  const g = model.graph;
  const seen = new Set<string>();
  const todo = [input];
  while (todo.length) {
    const name = todo.pop()!;
    if (seen.has(name)) continue;
    seen.add(name);
    for (const idx of g.values.get(name)?.consumers ?? []) {
      const n = g.nodes[idx];
      if ((n.op === 'LSTM' || n.op === 'GRU' || n.op === 'RNN') && n.inputs[4] === name)
        return { of: n.inputs[0], axis: Number(n.attributes.layout ?? 0) === 1 ? 1 : 0 };
      if (CARRY.has(n.op) && n.inputs[0] === name) todo.push(...n.outputs.filter(Boolean));
    }
  }
  return undefined;
}

/** The fill of integer input `name`; `fallbackBelow` bounds inputs that index nothing. */
export function integerFill(model: Model, name: string, fallbackBelow = 2): IntegerFill {
  const table = gatheredTable(model, name);
  if (table) return { kind: 'ids', ...table };
  const lengths = lengthsOf(model, name);
  if (lengths) return { kind: 'lengths', ...lengths };
  if (/mask/i.test(name)) return { kind: 'ones' };
  return { kind: 'uniform', below: fallbackBelow };
}

/** One phrase for the batch description, e.g. `input_ids: ids below 30522`. */
export function describeFill(name: string, f: IntegerFill): string {
  if (f.kind === 'ids') return `${name}: ids below ${f.below} (rows of ${f.table})`;
  if (f.kind === 'ones') return `${name}: ones`;
  if (f.kind === 'lengths') return `${name}: full lengths of ${f.of}`;
  return `${name}: integers below ${f.below}`;
}
