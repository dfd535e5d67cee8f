/**
 * The TF.js convolution kernels on WASM (runtime/probe/wasmConvKernels.ts: Conv2D, FusedConv2D,
 * Conv2DBackpropFilter, Conv2DBackpropInput as im2col/Winograd products on the heap): forward
 * and both gradients against a float64 reference computed here element by element and against
 * the pure-JS CPU backend (through the same TF.js ops where TF.js can differentiate them), over
 * 1×1, 3×3 same/valid, stride 2, dilation 2, 5×5, 7×7, channel counts not multiples of four,
 * explicit and numeric pads with a rounding mode, and Winograd-eligible shapes (with the tile
 * threshold lowered); and the fused convolution with a bias and every fusable activation.
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../runtime/probe/backend';
import { wasmConvRuns } from '../../../runtime/probe/wasmConvKernels';
import { winogradRuns, winogradSettings } from '../../../runtime/probe/winograd';

type Pad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;

interface Case {
  name: string;
  x: [number, number, number, number];
  w: [number, number, number, number];
  s: number | [number, number];
  pad: Pad;
  d?: number | [number, number];
  round?: 'floor' | 'round' | 'ceil';
  /** Whether it should run as Winograd (with the tile threshold at 1). */
  winograd: boolean;
}

const cases: Case[] = [
  {
    name: '1×1 (the input is the tap matrix)',
    x: [2, 5, 5, 6],
    w: [1, 1, 6, 4],
    s: 1,
    pad: 'valid',
    winograd: false,
  },
  { name: '1×1 stride 2, C = 8', x: [2, 7, 6, 8], w: [1, 1, 8, 12], s: 2, pad: 'valid', winograd: false },
  { name: '1×1 same stride 2, C = 3', x: [1, 5, 7, 3], w: [1, 1, 3, 5], s: 2, pad: 'same', winograd: false },
  { name: '3×3 same, 5 outputs', x: [2, 9, 9, 4], w: [3, 3, 4, 5], s: 1, pad: 'same', winograd: false },
  { name: '3×3 valid, C = 3', x: [2, 8, 7, 3], w: [3, 3, 3, 4], s: 1, pad: 'valid', winograd: false },
  { name: '3×3 stride 2 same, C = 5', x: [2, 9, 8, 5], w: [3, 3, 5, 7], s: 2, pad: 'same', winograd: false },
  {
    name: '3×3 stride (2, 1) valid',
    x: [1, 10, 9, 6],
    w: [3, 3, 6, 4],
    s: [2, 1],
    pad: 'valid',
    winograd: false,
  },
  {
    name: '3×3 dilation 2 same',
    x: [2, 10, 11, 4],
    w: [3, 3, 4, 4],
    s: 1,
    pad: 'same',
    d: 2,
    winograd: false,
  },
  {
    name: '3×2 dilation (1, 2) valid, C = 5',
    x: [1, 9, 12, 5],
    w: [3, 2, 5, 3],
    s: 1,
    pad: 'valid',
    d: [1, 2],
    winograd: false,
  },
  { name: '5×5 same, C = 3', x: [2, 11, 10, 3], w: [5, 5, 3, 6], s: 1, pad: 'same', winograd: false },
  {
    name: '5×5 stride 2 valid, C = 2',
    x: [1, 12, 11, 2],
    w: [5, 5, 2, 3],
    s: 2,
    pad: 'valid',
    winograd: false,
  },
  {
    name: '7×7 stride 2 same, C = 3 (a stem)',
    x: [2, 20, 18, 3],
    w: [7, 7, 3, 8],
    s: 2,
    pad: 'same',
    winograd: false,
  },
  {
    name: '3×3 explicit pads, C = 7',
    x: [2, 8, 9, 7],
    w: [3, 3, 7, 5],
    s: 1,
    pad: [
      [0, 0],
      [1, 2],
      [0, 3],
      [0, 0],
    ],
    winograd: false,
  },
  {
    name: '3×3 stride 2, numeric pad 1, ceil rounding',
    x: [2, 8, 8, 4],
    w: [3, 3, 4, 4],
    s: 2,
    pad: 1,
    round: 'ceil',
    winograd: false,
  },
  {
    name: 'Winograd: 3×3 same, odd sizes',
    x: [2, 9, 11, 8],
    w: [3, 3, 8, 12],
    s: 1,
    pad: 'same',
    winograd: true,
  },
  { name: 'Winograd: 3×3 valid', x: [1, 6, 6, 4], w: [3, 3, 4, 4], s: 1, pad: 'valid', winograd: true },
  {
    name: 'Winograd: asymmetric explicit pads',
    x: [3, 7, 5, 12],
    w: [3, 3, 12, 8],
    s: 1,
    pad: [
      [0, 0],
      [2, 1],
      [0, 2],
      [0, 0],
    ],
    winograd: true,
  },
  {
    name: 'Winograd: 32 → 16 channels',
    x: [1, 16, 16, 32],
    w: [3, 3, 32, 16],
    s: 1,
    pad: 'same',
    winograd: true,
  },
];

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
const pair = (v: number | [number, number] | undefined): [number, number] =>
  v === undefined ? [1, 1] : typeof v === 'number' ? [v, v] : v;

