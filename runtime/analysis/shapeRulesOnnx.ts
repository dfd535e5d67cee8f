/**
 * Shape rules for ONNX operators (NCHW layouts, ONNX attribute names).
 */
import type { Dim, Shape, TensorData } from '../model/ir';
import { onnxDType } from '../model/onnx/onnxTensor';
import {
  concatShape,
  axisOf,
  broadcast,
  dimProduct,
  readKnown,
  reshape,
  windowOut,
  type RuleCtx,
  type ShapeRule,
} from './shapes';
import { TRANSFORMER_SHAPE_RULES } from './shapeRulesTransformer';

const same: ShapeRule = (c) => [c.shape(0)];

const elementwise: ShapeRule = (c) => {
  const shapes = c.node.inputs.map((_, i) => c.shape(i)).filter((_, i) => c.has(i));
  const out = broadcast(shapes);
  arith(c);
  return [out];
};

const where: ShapeRule = (c) => {
  c.setDtype(0, c.dtype(1));
  const [cond, a, b] = [c.known(0), c.known(1), c.known(2)];
  const n = Math.max(cond?.length ?? 0, a?.length ?? 0, b?.length ?? 0);
  const at = (k: Dim[], i: number) => k[k.length === 1 ? 0 : i];
  // Known values where all three are (each of length n or 1): Expand's shape after a -1 check.
  if (cond && a && b && [cond, a, b].every((k) => k.length === n || k.length === 1))
    c.setKnown(
      0,
      Array.from({ length: n }, (_, i) => {
        const t = at(cond, i);
        return typeof t === 'number' ? (t ? at(a, i) : at(b, i)) : null;
      }),
    );
  return [broadcast([c.shape(0), c.shape(1), c.shape(2)])];
};

/** Dropout: the output and its optional boolean mask keep the input's shape. */
const dropout: ShapeRule = (c) => {
  if (c.node.outputs[1]) c.setDtype(1, 'bool');
  return [c.shape(0), c.shape(0)];
};

const dequantize: ShapeRule = (c) => {
  c.setDtype(0, 'float32');
  return [c.shape(0)];
};

const quantize: ShapeRule = (c) => {
  c.setDtype(0, c.has(2) ? c.dtype(2) : 'uint8');
  return [c.shape(0)];
};

const compare: ShapeRule = (c) => {
  c.setDtype(0, 'bool');
  const [a, b] = [c.known(0), c.known(1)];
  if (c.node.op === 'Equal' && a && b && (a.length === b.length || a.length === 1 || b.length === 1)) {
    const n = Math.max(a.length, b.length);
    c.setKnown(
      0,
      Array.from({ length: n }, (_, i) => {
        const x = a[a.length === 1 ? 0 : i];
        const y = b[b.length === 1 ? 0 : i];
        return typeof x === 'number' && typeof y === 'number' ? Number(x === y) : null;
      }),
    );
  }
  return [broadcast([c.shape(0), c.shape(1)])];
};

/** Known-value arithmetic on small int tensors (Add/Sub/Mul/Div of shape numbers). */
function arith(c: RuleCtx): void {
  const a = c.known(0);
  const b = c.known(1);
  if (!a || !b || c.node.inputs.length !== 2) return;
  const n = Math.max(a.length, b.length);
  if (a.length !== n && a.length !== 1) return;
  if (b.length !== n && b.length !== 1) return;
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length === 1 ? 0 : i];
    const y = b[b.length === 1 ? 0 : i];
    if (typeof x !== 'number' || typeof y !== 'number') {
      // batch × 1 and batch + 0 keep the symbol
      if (c.node.op === 'Mul' && (x === 1 || y === 1)) out.push(x === 1 ? y : x);
      else out.push(null);
      continue;
    }
    switch (c.node.op) {
      case 'Add':
        out.push(x + y);
        break;
      case 'Sub':
        out.push(x - y);
        break;
      case 'Mul':
        out.push(x * y);
        break;
      case 'Div':
        out.push(y === 0 ? null : Math.trunc(x / y));
        break;
      case 'Mod':
        // Integer Mod (fmod 0) takes the divisor's sign, as Python's %: Swin's window padding.
        out.push(y === 0 ? null : ((x % y) + y) % y);
        break;
      default:
        out.push(null);
    }
  }
  c.setKnown(0, out);
}

