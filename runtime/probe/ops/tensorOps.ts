/**
 * Tensor-shaping ONNX ops and shape arithmetic: Shape, Reshape, Concat, Slice, Gather, Pad, …,
 * plus Softmax and the Reduce family. Layout-bound ops read their inputs in ONNX layout.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Val, nat, nhwc, NHWC_AXIS } from '../val';
import { aFloat, aInt, aInts, aStr, aTensor, tensorFromData, type OpContext, type OpFn } from './opContext';
import { normAxis, physAxis } from './layout';

/** ONNX TensorProto.DataType → the TF.js dtype it runs as. */
function onnxDtype(c: OpContext, code: number): tf.DataType {
  if ([1, 10, 11, 16].includes(code)) return 'float32';
  if ([2, 3, 4, 5, 6, 7, 12, 13].includes(code)) return 'int32';
  if (code === 9) return 'bool';
  return c.fail(`casts to ONNX type ${code}, which cannot be run`);
}

function castTo(t: tf.Tensor, dtype: tf.DataType): tf.Tensor {
  if (t.dtype === dtype) return tf.clone(t);
  // ONNX float→int casts truncate toward zero; TF.js cast already does.
  return tf.cast(t, dtype);
}

/** Axes from attribute (older opsets) or input 1 (newer). */
function axesOf(c: OpContext, inputIndex: number): number[] | undefined {
  return c.has(inputIndex) ? c.ints(inputIndex) : aInts(c.node, 'axes');
}

function reshapeTo(c: OpContext, x: tf.Tensor, spec: number[], allowZero: boolean): tf.Tensor {
  const shape = spec.map((d, i) => (d === 0 && !allowZero ? x.shape[i] : d));
  const known = shape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const out = shape.map((d) => (d === -1 ? x.size / known : d));
  if (out.reduce((a, b) => a * b, 1) !== x.size || out.some((d) => !Number.isInteger(d)))
    c.fail(`cannot reshape [${x.shape}] (${x.size} elements) to [${spec}]`);
  return tf.reshape(x, out);
}

function softmaxLike(log: boolean): OpFn {
  return (c) => {
    const v = c.val(0);
    const rank = v.rank;
    const axis = normAxis(aInt(c.node, 'axis', c.opset >= 13 ? -1 : 1), rank);
    const f = (t: tf.Tensor) => (log ? tf.logSoftmax(t) : tf.softmax(t));
    if (c.opset < 13) {
      // Opsets < 13 flatten to 2-D at `axis` and normalise over the whole tail.
      const x = v.nat();
      const outer = x.shape.slice(0, axis).reduce((a, b) => a * b, 1);
      return [nat(tf.reshape(f(tf.reshape(x, [outer, -1])), x.shape))];
    }
    const t = v.nhwc ? v.t : v.nat();
    const pa = v.nhwc ? NHWC_AXIS[axis] : axis;
    if (pa === rank - 1) return [new Val(f(t), v.nhwc)];
    const perm = [...Array(rank).keys()].filter((a) => a !== pa).concat([pa]);
    const inv = perm.map((_, i) => perm.indexOf(i));
    return [new Val(tf.transpose(f(tf.transpose(t, perm)), inv), v.nhwc)];
  };
}

function reduce(
  f: (x: tf.Tensor, axes: number[], keep: boolean) => tf.Tensor,
  axesFromInputSince: number,
): OpFn {
  return (c) => {
    const v = c.val(0);
    const keep = aInt(c.node, 'keepdims', 1) === 1;
    let axes = c.opset >= axesFromInputSince ? (c.has(1) ? c.ints(1) : undefined) : aInts(c.node, 'axes');
    if (!axes || axes.length === 0) {
      if (aInt(c.node, 'noop_with_empty_axes', 0) === 1) return [new Val(tf.clone(v.t), v.nhwc)];
      axes = [...Array(v.rank).keys()];
    }
    if (v.nhwc && keep)
      return [
        new Val(
          f(
            v.t,
            axes.map((a) => physAxis(v, a)),
            true,
          ),
          true,
        ),
      ];
    const x = v.nat();
    return [
      nat(
        f(
          x,
          axes.map((a) => normAxis(a, x.rank)),
          keep,
        ),
      ),
    ];
  };
}

