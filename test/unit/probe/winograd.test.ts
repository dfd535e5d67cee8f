/**
 * Winograd F(2×2, 3×3) on WASM (runtime/probe/winograd.ts and its WASM transforms): the forward
 * convolution, the input gradient (the flipped-kernel correlation with pads 2 − p) and the weight
 * gradient (Gᵀ Σ V ⊙ D G) against the pure-JS CPU backend's conv2d and its autodiff, for odd sizes (partial edge tiles), asymmetric
 * and zero pads, one to many channel blocks.
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../runtime/probe/backend';
import { convOnnxWeight, markPersistentWeight, releaseWeightViews } from '../../../runtime/probe/convGrad';
import * as winograd from '../../../runtime/probe/winograd';
import {
  winogradConv,
  winogradWeightGrad,
  winogradWeights,
  winogradWeightsFor,
} from '../../../runtime/probe/winograd';

/** Worst error of F(4×4, 3×3) against the CPU backend, of the largest value: its transforms scale values by up to 8 and 1/24. */
const TOL4 = 1e-4;

type Case = { x: [number, number, number, number]; co: number; pads: [number, number, number, number] };

const cases: Case[] = [
  { x: [2, 9, 11, 8], co: 12, pads: [1, 1, 1, 1] },
  { x: [1, 6, 6, 4], co: 4, pads: [0, 0, 0, 0] },
  { x: [3, 7, 5, 12], co: 8, pads: [2, 0, 1, 2] },
  { x: [1, 16, 16, 32], co: 16, pads: [1, 1, 1, 1] },
  // 8 tiles, 16 input channels: the input gradient's products (8 rows, two full panels of 8
  // columns) read winogradWeightsFor's blocks in place.
  { x: [2, 4, 4, 16], co: 8, pads: [1, 1, 1, 1] },
];

function values(n: number, phase: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.61 + phase) + 0.3 * Math.cos(i * 0.17));
}

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** The CPU backend's forward output and input gradient for `dy` = a fixed pattern. */
async function cpuReference(c: Case, xv: Float32Array, wv: Float32Array) {
  await initBackend('cpu');
  return tf.tidy(() => {
    const [pt, pl, pb, pr] = c.pads;
    const x = tf.tensor4d(xv, c.x);
    const w = tf.transpose(tf.tensor4d(wv, [c.co, c.x[3], 3, 3]), [2, 3, 1, 0]) as tf.Tensor4D;
    const conv = (xi: tf.Tensor) =>
      tf.conv2d(xi as tf.Tensor4D, w, 1, [
        [0, 0],
        [pt, pb],
        [pl, pr],
        [0, 0],
      ]);
    const y = conv(x);
    const dy = tf.tensor(values(y.size, 2.3), y.shape);
    const dx = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(conv(xi), dy)))(x);
    const w0 = tf.tensor4d(wv, [c.co, c.x[3], 3, 3]);
    const dw = tf.grad((wi: tf.Tensor) =>
      tf.sum(
        tf.mul(
          tf.conv2d(x, tf.transpose(wi, [2, 3, 1, 0]) as tf.Tensor4D, 1, [
            [0, 0],
            [pt, pb],
            [pl, pr],
            [0, 0],
          ]),
          dy,
        ),
      ),
    )(w0);
    return {
      y: y.dataSync() as Float32Array,
      yShape: y.shape,
      dy: dy.dataSync() as Float32Array,
      dx: dx.dataSync() as Float32Array,
      dw: dw.dataSync() as Float32Array,
    };
  });
}

/** A case's input and weight values, the CPU backend's reference, then the WASM backend set up. */
async function prepared(c: Case) {
  const xv = values(size(c.x), 0.4);
  const wv = values(c.co * c.x[3] * 9, 1.7);
  const ref = await cpuReference(c, xv, wv);
  await initBackend('wasm');
  const [n, h, w, ci] = c.x;
  const [pt, pl] = c.pads;
  const [, oh, ow] = ref.yShape;
  return { xv, wv, ref, n, h, w, ci, pt, pl, oh, ow };
}

function worst(want: Float32Array, got: Float32Array): number {
  let scale = 0;
  for (const v of want) scale = Math.max(scale, Math.abs(v));
  let err = 0;
  for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(want[i] - got[i]));
  return err / scale;
}