function spatialAttrs(c: RuleCtx, nsp: number) {
  const strides = c.ints('strides') ?? new Array(nsp).fill(1);
  const dil = c.ints('dilations') ?? new Array(nsp).fill(1);
  const pads = c.ints('pads') ?? new Array(2 * nsp).fill(0);
  const autoPad = c.str('auto_pad', 'NOTSET');
  return { strides, dil, pads, autoPad };
}

const conv: ShapeRule = (c) => {
  const x = c.shape(0);
  const w = c.shape(1);
  if (!x || x.length < 3) return null;
  const nsp = x.length - 2;
  const kernel =
    c.ints('kernel_shape') ?? (w ? w.slice(2).map((d) => (typeof d === 'number' ? d : NaN)) : []);
  if (kernel.length !== nsp || kernel.some((k) => !Number.isFinite(k))) return null;
  const { strides, dil, pads, autoPad } = spatialAttrs(c, nsp);
  const cout = c.node.op === 'Conv' ? (w ? w[0] : null) : null;
  const out: Dim[] = [x[0], cout];
  for (let i = 0; i < nsp; i++) {
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      const s = x[2 + i];
      out.push(typeof s === 'number' ? Math.ceil(s / strides[i]) : null);
    } else {
      const p = autoPad === 'VALID' ? 0 : pads[i] + pads[i + nsp];
      out.push(windowOut(x[2 + i], kernel[i], strides[i], dil[i], p));
    }
  }
  return [out];
};

const pool: ShapeRule = (c) => {
  const x = c.shape(0);
  const kernel = c.ints('kernel_shape');
  if (!x || !kernel || x.length !== kernel.length + 2) return null;
  const nsp = kernel.length;
  const { strides, dil, pads, autoPad } = spatialAttrs(c, nsp);
  const ceil = c.int('ceil_mode', 0) === 1;
  c.setDtype(1, 'int64');
  const out: Dim[] = [x[0], x[1]];
  for (let i = 0; i < nsp; i++) {
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      const s = x[2 + i];
      out.push(typeof s === 'number' ? Math.ceil(s / strides[i]) : null);
    } else {
      const p = autoPad === 'VALID' ? 0 : pads[i] + pads[i + nsp];
      out.push(windowOut(x[2 + i], kernel[i], strides[i], dil[i], p, ceil));
    }
  }
  return [out, out];
};

const convTranspose: ShapeRule = (c) => {
  const x = c.shape(0);
  const w = c.shape(1);
  if (!x || !w || x.length < 3 || w.length !== x.length) return null;
  const nsp = x.length - 2;
  const group = c.int('group', 1);
  const cout = typeof w[1] === 'number' ? w[1] * group : null;
  const explicit = c.ints('output_shape');
  if (explicit && explicit.length === nsp) return [[x[0], cout, ...explicit]];
  const kernel = c.ints('kernel_shape') ?? w.slice(2).map((d) => (typeof d === 'number' ? d : NaN));
  const { strides, dil, pads, autoPad } = spatialAttrs(c, nsp);
  const outPad = c.ints('output_padding') ?? new Array(nsp).fill(0);
  const out: Dim[] = [x[0], cout];
  for (let i = 0; i < nsp; i++) {
    const s = x[2 + i];
    if (typeof s !== 'number' || !Number.isFinite(kernel[i])) out.push(null);
    else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') out.push(s * strides[i]);
    else out.push(strides[i] * (s - 1) + outPad[i] + (kernel[i] - 1) * dil[i] + 1 - pads[i] - pads[i + nsp]);
  }
  return [out];
};

const globalPool: ShapeRule = (c) => {
  const x = c.shape(0);
  if (!x || x.length < 2) return null;
  return [[x[0], x[1], ...x.slice(2).map(() => 1)]];
};

const gemm: ShapeRule = (c) => {
  const a = c.shape(0);
  const b = c.shape(1);
  if (!a || !b || a.length !== 2 || b.length !== 2) return null;
  const m = c.int('transA', 0) ? a[1] : a[0];
  const n = c.int('transB', 0) ? b[0] : b[1];
  return [[m, n]];
};