function slice(c: OpContext): Val[] {
  const x = c.nat(0);
  const r = x.rank;
  const old = c.opset < 10;
  const starts = old ? aInts(c.node, 'starts')! : c.ints(1)!;
  const ends = old ? aInts(c.node, 'ends')! : c.ints(2)!;
  const axes = (old ? aInts(c.node, 'axes') : c.has(3) ? c.ints(3) : undefined) ?? starts.map((_, i) => i);
  const steps = (!old && c.has(4) ? c.ints(4) : undefined) ?? starts.map(() => 1);
  const begin = Array(r).fill(0);
  const end = [...x.shape];
  const stride = Array(r).fill(1);
  const reverse: number[] = [];
  axes.forEach((a0, i) => {
    const a = normAxis(a0, r);
    const dim = x.shape[a];
    let s = starts[i];
    let e = ends[i];
    const st = steps[i];
    if (st === 0) c.fail('has a zero step');
    if (s < 0) s += dim;
    if (e < 0) e += dim;
    if (st > 0) {
      s = Math.min(Math.max(s, 0), dim);
      e = Math.min(Math.max(e, 0), dim);
      begin[a] = s;
      end[a] = Math.max(e, s);
      stride[a] = st;
    } else {
      // Negative steps: reverse the axis, then step forward from the mirrored start.
      s = Math.min(Math.max(s, -1), dim - 1);
      e = Math.min(Math.max(e, -1), dim - 1);
      begin[a] = dim - 1 - s;
      end[a] = Math.max(dim - 1 - e, begin[a]);
      stride[a] = -st;
      reverse.push(a);
    }
  });
  const src = reverse.length ? tf.reverse(x, reverse) : x;
  let y = tf.slice(
    src,
    begin,
    end.map((e, i) => e - begin[i]),
  );
  // Steps as a Gather of every s-th index: TF.js's StridedSlice has no gradient (Swin's patch
  // merging slices x[..., 0::2, 0::2, :]).
  stride.forEach((st, a) => {
    if (st > 1) y = tf.gather(y, tf.range(0, y.shape[a], st, 'int32'), a);
  });
  return [nat(y)];
}

function pad(c: OpContext): Val[] {
  const v = c.val(0);
  const r = v.rank;
  const mode = aStr(c.node, 'mode', 'constant');
  const pads = c.opset >= 11 ? c.ints(1)! : aInts(c.node, 'pads')!;
  const value = c.opset >= 11 ? (c.has(2) ? c.floats(2)![0] : 0) : aFloat(c.node, 'value', 0);
  const axes = (c.has(3) ? c.ints(3)! : [...Array(r).keys()]).map((a) => normAxis(a, r));
  const n = axes.length;
  const spec: [number, number][] = Array.from({ length: r }, () => [0, 0]);
  axes.forEach((a, i) => (spec[v.nhwc ? NHWC_AXIS[a] : a] = [pads[i], pads[i + n]]));
  let t = v.nhwc ? v.t : v.nat();
  if (spec.some(([b, e]) => b < 0 || e < 0)) {
    const begin = spec.map(([b]) => Math.max(0, -b));
    const size = t.shape.map((d, i) => d - begin[i] - Math.max(0, -spec[i][1]));
    t = tf.slice(t, begin, size);
  }
  const pos = spec.map(([b, e]) => [Math.max(0, b), Math.max(0, e)] as [number, number]);
  let y: tf.Tensor;
  if (mode === 'constant') y = tf.pad(t, pos, value);
  else if (mode === 'reflect') y = tf.mirrorPad(t, pos, 'reflect');
  else if (mode === 'edge') {
    y = t;
    pos.forEach(([b, e], a) => {
      if (!b && !e) return;
      const d = y.shape[a];
      const first = tf.slice(
        y,
        y.shape.map(() => 0),
        y.shape.map((s, i) => (i === a ? 1 : s)),
      );
      const last = tf.slice(
        y,
        y.shape.map((_, i) => (i === a ? d - 1 : 0)),
        y.shape.map((s, i) => (i === a ? 1 : s)),
      );
      const reps = (k: number) => y.shape.map((_, i) => (i === a ? k : 1));
      const parts = [...(b ? [tf.tile(first, reps(b))] : []), y, ...(e ? [tf.tile(last, reps(e))] : [])];
      y = tf.concat(parts, a);
    });
  } else return c.fail(`uses pad mode ${mode}, which is not supported`);
  return [new Val(y, v.nhwc)];
}