function values(n: number, phase: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.61 + phase) + 0.3 * Math.cos(i * 0.17));
}

function info(c: Case): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(c.x, c.w, c.s, c.d ?? 1, c.pad, c.round);
}

/** Forward and both gradients in float64, by the definition (taps outside the input read zero). */
function reference(c: Case, xv: Float32Array, wv: Float32Array, dyv: Float32Array) {
  const ci = info(c);
  const [n, h, w, cin] = c.x;
  const [kh, kw, , co] = c.w;
  const { outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = ci;
  const { dilationHeight: dh, dilationWidth: dw } = ci;
  const { top, left } = ci.padInfo;
  const y = new Float64Array(n * oh * ow * co);
  const dx = new Float64Array(xv.length);
  const dW = new Float64Array(wv.length);
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++)
        for (let i = 0; i < kh; i++) {
          const yy = oy * sh - top + i * dh;
          if (yy < 0 || yy >= h) continue;
          for (let j = 0; j < kw; j++) {
            const xx = ox * sw - left + j * dw;
            if (xx < 0 || xx >= w) continue;
            for (let ch = 0; ch < cin; ch++) {
              const xi = ((b * h + yy) * w + xx) * cin + ch;
              for (let o = 0; o < co; o++) {
                const yi = ((b * oh + oy) * ow + ox) * co + o;
                const wi = ((i * kw + j) * cin + ch) * co + o;
                y[yi] += xv[xi] * wv[wi];
                dx[xi] += dyv[yi] * wv[wi];
                dW[wi] += dyv[yi] * xv[xi];
              }
            }
          }
        }
  return { y, dx, dW, outShape: [n, oh, ow, co] };
}

/** Worst absolute error over the largest reference magnitude. */
function worst(want: ArrayLike<number>, got: ArrayLike<number>): number {
  assert.equal(got.length, want.length);
  let scale = 0;
  let err = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]));
    err = Math.max(err, Math.abs(want[i] - got[i]));
  }
  return err / scale;
}

/** Forward by tf.conv2d, gradients by the backprop kernels called directly (dilations and rounding passed on). */
function kernelResults(c: Case, xv: Float32Array, wv: Float32Array, dyv: Float32Array, outShape: number[]) {
  return tf.tidy(() => {
    const x = tf.tensor4d(xv, c.x);
    const w = tf.tensor4d(wv, c.w);
    const dy = tf.tensor(dyv, outShape);
    const y = tf.conv2d(x, w, c.s, c.pad, 'NHWC', c.d ?? 1, c.round);
    const common = {
      strides: c.s,
      pad: c.pad,
      dataFormat: 'NHWC',
      dimRoundingMode: c.round,
      dilations: c.d ?? 1,
    };
    const dx = tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, {
      ...common,
      inputShape: c.x,
    } as unknown as tf.NamedAttrMap) as tf.Tensor;
    const dW = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
      ...common,
      filterShape: c.w,
    } as unknown as tf.NamedAttrMap) as tf.Tensor;
    assert.deepEqual(y.shape, outShape);
    assert.deepEqual(dx.shape, c.x);
    assert.deepEqual(dW.shape, c.w);
    return { y: y.dataSync(), dx: dx.dataSync(), dW: dW.dataSync() };
  });
}

