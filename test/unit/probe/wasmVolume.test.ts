/**
 * The WASM 3-D tap kernels (scripts/wasm/volume.mjs) against im2col's definition, element by
 * element, over strides, dilations, pads (whole rows and planes in the padding, windows past the
 * input), output widths with and without a remainder past groups of four, strides along W (the
 * scalar path) and chunks of output depths; col2im3d as its exact adjoint, with and without
 * zeroing; and the 3-D convolutions built on them (convGrad3d.ts: forward, input and weight
 * gradients, groups, kept and rebuilt tap matrices, one-depth chunks, the weight gradient's
 * partial sums a depth or a batch element each, fused or not) against TF.js's own 3-D kernels on
 * the CPU backend.
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../runtime/probe/backend';
import { heapAddress, type WasmBackendHeap } from '../../../runtime/probe/wasm/heap';
import { wasmKernels, type VolumeTapGeometry } from '../../../runtime/probe/wasm/wasmKernels';
import { taskSettings } from '../../../runtime/probe/wasm/kernelTasks';
import {
  conv3dOwn,
  convOutSize,
  convTranspose3dOwn,
  volumeRuns,
  volumeSettings,
  type VolumeGeom,
} from '../../../runtime/probe/convGrad3d';

type T3 = [number, number, number];

interface TapCase {
  name: string;
  /** c, d, h, w of one batch element */
  x: [number, number, number, number];
  k: T3;
  s: T3;
  d: T3;
  /** begin pads (front, top, left) and end pads */
  pb: T3;
  pe: T3;
}

const tapCases: TapCase[] = [
  {
    name: '3×3×3 pad 1, C = 2',
    x: [2, 5, 6, 7],
    k: [3, 3, 3],
    s: [1, 1, 1],
    d: [1, 1, 1],
    pb: [1, 1, 1],
    pe: [1, 1, 1],
  },
  {
    name: '3×3×3 stride 2, OW a multiple of 4',
    x: [3, 6, 9, 15],
    k: [3, 3, 3],
    s: [2, 2, 2],
    d: [1, 1, 1],
    pb: [1, 1, 1],
    pe: [1, 1, 1],
  },
  {
    name: '1×1×1 stride (2, 1, 3)',
    x: [4, 5, 4, 10],
    k: [1, 1, 1],
    s: [2, 1, 3],
    d: [1, 1, 1],
    pb: [0, 0, 0],
    pe: [0, 0, 0],
  },
  {
    name: 'the (3, 7, 7)/(1, 2, 2) video stem',
    x: [3, 4, 13, 14],
    k: [3, 7, 7],
    s: [1, 2, 2],
    d: [1, 1, 1],
    pb: [1, 3, 3],
    pe: [1, 3, 3],
  },
  {
    name: 'dilation (2, 1, 3), asymmetric pads',
    x: [2, 7, 6, 11],
    k: [2, 3, 2],
    s: [1, 1, 1],
    d: [2, 1, 3],
    pb: [0, 1, 2],
    pe: [1, 0, 1],
  },
  {
    name: 'pads wider than the kernel reach (zero rows and planes)',
    x: [1, 3, 4, 5],
    k: [2, 2, 2],
    s: [1, 1, 1],
    d: [1, 1, 1],
    pb: [3, 2, 4],
    pe: [2, 3, 1],
  },
  {
    name: 'stride larger than the kernel',
    x: [2, 9, 8, 13],
    k: [2, 1, 2],
    s: [3, 3, 4],
    d: [1, 1, 1],
    pb: [1, 0, 1],
    pe: [0, 0, 0],
  },
  {
    name: 'window of the whole padded input',
    x: [2, 2, 3, 2],
    k: [3, 3, 3],
    s: [1, 1, 1],
    d: [1, 1, 1],
    pb: [1, 0, 1],
    pe: [0, 0, 0],
  },
  {
    name: '(1, 3, 3) spatial and (3, 1, 1) temporal',
    x: [5, 6, 5, 9],
    k: [1, 3, 3],
    s: [1, 1, 1],
    d: [1, 1, 1],
    pb: [0, 1, 1],
    pe: [0, 1, 1],
  },
  {
    name: 'kernel 5, stride 2, dilation 2 along W',
    x: [2, 4, 5, 23],
    k: [1, 2, 5],
    s: [1, 1, 2],
    d: [1, 1, 2],
    pb: [0, 0, 3],
    pe: [0, 1, 4],
  },
];

