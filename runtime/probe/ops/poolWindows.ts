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
  // A GPU tensor cannot be read synchronously: there the scan runs as tensor ops.
  if (tf.getBackend() === 'webgpu') return maxPoolIndicesOps(x, g, storageOrder);
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

/**
 * The same indices as maxPoolIndices from tensor ops alone (for backends whose data cannot be
 * read synchronously): the window taps in order, each replacing the running maximum only where
 * it is strictly greater (the first maximum wins), padding as -Infinity.
 */
export function maxPoolIndicesOps(x: tf.Tensor4D, g: PoolGeom, storageOrder: number): tf.Tensor4D {
  // Indices carry no gradient: one opaque step for autodiff (its slices would otherwise be on
  // the tape, and StridedSlice has no gradient in TF.js).
  const f = tf.customGrad(((xi: tf.Tensor) => ({
    value: indicesByOps(xi as tf.Tensor4D, g, storageOrder),
    gradFunc: () => tf.zerosLike(xi),
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x) as tf.Tensor4D;
}

function indicesByOps(x: tf.Tensor4D, g: PoolGeom, storageOrder: number): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const [oh, ow] = g.out;
  return tf.tidy(() => {
    // Room for every tap of every window: the declared begin pads, and past the end whatever the
    // last window reaches.
    const [pt, pl] = g.padBegin;
    const pb = Math.max(0, (oh - 1) * g.s[0] + (g.k[0] - 1) * g.d[0] + 1 - pt - h);
    const pr = Math.max(0, (ow - 1) * g.s[1] + (g.k[1] - 1) * g.d[1] + 1 - pl - w);
    const xp = tf.pad(
      x,
      [
        [0, 0],
        [pt, pb],
        [pl, pr],
        [0, 0],
      ],
      -Infinity,
    );
    let best: tf.Tensor | undefined;
    let at: tf.Tensor | undefined;
    for (let i = 0; i < g.k[0]; i++)
      for (let j = 0; j < g.k[1]; j++) {
        const y0 = i * g.d[0];
        const x0 = j * g.d[1];
        const tapV = tf.stridedSlice(
          xp,
          [0, y0, x0, 0],
          [n, y0 + (oh - 1) * g.s[0] + 1, x0 + (ow - 1) * g.s[1] + 1, c],
          [1, g.s[0], g.s[1], 1],
        );
        // Where this tap reads in the unpadded plane (−1 in the padding, never picked over a value).
        const pos = new Int32Array(oh * ow);
        for (let oy = 0; oy < oh; oy++)
          for (let ox = 0; ox < ow; ox++) {
            const yy = oy * g.s[0] - pt + y0;
            const xx = ox * g.s[1] - pl + x0;
            pos[oy * ow + ox] =
              yy < 0 || yy >= h || xx < 0 || xx >= w ? -1 : storageOrder === 1 ? xx * h + yy : yy * w + xx;
          }
        const tapI = tf.broadcastTo(tf.tensor4d(pos, [1, oh, ow, 1], 'int32'), [n, oh, ow, c]);
        if (!best || !at) {
          best = tapV;
          at = tapI;
          continue;
        }
        const better = tf.greater(tapV, best);
        best = tf.where(better, tapV, best);
        at = tf.where(better, tapI, at);
      }
    const plane = tf.reshape(tf.mul(tf.range(0, n * c, 1, 'int32'), tf.scalar(h * w, 'int32')), [n, 1, 1, c]);
    return tf.transpose(tf.add(at!, plane), [0, 3, 1, 2]) as tf.Tensor4D;
  });
}