/** Input and filter gradients of Σ conv2d(x, w) ⊙ dy through tf.grads (TF.js differentiates only undilated, unrounded convs). */
function opGrads(c: Case, xv: Float32Array, wv: Float32Array, dyv: Float32Array, outShape: number[]) {
  return tf.tidy(() => {
    const dy = tf.tensor(dyv, outShape);
    const f = (a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, c.pad), dy));
    const [gx, gw] = tf.grads(f)([tf.tensor4d(xv, c.x), tf.tensor4d(wv, c.w)]);
    return { dx: gx.dataSync(), dW: gw.dataSync() };
  });
}

const TOL = 1e-4;

describe('TF.js convolutions on WASM (im2col and Winograd kernels)', () => {
  const savedWinograd = { ...winogradSettings };
  before(() => {
    Object.assign(winogradSettings, { minTiles: 1, minWeightGradTiles: 1 });
  });
  after(async () => {
    Object.assign(winogradSettings, savedWinograd);
    await initBackend('wasm');
  });

  for (const c of cases)
    it(`${c.name}: forward and both gradients match float64 and the CPU backend`, async () => {
      const xv = values(size(c.x), 0.4);
      const wv = values(size(c.w), 1.7);
      const outShape = [c.x[0], info(c).outHeight, info(c).outWidth, c.w[3]];
      const dyv = values(size(outShape), 2.3);
      const ref = reference(c, xv, wv, dyv);
      const undilated = pair(c.d).every((v) => v === 1) && !c.round;

      // The CPU backend's conv2d honours dilations and rounding; its backprop kernels take
      // neither, so its gradients count only where TF.js itself can differentiate.
      await initBackend('cpu');
      const cpuY = tf.tidy(() =>
        tf
          .conv2d(tf.tensor4d(xv, c.x), tf.tensor4d(wv, c.w), c.s, c.pad, 'NHWC', c.d ?? 1, c.round)
          .dataSync(),
      );
      const cpu = undilated ? kernelResults(c, xv, wv, dyv, outShape) : undefined;
      const cpuOps = undilated ? opGrads(c, xv, wv, dyv, outShape) : undefined;

      await initBackend('wasm');
      const runs = { ...wasmConvRuns };
      const wino = winogradRuns;
      const got = kernelResults(c, xv, wv, dyv, outShape);
      assert.deepEqual(
        [
          wasmConvRuns.forward - runs.forward,
          wasmConvRuns.filter - runs.filter,
          wasmConvRuns.input - runs.input,
        ],
        [1, 1, 1],
        'the WASM kernels ran (not the ones they replace)',
      );
      assert.equal(winogradRuns - wino, c.winograd ? 3 : 0, 'Winograd runs');
      for (const k of ['y', 'dx', 'dW'] as const) {
        const e = worst(ref[k], got[k]);
        assert.ok(e < TOL, `${k}: worst error ${e} of the largest float64 value`);
      }
      const ey = worst(cpuY, got.y);
      assert.ok(ey < TOL, `y: worst error ${ey} against the CPU backend`);
      if (cpu && cpuOps) {
        const ops = opGrads(c, xv, wv, dyv, outShape);
        for (const k of ['dx', 'dW'] as const) {
          const e = worst(cpuOps[k], ops[k]);
          assert.ok(e < TOL, `${k} through tf.grads: worst error ${e} against the CPU backend`);
          const e2 = worst(cpu[k], got[k]);
          assert.ok(e2 < TOL, `${k}: worst error ${e2} against the CPU backend's kernel`);
        }
      }
    });

  it('with the default thresholds, a convolution of 8 to 15 tiles has a Winograd forward and input gradient and a tap-matrix weight gradient', async () => {
    const saved = { ...winogradSettings };
    Object.assign(winogradSettings, savedWinograd);
    try {
      // 2 images of 4×4 outputs: 8 tiles of 2×2, at least minTiles but under minWeightGradTiles.
      const c: Case = {
        name: 'few tiles',
        x: [2, 4, 4, 8],
        w: [3, 3, 8, 12],
        s: 1,
        pad: 'same',
        winograd: true,
      };
      assert.ok(winogradSettings.minTiles <= 8 && winogradSettings.minWeightGradTiles > 8);
      const xv = values(size(c.x), 0.4);
      const wv = values(size(c.w), 1.7);
      const outShape = [2, 4, 4, 12];
      const dyv = values(size(outShape), 2.3);
      const ref = reference(c, xv, wv, dyv);
      const wino = winogradRuns;
      const got = kernelResults(c, xv, wv, dyv, outShape);
      assert.equal(winogradRuns - wino, 2, 'Winograd runs: the forward pass and the input gradient');
      for (const k of ['y', 'dx', 'dW'] as const) {
        const e = worst(ref[k], got[k]);
        assert.ok(e < TOL, `${k}: worst error ${e} of the largest float64 value`);
      }
    } finally {
      Object.assign(winogradSettings, saved);
    }
  });

  const activations = ['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu', 'prelu'] as const;
  for (const activation of activations)
    it(`fused conv2d with a bias and ${activation}: forward matches the CPU backend`, async () => {
      const x = values(2 * 9 * 9 * 8, 0.2);
      const w = values(3 * 3 * 8 * 12, 0.9);
      const bias = values(12, 2.1);
      const alpha = Float32Array.from({ length: 12 }, (_, i) => 0.05 * (i + 1));
      const run = () =>
        tf.tidy(() =>
          tf.fused
            .conv2d({
              x: tf.tensor4d(x, [2, 9, 9, 8]),
              filter: tf.tensor4d(w, [3, 3, 8, 12]),
              strides: 1,
              pad: 'same',
              bias: tf.tensor1d(bias),
              activation,
              preluActivationWeights: activation === 'prelu' ? tf.tensor1d(alpha) : undefined,
              leakyreluAlpha: 0.15,
            })
            .dataSync(),
        );
      await initBackend('cpu');
      const want = run();
      await initBackend('wasm');
      const before = wasmConvRuns.forward;
      const got = run();
      assert.equal(wasmConvRuns.forward - before, 1, 'the WASM convolution ran');
      const e = worst(want, got);
      assert.ok(e < TOL, `worst error ${e} against the CPU backend`);
    });

  it('fused conv2d with a bias, stride 2: input, filter and bias gradients match the CPU backend', async () => {
    const x = values(2 * 10 * 9 * 5, 0.2);
    const w = values(3 * 3 * 5 * 6, 0.9);
    const bias = values(6, 2.1);
    const run = () =>
      tf.tidy(() => {
        const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => {
          const y = tf.fused.conv2d({
            x: a as tf.Tensor4D,
            filter: b as tf.Tensor4D,
            strides: 2,
            pad: 'same',
            bias: c,
          });
          return tf.sum(tf.mul(y, tf.sin(tf.reshape(tf.range(0, y.size), y.shape))));
        };
        return tf
          .grads(f)([tf.tensor4d(x, [2, 10, 9, 5]), tf.tensor4d(w, [3, 3, 5, 6]), tf.tensor1d(bias)])
          .map((g) => g.dataSync());
      });
    await initBackend('cpu');
    const want = run();
    await initBackend('wasm');
    const before = { ...wasmConvRuns };
    const got = run();
    assert.deepEqual(
      [
        wasmConvRuns.forward - before.forward,
        wasmConvRuns.filter - before.filter,
        wasmConvRuns.input - before.input,
      ],
      [1, 1, 1],
    );
    want.forEach((v, k) => {
      const e = worst(v, got[k]);
      assert.ok(e < TOL, `gradient ${k}: worst error ${e} against the CPU backend`);
    });
  });
});
