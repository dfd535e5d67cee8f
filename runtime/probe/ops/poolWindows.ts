/**
 * Pooling pieces TF.js lacks: max/sum over dilated windows (ONNX MaxPool/LpPool `dilations`) and
 * MaxPool's Indices output, computed exactly as ONNX defines it.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * Max or sum over the (dilated, strided) windows of an already padded NHWC tensor, as k_h·k_w
 * taps: TF.js's pools take no dilations with strides, and StridedSlice has no gradient, so each
 * tap is a plain slice reshaped to pick every s-th row and column, which autodiff handles.
 */
export function windowReduce(
  xp: tf.Tensor4D,
  k: [number, number],
  s: [number, number],
  d: [number, number],
  kind: 'max' | 'sum',
): tf.Tensor4D {
  const [n, h, w, c] = xp.shape;
  const oh = Math.floor((h - ((k[0] - 1) * d[0] + 1)) / s[0]) + 1;
  const ow = Math.floor((w - ((k[1] - 1) * d[1] + 1)) / s[1]) + 1;
  // Room for a full oh·s by ow·s block at every tap offset; the added cells are never picked.
  const padH = Math.max(0, (k[0] - 1) * d[0] + oh * s[0] - h);
  const padW = Math.max(0, (k[1] - 1) * d[1] + ow * s[1] - w);
  const x =
    padH > 0 || padW > 0
      ? tf.pad(xp, [
          [0, 0],
          [0, padH],
          [0, padW],
          [0, 0],
        ])
      : xp;
  let acc: tf.Tensor4D | undefined;
  for (let i = 0; i < k[0]; i++)
    for (let j = 0; j < k[1]; j++) {
      const block = tf.slice(x, [0, i * d[0], j * d[1], 0], [n, oh * s[0], ow * s[1], c]);
      const tap =
        s[0] === 1 && s[1] === 1
          ? (block as tf.Tensor4D)
          : (tf.reshape(
              tf.slice(
                tf.reshape(block, [n, oh, s[0], ow, s[1], c]),
                [0, 0, 0, 0, 0, 0],
                [n, oh, 1, ow, 1, c],
              ),
              [n, oh, ow, c],
            ) as tf.Tensor4D);
      acc = (
        acc === undefined ? tap : kind === 'max' ? tf.maximum(acc, tap) : tf.add(acc, tap)
      ) as tf.Tensor4D;
    }
  return acc!;
}

/** Window geometry of a MaxPool in NHWC terms (pads are the declared begin pads). */
export interface PoolGeom {
  k: [number, number];
  s: [number, number];
  d: [number, number];
  padBegin: [number, number];
  out: [number, number];
}

/**
 * MaxPool's second output: for each pooled element the flat index of the first maximum of its
 * window (pads skipped) into the whole input tensor, row-major (storage_order 0) or with H and W
 * swapped (storage_order 1), in logical (N, C, H, W) shape. Not differentiable, so a JS scan.
 */
export function maxPoolIndices(x: tf.Tensor4D, g: PoolGeom, storageOrder: number): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const [oh, ow] = g.out;
  const xv = x.dataSync();
  const idx = new Int32Array(n * c * oh * ow);
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++) {
      const plane = (b * c + ch) * h * w;
      for (let oy = 0; oy < oh; oy++)
        for (let ox = 0; ox < ow; ox++) {
          let best = -Infinity;
          let at = -1;
          for (let i = 0; i < g.k[0]; i++) {
            const y = oy * g.s[0] - g.padBegin[0] + i * g.d[0];
            if (y < 0 || y >= h) continue;
            for (let j = 0; j < g.k[1]; j++) {
              const xx = ox * g.s[1] - g.padBegin[1] + j * g.d[1];
              if (xx < 0 || xx >= w) continue;
              const v = xv[((b * h + y) * w + xx) * c + ch];
              if (at < 0 || v > best) {
                best = v;
                at = storageOrder === 1 ? xx * h + y : y * w + xx;
              }
            }
          }
          idx[((b * c + ch) * oh + oy) * ow + ox] = plane + at;
        }
    }
  return tf.tensor4d(idx, [n, c, oh, ow], 'int32');
}