function outOf(c: TapCase): T3 {
  return convOutSize(c.x.slice(1), {
    kernel: c.k,
    strides: c.s,
    dilations: c.d,
    padBegin: c.pb,
    padEnd: c.pe,
  });
}

function values(n: number, phase: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + phase) + 0.25 * Math.cos(i * 1.3));
}

/**
 * For output depths [od0, od0 + odn), the flat input index each tap-matrix element reads (rows
 * (c, kd, kh, kw), columns the output voxels), or −1 in the padding: im2col's definition.
 */
function tapSources(c: TapCase, od0: number, odn: number): Int32Array {
  const [ch, dd, hh, ww] = c.x;
  const [, oh, ow] = outOf(c);
  const src = new Int32Array(ch * c.k[0] * c.k[1] * c.k[2] * odn * oh * ow);
  let e = 0;
  for (let q = 0; q < ch; q++)
    for (let i = 0; i < c.k[0]; i++)
      for (let j = 0; j < c.k[1]; j++)
        for (let k = 0; k < c.k[2]; k++)
          for (let oz = od0; oz < od0 + odn; oz++)
            for (let oy = 0; oy < oh; oy++)
              for (let ox = 0; ox < ow; ox++) {
                const z = oz * c.s[0] + i * c.d[0] - c.pb[0];
                const y = oy * c.s[1] + j * c.d[1] - c.pb[1];
                const x = ox * c.s[2] + k * c.d[2] - c.pb[2];
                const inside = z >= 0 && z < dd && y >= 0 && y < hh && x >= 0 && x < ww;
                src[e++] = inside ? ((q * dd + z) * hh + y) * ww + x : -1;
              }
  return src;
}

function geometry(c: TapCase, od0: number, odn: number): VolumeTapGeometry {
  const [ch, d, h, w] = c.x;
  const [, oh, ow] = outOf(c);
  return {
    c: ch,
    d,
    h,
    w,
    od0,
    odn,
    oh,
    ow,
    kd: c.k[0],
    kh: c.k[1],
    kw: c.k[2],
    sd: c.s[0],
    sh: c.s[1],
    sw: c.s[2],
    dd: c.d[0],
    dh: c.d[1],
    dw: c.d[2],
    front: c.pb[0],
    top: c.pb[1],
    left: c.pb[2],
  };
}