/** Numpy matmul shape. */
export function matmulShape(a: Shape, b: Shape): Shape {
  if (!a || !b || a.length === 0 || b.length === 0) return null;
  const a2 = a.length === 1 ? [1, a[0]] : a;
  const b2 = b.length === 1 ? [b[0], 1] : b;
  const batch = broadcast([a2.slice(0, -2), b2.slice(0, -2)]);
  if (!batch) return null;
  const out = [...batch, a2[a2.length - 2], b2[b2.length - 1]];
  if (a.length === 1) out.splice(out.length - 2, 1);
  if (b.length === 1) out.splice(out.length - 1, 1);
  return out;
}

const matmul: ShapeRule = (c) => [matmulShape(c.shape(0), c.shape(1))];

const flatten: ShapeRule = (c) => {
  const x = c.shape(0);
  if (!x) return null;
  const axis = axisOf(c.int('axis', 1), x.length + 1);
  if (Number.isNaN(axis)) return null;
  const left = x.slice(0, axis);
  const right = x.slice(axis);
  const l = dimProduct(left);
  const r = dimProduct(right);
  const lsym = left.length === 1 && typeof left[0] === 'string' ? left[0] : null;
  return [[l ?? lsym, r]];
};

/** Axes from an attribute (older opsets) or a known input (newer opsets). */
function axesOf(c: RuleCtx, input: number): number[] | undefined {
  const a = c.ints('axes');
  if (a) return a;
  const k = c.known(input);
  if (k && k.every((d) => typeof d === 'number')) return k as number[];
  return undefined;
}

const reshapeRule: ShapeRule = (c) => {
  const t = c.known(1) ?? c.ints('shape');
  const x = c.shape(0);
  if (!t) return null;
  const out = reshape(x, t, c.int('allowzero', 0) === 1);
  const k = c.known(0);
  if (k) c.setKnown(0, k);
  return [out];
};

const transpose: ShapeRule = (c) => {
  const x = c.shape(0);
  if (!x) return null;
  const perm = c.ints('perm') ?? x.map((_, i) => x.length - 1 - i);
  if (perm.length !== x.length) return null;
  const k = c.known(0);
  if (k && x.every((d) => typeof d === 'number') && k.length === (x as number[]).reduce((a, b) => a * b, 1)) {
    // Output element (i0, i1, …) is input element (…) with axis perm[j] at i_j.
    const dims = x as number[];
    const strides = dims.map((_, i) => dims.slice(i + 1).reduce((a, b) => a * b, 1));
    const out = perm.map((p) => Array.from({ length: dims[p] }, (_, i) => i * strides[p]));
    c.setKnown(
      0,
      combine(out).map((o) => k[o]),
    );
  }
  return [perm.map((p) => x[p] ?? null)];
};

const concat: ShapeRule = (c) => {
  const shapes = c.node.inputs.map((_, i) => c.shape(i)).filter((_, i) => c.has(i));
  const ks = c.node.inputs.map((_, i) => c.known(i));
  if (ks.length > 0 && ks.every((k) => k))
    c.setKnown(
      0,
      ks.flatMap((k) => k as Dim[]),
    );
  const out = concatShape(shapes, c.int('axis', 0));
  return out && [out];
};

const split: ShapeRule = (c) => {
  const x = c.shape(0);
  if (!x) return null;
  const axis = axisOf(c.int('axis', 0), x.length);
  if (Number.isNaN(axis)) return null;
  const n = c.node.outputs.length;
  const parts = c.ints('split') ?? (c.known(1) as number[] | undefined);
  const out: Shape[] = [];
  for (let i = 0; i < n; i++) {
    const s = x.slice();
    const d = x[axis];
    if (parts && parts.length === n) s[axis] = parts[i];
    else if (typeof d === 'number' && d % n === 0) s[axis] = d / n;
    else s[axis] = null;
    out.push(s);
  }
  return out;
};

