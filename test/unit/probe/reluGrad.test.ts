/**
 * The ReLU gradient as one WASM kernel (wasm/reluGradKernel.ts, scripts/wasm/reluGrad.mjs), in
 * both builds, against TF.js's own gradient formula, mul(dy, cast(step(x))), run by TF.js's
 * kernels: the same bits on odd lengths (every tail of the four-lane loop) with zeros of both
 * signs, subnormals, NaN and ±Inf in x and in dy; tf.grad of relu on WASM taking the kernel; and
 * the kernel's JavaScript loop for engines without WebAssembly SIMD, on the same values.
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../runtime/probe/backend';
import { heapAddress, type WasmBackendHeap } from '../../../runtime/probe/wasm/heap';
import { wasmKernels, type EmscriptenHeap } from '../../../runtime/probe/wasm/wasmKernels';
import { reluGradKernel, reluGradRuns } from '../../../runtime/probe/wasm/reluGradKernel';

/** Specials first, then mixed signs and magnitudes. */
function values(n: number, phase: number, specials: number[]): Float32Array {
  return Float32Array.from({ length: n }, (_, i) =>
    i < specials.length ? specials[i] : Math.sin(i * 1.7 + phase) * (1 + (i % 11)),
  );
}

const X_SPECIALS = [NaN, -0, 0, 1e-45, -1e-45, Infinity, -Infinity, 3, -3, NaN, 0, 2];
const DY_SPECIALS = [1, Infinity, -Infinity, NaN, -2, 5, 7, -0, NaN, -1, -4, Infinity];

/** TF.js's own Relu gradient, as it registers it, run by its kernels. */
const tfjsFormula = (dy: tf.Tensor, x: tf.Tensor) => tf.mul(dy, tf.cast(tf.step(x), 'float32'));

const bits = (t: tf.Tensor) => Array.from(new Uint32Array((t.dataSync() as Float32Array).slice().buffer));

describe('ReLU gradient kernel (WASM)', function () {
  this.timeout(60000);
  let backend: WasmBackendHeap;

  before(async () => {
    await initBackend('wasm', { threads: 1 });
    backend = tf.backend() as unknown as WasmBackendHeap;
  });

  for (const build of ['fma', 'simd'] as const)
    it(`${build}: dy · step(x) has the bits of TF.js's formula on lengths 0–13 and 1001`, () => {
      const k = wasmKernels(backend.wasm as EmscriptenHeap, build);
      for (const n of [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 1001])
        tf.tidy(() => {
          const x = tf.tensor1d(values(n, 0.3, X_SPECIALS));
          const dy = tf.tensor1d(values(n, 1.1, DY_SPECIALS));
          const out = tf.zeros([n]);
          k.reluGrad(heapAddress(backend, dy), heapAddress(backend, x), heapAddress(backend, out), n);
          assert.deepEqual(bits(out), bits(tfjsFormula(dy, x)), `n = ${n}`);
        });
    });

  it("tf.grad of relu runs the kernel, with the bits of TF.js's formula", () => {
    tf.tidy(() => {
      const x = tf.tensor4d(values(2 * 5 * 3 * 7, 0.7, X_SPECIALS), [2, 5, 3, 7]);
      const dy = tf.tensor4d(values(2 * 5 * 3 * 7, 2.3, DY_SPECIALS), [2, 5, 3, 7]);
      const runs = reluGradRuns.count;
      const dx = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.relu(v), dy)))(x);
      assert.equal(reluGradRuns.count, runs + 1, 'the gradient did not run the kernel');
      assert.deepEqual(dx.shape, x.shape);
      assert.deepEqual(bits(dx), bits(tfjsFormula(dy, x)));
    });
  });

  it("without WebAssembly SIMD the kernel's JavaScript loop gives TF.js's values", () => {
    tf.tidy(() => {
      const n = 13;
      const x = tf.tensor1d(values(n, 0.9, X_SPECIALS));
      const dy = tf.tensor1d(values(n, 1.9, DY_SPECIALS));
      const real = backend as unknown as {
        makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
        typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
      };
      // The backend as the kernel sees it, with a heap the probe's kernels cannot load on.
      const noSimd = {
        wasm: {},
        makeOutput: (shape: number[], dtype: tf.DataType) => real.makeOutput(shape, dtype),
        typedArrayFromHeap: (t: tf.TensorInfo) => real.typedArrayFromHeap(t),
      };
      const out = reluGradKernel({ inputs: { dy, x }, backend: noSimd });
      const got = tf.engine().makeTensorFromTensorInfo(out).dataSync();
      const want = tfjsFormula(dy, x).dataSync();
      for (let i = 0; i < n; i++)
        assert.ok(
          Object.is(got[i], want[i]) || (Number.isNaN(got[i]) && Number.isNaN(want[i])),
          `element ${i}`,
        );
    });
  });
});