describe('WASM 3-D tap kernels (im2col3d, col2im3d)', () => {
  let backend: WasmBackendHeap;
  before(async () => {
    await initBackend('wasm');
    backend = tf.backend() as unknown as WasmBackendHeap;
  });

  for (const build of ['fma', 'simd'] as const)
    for (const c of tapCases) {
      it(`${c.name} (${build}): im2col3d is im2col, over the whole output and in chunks of depths`, () => {
        const k = wasmKernels(backend.wasm, build);
        const [ch, d, h, w] = c.x;
        const [od] = outOf(c);
        const xv = values(ch * d * h * w, 0.3);
        const x = tf.tensor(xv);
        // The whole output, then output depths one or two at a time from the middle.
        const chunks: [number, number][] = [
          [0, od],
          ...(od > 1 ? [[1, Math.min(2, od - 1)] as [number, number]] : []),
        ];
        for (const [od0, odn] of chunks) {
          const src = tapSources(c, od0, odn);
          const out = tf.tensor(new Float32Array(src.length).fill(Number.NaN)); // every float must be written
          k.im2col3d(heapAddress(backend, x), heapAddress(backend, out), geometry(c, od0, odn));
          const got = out.dataSync();
          src.forEach((s, e) =>
            assert.equal(got[e], s < 0 ? 0 : xv[s], `element ${e} of depths ${od0}+${odn}`),
          );
          out.dispose();
        }
        x.dispose();
      });

      it(`${c.name} (${build}): col2im3d is the adjoint of im2col3d, zeroing or accumulating`, () => {
        const k = wasmKernels(backend.wasm, build);
        const [ch, d, h, w] = c.x;
        const [od] = outOf(c);
        const src = tapSources(c, 0, od);
        const cv = values(src.length, 1.1);
        const want = new Float64Array(ch * d * h * w);
        src.forEach((s, e) => {
          if (s >= 0) want[s] += cv[e];
        });
        const cols = tf.tensor(cv);
        const start = values(want.length, 2.0);
        const dx = tf.tensor(start);
        k.col2im3d(heapAddress(backend, cols), heapAddress(backend, dx), geometry(c, 0, od), true);
        const got = dx.dataSync();
        want.forEach((v, i) =>
          assert.ok(Math.abs(got[i] - v) <= 1e-5 * (1 + Math.abs(v)), `dx[${i}] ${got[i]} vs ${v}`),
        );
        // Without zeroing, chunks of one output depth each add onto what is there: the tap
        // matrix split by depth (each row's columns cut per depth, rows in order).
        const acc = tf.tensor(start);
        const nRows = ch * c.k[0] * c.k[1] * c.k[2];
        const colsPerRow = cv.length / nRows;
        const planeSize = colsPerRow / od;
        for (let oz = 0; oz < od; oz++) {
          const chunk = new Float32Array(nRows * planeSize);
          for (let r = 0; r < nRows; r++)
            chunk.set(
              cv.subarray(r * colsPerRow + oz * planeSize, r * colsPerRow + (oz + 1) * planeSize),
              r * planeSize,
            );
          const t = tf.tensor(chunk);
          k.col2im3d(heapAddress(backend, t), heapAddress(backend, acc), geometry(c, oz, 1), false);
          t.dispose();
        }
        const got2 = acc.dataSync();
        want.forEach((v, i) => {
          const e = v + start[i];
          assert.ok(
            Math.abs(got2[i] - e) <= 1e-5 * (1 + Math.abs(e)),
            `accumulated dx[${i}] ${got2[i]} vs ${e}`,
          );
        });
        tf.dispose([cols, dx, acc]);
      });
    }
});

interface ConvCase {
  name: string;
  x: [number, number, number, number, number];
  /** ONNX weight: conv [co, ci/g, k…]; transposed conv [ci, co/g, k…] */
  w: [number, number, number, number, number];
  g: VolumeGeom;
  group: number;
  transposed?: boolean;
  /** transposed convolutions: output_padding */
  op?: T3;
}

const geom = (k: T3, s: T3, d: T3, pb: T3, pe: T3): VolumeGeom => ({
  kernel: k,
  strides: s,
  dilations: d,
  padBegin: pb,
  padEnd: pe,
});

const convCases: ConvCase[] = [
  {
    name: '3×3×3 pad 1',
    x: [2, 3, 5, 6, 7],
    w: [4, 3, 3, 3, 3],
    g: geom([3, 3, 3], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1]),
    group: 1,
  },
  {
    name: 'stem (3, 7, 7)/(1, 2, 2)',
    x: [2, 3, 4, 11, 12],
    w: [5, 3, 3, 7, 7],
    g: geom([3, 7, 7], [1, 2, 2], [1, 1, 1], [1, 3, 3], [1, 3, 3]),
    group: 1,
  },
  {
    name: '1×1×1 (plain)',
    x: [2, 6, 3, 4, 5],
    w: [3, 6, 1, 1, 1],
    g: geom([1, 1, 1], [1, 1, 1], [1, 1, 1], [0, 0, 0], [0, 0, 0]),
    group: 1,
  },
  {
    name: '1×1×1 stride 2 projection',
    x: [2, 4, 5, 6, 7],
    w: [6, 4, 1, 1, 1],
    g: geom([1, 1, 1], [2, 2, 2], [1, 1, 1], [0, 0, 0], [0, 0, 0]),
    group: 1,
  },
  {
    name: 'groups 3, dilation (1, 2, 2), asymmetric pads',
    x: [2, 6, 4, 7, 8],
    w: [9, 2, 2, 3, 3],
    g: geom([2, 3, 3], [1, 1, 2], [1, 2, 2], [0, 2, 1], [1, 1, 2]),
    group: 3,
  },
  {
    name: 'depthwise (3, 1, 1)',
    x: [1, 4, 6, 3, 5],
    w: [4, 1, 3, 1, 1],
    g: geom([3, 1, 1], [1, 1, 1], [1, 1, 1], [1, 0, 0], [1, 0, 0]),
    group: 4,
  },
  {
    name: 'transposed 2×2×2 stride 2',
    x: [2, 4, 3, 4, 5],
    w: [4, 3, 2, 2, 2],
    g: geom([2, 2, 2], [2, 2, 2], [1, 1, 1], [0, 0, 0], [0, 0, 0]),
    group: 1,
    transposed: true,
    op: [0, 0, 0],
  },
  {
    name: 'transposed 3×3×3 stride 2 pad 1, output_padding 1',
    x: [2, 3, 3, 4, 3],
    w: [3, 2, 3, 3, 3],
    g: geom([3, 3, 3], [2, 2, 2], [1, 1, 1], [1, 1, 1], [1, 1, 1]),
    group: 1,
    transposed: true,
    op: [1, 1, 1],
  },
  {
    name: 'transposed, groups 2, dilation 2 along H',
    x: [1, 4, 3, 3, 4],
    w: [4, 3, 2, 3, 3],
    g: geom([2, 3, 3], [1, 2, 2], [1, 2, 1], [0, 2, 1], [0, 2, 1]),
    group: 2,
    transposed: true,
    op: [0, 1, 0],
  },
];

