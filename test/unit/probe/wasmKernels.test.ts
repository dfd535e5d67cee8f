/**
 * The kernels registered on the WASM backend: plain tf.grad through tf.conv2d / depthwiseConv2d
 * (as TF.js layers models use them) agrees with the pure-JS CPU backend, for strides,
 * 'same'/'valid' and explicit padding, depthwise multipliers; and the JS Transpose agrees too.
 * (TF.js itself refuses gradients of dilated convs; the executor's own conv op handles those.)
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../runtime/probe/backend';

type Case = {
  name: string;
  x: number[];
  w: number[];
  s: number;
  pad: 'same' | 'valid' | number;
  d: number;
  dw: boolean;
};

const cases: Case[] = [
  { name: '3×3 same', x: [2, 9, 9, 4], w: [3, 3, 4, 5], s: 1, pad: 'same', d: 1, dw: false },
  { name: '3×3 stride 2 same', x: [2, 9, 8, 3], w: [3, 3, 3, 4], s: 2, pad: 'same', d: 1, dw: false },
  { name: '5×5 stride 2 valid', x: [1, 12, 11, 2], w: [5, 5, 2, 3], s: 2, pad: 'valid', d: 1, dw: false },
  { name: '3×3 explicit pad 1', x: [2, 10, 10, 3], w: [3, 3, 3, 2], s: 1, pad: 1, d: 1, dw: false },
  { name: '1×1', x: [2, 5, 5, 6], w: [1, 1, 6, 4], s: 1, pad: 'valid', d: 1, dw: false },
  { name: 'depthwise 3×3 stride 2', x: [2, 9, 9, 4], w: [3, 3, 4, 1], s: 2, pad: 'same', d: 1, dw: true },
  { name: 'depthwise ×2 multiplier', x: [1, 8, 8, 3], w: [3, 3, 3, 2], s: 1, pad: 'same', d: 1, dw: true },
];

function values(shape: number[], phase: number): Float32Array {
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 0.7 + phase));
}

async function grads(backend: 'wasm' | 'cpu', c: Case): Promise<Float32Array[]> {
  await initBackend(backend);
  return tf.tidy(() => {
    const x = tf.tensor4d(values(c.x, 0), c.x as [number, number, number, number]);
    const w = tf.tensor4d(values(c.w, 1), c.w as [number, number, number, number]);
    const f = (a: tf.Tensor, b: tf.Tensor) => {
      const y = c.dw
        ? tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, c.pad, 'NHWC', c.d)
        : tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, c.pad, 'NHWC', c.d);
      return tf.sum(tf.mul(y, tf.sin(tf.reshape(tf.range(0, y.size), y.shape))));
    };
    const [gx, gw] = tf.grads(f)([x, w]);
    return [gx.dataSync() as Float32Array, gw.dataSync() as Float32Array];
  });
}

describe('WASM gradient kernels', () => {
  after(async () => {
    await initBackend('wasm');
  });

  for (const c of cases) {
    it(`${c.name}: input and filter gradients match the CPU backend`, async () => {
      const want = await grads('cpu', c);
      const got = await grads('wasm', c);
      for (let k = 0; k < 2; k++) {
        let err = 0;
        let mag = 0;
        want[k].forEach((v, i) => {
          err = Math.max(err, Math.abs(v - got[k][i]));
          mag = Math.max(mag, Math.abs(v));
        });
        assert.ok(err <= 1e-4 * mag, `${k ? 'filter' : 'input'} gradient: max error ${err} of ${mag}`);
      }
    });
  }

  it('routes max-pool gradients like the CPU backend (padded borders, ties after ReLU)', async () => {
    const run = async (b: 'wasm' | 'cpu') => {
      await initBackend(b);
      return tf.tidy(() => {
        const x = tf.relu(tf.tensor4d(values([2, 9, 9, 3], 4), [2, 9, 9, 3]));
        const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(t as tf.Tensor4D, 3, 2, 'same'), 1.5)))(
          x,
        );
        return Array.from(g.dataSync());
      });
    };
    assert.deepEqual(await run('wasm'), await run('cpu'));
  });

  it('transposes like the CPU backend for every permutation of a 4-D tensor', async () => {
    const shape: [number, number, number, number] = [2, 3, 4, 5];
    const perms = [
      [0, 2, 3, 1],
      [0, 3, 1, 2],
      [3, 2, 1, 0],
      [1, 0, 3, 2],
    ];
    const run = async (b: 'wasm' | 'cpu') => {
      await initBackend(b);
      return perms.map((p) =>
        tf.tidy(() => Array.from(tf.transpose(tf.tensor4d(values(shape, 2), shape), p).dataSync())),
      );
    };
    assert.deepEqual(await run('wasm'), await run('cpu'));
  });

  it('tiles like the CPU backend (block copies: float32, int32, bool, ranks 1 to 5)', async () => {
    const cases: [number[], number[], 'float32' | 'int32' | 'bool'][] = [
      [[1, 1, 1, 64], [8, 16, 16, 1], 'float32'], // the batch-norm gradient's tile
      [[2, 3, 4], [3, 1, 2], 'float32'],
      [[3, 1, 5], [2, 7, 3], 'int32'],
      [[5], [9], 'float32'],
      [[2, 2, 1, 3, 2], [1, 3, 4, 1, 2], 'bool'],
      [[1, 2, 4], [1, 1, 1], 'float32'],
      [[40, 1], [2, 3], 'float32'], // many short rows: the backend's kernel
      [[0, 3], [2, 2], 'float32'],
    ];
    const run = async (b: 'wasm' | 'cpu') => {
      await initBackend(b);
      return cases.map(([shape, reps, dtype]) =>
        tf.tidy(() => {
          const v = values(shape, 0.5).map((u) =>
            dtype === 'float32' ? u : dtype === 'int32' ? Math.round(9 * u) : +(u > 0),
          );
          const t = tf.tile(tf.tensor(v, shape, dtype), reps);
          return { shape: t.shape, values: Array.from(t.dataSync()) };
        }),
      );
    };
    assert.deepEqual(await run('wasm'), await run('cpu'));
  });
});
