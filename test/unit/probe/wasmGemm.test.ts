/**
 * The probe's own WebAssembly SGEMM (runtime/probe/wasm): both builds (relaxed-SIMD FMA and plain
 * SIMD) against a float64 product computed here, over shapes that hit every edge of the blocking
 * (partial register tiles, K past one KC block, N past one NC block, K = 0), transposed operands
 * and accumulation, and products of few rows, which read B in place (the same bits as packed) and
 * end in a smaller register tile; and tf.matMul on WASM (now that kernel) with broadcast batches (the pure-JS CPU
 * backend gets those wrong in TF.js 4.22, so the reference is computed here). The generated module must match its generator.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../runtime/probe/backend';
import { wasmKernels, type EmscriptenHeap } from '../../../runtime/probe/wasm/wasmKernels';
import { heapAddress, type WasmBackendHeap } from '../../../runtime/probe/wasm/heap';
import { PACKED_KC, packedB, packedBFloats } from '../../../runtime/probe/wasm/kernelTasks';

function values(n: number, phase: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + phase) + 0.25 * Math.cos(i * 1.3));
}

/** C = A·B (+ C0) in float64, A [m×k] or its transpose stored [k×m], likewise B. */
function reference(
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  ta: boolean,
  b: Float32Array,
  tb: boolean,
  c0?: Float32Array,
): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = c0 ? c0[i * n + j] : 0;
      for (let p = 0; p < k; p++) s += a[ta ? p * m + i : i * k + p] * b[tb ? j * k + p : p * n + j];
      c[i * n + j] = s;
    }
  return c;
}

function worstError(want: Float64Array, got: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < want.length; i++)
    worst = Math.max(worst, Math.abs(want[i] - got[i]) / (1 + Math.abs(want[i])));
  return worst;
}

