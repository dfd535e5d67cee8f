/**
 * TF.js's own 3-D kernels on the WASM backend, as Skipscope replaces them (wasmVolumeKernels.ts):
 * plain tf.grads through tf.conv3d and tf.maxPool3d — what TF.js layers and graph models with 3-D
 * layers run — agrees with the pure-JS CPU backend for strides, 'same'/'valid'/explicit pads,
 * dilations (forward), all-negative pooling windows and odd sizes. TF.js 4.22's own WASM kernels
 * fail every one of these cases.
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../runtime/probe/backend';
import { wasmVolumeRuns, wasmVolumeSettings } from '../../../runtime/probe/wasmVolumeKernels';

type T3 = [number, number, number];
type Shape5 = [number, number, number, number, number];

interface Case {
  name: string;
  x: number[];
  /** [kd, kh, kw, ci, co] */
  f: number[];
  s: T3;
  pad: 'same' | 'valid' | number;
  d?: T3;
}

const cases: Case[] = [
  { name: '3×3×3 same', x: [2, 5, 6, 7, 3], f: [3, 3, 3, 3, 4], s: [1, 1, 1], pad: 'same' },
  { name: '3×3×3 stride 2 valid', x: [1, 7, 6, 9, 2], f: [3, 3, 3, 2, 3], s: [2, 2, 2], pad: 'valid' },
  {
    name: '2×2×2 stride 2 same, odd sizes',
    x: [2, 5, 7, 3, 3],
    f: [2, 2, 2, 3, 2],
    s: [2, 2, 2],
    pad: 'same',
  },
  {
    name: '(3, 1, 1) stride (2, 1, 1), explicit pad 1',
    x: [1, 6, 4, 5, 4],
    f: [3, 1, 1, 4, 4],
    s: [2, 1, 1],
    pad: 1,
  },
  { name: '1×1×1, 8 channels', x: [2, 3, 4, 5, 8], f: [1, 1, 1, 8, 5], s: [1, 1, 1], pad: 'valid' },
];

function values(shape: number[], phase: number): Float32Array {
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 0.7 + phase));
}

/** Output, input gradient and filter gradient of Σ conv3d² on `backend`. */
async function convResults(backend: 'wasm' | 'cpu', c: Case): Promise<Float32Array[]> {
  await initBackend(backend);
  return tf.tidy(() => {
    const x = tf.tensor5d(values(c.x, 0), c.x as Shape5);
    const f = tf.tensor5d(values(c.f, 1), c.f as Shape5);
    const conv = (a: tf.Tensor, b: tf.Tensor) =>
      tf.conv3d(a as tf.Tensor5D, b as tf.Tensor5D, c.s, c.pad as 'same', 'NDHWC', c.d ?? 1);
    const y = conv(x, f);
    const g = c.d ? [] : tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(conv(a, b))))([x, f]);
    return [y, ...g].map((t) => Float32Array.from(t.dataSync()));
  });
}

/** Output and input gradient of Σ maxPool3d(x)² over an all-negative input. */
async function poolResults(backend: 'wasm' | 'cpu', c: Case): Promise<Float32Array[]> {
  await initBackend(backend);
  return tf.tidy(() => {
    // All negative: TF.js 4.22 pools an all-negative window to 1.2e-38 on WASM.
    const x = tf.sub(-0.1, tf.abs(tf.tensor5d(values(c.x, 0.3), c.x as Shape5))) as tf.Tensor5D;
    const pool = (a: tf.Tensor) =>
      tf.maxPool3d(a as tf.Tensor5D, c.f.slice(0, 3) as T3, c.s, c.pad as 'same');
    const g = tf.grad((a: tf.Tensor) => tf.sum(tf.square(pool(a))))(x);
    return [pool(x), g].map((t) => Float32Array.from(t.dataSync()));
  });
}

function assertClose(a: Float32Array[], b: Float32Array[], what: string[]): void {
  what.forEach((w, k) => {
    assert.equal(a[k].length, b[k].length, `${w}: size`);
    let err = 0;
    let mag = 0;
    for (let i = 0; i < b[k].length; i++) {
      err = Math.max(err, Math.abs(a[k][i] - b[k][i]));
      mag = Math.max(mag, Math.abs(b[k][i]));
    }
    assert.ok(err <= 1e-5 * Math.max(mag, 1), `${w}: max error ${err} vs max ${mag}`);
  });
}

describe('TF.js 3-D kernels on WASM (replaced) vs the CPU backend', () => {
  after(async () => {
    await initBackend('wasm');
  });

  for (const c of [
    ...cases,
    {
      name: '3×3×3 dilation (1, 2, 2), same',
      x: [1, 5, 7, 8, 2],
      f: [3, 3, 3, 2, 3],
      s: [1, 1, 1] as T3,
      pad: 'same' as const,
      d: [1, 2, 2] as T3,
    },
  ])
    it(`conv3d ${c.name}: output${c.d ? '' : ', input and filter gradients'}`, async () => {
      const want = await convResults('cpu', c);
      const runs = wasmVolumeRuns.conv;
      const got = await convResults('wasm', c);
      assert.equal(wasmVolumeRuns.conv - runs, c.d ? 1 : 4, 'the replaced kernels ran');
      assertClose(got, want, ['output', 'input gradient', 'filter gradient'].slice(0, got.length));
    });

  for (const c of cases.filter((q) => typeof q.pad === 'string'))
    it(`maxPool3d with the windows of conv3d ${c.name}: output and input gradient`, async () => {
      const want = await poolResults('cpu', c);
      const runs = wasmVolumeRuns.pool;
      const got = await poolResults('wasm', c);
      assert.ok(wasmVolumeRuns.pool > runs, 'the replaced kernels ran');
      assertClose(got, want, ['output', 'input gradient']);
    });

  it("TF.js 4.22's own WASM kernels are wrong on these cases (when this fails, TF.js fixed them and wasmVolumeKernels.ts can go)", async () => {
    const c = cases[1];
    const want = [...(await convResults('cpu', c)), ...(await poolResults('cpu', c))];
    wasmVolumeSettings.enabled = false;
    try {
      const got = [...(await convResults('wasm', c)), ...(await poolResults('wasm', c))];
      assert.throws(() =>
        assertClose(got.slice(1, 3), want.slice(1, 3), ['input gradient', 'filter gradient']),
      );
      assert.throws(() => assertClose(got.slice(3), want.slice(3), ['pool output', 'pool gradient']));
    } finally {
      wasmVolumeSettings.enabled = true;
    }
  });
});
