/**
 * Index-driven ONNX ops of attention models: ScatterND (Swin's window masks, cache updates) and
 * Trilu (causal masks). Both are built from differentiable TF.js ops (Gather, UnsortedSegmentSum,
 * Where), since TF.js's ScatterNd has no gradient: learned values written by a ScatterND get
 * their gradient, and the overwritten ones get none.
 */
import * as tf from '@tensorflow/tfjs-core';
import { nat, type Val } from '../val';
import { aInt, aStr, type OpContext, type OpFn } from './opContext';

/** The flat row (over data's first k axes) that each index tuple of a ScatterND names. */
function scatterRows(c: OpContext, dataShape: number[]): { rows: number[]; k: number } {
  const idxShape = c.val(1).shape;
  const k = idxShape[idxShape.length - 1];
  if (k === undefined || k > dataShape.length)
    c.fail(`has indices of shape [${idxShape}], which cannot index data of shape [${dataShape}]`);
  const flat = c.ints(1)!;
  const rows: number[] = [];
  for (let j = 0; j < flat.length; j += k) {
    let r = 0;
    for (let a = 0; a < k; a++) {
      const d = dataShape[a];
      const i = flat[j + a] < 0 ? flat[j + a] + d : flat[j + a];
      if (i < 0 || i >= d) c.fail(`has index ${flat[j + a]} on axis ${a}, outside 0…${d - 1}`);
      r = r * d + i;
    }
    rows.push(r);
  }
  return { rows, k };
}

function scatterND(c: OpContext): Val[] {
  const data = c.nat(0);
  const { rows, k } = scatterRows(c, data.shape);
  const count = data.shape.slice(0, k).reduce((a, b) => a * b, 1);
  const inner = data.shape.slice(k).reduce((a, b) => a * b, 1);
  const updates = c.nat(2);
  if (updates.size !== rows.length * inner)
    c.fail(`has updates of shape [${updates.shape}], which do not match ${rows.length} rows of ${inner}`);
  const data2 = tf.reshape(data, [count, inner]);
  const upd2 = tf.reshape(tf.cast(updates, data.dtype), [rows.length, inner]);
  const reduction = aStr(c.node, 'reduction', 'none');
  let out: tf.Tensor;
  if (reduction === 'add') {
    out = tf.add(data2, tf.unsortedSegmentSum(upd2, tf.tensor1d(rows, 'int32'), count));
  } else if (reduction === 'none') {
    // Each data row takes the update that writes it (the last one, where several do) or stays.
    const src = new Int32Array(count).fill(-1);
    rows.forEach((r, j) => (src[r] = j));
    const written = tf.tensor2d(
      Uint8Array.from(src, (s) => (s >= 0 ? 1 : 0)),
      [count, 1],
      'bool',
    );
    const picked = tf.gather(
      upd2,
      tf.tensor1d(
        Int32Array.from(src, (s) => Math.max(s, 0)),
        'int32',
      ),
    );
    out = tf.where(tf.broadcastTo(written, [count, inner]), picked, data2);
  } else return c.fail(`uses reduction ${reduction}, which is not supported (none and add are)`);
  return [nat(tf.reshape(out, data.shape))];
}

function trilu(c: OpContext): Val[] {
  const x = c.nat(0);
  if (x.rank < 2) c.fail(`needs a tensor of rank 2 or more, got shape [${x.shape}]`);
  const k = c.has(1) ? c.ints(1)![0] : 0;
  const upper = aInt(c.node, 'upper', 1) === 1;
  const [n, m] = x.shape.slice(-2);
  const keep = new Uint8Array(n * m);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < m; j++) keep[i * m + j] = (upper ? j - i >= k : j - i <= k) ? 1 : 0;
  const mask = tf.broadcastTo(tf.tensor2d(keep, [n, m], 'bool'), x.shape);
  return [nat(tf.where(mask, x, tf.zerosLike(x)))];
}

/** Index ops by ONNX name. */
export const indexOps: Record<string, OpFn> = {
  ScatterND: scatterND,
  Trilu: trilu,
};