const slice: ShapeRule = (c) => {
  const x = c.shape(0);
  const starts = c.ints('starts') ?? c.known(1);
  const ends = c.ints('ends') ?? c.known(2);
  if (!starts || !ends) return null;
  const axes = (c.ints('axes') ?? c.known(3) ?? starts.map((_, i) => i)) as Dim[];
  const steps = (c.known(4) ?? starts.map(() => 1)) as Dim[];
  const kx = c.known(0);
  const dims =
    kx && x?.length === 1
      ? [kx.length]
      : x && x.every((d) => typeof d === 'number')
        ? (x as number[])
        : undefined;
  if (kx && dims && kx.length === dims.reduce((a, b) => a * b, 1)) {
    // Per axis, the indices kept (in order; a negative step reverses), then every combination.
    const keep = dims.map((n) => Array.from({ length: n }, (_, i) => i));
    let ok = true;
    for (let j = 0; j < starts.length && ok; j++) {
      const ax = axes[j];
      const a = typeof ax === 'number' ? axisOf(ax, dims.length) : NaN;
      const r = Number.isNaN(a) ? null : sliceRange(dims[a], starts[j], ends[j], steps[j] ?? 1);
      if (r) keep[a] = r;
      else ok = false;
    }
    if (ok) c.setKnown(0, gatherKnown(kx, dims, keep));
  }
  if (!x) return null;
  const out = x.slice();
  for (let j = 0; j < starts.length; j++) {
    const ax = axes[j];
    if (typeof ax !== 'number') return null;
    const a = axisOf(ax, x.length);
    if (Number.isNaN(a)) return null;
    const d = x[a];
    if (typeof d !== 'number') {
      out[a] = null;
      continue;
    }
    out[a] = sliceLength(d, starts[j], ends[j], steps[j] ?? 1);
  }
  return [out];
};

/** Clamped [first, bound) of an ONNX slice along an axis of size n, or null when not all known. */
function sliceBounds(n: number, s: Dim, e: Dim, st: Dim): [number, number, number] | null {
  if (
    typeof s !== 'number' ||
    typeof e !== 'number' ||
    typeof st !== 'number' ||
    st === 0 ||
    !Number.isFinite(st)
  )
    return null;
  const clamp = (v: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, v));
  const a = s < 0 ? s + n : s;
  const b = e < 0 ? e + n : e;
  return st > 0 ? [clamp(a, 0, n), clamp(b, 0, n), st] : [clamp(a, -1, n - 1), clamp(b, -1, n - 1), st];
}

/** Number of elements a slice keeps, computed (not enumerated: dims may be huge in a corrupt file). */
function sliceLength(n: number, s: Dim, e: Dim, st: Dim): number | null {
  const r = sliceBounds(n, s, e, st);
  if (!r) return null;
  const [a, b, step] = r;
  return step > 0 ? Math.max(0, Math.ceil((b - a) / step)) : Math.max(0, Math.ceil((a - b) / -step));
}

/** The indices a slice keeps, for small known tensors only. */
function sliceRange(n: number, s: Dim, e: Dim, st: Dim): number[] | null {
  const len = sliceLength(n, s, e, st);
  const r = sliceBounds(n, s, e, st);
  if (len === null || !r || len > n) return null;
  return Array.from({ length: len }, (_, i) => r[0] + i * r[2]);
}

/** Every sum of one offset per axis, the last axis fastest (row-major order of the output). */
function combine(offsets: number[][]): number[] {
  let out = [0];
  for (const axis of offsets) out = out.flatMap((o) => axis.map((a) => o + a));
  return out;
}

/** The known values of a row-major tensor of `dims` at the indices `keep` holds along each axis. */
function gatherKnown(k: Dim[], dims: number[], keep: number[][]): Dim[] {
  const strides = dims.map((_, i) => dims.slice(i + 1).reduce((a, b) => a * b, 1));
  return combine(keep.map((idx, a) => idx.map((i) => i * strides[a]))).map((o) => k[o]);
}

const squeeze: ShapeRule = (c) => {
  const x = c.shape(0);
  const k = c.known(0);
  if (k && k.length === 1) c.setKnown(0, k);
  if (!x) return null;
  const axes = axesOf(c, 1);
  if (!axes) return x.some((d) => typeof d !== 'number') ? null : [x.filter((d) => d !== 1)];
  const drop = new Set(axes.map((a) => axisOf(a, x.length)));
  return [x.filter((_, i) => !drop.has(i))];
};