/** Output spatial size of a transposed convolution. */
function transposedOut(c: ConvCase): T3 {
  const inSize = c.x.slice(2);
  return [0, 1, 2].map(
    (i) =>
      c.g.strides[i] * (inSize[i] - 1) +
      c.op![i] +
      (c.g.kernel[i] - 1) * c.g.dilations[i] +
      1 -
      c.g.padBegin[i] -
      c.g.padEnd[i],
  ) as T3;
}

/**
 * A reference of the same convolution on the CPU backend: the input zero-padded by hand, every
 * tap gathered along each axis, and the sum over taps of per-group matrix products,
 * differentiated by TF.js autodiff.
 */
function referenceConv(c: ConvCase, x: tf.Tensor, w: tf.Tensor): tf.Tensor {
  const { kernel: k, strides: s, dilations: d, padBegin: pb, padEnd: pe } = c.g;
  const [n, ci, ...inSize] = x.shape;
  const co = w.shape[0];
  const out = convOutSize(inSize, c.g);
  const xp = tf.pad(x, [[0, 0], [0, 0], ...pb.map((p, i) => [p, pe[i]] as [number, number])]);
  const cig = ci / c.group;
  const cog = co / c.group;
  let y: tf.Tensor | undefined;
  for (let i = 0; i < k[0]; i++)
    for (let j = 0; j < k[1]; j++)
      for (let q = 0; q < k[2]; q++) {
        // The tap: every s-th position from the tap's offset, along each spatial axis.
        let tap = xp;
        [i, j, q].forEach((t, ax) => {
          const idx = Array.from({ length: out[ax] }, (_, o) => t * d[ax] + o * s[ax]);
          tap = tf.gather(tap, tf.tensor1d(idx, 'int32'), ax + 2);
        });
        const parts: tf.Tensor[] = [];
        for (let g = 0; g < c.group; g++) {
          const xt = tf.reshape(tf.slice(tap, [0, g * cig, 0, 0, 0], [n, cig, ...out]), [n, cig, -1]);
          const wt = tf.reshape(tf.slice(w, [g * cog, 0, i, j, q], [cog, cig, 1, 1, 1]), [cog, cig]);
          const flat = tf.reshape(tf.transpose(xt, [1, 0, 2]), [cig, -1]);
          parts.push(tf.transpose(tf.reshape(tf.matMul(wt, flat), [cog, n, -1]), [1, 0, 2]));
        }
        const t = tf.reshape(tf.concat(parts, 1), [n, co, ...out]);
        y = y ? tf.add(y, t) : t;
      }
  return y!;
}

