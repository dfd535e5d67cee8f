/**
 * Grouped convolutions on the probe's own WASM kernels (runtime/probe/groupedConv.ts): the output,
 * the input gradient and the weight gradient of Σ y·r against a float64 reference computed here
 * element by element, over strided, dilated, padded (asymmetric and cropping), 1×1 and non-square
 * cases, group counts from 2 to 16 and one group per pair of channels; the same bits on 1 and 2
 * kernel threads; and the executor's Conv node taking this path (not a split per group).
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../runtime/probe/backend';
import type { ConvGeom } from '../../../runtime/probe/convGrad';
import { convGroupedOwn, groupedConvRuns } from '../../../runtime/probe/groupedConv';
import { setKernelThreads, type EmscriptenHeap } from '../../../runtime/probe/wasm/wasmKernels';

interface GroupCase {
  name: string;
  /** NHWC input. */
  x: [number, number, number, number];
  co: number;
  group: number;
  k: [number, number];
  s: [number, number];
  d: [number, number];
  /** top, left, bottom, right */
  p: [number, number, number, number];
}

const cases: GroupCase[] = [
  {
    name: '3×3 pad 1, 6 groups of 8 (RegNet)',
    x: [2, 8, 8, 48],
    co: 48,
    group: 6,
    k: [3, 3],
    s: [1, 1],
    d: [1, 1],
    p: [1, 1, 1, 1],
  },
  {
    name: '3×3 stride 2, 4 groups, 2 → 3 channels each',
    x: [2, 9, 7, 8],
    co: 12,
    group: 4,
    k: [3, 3],
    s: [2, 2],
    d: [1, 1],
    p: [1, 1, 1, 1],
  },
  {
    name: '1×1, 16 groups',
    x: [1, 5, 6, 32],
    co: 16,
    group: 16,
    k: [1, 1],
    s: [1, 1],
    d: [1, 1],
    p: [0, 0, 0, 0],
  },
  {
    name: '1×1 stride 2, 2 groups',
    x: [2, 7, 7, 6],
    co: 4,
    group: 2,
    k: [1, 1],
    s: [2, 2],
    d: [1, 1],
    p: [0, 0, 0, 0],
  },
  {
    name: '3×3 dilation 2, 2 groups',
    x: [1, 9, 10, 4],
    co: 4,
    group: 2,
    k: [3, 3],
    s: [1, 1],
    d: [2, 2],
    p: [2, 2, 2, 2],
  },
  {
    name: '3×2 asymmetric pads, 3 groups',
    x: [2, 8, 7, 9],
    co: 6,
    group: 3,
    k: [3, 2],
    s: [2, 1],
    d: [1, 1],
    p: [0, 2, 1, 0],
  },
  {
    name: '3×3 crop and pad, 5 groups',
    x: [1, 10, 9, 10],
    co: 15,
    group: 5,
    k: [3, 3],
    s: [1, 1],
    d: [1, 1],
    p: [-1, 2, 1, -2],
  },
];

/** A deterministic pseudo-random float array in [-1, 1). */
function randoms(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** y, dx and dw of Σ y·r in float64, element by element (ONNX weight [co, c/group, kh, kw]). */
function reference(c: GroupCase, x: Float32Array, w: Float32Array, r: Float32Array, oh: number, ow: number) {
  const [n, h, wd, ci] = c.x;
  const [kh, kw] = c.k;
  const cpg = ci / c.group;
  const cog = c.co / c.group;
  const y = new Float64Array(n * oh * ow * c.co);
  const dx = new Float64Array(x.length);
  const dw = new Float64Array(w.length);
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++)
        for (let o = 0; o < c.co; o++) {
          const gi = Math.floor(o / cog);
          const yi = ((b * oh + oy) * ow + ox) * c.co + o;
          let sum = 0;
          for (let j = 0; j < cpg; j++)
            for (let i = 0; i < kh; i++)
              for (let t = 0; t < kw; t++) {
                const iy = oy * c.s[0] + i * c.d[0] - c.p[0];
                const ix = ox * c.s[1] + t * c.d[1] - c.p[1];
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                const xi = ((b * h + iy) * wd + ix) * ci + gi * cpg + j;
                const wi = ((o * cpg + j) * kh + i) * kw + t;
                sum += x[xi] * w[wi];
                dx[xi] += r[yi] * w[wi];
                dw[wi] += r[yi] * x[xi];
              }
          y[yi] = sum;
        }
  return { y, dx, dw };
}

