/**
 * Shape inference over the IR: one pass in topological order with a rule table per format.
 * Dims may be symbolic ("batch"); a shape that cannot be inferred stays unknown (null), never
 * guessed. Small integer tensors (shape arithmetic, Reshape targets, pads, axes) are tracked as
 * "known values" so Shape → Gather → Concat → Reshape chains resolve.
 */
import type { AttrValue, Dim, DType, Graph, ModelFormat, Node, Shape, TensorData } from '../model/ir';
import { toNumbers } from '../model/tensorValues';
import { ONNX_SHAPE_RULES } from './shapeRulesOnnx';
import { TF_SHAPE_RULES } from './shapeRulesTf';
import { KERAS_SHAPE_RULES } from './shapeRulesKeras';

/** Largest constant tensor read for shape arithmetic (elements). */
const MAX_KNOWN = 64;

/** What a rule sees of one node. */
export interface RuleCtx {
  node: Node;
  /** Shape of input i (null when unknown or absent). */
  shape(i: number): Shape;
  dtype(i: number): DType;
  /** Known values of input i (small int tensors), or undefined. */
  known(i: number): Dim[] | undefined;
  /** True when input i is present. */
  has(i: number): boolean;
  /** True when input i is stored in the file (an initializer: a weight or a constant). */
  isParam(i: number): boolean;
  attr(name: string): AttrValue | undefined;
  int(name: string, dflt: number): number;
  ints(name: string): number[] | undefined;
  str(name: string, dflt: string): string;
  /** Records the known values of output i. */
  setKnown(i: number, v: Dim[]): void;
  /** Sets the dtype of output i. */
  setDtype(i: number, d: DType): void;
}

/** A shape rule: the output shapes (by output index), or null where unknown. */
export type ShapeRule = (c: RuleCtx) => Shape[] | null;

/** Infers value shapes of `g` (and nested graphs) in place, for a model of `format`. */
export function inferShapes(g: Graph, format: ModelFormat): void {
  const rules =
    format === 'onnx' ? ONNX_SHAPE_RULES : format === 'tfjs-graph' ? TF_SHAPE_RULES : KERAS_SHAPE_RULES;
  const known = new Map<string, Dim[] | undefined>();
  const ctx = makeCtx(g, known);
  for (const node of g.nodes) {
    if (node.subgraphs) {
      for (const sg of Object.values(node.subgraphs)) {
        // Values a body reads from this graph take their (now inferred) shapes.
        for (const v of sg.values.values()) {
          if (v.shape || v.producer !== undefined || v.isGraphInput) continue;
          const o = g.values.get(v.name);
          if (o?.shape) v.shape = o.shape.slice();
        }
        inferShapes(sg, format);
      }
    }
    const rule = rules[node.op];
    if (!rule) continue;
    ctx.node = node;
    let out: Shape[] | null = null;
    try {
      out = rule(ctx);
    } catch {
      out = null; // a rule meeting something unexpected leaves the shape unknown
    }
    // Ops the rules know keep their first input's dtype unless the rule said otherwise.
    const d0 = node.inputs[0] ? g.values.get(node.inputs[0])?.dtype : undefined;
    if (d0 && d0 !== 'unknown') {
      for (const o of node.outputs) {
        const v = g.values.get(o);
        if (v && v.dtype === 'unknown') v.dtype = d0;
      }
    }
    if (!out) continue;
    for (let i = 0; i < node.outputs.length && i < out.length; i++) {
      const v = g.values.get(node.outputs[i]);
      if (v) v.shape = mergeShape(v.shape, sanitize(out[i]));
    }
  }
}

/** Reads a small integer/float tensor's values for shape arithmetic (undefined when big or unreadable). */
export function readKnown(t: TensorData): Dim[] | undefined {
  if (t.dtype !== 'int64' && t.dtype !== 'int32' && t.dtype !== 'float32' && t.dtype !== 'float64')
    return undefined;
  let n = 1;
  for (const d of t.shape) n *= d;
  if (!(n <= MAX_KNOWN)) return undefined;
  try {
    return toNumbers(t.read());
  } catch {
    return undefined;
  }
}

/** One context reused for every node (`node` is reassigned): no closures per node on big graphs. */
function makeCtx(g: Graph, known: Map<string, Dim[] | undefined>): RuleCtx & { node: Node } {
  const val = (i: number) => {
    const name = ctx.node.inputs[i];
    return name ? g.values.get(name) : undefined;
  };
  const ctx: RuleCtx & { node: Node } = {
    node: undefined as unknown as Node,
    shape: (i) => val(i)?.shape ?? null,
    dtype: (i) => val(i)?.dtype ?? 'unknown',
    known: (i) => {
      const name = ctx.node.inputs[i];
      if (!name) return undefined;
      if (known.has(name)) return known.get(name);
      // Initializers are read on first use only: most (weights) are never asked for.
      const v = g.values.get(name);
      const k = v?.initializer ? readKnown(v.initializer) : undefined;
      known.set(name, k);
      return k;
    },
    has: (i) => !!ctx.node.inputs[i],
    isParam: (i) => !!val(i)?.initializer,
    attr: (name) => ctx.node.attributes[name],
    int: (name, dflt) => {
      const a = ctx.node.attributes[name];
      return typeof a === 'number' ? a : typeof a === 'bigint' ? Number(a) : dflt;
    },
    ints: (name) => {
      const a = ctx.node.attributes[name];
      return Array.isArray(a) && a.every((x) => typeof x === 'number') ? (a as number[]) : undefined;
    },
    str: (name, dflt) => {
      const a = ctx.node.attributes[name];
      return typeof a === 'string' ? a : dflt;
    },
    setKnown: (i, v) => {
      if (ctx.node.outputs[i] && v.length <= MAX_KNOWN) known.set(ctx.node.outputs[i], v);
    },
    setDtype: (i, d) => {
      const v = ctx.node.outputs[i] ? g.values.get(ctx.node.outputs[i]) : undefined;
      if (v && v.dtype === 'unknown') v.dtype = d;
    },
  };
  return ctx;
}