describe('Winograd F(2×2, 3×3) convolution on WASM', () => {
  after(async () => {
    await initBackend('wasm');
  });

  for (const c of cases)
    it(`x ${c.x.join('×')}, ${c.co} outputs, pads ${c.pads.join(',')}: forward, input and weight gradients match the CPU backend`, async () => {
      const { xv, wv, ref, n, h, w, ci, pt, pl, oh, ow } = await prepared(c);
      tf.tidy(() => {
        const y = winogradConv(
          tf.tensor4d(xv, c.x),
          winogradWeights(tf.tensor4d(wv, [c.co, ci, 3, 3])),
          false,
          pt,
          pl,
          oh,
          ow,
        );
        assert.deepEqual(y.shape, ref.yShape);
        const ey = worst(ref.y, y.dataSync() as Float32Array);
        assert.ok(ey < 1e-5, `forward: worst error ${ey} of the largest output`);
        const dy = tf.tensor4d(ref.dy, [n, oh, ow, c.co]);
        // The input gradient reads the forward transform at flipped tile positions.
        const dx = winogradConv(
          dy,
          winogradWeights(tf.tensor4d(wv, [c.co, ci, 3, 3])),
          true,
          2 - pt,
          2 - pl,
          h,
          w,
        );
        assert.deepEqual(dx.shape, c.x);
        const ex = worst(ref.dx, dx.dataSync() as Float32Array);
        assert.ok(ex < 1e-5, `input gradient: worst error ${ex} of the largest value`);
        // The executor's operands for it, [16, co, ci], read as a forward correlation.
        const ut = winogradWeightsFor(tf.tensor4d(wv, [c.co, ci, 3, 3]), 2, true);
        assert.deepEqual(ut.shape, [16, c.co, ci]);
        const dxT = winogradConv(dy, ut, false, 2 - pt, 2 - pl, h, w);
        const et = worst(ref.dx, dxT.dataSync() as Float32Array);
        assert.ok(
          et < 1e-5,
          `input gradient from the flipped kernel's transform: worst error ${et} of the largest value`,
        );
        const dw = winogradWeightGrad(tf.tensor4d(xv, c.x), dy, pt, pl);
        assert.deepEqual(dw.shape, [c.co, ci, 3, 3]);
        const ew = worst(ref.dw, dw.dataSync() as Float32Array);
        assert.ok(ew < 1e-5, `weight gradient: worst error ${ew} of the largest value`);
      });
    });

  for (const c of cases)
    it(`F(4×4, 3×3), x ${c.x.join('×')}, ${c.co} outputs, pads ${c.pads.join(',')}: forward, input and weight gradients match the CPU backend`, async () => {
      const { xv, wv, ref, n, h, w, ci, pt, pl, oh, ow } = await prepared(c);
      const runs = winograd.winograd4Runs;
      tf.tidy(() => {
        const wt = tf.tensor4d(wv, [c.co, ci, 3, 3]);
        const u = winogradWeightsFor(wt, 4, false);
        assert.deepEqual(u.shape, [36, ci, c.co]);
        const y = winogradConv(tf.tensor4d(xv, c.x), u, false, pt, pl, oh, ow);
        assert.deepEqual(y.shape, ref.yShape);
        const ey = worst(ref.y, y.dataSync() as Float32Array);
        assert.ok(ey < TOL4, `forward: worst error ${ey} of the largest output`);
        const ut = winogradWeightsFor(wt, 4, true);
        assert.deepEqual(ut.shape, [36, c.co, ci]);
        const dx = winogradConv(tf.tensor4d(ref.dy, [n, oh, ow, c.co]), ut, false, 2 - pt, 2 - pl, h, w);
        assert.deepEqual(dx.shape, c.x);
        const ex = worst(ref.dx, dx.dataSync() as Float32Array);
        assert.ok(ex < TOL4, `input gradient: worst error ${ex} of the largest value`);
        const dw = winogradWeightGrad(
          tf.tensor4d(xv, c.x),
          tf.tensor4d(ref.dy, [n, oh, ow, c.co]),
          pt,
          pl,
          4,
        );
        assert.deepEqual(dw.shape, [c.co, ci, 3, 3]);
        const ew = worst(ref.dw, dw.dataSync() as Float32Array);
        assert.ok(ew < TOL4, `weight gradient: worst error ${ew} of the largest value`);
      });
      assert.equal(winograd.winograd4Runs, runs + 3);
    });

  it('an executor convolution of 8 tiles: Winograd forward and input gradient, tap-matrix weight gradient, all matching the CPU backend', async () => {
    // 2 images of 4×4 outputs: 8 tiles, at least minTiles but under minWeightGradTiles.
    const c: Case = { x: [2, 4, 4, 8], co: 12, pads: [1, 1, 1, 1] };
    assert.ok(winograd.winogradSettings.minTiles <= 8 && winograd.winogradSettings.minWeightGradTiles > 8);
    const xv = values(size(c.x), 0.4);
    const wv = values(c.co * c.x[3] * 9, 1.7);
    const ref = await cpuReference(c, xv, wv);
    await initBackend('wasm');
    const runs = winograd.winogradRuns;
    const geom = {
      strides: [1, 1] as [number, number],
      dilations: [1, 1] as [number, number],
      pads: { top: 1, left: 1, bottom: 1, right: 1 },
    };
    tf.tidy(() => {
      const x = tf.tensor4d(xv, c.x);
      const w = tf.tensor4d(wv, [c.co, c.x[3], 3, 3]);
      const dy = tf.tensor(ref.dy, ref.yShape);
      const y = convOnnxWeight(x, w, geom, false, true);
      const ey = worst(ref.y, y.dataSync() as Float32Array);
      assert.ok(ey < 1e-5, `forward: worst error ${ey} of the largest output`);
      const [dx, dw] = tf.grads((xi: tf.Tensor, wi: tf.Tensor) =>
        tf.sum(tf.mul(convOnnxWeight(xi as tf.Tensor4D, wi as tf.Tensor4D, geom, false, true), dy)),
      )([x, w]);
      const ex = worst(ref.dx, dx.dataSync() as Float32Array);
      assert.ok(ex < 1e-5, `input gradient: worst error ${ex} of the largest value`);
      const ew = worst(ref.dw, dw.dataSync() as Float32Array);
      assert.ok(ew < 1e-5, `weight gradient: worst error ${ew} of the largest value`);
    });
    // Two forward passes (y, then inside tf.grads) and one input gradient: no Winograd weight gradient.
    assert.equal(winograd.winogradRuns - runs, 3, 'Winograd runs');
  });

  it('an executor convolution of 8×8 outputs: F(4×4, 3×3) forward and input gradient from weights cached per parameter, F(2×2, 3×3) weight gradient, all matching the CPU backend; the cache freed with the parameter', async () => {
    // 2 images of 8×8 outputs: 8 tiles of 4×4 (minTiles4), 36·8 products against 16·32.
    const c: Case = { x: [2, 8, 8, 8], co: 12, pads: [1, 1, 1, 1] };
    assert.equal(winograd.winogradTile(2, 8, 8), 4);
    // Too few 4×4 tiles (2 < minTiles4), and 4×4 tiles mostly past a 5×5 output (36·32 products
    // against 16·72): F(2×2, 3×3). A 7×7 output pays (36·32 against 16·128).
    assert.equal(winograd.winogradTile(2, 2, 2), 2);
    assert.equal(winograd.winogradTile(8, 5, 5), 2);
    assert.equal(winograd.winogradTile(8, 7, 7), 4);
    // The weight gradient takes F(4×4, 3×3) only from minWeightGradTiles4 (16) tiles of 4×4.
    assert.equal(winograd.winogradWeightGradTile(2, 8, 8), 2);
    assert.equal(winograd.winogradWeightGradTile(4, 8, 8), 4);
    assert.equal(winograd.winogradWeightGradTile(8, 5, 5), 2);
    const xv = values(size(c.x), 0.4);
    const wv = values(c.co * c.x[3] * 9, 1.7);
    const ref = await cpuReference(c, xv, wv);
    await initBackend('wasm');
    const geom = {
      strides: [1, 1] as [number, number],
      dilations: [1, 1] as [number, number],
      pads: { top: 1, left: 1, bottom: 1, right: 1 },
    };
    const w = tf.tensor4d(wv, [c.co, c.x[3], 3, 3]);
    markPersistentWeight(w);
    const tensors = tf.memory().numTensors;
    const pass = () =>
      tf.tidy(() => {
        const x = tf.tensor4d(xv, c.x);
        const dy = tf.tensor(ref.dy, ref.yShape);
        const y = convOnnxWeight(x, w, geom, false, true);
        const [dx, dw] = tf.grads((xi: tf.Tensor, wi: tf.Tensor) =>
          tf.sum(tf.mul(convOnnxWeight(xi as tf.Tensor4D, wi as tf.Tensor4D, geom, false, true), dy)),
        )([x, w]);
        return [y, dx, dw].map((t) => t.dataSync() as Float32Array);
      });
    const [runs, runs4] = [winograd.winogradRuns, winograd.winograd4Runs];
    const [y, dx, dw] = pass();
    // Two forward passes (y, then inside tf.grads) and one input gradient in 4×4 tiles; the weight gradient in 2×2.
    assert.equal(winograd.winograd4Runs - runs4, 3, 'F(4×4, 3×3) runs');
    assert.equal(winograd.winogradRuns - runs, 4, 'Winograd runs');
    for (const [name, want, got, tol] of [
      ['forward', ref.y, y, TOL4],
      ['input gradient', ref.dx, dx, TOL4],
      ['weight gradient', ref.dw, dw, 1e-5],
    ] as const) {
      const e = worst(want, got);
      assert.ok(e < tol, `${name}: worst error ${e} of the largest value`);
    }
    // The second pass reads the cached weights: the same bits.
    const again = pass();
    assert.deepEqual(again, [y, dx, dw]);
    assert.ok(tf.memory().numTensors > tensors, 'the transformed weights are cached');
    releaseWeightViews(w);
    assert.equal(tf.memory().numTensors, tensors, 'tensors left behind by the cache');
    w.dispose();
  });
});