const unsqueeze: ShapeRule = (c) => {
  const x = c.shape(0);
  const k = c.known(0);
  if (k) c.setKnown(0, k);
  const axes = axesOf(c, 1);
  if (!x || !axes) return null;
  const r = x.length + axes.length;
  const ins = new Set(axes.map((a) => axisOf(a, r)));
  const out: Dim[] = [];
  let j = 0;
  for (let i = 0; i < r; i++) out.push(ins.has(i) ? 1 : (x[j++] ?? null));
  return [out];
};

const pad: ShapeRule = (c) => {
  const x = c.shape(0);
  const pads = (c.ints('pads') ?? c.known(1)) as Dim[] | undefined;
  if (!x || !pads) return null;
  const axes = c.known(3) as number[] | undefined;
  const ax = axes ? axes.map((a) => axisOf(a, x.length)) : x.map((_, i) => i);
  if (pads.length !== 2 * ax.length) return null;
  const out = x.slice();
  ax.forEach((a, j) => {
    const d = x[a];
    const p0 = pads[j];
    const p1 = pads[j + ax.length];
    // An unpadded axis keeps its dim, symbolic ones (the batch) included.
    if (p0 === 0 && p1 === 0) out[a] = d;
    else
      out[a] = typeof d === 'number' && typeof p0 === 'number' && typeof p1 === 'number' ? d + p0 + p1 : null;
  });
  return [out];
};

const resize: ShapeRule = (c) => {
  const x = c.shape(0);
  if (!x) return null;
  const sizes = c.node.op === 'Resize' ? c.known(3) : undefined;
  // Sizes from Shape arithmetic keep the input's symbolic dims (the batch).
  if (sizes && sizes.length === x.length) return [sizes.map((d) => d ?? null)];
  const scales =
    c.node.op === 'Upsample' ? (c.known(1) ?? (c.attr('scales') as number[] | undefined)) : c.known(2);
  if (!scales || scales.length !== x.length) return null;
  return [
    x.map((d, i) => {
      const s = scales[i];
      if (s === 1) return d;
      return typeof d === 'number' && typeof s === 'number' ? Math.floor(d * s) : null;
    }),
  ];
};

const reduce: ShapeRule = (c) => {
  const x = c.shape(0);
  if (!x) return null;
  const keep = c.int('keepdims', 1) === 1;
  let axes = axesOf(c, 1);
  if (!axes || axes.length === 0) {
    if (c.int('noop_with_empty_axes', 0) === 1) return [x];
    axes = x.map((_, i) => i);
  }
  const set = new Set(axes.map((a) => axisOf(a, x.length)));
  if (set.has(NaN)) return null;
  return [keep ? x.map((d, i) => (set.has(i) ? 1 : d)) : x.filter((_, i) => !set.has(i))];
};

const argReduce: ShapeRule = (c) => {
  const x = c.shape(0);
  c.setDtype(0, 'int64');
  if (!x) return null;
  const a = axisOf(c.int('axis', 0), x.length);
  if (Number.isNaN(a)) return null;
  return [c.int('keepdims', 1) === 1 ? x.map((d, i) => (i === a ? 1 : d)) : x.filter((_, i) => i !== a)];
};

const gather: ShapeRule = (c) => {
  const x = c.shape(0);
  const idx = c.shape(1);
  const kx = c.known(0);
  const ki = c.known(1);
  if (!x || !idx) return null;
  const a = axisOf(c.int('axis', 0), x.length);
  if (Number.isNaN(a)) return null;
  if (kx && ki && x.length === 1) {
    const vals = ki.map((i) => (typeof i === 'number' ? (kx[i < 0 ? i + kx.length : i] ?? null) : null));
    c.setKnown(0, vals);
  }
  return [[...x.slice(0, a), ...idx, ...x.slice(a + 1)]];
};

