/**
 * Kernels Skipscope registers on TF.js's WebGPU backend in place of its own:
 * - PadV2, MirrorPad, Reverse, Select and Tile above rank 4. TF.js's shaders index `vec5`/`vec6`
 *   structs, which WGSL refuses; Dawn then drops the submission and the pass goes on with zeros
 *   (a wrong loss, all-zero gradients), or the kernel throws (Tile reads its input back
 *   synchronously). These run as a sequence of rank-3 steps over reshaped views (or flat, for
 *   Select); rank 4 and below use TF.js's own kernels.
 * - AddN of many tensors (the gradients meeting at a value read many times), whose shader binds
 *   one storage buffer per input: beyond the device's per-stage limit (8 by default) the pipeline
 *   is invalid. Summed four at a time.
 * - Transpose of int32 and bool tensors, whose shader TF.js 4.22 generates with a float output
 *   (a WGSL type error above rank 2): a gather through the permuted flat indices, exact.
 * - ResizeNearestNeighborGrad, wrong in TF.js 4.22 with half-pixel centres at non-integer scales:
 *   two matrix products with the one-hot routing matrices of the forward kernel.
 * - MaxPoolGrad, which on ties (the zeros after a ReLU) does not route to the window's first
 *   maximum as PyTorch and the other backends do: the first maximum found tap by tap, and dy
 *   scattered back through it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { nearestSource } from '../resizeGradKernels';
import { scatterTapsOps } from '../convGrad';

/** The part of a TF.js backend the composites use. */
interface RefCounted {
  incRef(id: tf.DataId): void;
}

/**
 * Runs op-level code inside a kernel on the kernel's own inputs (wrapped without a copy, with
 * their own references) and returns a kept result, which the engine takes as the kernel's output.
 */
function composite(
  backend: unknown,
  inputs: Record<string, tf.TensorInfo>,
  body: (t: Record<string, tf.Tensor>) => tf.Tensor,
): tf.Tensor {
  const wrapped: Record<string, tf.Tensor> = {};
  for (const [k, v] of Object.entries(inputs)) {
    (backend as RefCounted).incRef(v.dataId);
    wrapped[k] = tf.engine().makeTensorFromTensorInfo(v);
  }
  try {
    return tf.tidy(() => body(wrapped));
  } finally {
    tf.dispose(Object.values(wrapped));
  }
}

/** Pads (constant or mirror) one axis at a time over [before, axis, after] views. */
function padByAxis(
  x: tf.Tensor,
  paddings: [number, number][],
  pad1: (t: tf.Tensor3D, p: [[number, number], [number, number], [number, number]]) => tf.Tensor,
): tf.Tensor {
  let t = x;
  paddings.forEach(([b, e], axis) => {
    if (!b && !e) return;
    const s = t.shape;
    const before = s.slice(0, axis).reduce((a, v) => a * v, 1);
    const after = s.slice(axis + 1).reduce((a, v) => a * v, 1);
    const y = pad1(tf.reshape(t, [before, s[axis], after]) as tf.Tensor3D, [
      [0, 0],
      [b, e],
      [0, 0],
    ]);
    t = tf.reshape(
      y,
      s.map((d, i) => (i === axis ? d + b + e : d)),
    );
  });
  return t === x ? tf.clone(x) : t;
}

/** Reverses the given axes one at a time over [before, axis, after] views. */
function reverseByAxis(x: tf.Tensor, axes: number[]): tf.Tensor {
  let t = x;
  for (const axis of new Set(axes.map((a) => (a < 0 ? a + x.rank : a)))) {
    const s = t.shape;
    const before = s.slice(0, axis).reduce((a, v) => a * v, 1);
    const after = s.slice(axis + 1).reduce((a, v) => a * v, 1);
    t = tf.reshape(tf.reverse(tf.reshape(t, [before, s[axis], after]), 1), s);
  }
  return t === x ? tf.clone(x) : t;
}

/** Tiles one axis at a time: [before, 1, axis·after] repeated, which is [before, reps·axis, after]. */
function tileByAxis(x: tf.Tensor, reps: number[]): tf.Tensor {
  let t = x;
  reps.forEach((r, axis) => {
    if (r === 1) return;
    const s = t.shape;
    const before = s.slice(0, axis).reduce((a, v) => a * v, 1);
    const rest = s.slice(axis).reduce((a, v) => a * v, 1);
    const y = tf.tile(tf.reshape(t, [before, 1, rest]), [1, r, 1]);
    t = tf.reshape(
      y,
      s.map((d, i) => (i === axis ? d * r : d)),
    );
  });
  return t === x ? tf.clone(x) : t;
}

