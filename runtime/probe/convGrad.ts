/**
 * Convolution gradients built only from fast forward ops (conv2d, depthwise conv2d, matMul, pad,
 * slices), in NHWC. The WASM backend's own Conv2DBackpropInput is a slow scalar loop and it has
 * no Conv2DBackpropFilter or depthwise backprops at all; TF.js also refuses gradients of dilated
 * convolutions. These functions serve both the executor (through tf.customGrad) and the kernels
 * registered for WASM (wasmGradKernels.ts).
 */
import * as tf from '@tensorflow/tfjs-core';

/** Explicit padding of a 2-D convolution. */
export interface Pads2D {
  top: number;
  left: number;
  bottom: number;
  right: number;
}

/** Spatial geometry of one convolution. */
export interface ConvGeom {
  strides: [number, number];
  dilations: [number, number];
  pads: Pads2D;
}

/** Pads (positive) or crops (negative) the two spatial axes of an NHWC tensor. */
export function padOrCrop(
  x: tf.Tensor4D,
  top: number,
  bottom: number,
  left: number,
  right: number,
): tf.Tensor4D {
  let t = x;
  if (top < 0 || bottom < 0 || left < 0 || right < 0) {
    const [n, h, w, c] = t.shape;
    const t0 = Math.max(0, -top);
    const l0 = Math.max(0, -left);
    t = tf.slice(t, [0, t0, l0, 0], [n, h - t0 - Math.max(0, -bottom), w - l0 - Math.max(0, -right), c]);
  }
  if (top > 0 || bottom > 0 || left > 0 || right > 0) {
    t = tf.pad(t, [
      [0, 0],
      [Math.max(0, top), Math.max(0, bottom)],
      [Math.max(0, left), Math.max(0, right)],
      [0, 0],
    ]);
  }
  return t;
}

/** Inserts (stride − 1) zeros between rows and columns of an NHWC tensor. */
export function dilateSpatial(x: tf.Tensor4D, sh: number, sw: number): tf.Tensor4D {
  if (sh === 1 && sw === 1) return x;
  const [n, h, w, c] = x.shape;
  const six = tf.reshape(x, [n, h, 1, w, 1, c]);
  const padded = tf.pad(six, [
    [0, 0],
    [0, 0],
    [0, sh - 1],
    [0, 0],
    [0, sw - 1],
    [0, 0],
  ]);
  const full = tf.reshape(padded, [n, h * sh, w * sw, c]) as tf.Tensor4D;
  return tf.slice(full, [0, 0, 0, 0], [n, (h - 1) * sh + 1, (w - 1) * sw + 1, c]);
}

/** Forward 2-D convolution (NHWC, filter [kh, kw, ci, co]) with explicit pads, any strides and dilations. */
export function convForward(x: tf.Tensor4D, w: tf.Tensor4D, g: ConvGeom, depthwise: boolean): tf.Tensor4D {
  const { strides: s, dilations: d, pads: p } = g;
  const xp = padOrCrop(x, p.top, p.bottom, p.left, p.right);
  const both = (s[0] > 1 || s[1] > 1) && (d[0] > 1 || d[1] > 1);
  // TF.js rejects strides and dilations together: convolve densely, then keep every s-th output.
  const st: [number, number] = both ? [1, 1] : s;
  let y = depthwise
    ? tf.depthwiseConv2d(xp, w, st, 'valid', 'NHWC', d)
    : tf.conv2d(xp, w, st, 'valid', 'NHWC', d);
  if (both) {
    const [n, h, wd, c] = y.shape;
    y = tf.stridedSlice(y, [0, 0, 0, 0], [n, h, wd, c], [1, s[0], s[1], 1]) as tf.Tensor4D;
  }
  return y;
}

/** Output gradient dilated by the stride and padded/cropped so that a stride-1 conv with the flipped kernel yields dx. */
function spreadDy(dy: tf.Tensor4D, xShape: number[], kh: number, kw: number, g: ConvGeom): tf.Tensor4D {
  const { strides: s, dilations: d, pads: p } = g;
  const dyd = dilateSpatial(dy, s[0], s[1]);
  const [, oh, ow] = dyd.shape;
  const top = (kh - 1) * d[0] - p.top;
  const left = (kw - 1) * d[1] - p.left;
  const bottom = xShape[1] + (kh - 1) * d[0] - top - oh;
  const right = xShape[2] + (kw - 1) * d[1] - left - ow;
  return padOrCrop(dyd, top, bottom, left, right);
}