describe('WASM SGEMM kernels', function () {
  this.timeout(120000);
  let backend: WasmBackendHeap;

  before(async () => {
    await initBackend('wasm');
    backend = tf.backend() as unknown as WasmBackendHeap;
  });

  it('the committed module is what scripts/make_wasm_kernels.mjs generates', () => {
    const r = spawnSync(process.execPath, ['scripts/make_wasm_kernels.mjs', '--check'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });

  it('uses the relaxed-SIMD (FMA) build under this Node', () => {
    assert.equal(wasmKernels(backend.wasm as EmscriptenHeap).build, 'fma');
  });

  const shapes: [number, number, number][] = [
    [1, 1, 1],
    [7, 9, 13],
    [6, 8, 256],
    [13, 17, 300], // K past one KC block of 256
    [31, 33, 2], // edge tiles on both sides
    [12, 21, 300], // few rows: B read in place, K past KC, a partial last panel
    [10, 16, 40], // 6 + 4 rows: the last 4 in the smaller tile, straight into C
    [4, 9, 7], // the smaller tile alone, and on a partial panel
    [8, 16, 33], // 6 + 2 rows run as two tiles of 4 (packed as two panels of 4), straight into C
    [2, 16, 33], // the two-row tile alone, straight into C
    [7, 16, 20], // 6 + 1 rows: the last row in the two-row tile through the edge buffer
    [14, 16, 33], // 6 + 4 + 4 rows
    [20, 12, 300], // 6 + 6 + 4 + 4 rows with B packed, K past KC, a partial last panel
    [150, 40, 70], // M past one MC block
    [152, 9, 20], // M past one MC block by 8 rows: the second block as two tiles of 4
    [5, 4100, 3], // N past one NC block of 4096
    [3, 5, 0], // K = 0
  ];
  for (const build of ['fma', 'simd'] as const)
    for (const [m, n, k] of shapes)
      it(`${build}: ${m}×${k} · ${k}×${n}, every transpose, with and without accumulation`, () => {
        const kernels = wasmKernels(backend.wasm as EmscriptenHeap, build);
        assert.equal(kernels.build, build);
        for (const ta of [false, true])
          for (const tb of [false, true])
            for (const acc of [false, true]) {
              const av = values(m * k, 0.1);
              const bv = values(k * n, 0.7);
              const cv = values(m * n, 1.9);
              tf.tidy(() => {
                const a = tf.tensor(av);
                const b = tf.tensor(bv);
                const c = tf.tensor(cv);
                kernels.sgemm(
                  m,
                  n,
                  k,
                  { ptr: heapAddress(backend, a), rowStride: ta ? 1 : k, colStride: ta ? m : 1 },
                  { ptr: heapAddress(backend, b), rowStride: tb ? 1 : n, colStride: tb ? k : 1 },
                  heapAddress(backend, c),
                  n,
                  acc,
                );
                const err = worstError(
                  reference(m, n, k, av, ta, bv, tb, acc ? cv : undefined),
                  c.dataSync() as Float32Array,
                );
                assert.ok(err < 1e-5, `ta=${ta} tb=${tb} acc=${acc}: worst relative error ${err}`);
              });
            }
      });

  it('a product of few rows reads B in place with the same bits as when it packs B', () => {
    // B's rows contiguous: read in place (at most DIRECT_M rows); the same B stored transposed:
    // packed. The same multiply-adds in the same order, so C must agree bit for bit.
    for (const build of ['fma', 'simd'] as const)
      for (const [m, n, k] of [
        [1, 16, 40],
        [8, 21, 300],
        [12, 4100, 5],
      ]) {
        const kernels = wasmKernels(backend.wasm as EmscriptenHeap, build);
        const bv = values(k * n, 0.4);
        const bt = new Float32Array(k * n);
        for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) bt[j * k + p] = bv[p * n + j];
        const [inPlace, packed] = [false, true].map((tb) =>
          tf.tidy(() => {
            const a = tf.tensor(values(m * k, 0.2));
            const b = tf.tensor(tb ? bt : bv);
            const c = tf.tensor(values(m * n, 1.3));
            kernels.sgemm(
              m,
              n,
              k,
              { ptr: heapAddress(backend, a), rowStride: k, colStride: 1 },
              { ptr: heapAddress(backend, b), rowStride: tb ? 1 : n, colStride: tb ? k : 1 },
              heapAddress(backend, c),
              n,
              true,
            );
            return c.dataSync() as Float32Array;
          }),
        );
        assert.deepEqual(inPlace, packed, `${build} ${m}×${k} · ${k}×${n}`);
      }
  });

  it('a B packed once (packB) gives the same bits as the products that pack it themselves', async () => {
    // The blocking constant the packed layout assumes must be the module's.
    const gemm = (await import(path.resolve(__dirname, '../../../scripts/wasm/gemm.mjs'))) as { KC: number };
    assert.equal(PACKED_KC, gemm.KC);
    for (const build of ['fma', 'simd'] as const)
      for (const [m, n, k] of [
        [1, 16, 40], // few rows: unpacked, B is read in place
        [8, 21, 300], // K past KC (a second block of 44 rows), a partial last panel
        [31, 33, 2],
        [150, 40, 70], // M past one MC block
        [5, 4100, 3], // N past one NC block
        [6, 8, 512], // two whole KC blocks
        [3, 5, 0], // K = 0
      ]) {
        const kernels = wasmKernels(backend.wasm as EmscriptenHeap, build);
        for (const tb of [false, true])
          for (const acc of [false, true]) {
            const [own, once] = [false, true].map((packOnce) =>
              tf.tidy(() => {
                const a = tf.tensor(values(m * k, 0.2));
                const b = tf.tensor(values(k * n, 0.4));
                const c = tf.tensor(values(m * n, 1.3));
                const br = { ptr: heapAddress(backend, b), rowStride: tb ? 1 : n, colStride: tb ? k : 1 };
                let right = br;
                if (packOnce) {
                  const packed = tf.fill([Math.max(packedBFloats(k, n), 1)], Number.NaN);
                  kernels.packB(br, k, n, heapAddress(backend, packed));
                  right = packedB(heapAddress(backend, packed), n);
                }
                kernels.sgemm(
                  m,
                  n,
                  k,
                  { ptr: heapAddress(backend, a), rowStride: k, colStride: 1 },
                  right,
                  heapAddress(backend, c),
                  n,
                  acc,
                );
                return c.dataSync() as Float32Array;
              }),
            );
            assert.ok(
              own.every((v) => Number.isFinite(v)),
              `${build} ${m}×${k} · ${k}×${n}: unwritten outputs`,
            );
            assert.deepEqual(once, own, `${build} ${m}×${k} · ${k}×${n} tb=${tb} acc=${acc}`);
          }
      }
  });

  it('tf.matMul on WASM: transposed operands and broadcast batches match a float64 product', () => {
    const cases: { a: number[]; b: number[]; ta: boolean; tb: boolean }[] = [
      { a: [3, 5, 7], b: [3, 7, 4], ta: false, tb: false },
      { a: [2, 1, 7, 5], b: [3, 4, 7], ta: true, tb: true },
      { a: [9, 20], b: [1, 20, 11], ta: false, tb: false },
      { a: [4, 6, 3], b: [6, 2], ta: true, tb: false },
    ];
    const size = (s: number[]) => s.reduce((p, q) => p * q, 1);
    for (const c of cases) {
      const av = values(size(c.a), 0.3);
      const bv = values(size(c.b), 1.1);
      const got = tf.tidy(() => {
        const y = tf.matMul(tf.tensor(av, c.a), tf.tensor(bv, c.b), c.ta, c.tb);
        return { shape: y.shape, data: y.dataSync() as Float32Array };
      });
      const ra = c.a.length;
      const rb = c.b.length;
      const m = c.ta ? c.a[ra - 1] : c.a[ra - 2];
      const k = c.ta ? c.a[ra - 2] : c.a[ra - 1];
      const n = c.tb ? c.b[rb - 2] : c.b[rb - 1];
      // Broadcast batch dims, right-aligned (NumPy rules), walked here independently of the kernel.
      const oa = c.a.slice(0, -2);
      const ob = c.b.slice(0, -2);
      const rank = Math.max(oa.length, ob.length);
      const pa = [...Array(rank - oa.length).fill(1), ...oa];
      const pb = [...Array(rank - ob.length).fill(1), ...ob];
      const outer = pa.map((d, i) => Math.max(d, pb[i]));
      assert.deepEqual(got.shape, [...outer, m, n]);
      for (let o = 0; o < size(outer); o++) {
        let rem = o;
        let ia = 0;
        let ib = 0;
        let sa = 1;
        let sb = 1;
        for (let ax = rank - 1; ax >= 0; ax--) {
          const pos = rem % outer[ax];
          rem = Math.floor(rem / outer[ax]);
          ia += (pa[ax] === 1 ? 0 : pos) * sa;
          ib += (pb[ax] === 1 ? 0 : pos) * sb;
          sa *= pa[ax];
          sb *= pb[ax];
        }
        const want = reference(
          m,
          n,
          k,
          av.subarray(ia * m * k, (ia + 1) * m * k),
          c.ta,
          bv.subarray(ib * k * n, (ib + 1) * k * n),
          c.tb,
        );
        const err = worstError(want, got.data.subarray(o * m * n, (o + 1) * m * n));
        assert.ok(err < 1e-5, `${JSON.stringify(c)} batch ${o}: worst relative error ${err}`);
      }
    }
  });
});
