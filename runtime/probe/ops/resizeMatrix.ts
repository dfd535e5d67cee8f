/**
 * Resize as two small matrix products (one per spatial axis), with ONNX's coordinate transforms
 * and nearest modes spelled out exactly. TF.js's own ResizeBilinear gradient ignores
 * half-pixel centers (the PyTorch default), so a matMul-based resize is both exact and correctly
 * differentiable, with no extra kernel.
 */
import * as tf from '@tensorflow/tfjs-core';

/** How output coordinates map back to input coordinates, per ONNX Resize. */
export type CoordMode = 'half_pixel' | 'pytorch_half_pixel' | 'align_corners' | 'asymmetric';

function sourceCoord(x: number, inLen: number, outLen: number, scale: number, ctm: CoordMode): number {
  switch (ctm) {
    case 'half_pixel':
      return (x + 0.5) / scale - 0.5;
    case 'pytorch_half_pixel':
      // 0 for a length-1 output, as the ONNX spec and onnxruntime have it (matters for cubic).
      return outLen > 1 ? (x + 0.5) / scale - 0.5 : 0;
    case 'align_corners':
      return outLen > 1 ? (x * (inLen - 1)) / (outLen - 1) : 0;
    case 'asymmetric':
      return x / scale;
  }
}

function nearestIndex(v: number, mode: string): number {
  switch (mode) {
    case 'floor':
      return Math.floor(v);
    case 'ceil':
      return Math.ceil(v);
    case 'round_prefer_ceil':
      return Math.round(v);
    default: // round_prefer_floor
      return v - Math.floor(v) === 0.5 ? Math.floor(v) : Math.round(v);
  }
}

/** Resize interpolation: nearest, linear, or cubic with its coefficient and edge rule. */
export type ResizeMode = 'nearest' | 'linear' | 'cubic';

/** Cubic options of ONNX Resize (cubic_coeff_a, exclude_outside). */
export interface CubicOpts {
  a: number;
  excludeOutside: boolean;
}

/** Keys cubic weights of the four neighbours floor(x)-1 … floor(x)+2 at fractional offset t (ONNX's formula). */
function cubicCoeffs(t: number, a: number): number[] {
  const w = (d: number) => {
    const x = Math.abs(d);
    if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
    if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
    return 0;
  };
  return [w(t + 1), w(t), w(1 - t), w(2 - t)];
}

/** The [inLen, outLen] matrix M with out = in · M along one axis. */
export function resizeMatrix(
  inLen: number,
  outLen: number,
  scale: number,
  mode: ResizeMode,
  ctm: CoordMode,
  nearestMode: string,
  cubic: CubicOpts = { a: -0.75, excludeOutside: false },
): Float32Array {
  const m = new Float32Array(inLen * outLen);
  for (let o = 0; o < outLen; o++) {
    const src = sourceCoord(o, inLen, outLen, scale, ctm);
    if (mode === 'cubic') {
      // The source coordinate is not clamped; neighbours outside the input either repeat the
      // edge (PyTorch's bicubic) or are dropped and the rest renormalised (exclude_outside).
      const i0 = Math.floor(src);
      const cw = cubicCoeffs(src - i0, cubic.a);
      let total = 0;
      for (let j = 0; j < 4; j++) {
        const i = i0 - 1 + j;
        if (cubic.excludeOutside && (i < 0 || i >= inLen)) cw[j] = 0;
        total += cw[j];
      }
      for (let j = 0; j < 4; j++) {
        const i = Math.min(Math.max(i0 - 1 + j, 0), inLen - 1);
        m[i * outLen + o] += cubic.excludeOutside ? cw[j] / total : cw[j];
      }
      continue;
    }
    if (mode === 'nearest') {
      const i = Math.min(Math.max(nearestIndex(src, nearestMode), 0), inLen - 1);
      m[i * outLen + o] = 1;
      continue;
    }
    const c = Math.min(Math.max(src, 0), inLen - 1);
    const i0 = Math.floor(c);
    const i1 = Math.min(i0 + 1, inLen - 1);
    const w = c - i0;
    m[i0 * outLen + o] += 1 - w;
    m[i1 * outLen + o] += w;
  }
  return m;
}

/** Resizes an NHWC tensor to `out` = [H', W'] with the given per-axis scales. */
export function resizeNhwc(
  x: tf.Tensor4D,
  out: [number, number],
  scales: [number, number],
  mode: ResizeMode,
  ctm: CoordMode,
  nearestMode: string,
  cubic?: CubicOpts,
): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  let t: tf.Tensor = x;
  let curW = w;
  if (out[1] !== w || ctm === 'asymmetric' || scales[1] !== 1) {
    const mw = tf.tensor2d(resizeMatrix(w, out[1], scales[1], mode, ctm, nearestMode, cubic), [w, out[1]]);
    const cols = tf.reshape(tf.transpose(t, [0, 1, 3, 2]), [-1, w]);
    t = tf.transpose(tf.reshape(tf.matMul(cols, mw), [n, h, c, out[1]]), [0, 1, 3, 2]);
    curW = out[1];
  }
  if (out[0] !== h || scales[0] !== 1) {
    const mh = tf.tensor2d(resizeMatrix(h, out[0], scales[0], mode, ctm, nearestMode, cubic), [h, out[0]]);
    const rows = tf.reshape(tf.transpose(t, [0, 2, 3, 1]), [-1, h]); // [N·W'·C, H]
    t = tf.transpose(tf.reshape(tf.matMul(rows, mh), [n, curW, c, out[0]]), [0, 3, 1, 2]);
  }
  return t as tf.Tensor4D;
}

/**
 * Resizes the spatial axes (2 …) of a channels-first tensor of any rank to `out`, one matrix
 * product per axis that changes, through rank-3 views [before, axis, after] (so no pad or
 * transpose above rank 3: 5-D volumes are safe on every backend).
 */
export function resizeAxes(
  x: tf.Tensor,
  out: number[],
  scales: number[],
  mode: ResizeMode,
  ctm: CoordMode,
  nearestMode: string,
  cubic?: CubicOpts,
): tf.Tensor {
  let t = x;
  for (let i = 0; i < out.length; i++) {
    const ax = i + 2;
    const shape = t.shape;
    const len = shape[ax];
    if (out[i] === len && scales[i] === 1) continue;
    const m = tf.tensor2d(resizeMatrix(len, out[i], scales[i], mode, ctm, nearestMode, cubic), [len, out[i]]);
    const before = shape.slice(0, ax).reduce((a, b) => a * b, 1);
    const after = shape.slice(ax + 1).reduce((a, b) => a * b, 1);
    let y: tf.Tensor;
    if (after === 1) y = tf.matMul(tf.reshape(t, [before, len]), m);
    else {
      const rows = tf.reshape(tf.transpose(tf.reshape(t, [before, len, after]), [0, 2, 1]), [
        before * after,
        len,
      ]);
      y = tf.transpose(tf.reshape(tf.matMul(rows, m), [before, after, out[i]]), [0, 2, 1]);
    }
    t = tf.reshape(y, [...shape.slice(0, ax), out[i], ...shape.slice(ax + 1)]);
  }
  return t;
}
