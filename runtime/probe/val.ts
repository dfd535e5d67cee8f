/**
 * A tensor flowing through the executor together with its physical layout.
 *
 * ONNX speaks NCHW, TensorFlow.js convolutions and pools want NHWC. Transposing around every
 * conv costs more than the conv itself on WASM, so 4-D tensors may stay in NHWC between
 * layout-aware ops (convs, pools, norms, elementwise ops) and are converted once, lazily, when a
 * layout-bound op (Reshape, Flatten, MatMul…) reads them. Gradients and statistics do not care
 * about layout: a permuted tensor has the same RMS and zeros.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Physical axis of each logical NCHW axis in an NHWC tensor. */
export const NHWC_AXIS = [0, 3, 1, 2];

/** A value in the executor: a tensor that is either in ONNX (logical) layout or NHWC. */
export class Val {
  private natCache?: tf.Tensor;
  private nhwcCache?: tf.Tensor;

  /** `t` holds the data; when `nhwc` is set, `t` is the NHWC permutation of a logical NCHW tensor. */
  constructor(
    readonly t: tf.Tensor,
    readonly nhwc = false,
  ) {}

  /** The logical (ONNX) shape. */
  get shape(): number[] {
    const s = this.t.shape;
    return this.nhwc ? [s[0]!, s[3]!, s[1]!, s[2]!] : s;
  }

  get rank(): number {
    return this.t.rank;
  }

  get dtype(): tf.DataType {
    return this.t.dtype;
  }

  /** The tensor in ONNX layout (converted once and cached). */
  nat(): tf.Tensor {
    if (!this.nhwc) return this.t;
    return (this.natCache ??= tf.transpose(this.t, [0, 3, 1, 2]));
  }

  /** The tensor in NHWC layout; the logical tensor must be 4-D. */
  phys(): tf.Tensor4D {
    if (this.nhwc) return this.t as tf.Tensor4D;
    return (this.nhwcCache ??= tf.transpose(this.t, [0, 2, 3, 1])) as tf.Tensor4D;
  }
}

/** Wraps a tensor in ONNX layout. */
export function nat(t: tf.Tensor): Val {
  return new Val(t, false);
}

/** Wraps an NHWC tensor standing for a logical NCHW one. */
export function nhwc(t: tf.Tensor): Val {
  return new Val(t, true);
}

/** Reads a small integer tensor (shape arithmetic) synchronously. */
export function readInts(t: tf.Tensor): number[] {
  return Array.from(t.dataSync(), Number);
}