function gather(c: OpContext): Val[] {
  const x = c.nat(0);
  const axis = normAxis(aInt(c.node, 'axis', 0), x.rank);
  let idx = c.nat(1);
  if (idx.dtype !== 'int32') idx = tf.cast(idx, 'int32');
  // Negative indices count from the end.
  idx = tf.where(tf.less(idx, 0), tf.add(idx, tf.scalar(x.shape[axis], 'int32')), idx);
  return [nat(tf.gather(x, idx, axis))];
}

function constant(c: OpContext): Val[] {
  const t = aTensor(c.node, 'value');
  if (t) return [nat(tensorFromData(t, `node "${c.node.name}"`))];
  const a = c.node.attributes;
  if (typeof a.value_float === 'number') return [nat(tf.scalar(a.value_float))];
  if (Array.isArray(a.value_floats)) return [nat(tf.tensor1d(a.value_floats as number[]))];
  if (a.value_int !== undefined) return [nat(tf.scalar(aInt(c.node, 'value_int', 0), 'int32'))];
  if (a.value_ints !== undefined) return [nat(tf.tensor1d(aInts(c.node, 'value_ints')!, 'int32'))];
  return c.fail('has no value this executor can read');
}

/** Tensor and shape ops by ONNX name. */
export const tensorOps: Record<string, OpFn> = {
  Constant: constant,
  ConstantOfShape: (c) => {
    const shape = c.ints(0)!;
    const t = aTensor(c.node, 'value');
    const v = t ? tensorFromData(t, `node "${c.node.name}"`) : tf.scalar(0);
    return [nat(tf.fill(shape, v.dataSync()[0], v.dtype))];
  },
  Shape: (c) => {
    const s = c.val(0).shape;
    const r = s.length;
    const clampAxis = (a: number) => Math.min(r, Math.max(0, a < 0 ? a + r : a));
    const start = clampAxis(aInt(c.node, 'start', 0));
    const end = clampAxis(aInt(c.node, 'end', r));
    return [nat(tf.tensor1d(s.slice(start, end), 'int32'))];
  },
  Size: (c) => [nat(tf.scalar(c.val(0).t.size, 'int32'))],
  Cast: (c) => {
    const v = c.val(0);
    return [new Val(castTo(v.t, onnxDtype(c, aInt(c.node, 'to', 1))), v.nhwc)];
  },
  CastLike: (c) => {
    const v = c.val(0);
    return [new Val(castTo(v.t, c.val(1).dtype), v.nhwc)];
  },
  Range: (c) => {
    const [s, l, d] = [0, 1, 2].map((i) => c.floats(i)![0]);
    return [nat(tf.range(s, l, d, c.val(0).dtype === 'int32' ? 'int32' : 'float32'))];
  },
  Reshape: (c) => [nat(reshapeTo(c, c.nat(0), c.ints(1)!, aInt(c.node, 'allowzero', 0) === 1))],
  Flatten: (c) => {
    const x = c.nat(0);
    const axis = normAxis(aInt(c.node, 'axis', 1), x.rank);
    const outer = x.shape.slice(0, axis).reduce((a, b) => a * b, 1);
    return [nat(tf.reshape(x, [outer, x.size / Math.max(outer, 1)]))];
  },
  Transpose: (c) => {
    const v = c.val(0);
    const perm = aInts(c.node, 'perm') ?? [...Array(v.rank).keys()].reverse();
    // From NHWC, compose the permutations instead of converting first.
    if (v.nhwc)
      return [
        nat(
          tf.transpose(
            v.t,
            perm.map((p) => NHWC_AXIS[p]),
          ),
        ),
      ];
    return [nat(tf.transpose(v.nat(), perm))];
  },
  Squeeze: (c) => {
    const x = c.nat(0);
    const axes = axesOf(c, 1);
    return [
      nat(
        axes
          ? tf.squeeze(
              x,
              axes.map((a) => normAxis(a, x.rank)),
            )
          : tf.squeeze(x),
      ),
    ];
  },
  Unsqueeze: (c) => {
    const x = c.nat(0);
    const axes = axesOf(c, 1)!;
    const r = x.rank + axes.length;
    const norm = axes.map((a) => normAxis(a, r)).sort((a, b) => a - b);
    const shape = [...x.shape];
    for (const a of norm) shape.splice(a, 0, 1);
    return [nat(tf.reshape(x, shape))];
  },
  Concat: (c) => {
    const idx = [...Array(c.count).keys()].filter((i) => c.has(i) && c.val(i).t.size > 0);
    const vals = idx.map((i) => c.val(i));
    const rank = c.val(0).rank;
    const axis = normAxis(aInt(c.node, 'axis', 0), rank);
    if (rank === 4 && vals.some((v) => v.nhwc))
      return [
        nhwc(
          tf.concat(
            idx.map((i) => c.nhwc(i)),
            NHWC_AXIS[axis],
          ),
        ),
      ];
    if (idx.length === 1) return [nat(tf.clone(vals[0].nat()))];
    return [
      nat(
        tf.concat(
          idx.map((i) => c.nat(i)),
          axis,
        ),
      ),
    ];
  },
  Split: (c) => {
    const v = c.val(0);
    const axis = normAxis(aInt(c.node, 'axis', 0), v.rank);
    const n = c.node.outputs.length;
    const split = (c.opset >= 13 ? (c.has(1) ? c.ints(1) : undefined) : aInts(c.node, 'split')) ?? undefined;
    const dim = v.shape[axis];
    let sizes = split;
    if (!sizes) {
      const per = Math.ceil(dim / n);
      sizes = Array.from({ length: n }, (_, i) => Math.min(per, dim - per * i));
    }
    const t = v.nhwc ? v.t : v.nat();
    return tf.split(t, sizes, v.nhwc ? NHWC_AXIS[axis] : axis).map((p) => new Val(p, v.nhwc));
  },
  Slice: slice,
  Gather: gather,
  Expand: (c) => {
    const x = c.nat(0);
    const want = c.ints(1)!;
    const r = Math.max(x.rank, want.length);
    const xs = [...Array(r - x.rank).fill(1), ...x.shape];
    const ws = [...Array(r - want.length).fill(1), ...want];
    const out = xs.map((d, i) => (d === 1 ? ws[i] : d));
    return [nat(tf.broadcastTo(tf.reshape(x, xs), out))];
  },
  Tile: (c) => [nat(tf.tile(c.nat(0), c.ints(1)!))],
  Pad: pad,
  Softmax: softmaxLike(false),
  LogSoftmax: softmaxLike(true),
  ReduceMean: reduce((x, a, k) => tf.mean(x, a, k), 18),
  ReduceSum: reduce((x, a, k) => tf.sum(x, a, k), 13),
  ReduceMax: reduce((x, a, k) => tf.max(x, a, k), 18),
  ReduceMin: reduce((x, a, k) => tf.min(x, a, k), 18),
  ReduceProd: reduce((x, a, k) => tf.prod(x, a, k), 18),
  ReduceL1: reduce((x, a, k) => tf.sum(tf.abs(x), a, k), 18),
  ReduceL2: reduce((x, a, k) => tf.sqrt(tf.sum(tf.square(x), a, k)), 18),
  ReduceSumSquare: reduce((x, a, k) => tf.sum(tf.square(x), a, k), 18),
  ReduceLogSumExp: reduce((x, a, k) => tf.logSumExp(x, a, k), 18),
  ArgMax: (c) => {
    const x = c.nat(0);
    const axis = normAxis(aInt(c.node, 'axis', 0), x.rank);
    const y = tf.argMax(x, axis);
    return [nat(aInt(c.node, 'keepdims', 1) ? tf.expandDims(y, axis) : y)];
  },
  CumSum: (c) => {
    const x = c.nat(0);
    const axis = normAxis(c.ints(1)![0], x.rank);
    return [nat(tf.cumsum(x, axis, aInt(c.node, 'exclusive', 0) === 1, aInt(c.node, 'reverse', 0) === 1))];
  },
};
