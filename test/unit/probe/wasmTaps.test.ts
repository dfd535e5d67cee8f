/**
 * The WASM tap kernels (scripts/wasm/taps.mjs): im2col and col2im through extractTaps and
 * scatterTaps on the WASM backend against references computed here element by element (and
 * against the same functions' JS loops on the CPU backend), over 1×1, 3×3, 7×7 stride 2, dilated,
 * non-square, asymmetric and negative (cropping) pads, channel counts with and without a
 * remainder past blocks of four, and tap counts with and without one past groups of four; and
 * the WASM max-pool gradient against a first-maximum reference, with ties and padded borders.
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../runtime/probe/backend';
import { extractTaps, scatterTaps, type ConvGeom } from '../../../runtime/probe/convGrad';

interface TapCase {
  name: string;
  x: [number, number, number, number];
  k: [number, number];
  s: [number, number];
  d: [number, number];
  /** top, left, bottom, right */
  p: [number, number, number, number];
}

const tapCases: TapCase[] = [
  { name: '1×1 stride 2, C = 64', x: [2, 9, 8, 64], k: [1, 1], s: [2, 2], d: [1, 1], p: [0, 0, 0, 0] },
  {
    name: '1×1 padded (zero rows), C = 5',
    x: [1, 4, 5, 5],
    k: [1, 1],
    s: [1, 1],
    d: [1, 1],
    p: [1, 1, 0, 2],
  },
  { name: '3×3 pad 1, C = 64', x: [2, 8, 8, 64], k: [3, 3], s: [1, 1], d: [1, 1], p: [1, 1, 1, 1] },
  { name: '3×3 pad 1, C = 1', x: [2, 7, 6, 1], k: [3, 3], s: [1, 1], d: [1, 1], p: [1, 1, 1, 1] },
  { name: '3×3 stride 2 pad 1, C = 5', x: [2, 9, 7, 5], k: [3, 3], s: [2, 2], d: [1, 1], p: [1, 1, 1, 1] },
  { name: '7×7 stride 2 pad 3, C = 3', x: [2, 20, 18, 3], k: [7, 7], s: [2, 2], d: [1, 1], p: [3, 3, 3, 3] },
  { name: '3×3 dilation 2 pad 2, C = 5', x: [1, 9, 10, 5], k: [3, 3], s: [1, 1], d: [2, 2], p: [2, 2, 2, 2] },
  {
    name: '3×2 stride (2, 1), asymmetric pads',
    x: [2, 8, 7, 6],
    k: [3, 2],
    s: [2, 1],
    d: [1, 1],
    p: [0, 2, 1, 0],
  },
  { name: '3×3 negative pads (crop)', x: [1, 9, 9, 4], k: [3, 3], s: [1, 1], d: [1, 1], p: [-1, -2, -1, 0] },
  {
    name: '3×3 stride 2, crop and pad',
    x: [1, 10, 9, 7],
    k: [3, 3],
    s: [2, 2],
    d: [1, 1],
    p: [-1, 2, 1, -2],
  },
  {
    name: '5×5 stride 3 dilation (1, 2), C = 7',
    x: [2, 13, 15, 7],
    k: [5, 5],
    s: [3, 3],
    d: [1, 2],
    p: [1, 3, 2, 0],
  },
  { name: '1×1 stride 2, C = 3', x: [2, 7, 7, 3], k: [1, 1], s: [2, 2], d: [1, 1], p: [0, 0, 0, 0] },
  {
    name: '5×4 stride (1, 2) dilation (2, 1), C = 2, crop and pad',
    x: [2, 11, 12, 2],
    k: [5, 4],
    s: [1, 2],
    d: [2, 1],
    p: [-1, 1, 0, 2],
  },
  { name: '3×5 dilation (1, 2), C = 3', x: [1, 8, 12, 3], k: [3, 5], s: [1, 1], d: [1, 2], p: [1, -1, 1, 3] },
  { name: '4×8 stride 3, C = 1', x: [2, 13, 17, 1], k: [4, 8], s: [3, 3], d: [1, 1], p: [2, 3, 1, 4] },
  { name: '2×2 stride 2, C = 8', x: [2, 6, 6, 8], k: [2, 2], s: [2, 2], d: [1, 1], p: [0, 0, 0, 0] },
  { name: '1×3, C = 12', x: [1, 5, 6, 12], k: [1, 3], s: [1, 1], d: [1, 1], p: [0, 1, 0, 1] },
  {
    name: '3×3 window larger than the padded-out rows',
    x: [1, 2, 2, 6],
    k: [3, 3],
    s: [1, 1],
    d: [1, 1],
    p: [1, 1, 1, 1],
  },
];