/** dL/dx of conv2d: a stride-1 conv of the spread dy with the spatially flipped, in/out-swapped kernel. */
export function conv2dBackpropInput(
  xShape: number[],
  dy: tf.Tensor4D,
  w: tf.Tensor4D,
  g: ConvGeom,
): tf.Tensor4D {
  const [kh, kw] = w.shape;
  const src = spreadDy(dy, xShape, kh, kw, g);
  const wf = kh === 1 && kw === 1 ? w : tf.reverse(w, [0, 1]);
  const wt = tf.transpose(wf, [0, 1, 3, 2]) as tf.Tensor4D;
  return tf.conv2d(src, wt, 1, 'valid', 'NHWC', g.dilations);
}

/** Input taps: for each kernel position, the strided window of the padded input, as [N·OH·OW, C]. */
function taps(x: tf.Tensor4D, dyShape: number[], kh: number, kw: number, g: ConvGeom): tf.Tensor[] {
  const { strides: s, dilations: d, pads: p } = g;
  const [n, , , c] = x.shape;
  const [, oh, ow] = dyShape;
  const needH = (oh - 1) * s[0] + (kh - 1) * d[0] + 1;
  const needW = (ow - 1) * s[1] + (kw - 1) * d[1] + 1;
  const xp = padOrCrop(x, p.top, needH - x.shape[1] - p.top, p.left, needW - x.shape[2] - p.left);
  const out: tf.Tensor[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const h0 = i * d[0];
      const w0 = j * d[1];
      let t: tf.Tensor4D;
      if (s[0] === 1 && s[1] === 1) {
        t =
          kh === 1 && kw === 1 && xp.shape[1] === oh && xp.shape[2] === ow
            ? xp
            : tf.slice(xp, [0, h0, w0, 0], [n, oh, ow, c]);
      } else {
        t = tf.stridedSlice(
          xp,
          [0, h0, w0, 0],
          [n, h0 + (oh - 1) * s[0] + 1, w0 + (ow - 1) * s[1] + 1, c],
          [1, s[0], s[1], 1],
        ) as tf.Tensor4D;
      }
      out.push(t);
    }
  }
  return out;
}

/** dL/dW of conv2d: im2col of the input times the transposed output gradient (one matMul). */
export function conv2dBackpropFilter(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: number[],
  g: ConvGeom,
): tf.Tensor4D {
  const [kh, kw, ci, co] = filterShape;
  const [n, oh, ow] = dy.shape;
  const m = n * oh * ow;
  const cols = taps(x, dy.shape, kh, kw, g).map((t) => tf.reshape(t, [m, ci]));
  const im2col = cols.length === 1 ? cols[0] : tf.concat(cols, 1);
  // matMul with a transposed left operand is a slow path on WASM; transposing dy first is not.
  const dyT = tf.transpose(tf.reshape(dy, [m, co]));
  const dwT = tf.matMul(dyT, im2col); // [co, kh·kw·ci]
  return tf.transpose(tf.reshape(dwT, [co, kh, kw, ci]), [1, 2, 3, 0]) as tf.Tensor4D;
}

/** dL/dx of a depthwise conv (filter [kh, kw, c, m]): per multiplier slice, a depthwise conv with the flipped kernel. */
export function depthwiseBackpropInput(
  xShape: number[],
  dy: tf.Tensor4D,
  w: tf.Tensor4D,
  g: ConvGeom,
): tf.Tensor4D {
  const [kh, kw, c, mult] = w.shape;
  const wf = kh === 1 && kw === 1 ? w : tf.reverse(w, [0, 1]);
  const run = (dyq: tf.Tensor4D, wq: tf.Tensor4D) =>
    tf.depthwiseConv2d(spreadDy(dyq, xShape, kh, kw, g), wq, 1, 'valid', 'NHWC', g.dilations);
  if (mult === 1) return run(dy, wf);
  const [n, oh, ow] = dy.shape;
  const dy5 = tf.reshape(dy, [n, oh, ow, c, mult]);
  let acc: tf.Tensor4D | undefined;
  for (let q = 0; q < mult; q++) {
    const dyq = tf.reshape(tf.slice(dy5, [0, 0, 0, 0, q], [n, oh, ow, c, 1]), [n, oh, ow, c]) as tf.Tensor4D;
    const wq = tf.slice(wf, [0, 0, 0, q], [kh, kw, c, 1]);
    const r = run(dyq, wq);
    acc = acc ? (tf.add(acc, r) as tf.Tensor4D) : r;
  }
  return acc!;
}