const shapeOp: ShapeRule = (c) => {
  const x = c.shape(0);
  c.setDtype(0, 'int64');
  if (!x) return [[null]];
  let start = c.int('start', 0);
  let end = c.int('end', x.length);
  if (start < 0) start += x.length;
  if (end < 0) end += x.length;
  start = Math.max(0, Math.min(x.length, start));
  end = Math.max(start, Math.min(x.length, end));
  const dims = x.slice(start, end);
  c.setKnown(0, dims);
  return [[dims.length]];
};

const sizeOp: ShapeRule = (c) => {
  const x = c.shape(0);
  c.setDtype(0, 'int64');
  if (x) {
    const p = dimProduct(x);
    if (p !== null) c.setKnown(0, [p]);
  }
  return [[]];
};

const constant: ShapeRule = (c) => {
  const t = c.attr('value');
  if (t && typeof t === 'object' && 'read' in t) {
    const td = t as TensorData;
    c.setDtype(0, td.dtype);
    const k = readKnown(td);
    if (k) c.setKnown(0, k);
    return [td.shape.slice()];
  }
  const ints = c.ints('value_ints');
  if (ints) {
    c.setDtype(0, 'int64');
    c.setKnown(0, ints);
    return [[ints.length]];
  }
  if (typeof c.attr('value_int') === 'number') {
    c.setDtype(0, 'int64');
    c.setKnown(0, [c.attr('value_int') as number]);
    return [[]];
  }
  if (typeof c.attr('value_float') === 'number') {
    c.setDtype(0, 'float32');
    return [[]];
  }
  return null;
};

const constantOfShape: ShapeRule = (c) => {
  const t = c.attr('value');
  c.setDtype(0, t && typeof t === 'object' && 'read' in t ? (t as TensorData).dtype : 'float32');
  const k = c.known(0);
  if (k && k.every((d) => typeof d === 'number')) {
    const fill = t && typeof t === 'object' && 'read' in t ? readKnown(t as TensorData)?.[0] : 0;
    const n = (k as number[]).reduce((a, b) => a * b, 1);
    if (fill !== undefined && n <= 64) c.setKnown(0, new Array<Dim>(n).fill(fill));
  }
  return k ? [k.map((d) => (typeof d === 'number' || typeof d === 'string' ? d : null))] : null;
};

const expand: ShapeRule = (c) => {
  const k = c.known(1);
  if (!k) return null;
  return [broadcast([c.shape(0), k.map((d) => (d === -1 ? 1 : d))])];
};

const tile: ShapeRule = (c) => {
  const x = c.shape(0);
  const k = c.known(1);
  if (!x || !k || k.length !== x.length) return null;
  return [
    x.map((d, i) =>
      typeof d === 'number' && typeof k[i] === 'number' ? d * (k[i] as number) : k[i] === 1 ? d : null,
    ),
  ];
};

const cast: ShapeRule = (c) => {
  c.setDtype(0, onnxDType(c.int('to', 0)));
  const k = c.known(0);
  if (k) c.setKnown(0, k);
  return [c.shape(0)];
};

const identity: ShapeRule = (c) => {
  const k = c.known(0);
  if (k) c.setKnown(0, k);
  return [c.shape(0)];
};

const depthToSpace: ShapeRule = (c) => {
  const x = c.shape(0);
  const b = c.int('blocksize', 1);
  if (!x || x.length !== 4) return null;
  const [n, ch, h, w] = x;
  const mul = (d: Dim, k: number) => (typeof d === 'number' ? d * k : null);
  const div = (d: Dim, k: number) => (typeof d === 'number' && d % k === 0 ? d / k : null);
  return c.node.op === 'DepthToSpace'
    ? [[n, div(ch, b * b), mul(h, b), mul(w, b)]]
    : [[n, mul(ch, b * b), div(h, b), div(w, b)]];
};

const rnn: ShapeRule = (c) => {
  const x = c.shape(0);
  // hidden_size is optional: R is [directions, gates × hidden, hidden].
  const hidden = c.int('hidden_size', 0) || c.shape(2)?.[2] || null;
  const dirs = c.str('direction', 'forward') === 'bidirectional' ? 2 : 1;
  if (!x || x.length !== 3) return null;
  const layout = c.int('layout', 0);
  const [seq, batch] = layout === 0 ? [x[0], x[1]] : [x[1], x[0]];
  const y: Dim[] = layout === 0 ? [seq, dirs, batch, hidden] : [batch, seq, dirs, hidden];
  const h: Dim[] = layout === 0 ? [dirs, batch, hidden] : [batch, dirs, hidden];
  return [y, h, h];
};