function geomOf(c: TapCase): ConvGeom {
  return { strides: c.s, dilations: c.d, pads: { top: c.p[0], left: c.p[1], bottom: c.p[2], right: c.p[3] } };
}

function outHW(c: TapCase): [number, number] {
  const [, h, w] = c.x;
  return [
    Math.floor((h + c.p[0] + c.p[2] - (c.d[0] * (c.k[0] - 1) + 1)) / c.s[0]) + 1,
    Math.floor((w + c.p[1] + c.p[3] - (c.d[1] * (c.k[1] - 1) + 1)) / c.s[1]) + 1,
  ];
}

function values(n: number, phase: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + phase) + 0.25 * Math.cos(i * 1.3));
}

/**
 * For every element of the tap matrix [n·oh·ow, c·kh·kw] ((c, kh, kw) order), the flat index of
 * the input element it reads, or −1 for one in the padding: the definition of im2col, which
 * both references below use.
 */
function tapSources(c: TapCase): Int32Array {
  const [n, h, w, ch] = c.x;
  const [kh, kw] = c.k;
  const [oh, ow] = outHW(c);
  const src = new Int32Array(n * oh * ow * ch * kh * kw);
  let e = 0;
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++)
        for (let q = 0; q < ch; q++)
          for (let i = 0; i < kh; i++)
            for (let j = 0; j < kw; j++) {
              const y = oy * c.s[0] + i * c.d[0] - c.p[0];
              const x = ox * c.s[1] + j * c.d[1] - c.p[1];
              src[e++] = y >= 0 && y < h && x >= 0 && x < w ? ((b * h + y) * w + x) * ch + q : -1;
            }
  return src;
}

function taps(backend: 'wasm' | 'cpu', c: TapCase, xv: Float32Array): Promise<Float32Array> {
  const [oh, ow] = outHW(c);
  return initBackend(backend).then(() =>
    tf.tidy(() => {
      const x = tf.tensor4d(xv, c.x);
      const t = extractTaps(x, [c.x[0], oh, ow, 1], c.k[0], c.k[1], geomOf(c));
      return t.dataSync() as Float32Array;
    }),
  );
}

function scatter(backend: 'wasm' | 'cpu', c: TapCase, cv: Float32Array): Promise<Float32Array> {
  const [oh, ow] = outHW(c);
  const k = c.x[3] * c.k[0] * c.k[1];
  return initBackend(backend).then(() =>
    tf.tidy(() => {
      const cols = tf.tensor2d(cv, [c.x[0] * oh * ow, k]);
      const dx = scatterTaps(cols, c.x, [c.x[0], oh, ow, 1], c.k[0], c.k[1], geomOf(c));
      return dx.dataSync() as Float32Array;
    }),
  );
}