describe('WASM 3-D convolutions (convGrad3d.ts) vs a CPU reference', () => {
  const defaults = { ...volumeSettings };
  const taskDefaults = { ...taskSettings };
  afterEach(() => {
    Object.assign(volumeSettings, defaults);
    Object.assign(taskSettings, taskDefaults);
  });
  for (const c of convCases)
    for (const mode of [
      'kept taps',
      'rebuilt taps, one depth per chunk',
      'rebuilt taps, one depth per chunk, one weight-gradient partial per batch element',
      'rebuilt taps, one depth per chunk, not fused',
    ] as const)
      it(`${c.name}, ${mode}: output, input gradient and weight gradient`, async () => {
        const [n, , ...inSize] = c.x;
        const xv = values(
          c.x.reduce((a, b) => a * b, 1),
          0.2,
        );
        const wv = values(
          c.w.reduce((a, b) => a * b, 1),
          0.9,
        );
        const outSize = c.transposed ? transposedOut(c) : convOutSize(inSize, c.g);
        const coOut = c.transposed ? c.w[1] * c.group : c.w[0];
        const rv = values(n * coOut * outSize.reduce((a, b) => a * b, 1), 1.7);
        // Loss Σ y·r: its gradients are the backprops of r.
        const run = (f: (x: tf.Tensor, w: tf.Tensor) => tf.Tensor) =>
          tf.tidy(() => {
            const x = tf.tensor(xv, c.x);
            const w = tf.tensor(wv, c.w);
            const r = tf.tensor(rv, [n, coOut, ...outSize]);
            const { value, grads } = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor) =>
              tf.sum(tf.mul(f(a, b), r)),
            )([x, w]);
            return [f(x, w).dataSync(), grads[0].dataSync(), grads[1].dataSync(), value.dataSync()].map((v) =>
              Float32Array.from(v),
            );
          });
        await initBackend('cpu');
        // The reference. A transposed convolution T is the adjoint of the convolution C from its
        // output back to its input, so for the loss Σ T(x, w)·r: T(x, w) = ∇ᵣ Σ x·C(r, w), the
        // input gradient is C(r, w) and the weight gradient ∇_w Σ x·C(r, w).
        const want = c.transposed
          ? tf.tidy(() => {
              const x = tf.tensor(xv, c.x);
              const w = tf.tensor(wv, c.w);
              const r = tf.tensor(rv, [n, coOut, ...outSize]);
              const y = tf.grad((q: tf.Tensor) => tf.sum(tf.mul(referenceConv(c, q, w), x)))(r);
              const dw = tf.grad((q: tf.Tensor) => tf.sum(tf.mul(referenceConv(c, r, q), x)))(w);
              return [y, referenceConv(c, r, w), dw].map((t) => Float32Array.from(t.dataSync()));
            })
          : run((x, w) => referenceConv(c, x, w));
        await initBackend('wasm');
        if (mode !== 'kept taps') {
          volumeSettings.keepTapsFloats = 0;
          volumeSettings.chunkFloats = 1;
        }
        // Partials of at most one float: every batch element's depths in one block, summed in one.
        if (mode.endsWith('per batch element')) taskSettings.maxPartialFloats = 1;
        // Each step's copy and product as calls of their own (a depth's tap matrix past fusedFloats).
        if (mode.endsWith('not fused')) volumeSettings.fusedFloats = 0;
        const before = volumeRuns.forward + volumeRuns.filter + volumeRuns.input;
        const got = run((x, w) =>
          c.transposed
            ? convTranspose3dOwn(x, w, c.g, c.group, outSize, true)
            : conv3dOwn(x, w, c.g, c.group, true),
        );
        assert.equal(
          volumeRuns.forward + volumeRuns.filter + volumeRuns.input - before,
          4,
          'the kernels ran',
        );
        ['output', 'input gradient', 'weight gradient'].forEach((what, k) => {
          const a = got[k];
          const b = want[k];
          assert.equal(a.length, b.length, `${what}: size`);
          let err = 0;
          let mag = 0;
          for (let i = 0; i < b.length; i++) {
            err = Math.max(err, Math.abs(a[i] - b[i]));
            mag = Math.max(mag, Math.abs(b[i]));
          }
          assert.ok(err <= 2e-5 * Math.max(mag, 1), `${what}: max error ${err} vs max ${mag}`);
        });
      });
});