/** dL/dW of a depthwise conv: per kernel tap, the input window times dy summed over batch and space. */
export function depthwiseBackpropFilter(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: number[],
  g: ConvGeom,
): tf.Tensor4D {
  const [kh, kw, c, mult] = filterShape;
  const [n, oh, ow] = dy.shape;
  const dy5 = mult === 1 ? dy : tf.reshape(dy, [n, oh, ow, c, mult]);
  const per = taps(x, dy.shape, kh, kw, g).map((t) =>
    mult === 1 ? tf.sum(tf.mul(t, dy5), [0, 1, 2]) : tf.sum(tf.mul(tf.expandDims(t, 4), dy5), [0, 1, 2]),
  );
  return tf.reshape(tf.stack(per), [kh, kw, c, mult]) as tf.Tensor4D;
}

/**
 * A convolution whose gradients use the functions above (tf.customGrad). `needDx` false skips
 * the input gradient (a conv reading the graph input), which is otherwise the costliest half.
 */
export function convWithFastGrad(
  x: tf.Tensor4D,
  w: tf.Tensor4D,
  g: ConvGeom,
  depthwise: boolean,
  needDx: boolean,
): tf.Tensor4D {
  // Tensors the gradient needs must go through save(): the forward pass runs inside a tidy that
  // disposes anything merely captured by the closure.
  const f = tf.customGrad(((xi: tf.Tensor, wi: tf.Tensor, save: (ts: tf.Tensor[]) => void) => {
    save([xi, wi]);
    return {
      value: convForward(xi as tf.Tensor4D, wi as tf.Tensor4D, g, depthwise),
      gradFunc: (dyAny: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const dy = (Array.isArray(dyAny) ? dyAny[0] : dyAny) as tf.Tensor4D;
        const x4 = saved[0] as tf.Tensor4D;
        const w4 = saved[1] as tf.Tensor4D;
        const dx = needDx
          ? depthwise
            ? depthwiseBackpropInput(x4.shape, dy, w4, g)
            : conv2dBackpropInput(x4.shape, dy, w4, g)
          : tf.zerosLike(x4);
        const dw = depthwise
          ? depthwiseBackpropFilter(x4, dy, w4.shape, g)
          : conv2dBackpropFilter(x4, dy, w4.shape, g);
        return [dx, dw];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x, w) as tf.Tensor4D;
}

/**
 * Max pooling (NHWC, 'valid', pads applied by the caller) whose gradient goes to the first
 * maximum of each window in row-major order, as in PyTorch and TF.js's CPU kernel. The WASM
 * backend's MaxPoolGrad misroutes gradients next to padded borders.
 */
export function maxPoolWithGrad(x: tf.Tensor4D, k: [number, number], s: [number, number]): tf.Tensor4D {
  const f = tf.customGrad(((xi: tf.Tensor, save: (ts: tf.Tensor[]) => void) => {
    const y = tf.maxPool(xi as tf.Tensor4D, k, s, 'valid');
    save([xi, y]);
    return {
      value: y,
      gradFunc: (dyAny: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const dy = (Array.isArray(dyAny) ? dyAny[0] : dyAny) as tf.Tensor4D;
        const [x4, y4] = saved as [tf.Tensor4D, tf.Tensor4D];
        const [n, h, w, c] = x4.shape;
        const [, oh, ow] = y4.shape;
        let remaining: tf.Tensor = tf.onesLike(y4);
        let dx: tf.Tensor4D | undefined;
        for (let i = 0; i < k[0]; i++) {
          for (let j = 0; j < k[1]; j++) {
            const tapX = tf.stridedSlice(
              x4,
              [0, i, j, 0],
              [n, i + (oh - 1) * s[0] + 1, j + (ow - 1) * s[1] + 1, c],
              [1, s[0], s[1], 1],
            );
            const hit = tf.mul(tf.cast(tf.equal(tapX, y4), 'float32'), remaining);
            remaining = tf.sub(remaining, hit);
            const spread = dilateSpatial(tf.mul(dy, hit) as tf.Tensor4D, s[0], s[1]);
            const placed = padOrCrop(spread, i, h - i - spread.shape[1], j, w - j - spread.shape[2]);
            dx = dx ? (tf.add(dx, placed) as tf.Tensor4D) : placed;
          }
        }
        return [dx!];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x) as tf.Tensor4D;
}