const topk: ShapeRule = (c) => {
  const x = c.shape(0);
  const k = c.known(1);
  c.setDtype(1, 'int64');
  if (!x || !k) return null;
  const a = axisOf(c.int('axis', -1), x.length);
  const out = x.map((d, i) => (i === a ? k[0] : d));
  return [out, out];
};

const UNARY = [
  'Relu',
  'LeakyRelu',
  'Sigmoid',
  'Tanh',
  'Elu',
  'Selu',
  'Gelu',
  'Softplus',
  'Softsign',
  'HardSigmoid',
  'HardSwish',
  'Mish',
  'Erf',
  'Exp',
  'Log',
  'Sqrt',
  'Neg',
  'Abs',
  'Reciprocal',
  'Floor',
  'Ceil',
  'Round',
  'Sign',
  'Sin',
  'Cos',
  'Tan',
  'Not',
  'BatchNormalization',
  'InstanceNormalization',
  'LayerNormalization',
  'GroupNormalization',
  'LRN',
  'Softmax',
  'LogSoftmax',
  'Hardmax',
  'Clip',
  'Celu',
  'ThresholdedRelu',
  'Shrink',
  'CumSum',
  'Swish',
  'QuantizeLinear',
  'DequantizeLinear',
  'LpNormalization',
  'MeanVarianceNormalization',
  'Trilu',
];
const BROADCAST = [
  'Add',
  'Sub',
  'Mul',
  'Div',
  'Pow',
  'Max',
  'Min',
  'Sum',
  'Mean',
  'Mod',
  'PRelu',
  'Where',
  'BitShift',
  'And',
  'Or',
  'Xor',
];
const COMPARE = ['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual'];

/** ONNX op → shape rule. */
export const ONNX_SHAPE_RULES: Record<string, ShapeRule> = {
  ...Object.fromEntries(UNARY.map((op) => [op, same])),
  ...Object.fromEntries(BROADCAST.map((op) => [op, elementwise])),
  ...Object.fromEntries(COMPARE.map((op) => [op, compare])),
  ...Object.fromEntries(
    [
      'ReduceMean',
      'ReduceSum',
      'ReduceMax',
      'ReduceMin',
      'ReduceProd',
      'ReduceL1',
      'ReduceL2',
      'ReduceLogSumExp',
      'ReduceSumSquare',
      'ReduceLogSum',
    ].map((op) => [op, reduce]),
  ),
  Identity: identity,
  Where: where,
  Dropout: dropout,
  QuantizeLinear: quantize,
  DequantizeLinear: dequantize,
  Cast: cast,
  CastLike: same,
  Conv: conv,
  ConvInteger: conv,
  QLinearConv: conv,
  ConvTranspose: convTranspose,
  MaxPool: pool,
  AveragePool: pool,
  LpPool: pool,
  GlobalAveragePool: globalPool,
  GlobalMaxPool: globalPool,
  GlobalLpPool: globalPool,
  Gemm: gemm,
  MatMul: matmul,
  MatMulInteger: matmul,
  Flatten: flatten,
  Reshape: reshapeRule,
  Transpose: transpose,
  Concat: concat,
  Split: split,
  Slice: slice,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Pad: pad,
  Resize: resize,
  Upsample: resize,
  ArgMax: argReduce,
  ArgMin: argReduce,
  Gather: gather,
  Shape: shapeOp,
  Size: sizeOp,
  Constant: constant,
  ConstantOfShape: constantOfShape,
  Expand: expand,
  Tile: tile,
  DepthToSpace: depthToSpace,
  SpaceToDepth: depthToSpace,
  LSTM: rnn,
  GRU: rnn,
  RNN: rnn,
  TopK: topk,
  ...TRANSFORMER_SHAPE_RULES,
};
