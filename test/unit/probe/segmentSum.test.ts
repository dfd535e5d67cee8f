/**
 * UnsortedSegmentSum (Gather's gradient: every embedding lookup) on the CPU backend
 * (cpuSegmentSum.ts) and the WASM backend agree with the definition, summed row by row: repeated
 * ids add up, ids outside the table are dropped, ids of any rank, float32 and int32.
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../runtime/probe/backend';

const cases: {
  name: string;
  x: number[];
  ids: number[];
  idShape: number[];
  segments: number;
  dtype: 'float32' | 'int32';
}[] = [
  { name: 'repeated ids', x: [6, 3], ids: [2, 0, 2, 5, 2, 1], idShape: [6], segments: 7, dtype: 'float32' },
  {
    name: 'ids outside the table',
    x: [5, 2],
    ids: [-1, 3, 4, 9, 0],
    idShape: [5],
    segments: 4,
    dtype: 'float32',
  },
  {
    name: '2-D ids (a batch of sequences)',
    x: [2, 3, 4],
    ids: [1, 1, 0, 3, 2, 1],
    idShape: [2, 3],
    segments: 4,
    dtype: 'float32',
  },
  { name: 'int32 values', x: [4, 2], ids: [0, 1, 0, 1], idShape: [4], segments: 2, dtype: 'int32' },
];

/** The definition, in plain JS. */
function reference(c: (typeof cases)[number], x: number[]): number[] {
  const rows = c.ids.length;
  const inner = x.length / rows;
  const out = new Array<number>(c.segments * inner).fill(0);
  c.ids.forEach((s, r) => {
    if (s < 0 || s >= c.segments) return;
    for (let k = 0; k < inner; k++) out[s * inner + k] += x[r * inner + k];
  });
  return out;
}

describe('UnsortedSegmentSum (Gather gradient) on CPU and WASM = its definition', () => {
  after(async () => {
    await initBackend('wasm');
  });
  for (const backend of ['cpu', 'wasm'] as const)
    for (const c of cases)
      it(`${backend}: ${c.name}`, async () => {
        await initBackend(backend);
        const n = c.x.reduce((a, b) => a * b, 1);
        const x = Array.from({ length: n }, (_, i) =>
          c.dtype === 'int32' ? i - 3 : Math.sin(i * 0.9) + i * 0.01,
        );
        const got = tf.tidy(() => {
          // TF.js types the ids as 1-D; the kernel takes any rank (Gather's gradient passes them so).
          const ids: tf.Tensor = tf.tensor(c.ids, c.idShape, 'int32');
          return tf.unsortedSegmentSum(tf.tensor(x, c.x, c.dtype), ids as tf.Tensor1D, c.segments);
        });
        assert.deepEqual(got.shape, [c.segments, ...c.x.slice(c.idShape.length)]);
        assert.equal(got.dtype, c.dtype);
        const want = reference(c, x);
        Array.from(got.dataSync()).forEach((v, i) =>
          assert.ok(Math.abs(v - want[i]) <= 1e-6, `[${i}] ${v} vs ${want[i]}`),
        );
        got.dispose();
      });
});
