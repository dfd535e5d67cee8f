/**
 * The executor's convolution with its bias added in place (convOnnxWeight with a bias, the WASM
 * kernel addBias) against the convolution without and TF.js's Add after it, as the ONNX Conv op
 * ran it before: the same bits for the output and for all three gradients (the bias gradient as
 * Add's: the same Sum), on the Winograd paths (F(2×2, 3×3), F(4×4, 3×3)) and the im2col ones
 * (stride 2, 1×1, a 7×7 stem of 3 channels), these with output channels that leave a tail of the
 * kernel's four-lane loop; and an ONNX model's ungrouped Conv nodes with a bias running no Add.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { openModel } from '../../../runtime/analysis/openModel';
import { Executor } from '../../../runtime/probe/executor';
import { initBackend } from '../../../runtime/probe/backend';
import { convOnnxWeight, type ConvGeom } from '../../../runtime/probe/convGrad';
import * as winograd from '../../../runtime/probe/winograd';

interface Case {
  name: string;
  x: [number, number, number, number];
  co: number;
  k: number;
  stride: number;
  pad: number;
  winograd: boolean;
}

const cases: Case[] = [
  { name: '3×3 F(2×2, 3×3), 8 outputs', x: [2, 6, 6, 8], co: 8, k: 3, stride: 1, pad: 1, winograd: true },
  { name: '3×3 F(4×4, 3×3), 12 outputs', x: [2, 8, 8, 8], co: 12, k: 3, stride: 1, pad: 1, winograd: true },
  { name: '3×3 stride 2, 5 outputs', x: [2, 9, 8, 5], co: 5, k: 3, stride: 2, pad: 1, winograd: false },
  { name: '1×1, 9 outputs', x: [2, 5, 5, 6], co: 9, k: 1, stride: 1, pad: 0, winograd: false },
  {
    name: '7×7 stride 2, 3 channels (a stem)',
    x: [1, 13, 12, 3],
    co: 10,
    k: 7,
    stride: 2,
    pad: 3,
    winograd: false,
  },
];

const root = path.resolve(__dirname, '../../..');

const values = (n: number, phase: number) =>
  Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.77 + phase) * (1 + (i % 5)));
const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
const bits = (t: tf.Tensor) => Array.from(new Uint32Array((t.dataSync() as Float32Array).slice().buffer));

describe('executor convolution with its bias in place (WASM)', function () {
  this.timeout(120000);

  before(async () => {
    await initBackend('wasm', { threads: 1 });
  });

  for (const c of cases)
    it(`${c.name}: output and the three gradients with the bits of the convolution then an Add`, () => {
      const g: ConvGeom = {
        strides: [c.stride, c.stride],
        dilations: [1, 1],
        pads: { top: c.pad, left: c.pad, bottom: c.pad, right: c.pad },
      };
      tf.tidy(() => {
        const x = tf.tensor4d(values(size(c.x), 0.3), c.x);
        const w = tf.tensor4d(values(c.co * c.x[3] * c.k * c.k, 1.1), [c.co, c.x[3], c.k, c.k]);
        const b = tf.tensor1d(values(c.co, 2.9));
        const fused = (xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) =>
          convOnnxWeight(xi as tf.Tensor4D, wi as tf.Tensor4D, g, false, true, bi as tf.Tensor1D);
        const added = (xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) =>
          tf.add(convOnnxWeight(xi as tf.Tensor4D, wi as tf.Tensor4D, g, false, true), bi);
        const runs = winograd.winogradRuns;
        const y = fused(x, w, b);
        assert.equal(winograd.winogradRuns > runs, c.winograd, 'Winograd ran');
        assert.deepEqual(bits(y), bits(added(x, w, b)));
        const dy = tf.tensor(values(y.size, 4.2), y.shape);
        const loss =
          (f: (xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) => tf.Tensor) =>
          (xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) =>
            tf.sum(tf.mul(f(xi, wi, bi), dy));
        const got = tf.grads(loss(fused))([x, w, b]);
        const want = tf.grads(loss(added))([x, w, b]);
        ['dx', 'dw', 'db'].forEach((name, i) => {
          assert.deepEqual(got[i].shape, want[i].shape, name);
          assert.deepEqual(bits(got[i]), bits(want[i]), name);
        });
      });
    });

  it('a bias of another shape ([1]) broadcasts through an Add, with its gradient', () => {
    const g: ConvGeom = {
      strides: [1, 1],
      dilations: [1, 1],
      pads: { top: 1, left: 1, bottom: 1, right: 1 },
    };
    tf.tidy(() => {
      const x = tf.tensor4d(values(2 * 6 * 6 * 8, 0.2), [2, 6, 6, 8]);
      const w = tf.tensor4d(values(8 * 8 * 9, 0.6), [8, 8, 3, 3]);
      const b = tf.tensor1d([0.75]);
      const fused = (xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) =>
        convOnnxWeight(xi as tf.Tensor4D, wi as tf.Tensor4D, g, false, true, bi as tf.Tensor1D);
      const added = (xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) =>
        tf.add(convOnnxWeight(xi as tf.Tensor4D, wi as tf.Tensor4D, g, false, true), bi);
      assert.deepEqual(bits(fused(x, w, b)), bits(added(x, w, b)));
      const db = (f: typeof added) =>
        tf.grads((xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) => tf.sum(f(xi, wi, bi)))([x, w, b])[2];
      assert.deepEqual(db(fused).shape, [1]);
      assert.deepEqual(bits(db(fused)), bits(db(added)));
    });
  });

  it("an ONNX model's ungrouped Conv nodes with a bias run no Add kernel", async () => {
    // tiny_conv: three ungrouped Conv nodes with a bias (strided, dilated, 1-D), two grouped ones
    // and a ConvTranspose with a bias (their bias still goes through an Add), one Add node.
    const model = await openModel(path.join(root, 'test/fixtures/grads/tiny_conv.onnx'));
    const biased = model.graph.nodes.filter((n) => n.inputs.length === 3 && /^Conv/.test(n.op));
    const grouped = (n: (typeof biased)[number]) => Number(n.attributes.group ?? 1) > 1;
    const ungrouped = biased.filter((n) => n.op === 'Conv' && !grouped(n)).length;
    const adds = model.graph.nodes.filter((n) => n.op === 'Add').length + biased.length - ungrouped;
    assert.deepEqual([ungrouped, adds], [3, 4]);
    const ex = new Executor(model);
    try {
      const x = tf.tensor4d(values(2 * 3 * 16 * 16, 0.5), [2, 3, 16, 16]);
      const info = await tf.profile(() => tf.dispose(ex.forward({ [model.graph.inputs[0]]: x })));
      assert.equal(info.kernels.filter((k) => k.name === 'Add').length, adds);
      x.dispose();
    } finally {
      ex.dispose();
    }
  });
});