/** The one-hot [out, in] matrix routing each output row of a nearest resize to its source. */
function routing(inSize: number, outSize: number, alignCorners: boolean, half: boolean): tf.Tensor2D {
  const m = new Float32Array(outSize * inSize);
  for (let i = 0; i < outSize; i++) m[i * inSize + nearestSource(i, inSize, outSize, alignCorners, half)] = 1;
  return tf.tensor2d(m, [outSize, inSize]);
}

/** dx of a nearest resize (NHWC): dy routed back through the row and column matrices. */
function nearestGrad(dy: tf.Tensor4D, images: number[], alignCorners: boolean, half: boolean): tf.Tensor {
  const [b, xh, xw, d] = images;
  const [, yh, yw] = dy.shape;
  const rows = routing(xh, yh, alignCorners, half); // [yh, xh]
  const cols = routing(xw, yw, alignCorners, half); // [yw, xw]
  const t1 = tf.matMul(tf.reshape(tf.transpose(dy, [0, 2, 3, 1]), [b * yw * d, yh]), rows); // [b·yw·d, xh]
  const t2 = tf.transpose(tf.reshape(t1, [b, yw, d, xh]), [0, 3, 2, 1]); // [b, xh, d, yw]
  const t3 = tf.matMul(tf.reshape(t2, [b * xh * d, yw]), cols); // [b·xh·d, xw]
  return tf.transpose(tf.reshape(t3, [b, xh, d, xw]), [0, 1, 3, 2]);
}