/** Keeps only well-formed dims: non-negative safe integers, non-empty symbols; anything else unknown. */
function sanitize(s: Shape): Shape {
  if (!s) return null;
  return s.map((d) =>
    typeof d === 'number'
      ? Number.isSafeInteger(d) && d >= 0
        ? d
        : null
      : typeof d === 'string' && d
        ? d
        : null,
  );
}

/**
 * A declared shape (from the file) wins; inferred dims fill its unknowns when the ranks agree. A
 * declared symbol where inference found a number is an unknown too: ONNX shape inference writes
 * "unk__N" where it gave up (PyTorch's Resize outputs), which would count as 1 in FLOPs.
 */
function mergeShape(declared: Shape, inferred: Shape): Shape {
  if (!declared) return inferred;
  if (!inferred || inferred.length !== declared.length) return declared;
  return declared.map((d, i) =>
    d === null || (typeof d === 'string' && typeof inferred[i] === 'number') ? inferred[i] : d,
  );
}

// ---- helpers shared by the rule tables ----

/** Numpy-style broadcast of several shapes (unknown when a pair cannot be decided). */
export function broadcast(shapes: Shape[]): Shape {
  let out: Dim[] = [];
  for (const s of shapes) {
    if (!s) return null;
    const r = Math.max(out.length, s.length);
    const next: Dim[] = [];
    for (let i = 0; i < r; i++) {
      const a = i - (r - out.length) >= 0 ? out[i - (r - out.length)] : 1;
      const b = i - (r - s.length) >= 0 ? s[i - (r - s.length)] : 1;
      next.push(broadcastDim(a, b));
    }
    out = next;
  }
  return out;
}

function broadcastDim(a: Dim, b: Dim): Dim {
  if (a === 1) return b;
  if (b === 1) return a;
  if (a === b) return a;
  if (typeof a === 'number' && typeof b === 'number') return null; // incompatible: unknown, not wrong
  if (typeof a === 'number' && a > 1) return a;
  if (typeof b === 'number' && b > 1) return b;
  return null;
}

/** Output size of a windowed op along one axis (conv/pool arithmetic); unknown unless all parts are known. */
export function windowOut(
  size: Dim,
  kernel: number,
  stride: number,
  dilation: number,
  padTotal: number,
  ceil = false,
): Dim {
  if (typeof size !== 'number') return null;
  const eff = (kernel - 1) * dilation + 1;
  const span = size + padTotal - eff;
  if (span < 0 || stride <= 0) return null;
  return (ceil ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
}

/** Output size for SAME padding. */
export function sameOut(size: Dim, stride: number): Dim {
  return typeof size === 'number' && stride > 0 ? Math.ceil(size / stride) : null;
}

/** Normalises a possibly negative axis for rank r; NaN when out of range. */
export function axisOf(axis: number, r: number): number {
  const a = axis < 0 ? axis + r : axis;
  return a >= 0 && a < r ? a : NaN;
}

/**
 * Output shape of concatenating `shapes` along `axis` (may be negative): the axis dims summed,
 * the other dims taken from whichever input knows them; null when a rank is unknown or differs.
 */
export function concatShape(shapes: Shape[], axis: number): Dim[] | null {
  if (shapes.length === 0 || shapes.some((s) => !s)) return null;
  const all = shapes as Dim[][];
  const r = all[0].length;
  if (all.some((s) => s.length !== r)) return null;
  const a = axisOf(axis, r);
  if (Number.isNaN(a)) return null;
  const out = all[0].slice();
  let sum: number | null = 0;
  for (const s of all) sum = sum !== null && typeof s[a] === 'number' ? sum + (s[a] as number) : null;
  out[a] = sum;
  for (let i = 0; i < r; i++) {
    if (i === a) continue;
    for (const s of all)
      if (out[i] === null || (typeof out[i] === 'string' && typeof s[i] === 'number')) out[i] = s[i];
  }
  return out;
}

/** Product of dims, or null when any is not a known number. */
export function dimProduct(ds: Dim[]): number | null {
  let p = 1;
  for (const d of ds) {
    if (typeof d !== 'number') return null;
    p *= d;
  }
  return p;
}

/** Applies a reshape target (ONNX semantics: 0 copies, -1 infers) to an input shape. */
export function reshape(input: Shape, target: Dim[], allowZero = false): Shape {
  const out: Dim[] = [];
  let minus = -1;
  for (let i = 0; i < target.length; i++) {
    const t = target[i];
    if (t === 0 && !allowZero) out.push(input && i < input.length ? input[i] : null);
    else if (t === -1) {
      if (minus >= 0) return null;
      minus = i;
      out.push(null);
    } else if (typeof t === 'number' && t >= 0) out.push(t);
    else out.push(typeof t === 'string' ? t : null);
  }
  if (minus >= 0 && input) {
    const total = dimProduct(input);
    const rest = dimProduct(out.filter((_, i) => i !== minus));
    if (total !== null && rest !== null && rest > 0 && total % rest === 0) out[minus] = total / rest;
    else if (total === null && rest !== null) {
      // Flattening the batch with everything known: "batch" × k / k = "batch" when the symbols line up.
      const syms = input.filter((d) => typeof d !== 'number');
      const knownIn = dimProduct(input.filter((d) => typeof d === 'number'));
      if (syms.length === 1 && typeof syms[0] === 'string' && knownIn === rest && !out.includes(syms[0]))
        out[minus] = syms[0];
    }
  }
  return out;
}