describe('WASM tap kernels (im2col, col2im) and max-pool gradient', function () {
  this.timeout(120000);
  after(async () => {
    await initBackend('wasm');
  });

  for (const c of tapCases) {
    it(`${c.name}: im2col and col2im match the element-wise definition and the JS loops`, async () => {
      const src = tapSources(c);
      const xv = values(
        c.x.reduce((a, b) => a * b, 1),
        0.3,
      );
      // im2col copies: exact.
      const got = await taps('wasm', c, xv);
      assert.equal(got.length, src.length);
      for (let e = 0; e < src.length; e++) {
        const want = src[e] < 0 ? 0 : xv[src[e]];
        if (got[e] !== want) assert.fail(`im2col element ${e}: ${got[e]} ≠ ${want}`);
      }
      assert.deepEqual(got, await taps('cpu', c, xv));
      // col2im sums: against float64 sums of the same definition.
      const cv = values(src.length, 1.1);
      const want = new Float64Array(xv.length);
      for (let e = 0; e < src.length; e++) if (src[e] >= 0) want[src[e]] += cv[e];
      const dx = await scatter('wasm', c, cv);
      assert.equal(dx.length, want.length);
      for (let i = 0; i < want.length; i++)
        assert.ok(
          Math.abs(dx[i] - want[i]) <= 1e-5 * (1 + Math.abs(want[i])),
          `col2im ${i}: ${dx[i]} vs ${want[i]}`,
        );
      const js = await scatter('cpu', c, cv);
      for (let i = 0; i < want.length; i++)
        assert.ok(
          Math.abs(dx[i] - js[i]) <= 1e-6 * (1 + Math.abs(js[i])),
          `col2im ${i}: ${dx[i]} vs JS ${js[i]}`,
        );
    });
  }

  interface PoolCase {
    x: [number, number, number, number];
    k: number;
    s: number;
    pad: 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
  }
  const poolCases: PoolCase[] = [
    { x: [2, 9, 9, 64], k: 3, s: 2, pad: 'same' },
    { x: [2, 8, 8, 3], k: 3, s: 2, pad: 1 },
    { x: [1, 7, 9, 5], k: 3, s: 1, pad: 'same' },
    { x: [2, 8, 6, 1], k: 2, s: 2, pad: 'valid' },
    { x: [1, 10, 10, 7], k: 3, s: 2, pad: 'valid' },
    // Uneven explicit pads (an ONNX MaxPool with SAME_UPPER or ceil_mode is pooled so on WASM).
    {
      x: [2, 7, 8, 6],
      k: 3,
      s: 2,
      pad: [
        [0, 0],
        [0, 2],
        [1, 2],
        [0, 0],
      ],
    },
  ];
  for (const c of poolCases) {
    it(`max-pool ${c.k}×${c.k} stride ${c.s} pad ${JSON.stringify(c.pad)}, C = ${c.x[3]}: each window's maximum, and its first maximum gets the gradient`, async () => {
      await initBackend('wasm');
      const size = c.x.reduce((a, b) => a * b, 1);
      // Coarse values, half of them below zero: many ties inside windows, negative maxima next
      // to padded borders (padding must not count as a zero).
      const xv = Float32Array.from(values(size, 0.7), (v) => Math.round(v * 2) / 2 - 0.5);
      const info = tf.backend_util.computePool2DInfo(c.x, c.k, c.s, 1, c.pad);
      const dyv = values(c.x[0] * info.outHeight * info.outWidth * c.x[3], 2.1);
      const [got, pooled] = tf.tidy(() => {
        const x = tf.tensor4d(xv, c.x);
        const dy = tf.tensor4d(dyv, [c.x[0], info.outHeight, info.outWidth, c.x[3]]);
        const f = (t: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(t as tf.Tensor4D, c.k, c.s, c.pad), dy));
        const y = tf.maxPool(x, c.k, c.s, c.pad).dataSync() as Float32Array;
        return [tf.grad(f)(x).dataSync() as Float32Array, y];
      });
      const [n, h, w, ch] = c.x;
      const want = new Float64Array(size);
      const wantY = new Float32Array(pooled.length);
      let ties = 0;
      for (let b = 0; b < n; b++)
        for (let oy = 0; oy < info.outHeight; oy++)
          for (let ox = 0; ox < info.outWidth; ox++)
            for (let q = 0; q < ch; q++) {
              let best = -1;
              let count = 0;
              for (let i = 0; i < c.k; i++)
                for (let j = 0; j < c.k; j++) {
                  const y = oy * c.s + i - info.padInfo.top;
                  const x = ox * c.s + j - info.padInfo.left;
                  if (y < 0 || y >= h || x < 0 || x >= w) continue;
                  const at = ((b * h + y) * w + x) * ch + q;
                  if (best < 0 || xv[at] > xv[best]) [best, count] = [at, 1];
                  else if (xv[at] === xv[best]) count++;
                }
              if (count > 1) ties++;
              const o = ((b * info.outHeight + oy) * info.outWidth + ox) * ch + q;
              want[best] += dyv[o];
              wantY[o] = xv[best];
            }
      assert.ok(ties > 0, 'the case has tied maxima');
      assert.deepStrictEqual(Array.from(pooled), Array.from(wantY), 'the pooled values (padding skipped)');
      for (let i = 0; i < size; i++)
        assert.ok(
          Math.abs(got[i] - want[i]) <= 1e-6 * (1 + Math.abs(want[i])),
          `dx ${i}: ${got[i]} vs ${want[i]}`,
        );
    });
  }
});