function assertClose(got: Float32Array, want: Float64Array, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  const scale = Math.max(1e-6, ...Array.from(want, Math.abs));
  for (let i = 0; i < got.length; i++)
    assert.ok(
      Math.abs(got[i] - want[i]) <= 2e-5 * scale,
      `${what}[${i}]: ${got[i]} against ${want[i]} (scale ${scale})`,
    );
}

describe('grouped convolutions on the WASM kernels', function () {
  this.timeout(120_000);
  let heap: EmscriptenHeap;

  before(async () => {
    await initBackend('wasm', { threads: 1 });
    heap = (tf.backend() as unknown as { wasm: EmscriptenHeap }).wasm;
  });

  after(async () => {
    await setKernelThreads(heap, 1);
  });

  /** y, dx and dw of Σ y·r through convGroupedOwn. */
  function run(c: GroupCase, x: Float32Array, w: Float32Array, r: Float32Array) {
    const [kh, kw] = c.k;
    const g: ConvGeom = {
      strides: c.s,
      dilations: c.d,
      pads: { top: c.p[0], left: c.p[1], bottom: c.p[2], right: c.p[3] },
    };
    return tf.tidy(() => {
      const xt = tf.tensor4d(x, c.x);
      const wt = tf.tensor4d(w, [c.co, c.x[3] / c.group, kh, kw]);
      let y: tf.Tensor | undefined;
      const { value, grads } = tf.valueAndGrads((xs: tf.Tensor, ws: tf.Tensor) => {
        const out = convGroupedOwn(xs as tf.Tensor4D, ws as tf.Tensor4D, g, c.group, true);
        assert.ok(out, 'the own kernels did not take the convolution');
        y = tf.keep(out);
        return tf.sum(tf.mul(out, tf.tensor(r, out.shape)));
      })([xt, wt]);
      value.dispose();
      return {
        shape: y!.shape,
        y: y!.dataSync() as Float32Array,
        dx: grads[0].dataSync() as Float32Array,
        dw: grads[1].dataSync() as Float32Array,
      };
    });
  }

  for (const c of cases)
    it(`${c.name}: output and both gradients against float64`, () => {
      const [n, h, wd, ci] = c.x;
      const [kh, kw] = c.k;
      const oh = Math.floor((h + c.p[0] + c.p[2] - (c.d[0] * (kh - 1) + 1)) / c.s[0]) + 1;
      const ow = Math.floor((wd + c.p[1] + c.p[3] - (c.d[1] * (kw - 1) + 1)) / c.s[1]) + 1;
      const x = randoms(n * h * wd * ci, 1);
      const w = randoms((c.co * ci * kh * kw) / c.group, 2);
      const r = randoms(n * oh * ow * c.co, 3);
      const before = { ...groupedConvRuns };
      const got = run(c, x, w, r);
      assert.deepEqual(got.shape, [n, oh, ow, c.co]);
      assert.equal(groupedConvRuns.forward, before.forward + 1);
      assert.equal(groupedConvRuns.backward, before.backward + 1);
      const want = reference(c, x, w, r, oh, ow);
      assertClose(got.y, want.y, 'y');
      assertClose(got.dx, want.dx, 'dx');
      assertClose(got.dw, want.dw, 'dw');
    });

  it('gives the same bits on 1 and 2 kernel threads', async function () {
    const c: GroupCase = {
      name: 'wide',
      x: [4, 32, 32, 64],
      co: 64,
      group: 8,
      k: [3, 3],
      s: [1, 1],
      d: [1, 1],
      p: [1, 1, 1, 1],
    };
    const x = randoms(
      c.x.reduce((a, b) => a * b),
      4,
    );
    const w = randoms((c.co * c.x[3] * 9) / c.group, 5);
    const r = randoms(4 * 32 * 32 * 64, 6);
    assert.equal(await setKernelThreads(heap, 1), 1);
    const one = run(c, x, w, r);
    const threads = await setKernelThreads(heap, 2);
    if (threads < 2) this.skip(); // no shared heap here: nothing to compare
    const two = run(c, x, w, r);
    for (const key of ['y', 'dx', 'dw'] as const)
      assert.deepEqual(new Uint32Array(two[key].buffer), new Uint32Array(one[key].buffer), key);
  });
});