/** For each element of the transposed tensor, its flat index in the input. */
function permutedIndices(shape: number[], perm: number[]): tf.Tensor1D {
  const rank = shape.length;
  const strides = new Array<number>(rank);
  for (let i = rank - 1, s = 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  const outShape = perm.map((p) => shape[p]);
  const step = perm.map((p) => strides[p]);
  const n = tf.util.sizeFromShape(shape);
  const out = new Int32Array(n);
  const pos = new Array<number>(rank).fill(0);
  let src = 0;
  for (let o = 0; o < n; o++) {
    out[o] = src;
    // Advance the output odometer, moving the source index by the permuted strides.
    for (let a = rank - 1; a >= 0; a--) {
      pos[a]++;
      src += step[a];
      if (pos[a] < outShape[a]) break;
      src -= step[a] * outShape[a];
      pos[a] = 0;
    }
  }
  return tf.tensor1d(out, 'int32');
}

/** MaxPoolGrad attributes, as tf.maxPool's gradient passes them. */
interface PoolAttrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'valid' | 'same' | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** dx of a max pool (NHWC) with every window's gradient routed to its first maximum. */
function maxPoolGrad(dy: tf.Tensor4D, x: tf.Tensor4D, a: PoolAttrs): tf.Tensor4D {
  const info = tf.backend_util.computePool2DInfo(
    x.shape,
    a.filterSize,
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
  );
  const {
    filterHeight: kh,
    filterWidth: kw,
    strideHeight: sh,
    strideWidth: sw,
    outHeight: oh,
    outWidth: ow,
  } = info;
  const { top, left } = info.padInfo;
  const [n, h, w, c] = x.shape;
  const bottom = Math.max(0, (oh - 1) * sh + kh - top - h);
  const right = Math.max(0, (ow - 1) * sw + kw - left - w);
  const xp = tf.pad(
    x,
    [
      [0, 0],
      [top, bottom],
      [left, right],
      [0, 0],
    ],
    -Infinity,
  );
  let best: tf.Tensor | undefined;
  let arg: tf.Tensor | undefined;
  for (let i = 0; i < kh; i++)
    for (let j = 0; j < kw; j++) {
      const tap = tf.stridedSlice(
        xp,
        [0, i, j, 0],
        [n, i + (oh - 1) * sh + 1, j + (ow - 1) * sw + 1, c],
        [1, sh, sw, 1],
      );
      if (!best || !arg) {
        best = tap;
        arg = tf.zerosLike(tap);
        continue;
      }
      const better = tf.greater(tap, best); // strictly: an earlier tap keeps a tie
      best = tf.where(better, tap, best);
      arg = tf.where(better, tf.fill(tap.shape, i * kw + j), arg);
    }
  const zero = tf.zerosLike(dy);
  const cols = tf.stack(
    Array.from({ length: kh * kw }, (_, k) => tf.where(tf.equal(arg!, k), dy, zero)),
    4,
  );
  return scatterTapsOps(cols, x.shape, dy.shape, kh, kw, {
    strides: [sh, sw],
    dilations: [1, 1],
    pads: { top, left, bottom, right },
  });
}

let registered = false;

/** Replaces one WebGPU kernel, keeping the original for the cases it gets right. */
function replace(name: string, make: (original: tf.KernelFunc) => tf.KernelFunc): void {
  const own = tf.getKernel(name, 'webgpu');
  if (!own) return;
  tf.unregisterKernel(name, 'webgpu');
  tf.registerKernel({ ...own, kernelFunc: make(own.kernelFunc) });
}

/** Registers the kernels above on the webgpu backend, once per process. */
export function registerGpuKernels(): void {
  if (registered) return;
  registered = true;
  replace('PadV2', (original) => (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    if (x.shape.length <= 4) return original(args);
    const { paddings, constantValue } = args.attrs as unknown as {
      paddings: [number, number][];
      constantValue: number;
    };
    return composite(args.backend, { x }, (t) =>
      padByAxis(t.x, paddings, (v, p) => tf.pad(v, p, constantValue)),
    );
  });
  replace('MirrorPad', (original) => (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    if (x.shape.length <= 4) return original(args);
    const { paddings, mode } = args.attrs as unknown as {
      paddings: [number, number][];
      mode: 'reflect' | 'symmetric';
    };
    return composite(args.backend, { x }, (t) =>
      padByAxis(t.x, paddings, (v, p) => tf.mirrorPad(v, p, mode)),
    );
  });
  replace('Reverse', (original) => (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    if (x.shape.length <= 4) return original(args);
    const { dims } = args.attrs as unknown as { dims: number | number[] };
    return composite(args.backend, { x }, (t) => reverseByAxis(t.x, Array.isArray(dims) ? dims : [dims]));
  });
  replace('Tile', (original) => (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    if (x.shape.length <= 4 || x.dtype === 'string') return original(args);
    const { reps } = args.attrs as unknown as { reps: number[] };
    return composite(args.backend, { x }, (t) => tileByAxis(t.x, reps));
  });
  replace('Select', (original) => (args) => {
    const { condition, t, e } = args.inputs as Record<string, tf.TensorInfo>;
    // tf.where broadcasts all three to one shape first: elementwise, so any view will do.
    if (t.shape.length <= 4 || condition.shape.length !== t.shape.length) return original(args);
    return composite(args.backend, { condition, t, e }, (v) => {
      const flat = (x: tf.Tensor) => tf.reshape(x, [x.size]);
      return tf.reshape(tf.where(flat(v.condition), flat(v.t), flat(v.e)), v.t.shape);
    });
  });
  replace('AddN', (original) => (args) => {
    const ins = args.inputs as unknown as tf.TensorInfo[];
    if (ins.length <= 4) return original(args);
    return composite(args.backend, Object.fromEntries(ins.map((t, i) => [String(i), t])), (t) => {
      let parts = Object.values(t);
      while (parts.length > 1) {
        const next: tf.Tensor[] = [];
        for (let i = 0; i < parts.length; i += 4)
          next.push(parts.length - i === 1 ? parts[i] : tf.addN(parts.slice(i, i + 4)));
        parts = next;
      }
      return tf.clone(parts[0]);
    });
  });
  replace('Transpose', (original) => (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { perm } = args.attrs as unknown as { perm: number[] };
    if (x.dtype === 'float32' || x.shape.length <= 2) return original(args);
    return composite(args.backend, { x }, (t) => {
      const idx = permutedIndices(x.shape, perm);
      const flat = tf.reshape(t.x.dtype === 'bool' ? tf.cast(t.x, 'int32') : t.x, [t.x.size]);
      const y = tf.reshape(
        tf.gather(flat, idx),
        perm.map((p) => x.shape[p]),
      );
      return t.x.dtype === 'bool' ? tf.cast(y, 'bool') : y;
    });
  });
  replace('MaxPoolGrad', () => (args) => {
    const { dy, input } = args.inputs as Record<string, tf.TensorInfo>;
    return composite(args.backend, { dy, input }, (t) =>
      maxPoolGrad(t.dy as tf.Tensor4D, t.input as tf.Tensor4D, args.attrs as unknown as PoolAttrs),
    );
  });
  replace('ResizeNearestNeighborGrad', () => (args) => {
    const { images, dy } = args.inputs as { images: tf.TensorInfo; dy: tf.TensorInfo };
    const { alignCorners, halfPixelCenters } = args.attrs as unknown as {
      alignCorners: boolean;
      halfPixelCenters?: boolean;
    };
    return composite(args.backend, { dy }, (t) =>
      nearestGrad(t.dy as tf.Tensor4D, images.shape, alignCorners, !!halfPixelCenters),
    );
  });
}
