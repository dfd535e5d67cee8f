/**
 * Slice, Unpack and SplitV on the WASM backend (wasm/sliceKernels.ts: row copies from the heap)
 * give exactly what the pure-JS CPU backend gives, for contiguous and strided boxes, every rank up
 * to 5, float32/int32/bool, empty outputs, any axis and uneven splits.
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../runtime/probe/backend';

type Op = () => tf.Tensor | tf.Tensor[];

function input(shape: number[], dtype: 'float32' | 'int32' | 'bool' = 'float32'): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  if (dtype === 'float32')
    return tf.tensor(
      Float32Array.from({ length: n }, (_, i) => i + 0.25),
      shape,
    );
  if (dtype === 'int32')
    return tf.tensor(
      Int32Array.from({ length: n }, (_, i) => i - 7),
      shape,
      'int32',
    );
  return tf.tensor(
    Int32Array.from({ length: n }, (_, i) => ((i * 7) % 3 === 0 ? 1 : 0)),
    shape,
    'bool',
  );
}

const cases: { name: string; op: Op }[] = [
  {
    name: 'slice of a leading block (contiguous)',
    op: () => tf.slice(input([6, 4, 5]), [2, 0, 0], [3, 4, 5]),
  },
  { name: 'slice 2-D columns', op: () => tf.slice(input([7, 9]), [1, 3], [5, 4]) },
  { name: 'slice 3-D middle box', op: () => tf.slice(input([5, 6, 7]), [1, 2, 3], [3, 2, 4]) },
  {
    name: 'slice 4-D, one element wide',
    op: () => tf.slice(input([3, 4, 5, 6]), [1, 0, 2, 5], [2, 4, 3, 1]),
  },
  { name: 'slice 5-D', op: () => tf.slice(input([2, 3, 4, 5, 6]), [1, 1, 0, 2, 1], [1, 2, 4, 3, 5]) },
  { name: 'slice with size -1', op: () => tf.slice(input([4, 8]), [1, 2], [-1, -1]) },
  { name: 'slice 1-D', op: () => tf.slice(input([10]), [3], [4]) },
  { name: 'empty slice', op: () => tf.slice(input([4, 5]), [1, 2], [0, 3]) },
  { name: 'slice int32', op: () => tf.slice(input([4, 6], 'int32'), [1, 1], [2, 4]) },
  { name: 'slice bool', op: () => tf.slice(input([4, 6], 'bool'), [0, 2], [3, 3]) },
  { name: 'unstack axis 0', op: () => tf.unstack(input([5, 3, 4])) },
  { name: 'unstack axis 1', op: () => tf.unstack(input([2, 5, 3]), 1) },
  { name: 'unstack last axis', op: () => tf.unstack(input([3, 2, 4]), -1) },
  { name: 'unstack int32', op: () => tf.unstack(input([3, 4], 'int32'), 1) },
  { name: 'unstack of an empty tensor', op: () => tf.unstack(input([3, 0, 2])) },
  { name: 'split even, axis 1', op: () => tf.split(input([3, 12]), 4, 1) },
  { name: 'split uneven, axis 2', op: () => tf.split(input([2, 3, 10]), [3, 5, 2], 2) },
  { name: 'split with -1, axis 0', op: () => tf.split(input([9, 2]), [2, -1, 3], 0) },
  { name: 'split with an empty piece', op: () => tf.split(input([2, 6]), [0, 6], 1) },
  { name: 'split bool, negative axis', op: () => tf.split(input([4, 6], 'bool'), 3, -1) },
];

async function run(
  backend: 'wasm' | 'cpu',
  op: Op,
): Promise<{ shape: number[]; dtype: string; data: number[] }[]> {
  await initBackend(backend);
  return tf.tidy(() => {
    const out = op();
    return (Array.isArray(out) ? out : [out]).map((t) => ({
      shape: t.shape,
      dtype: t.dtype,
      data: Array.from(t.dataSync(), Number),
    }));
  });
}

describe('WASM Slice, Unpack and SplitV (heap row copies) = CPU backend', () => {
  after(async () => {
    await initBackend('wasm');
  });
  for (const c of cases)
    it(c.name, async () => {
      const want = await run('cpu', c.op);
      const got = await run('wasm', c.op);
      assert.deepEqual(got, want);
    });
});
