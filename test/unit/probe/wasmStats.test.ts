/**
 * The probe's statistics kernels on the WASM heap (gradStats, diffSq), in both builds, against
 * float64 references on odd lengths with zeros, negative values, NaN and Inf; every statistics
 * path (both WASM builds, the TF.js op path on every test backend) at float32's extremes (values
 * near 1e±38, subnormals, blocks mixing them), where squares leave float32's range; the
 * PassRecorder's WASM numbers against the CPU backend's op path; and the WASM Sum kernel (leading
 * axes as column sums, leading and trailing axes around a kept block as column sums then runs,
 * everything else through TF.js's own kernel) against the CPU backend.
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../runtime/probe/backend';
import { PassRecorder } from '../../../runtime/probe/passRecorder';
import { heapAddress, type WasmBackendHeap } from '../../../runtime/probe/wasm/heap';
import { wasmKernels } from '../../../runtime/probe/wasm/wasmKernels';
import { sumKernelRuns } from '../../../runtime/probe/wasm/sumKernel';
import { opStats } from '../../../runtime/probe/opStats';
import { readNow, type Moments, type Split } from '../../../runtime/probe/statsKernels';
import { testBackends } from '../helpers/testBackends';

const LENGTHS = [0, 1, 3, 4, 5, 17, 100003];

/** Mixed signs and magnitudes, every 7th value exactly zero (and one negative zero). */
function values(n: number, phase: number): Float32Array {
  const a = Float32Array.from({ length: n }, (_, i) =>
    i % 7 === 3 ? 0 : Math.sin(i * 1.3 + phase) * (1 + (i % 13)),
  );
  if (n > 10) a[10] = -0;
  return a;
}

function relErr(got: number, want: number): number {
  return want === 0 ? Math.abs(got) : Math.abs(got - want) / Math.abs(want);
}

/** The float64 reference of gradStats. */
function refStats(a: Float32Array): [number, number, number, number] {
  let sq = 0;
  let ab = 0;
  let mx = 0;
  let z = 0;
  for (const x of a) {
    sq += x * x;
    ab += Math.abs(x);
    mx = Number.isNaN(x) || Number.isNaN(mx) ? NaN : Math.max(mx, Math.abs(x));
    if (x === 0) z++;
  }
  return [sq, ab, mx, z];
}

function heap(): WasmBackendHeap {
  return tf.backend() as unknown as WasmBackendHeap;
}

describe('WASM statistics kernels', () => {
  before(async () => {
    await initBackend('wasm');
  });

  for (const build of ['fma', 'simd'] as const) {
    for (const n of LENGTHS) {
      it(`${build}: gradStats and diffSq of ${n} floats match float64 sums`, () => {
        const a = values(n, 0);
        const b = values(n, 2);
        const [ta, tb] = [tf.tensor1d(a), tf.tensor1d(b)];
        try {
          const k = wasmKernels(heap().wasm, build);
          const got = k.gradStats(heapAddress(heap(), ta), n);
          const want = refStats(a);
          assert.ok(relErr(got[0], want[0]) < 1e-6, `Σx² ${got[0]} vs ${want[0]}`);
          assert.ok(relErr(got[1], want[1]) < 1e-6, `Σ|x| ${got[1]} vs ${want[1]}`);
          assert.equal(got[2], want[2], 'max |x|');
          assert.equal(got[3], want[3], 'zeros');
          let s2 = 0;
          let d2 = 0;
          for (let i = 0; i < n; i++) {
            s2 += b[i] * b[i];
            d2 += (a[i] - b[i]) ** 2;
          }
          const [gs, gd] = k.diffSq(heapAddress(heap(), ta), heapAddress(heap(), tb), n);
          assert.ok(relErr(gs, s2) < 1e-6, `Σs² ${gs} vs ${s2}`);
          assert.ok(relErr(gd, d2) < 1e-6, `Σ(t−s)² ${gd} vs ${d2}`);
        } finally {
          tf.dispose([ta, tb]);
        }
      });
    }

    it(`${build}: NaN anywhere (vector body or tail) makes the sums and the max NaN; Inf gives Inf; both are counted`, () => {
      const k = wasmKernels(heap().wasm, build);
      for (const n of [5, 17, 1003]) {
        for (const at of [0, n - 1, Math.floor(n / 2)]) {
          for (const bad of [NaN, Infinity, -Infinity]) {
            const a = values(n, 1);
            a[at] = bad;
            const t = tf.tensor1d(a);
            const u = tf.tensor1d(values(n, 3));
            try {
              const [sq, ab, mx, z, nf] = k.gradStats(heapAddress(heap(), t), n);
              const want = Number.isNaN(bad) ? NaN : Infinity;
              assert.deepEqual([sq, ab, mx], [want, want, want], `n ${n}, ${bad} at ${at}`);
              assert.equal(z, refStats(a)[3], 'zeros still counted');
              assert.equal(nf, 1, 'one NaN/Inf');
              const [, br] = k.diffSq(heapAddress(heap(), t), heapAddress(heap(), u), n);
              assert.deepEqual(br, want, `Σ(t−s)² with ${bad} at ${at}`);
            } finally {
              tf.dispose([t, u]);
            }
          }
        }
      }
    });
  }
});

/** Seeded values at float32's extremes, by kind; every 11th exactly zero. */
function extreme(kind: string, n: number, phase: number): Float32Array {
  const scale: Record<string, (i: number) => number> = {
    huge: () => 1e38, // squares overflow float32
    large: (i) => 10 ** (20 + (i % 15)), // 1e20 … 1e34
    tiny: (i) => 10 ** (-30 - (i % 8)), // 1e-30 … 1e-37: squares underflow float32
    subnormal: (i) => 10 ** (-39 - (i % 6)), // 1e-39 … 1e-44: subnormal values themselves
    mixed: (i) => 10 ** (((i * 7919) % 76) - 38), // 1e-38 … 1e37 in one block
    spike: (i) => (i === 7 ? 1e30 : 1e-30), // one huge value among tiny ones
  };
  const a = Float32Array.from({ length: n }, (_, i) =>
    i % 11 === 4 ? 0 : (Math.sin(i * 1.3 + phase) + (i % 2 ? 1.1 : -1.1)) * scale[kind](i),
  );
  return a;
}

/** The float64 moments of float32 values. */
function refMoments(a: Float32Array): Moments {
  const [sumSq, sumAbs, maxAbs, zeros] = refStats(a);
  return { sumSq, sumAbs, maxAbs, zeros, nonFinite: 0 };
}

const KINDS = ['huge', 'large', 'tiny', 'subnormal', 'mixed', 'spike'];
const EXTREME_LENGTHS = [3, 17, 1000, 5003];

describe('statistics at float32’s extremes (float64 references)', () => {
  after(async () => {
    await initBackend('wasm');
  });

  /** The statistics paths: each WASM build on its heap, and the op path on each test backend. */
  const paths: {
    name: string;
    backend: 'wasm' | 'cpu';
    tol: number;
    moments(t: tf.Tensor): Moments;
    split(s: tf.Tensor, t: tf.Tensor): Split;
  }[] = [
    ...(['fma', 'simd'] as const).map((build) => ({
      name: `WASM ${build} kernels`,
      backend: 'wasm' as const,
      tol: 1e-6,
      moments(t: tf.Tensor): Moments {
        const [sumSq, sumAbs, maxAbs, zeros, nonFinite] = wasmKernels(heap().wasm, build).gradStats(
          heapAddress(heap(), t),
          t.size,
        );
        return { sumSq, sumAbs, maxAbs, zeros, nonFinite };
      },
      split(s: tf.Tensor, t: tf.Tensor): Split {
        const [skipSq, branchSq] = wasmKernels(heap().wasm, build).diffSq(
          heapAddress(heap(), t),
          heapAddress(heap(), s),
          t.size,
        );
        return { skipSq, branchSq };
      },
    })),
    ...testBackends
      .filter((b) => b === 'wasm' || b === 'cpu')
      .map((backend) => ({
        name: `TF.js ops on ${backend}`,
        backend,
        tol: 1e-5,
        moments: (t: tf.Tensor) => readNow(opStats.moments(t)),
        split: (s: tf.Tensor, t: tf.Tensor) => readNow(opStats.split(s, t)),
      })),
  ];

  for (const p of paths)
    for (const kind of KINDS)
      it(`${p.name}: ${kind} values, lengths ${EXTREME_LENGTHS.join(', ')}: exact sums, max, zeros and splits`, async () => {
        await initBackend(p.backend);
        for (const n of EXTREME_LENGTHS) {
          const a = extreme(kind, n, 0);
          const b = extreme(kind, n, 2);
          const [ta, tb] = [tf.tensor1d(a), tf.tensor1d(b)];
          try {
            const got = p.moments(ta);
            const want = refMoments(a);
            const what = `${kind}, n ${n}`;
            assert.ok(relErr(got.sumSq, want.sumSq) < p.tol, `${what}: Σx² ${got.sumSq} vs ${want.sumSq}`);
            assert.ok(got.sumSq > 0 && Number.isFinite(got.sumSq), `${what}: Σx² ${got.sumSq}`);
            assert.ok(
              relErr(got.sumAbs, want.sumAbs) < p.tol,
              `${what}: Σ|x| ${got.sumAbs} vs ${want.sumAbs}`,
            );
            assert.equal(got.maxAbs, want.maxAbs, `${what}: max |x|`);
            assert.equal(got.zeros, want.zeros, `${what}: zeros`);
            assert.equal(got.nonFinite, 0, `${what}: NaN/Inf`);
            let s2 = 0;
            let d2 = 0;
            for (let i = 0; i < n; i++) {
              s2 += b[i] * b[i];
              d2 += (a[i] - b[i]) ** 2;
            }
            const split = p.split(tb, ta);
            assert.ok(relErr(split.skipSq, s2) < p.tol, `${what}: Σs² ${split.skipSq} vs ${s2}`);
            assert.ok(relErr(split.branchSq, d2) < p.tol, `${what}: Σ(t−s)² ${split.branchSq} vs ${d2}`);
          } finally {
            tf.dispose([ta, tb]);
          }
        }
      });

  it('an all-zero skip or branch next to a tiny other side is exact (not a block of zeros)', async () => {
    await initBackend('wasm');
    for (const build of ['fma', 'simd'] as const) {
      const k = wasmKernels(heap().wasm, build);
      const n = 1024;
      const tiny = extreme('tiny', n, 1);
      const zeros = new Float32Array(n);
      const [tt, tz] = [tf.tensor1d(tiny), tf.tensor1d(zeros)];
      try {
        const want = refStats(tiny)[0];
        const [s1, b1] = k.diffSq(heapAddress(heap(), tt), heapAddress(heap(), tz), n); // skip all zero
        assert.equal(s1, 0);
        assert.ok(relErr(b1, want) < 1e-6, `${build}: branch ${b1} vs ${want}`);
        const [s2, b2] = k.diffSq(heapAddress(heap(), tt), heapAddress(heap(), tt), n); // branch all zero
        assert.ok(relErr(s2, want) < 1e-6, `${build}: skip ${s2} vs ${want}`);
        assert.equal(b2, 0);
      } finally {
        tf.dispose([tt, tz]);
      }
    }
  });

  it('the op path takes empty tensors (all zeros, as the WASM kernels give)', async () => {
    for (const backend of testBackends) {
      await initBackend(backend);
      const t = tf.tensor1d([]);
      try {
        assert.deepEqual(readNow(opStats.moments(t)), {
          sumSq: 0,
          sumAbs: 0,
          maxAbs: 0,
          zeros: 0,
          nonFinite: 0,
        });
        assert.deepEqual(readNow(opStats.split(t, t)), { skipSq: 0, branchSq: 0 });
      } finally {
        t.dispose();
      }
    }
  });

  it('the op path counts NaN and Inf and reports NaN (any NaN) or Infinity (else), on every test backend', async () => {
    for (const backend of testBackends) {
      await initBackend(backend);
      for (const [bad, want] of [
        [[NaN, Infinity], NaN],
        [[Infinity, -Infinity], Infinity],
      ] as const) {
        const a = extreme('mixed', 40, 0);
        a[3] = bad[0];
        a[30] = bad[1];
        const t = tf.tensor1d(a);
        try {
          const m = readNow(opStats.moments(t));
          assert.deepEqual([m.sumSq, m.sumAbs, m.maxAbs], [want, want, want], `${backend}: ${bad}`);
          assert.equal(m.nonFinite, 2);
          assert.equal(m.zeros, refStats(a)[3]);
          const sp = readNow(opStats.split(t, t));
          assert.ok(Number.isNaN(sp.skipSq) && Number.isNaN(sp.branchSq), 'a split with NaN/Inf is NaN');
        } finally {
          t.dispose();
        }
      }
    }
  });
});

describe('PassRecorder on WASM', () => {
  after(async () => {
    await initBackend('wasm');
  });

  it('records what the TF.js op path records on the CPU backend (and flags non-finite gradients)', async () => {
    const record = async () => {
      const rec = new PassRecorder(1);
      const dy = tf.tensor4d(values(2 * 5 * 5 * 3, 0), [2, 5, 5, 3]);
      const skip = tf.tensor4d(values(2 * 5 * 5 * 3, 1), [2, 5, 5, 3]);
      const g = tf.tensor2d(values(37, 2), [37, 1]);
      const bad = tf.tensor1d([1, NaN, 2]);
      const ints = tf.tensor1d([0, 3, -4, 0], 'int32');
      rec.activation('a', dy);
      rec.activation('ints', ints);
      rec.skip(0, skip, dy);
      rec.param(g);
      rec.param(bad);
      tf.dispose([dy, skip, g, bad, ints]);
      try {
        return await rec.read(1);
      } finally {
        rec.dispose();
      }
    };
    await initBackend('cpu');
    const want = await record();
    await initBackend('wasm');
    const got = await record();
    const close = (x: number, y: number, what: string) =>
      assert.ok(relErr(x, y) < 1e-6, `${what}: ${x} vs ${y}`);
    for (const name of ['a', 'ints']) {
      const [w, g] = [want.activations.get(name)!, got.activations.get(name)!];
      close(g.sumSq, w.sumSq, `${name} Σdy²`);
      assert.equal(g.zeros, w.zeros, `${name} zeros`);
      assert.equal(g.size, w.size);
    }
    close(got.skips[0].skipSq, want.skips[0].skipSq, 'skip Σ');
    close(got.skips[0].branchSq, want.skips[0].branchSq, 'branch Σ');
    close(got.params[0].sumSq, want.params[0].sumSq, 'param Σg²');
    close(got.params[0].sumAbs, want.params[0].sumAbs, 'param Σ|g|');
    assert.equal(got.params[0].maxAbs, want.params[0].maxAbs, 'param max |g|');
    assert.equal(got.params[0].nonFinite, 0);
    assert.equal(got.params[1].nonFinite, 1, 'NaN gradient flagged');
    assert.equal(want.params[1].nonFinite, 1, 'NaN gradient flagged on the CPU too');
    assert.ok(Number.isNaN(got.params[1].maxAbs));
  });
});

describe('WASM Sum kernel', () => {
  type Case = { shape: number[]; axis: number | number[] | null; keepDims?: boolean };
  const cases: Case[] = [
    { shape: [8, 5, 7, 13], axis: [0, 1, 2] },
    { shape: [8, 5, 7, 13], axis: [2, 0, 1], keepDims: true },
    { shape: [3, 50, 100], axis: [0, 1] }, // 100 columns: chunks of 32 and 4 floats
    { shape: [300, 63], axis: 0 }, // rows past one f32 block; chunks of 32, 16, 8, 4 and 3 single columns
    { shape: [2, 3, 37], axis: [0, 1], keepDims: true },
    { shape: [4, 1, 3], axis: [-3, -2] },
    { shape: [1000, 3], axis: [0] },
    { shape: [7, 9, 11], axis: null },
    { shape: [100003], axis: 0, keepDims: true },
    { shape: [8, 5, 7, 13], axis: [1, 2] }, // not leading: TF.js's kernel
    { shape: [8, 5, 7, 13], axis: [3] }, // trailing only: a run of 13 per kept element
    { shape: [2, 16, 4, 6, 5], axis: [0, 2, 3, 4] }, // a channels-first 3-D conv's bias gradient
    { shape: [2, 16, 4, 6, 5], axis: [4, 0, 3, 2], keepDims: true },
    { shape: [3, 4, 2, 300], axis: [0, 3] }, // two kept axes; runs past one f32 block
    { shape: [1, 6, 9], axis: [0, 2] },
    { shape: [5, 3, 4], axis: [0, 2] }, // runs shorter than MIN_RUN: TF.js's kernel
    { shape: [6, 10], axis: [0, 1], keepDims: true },
  ];

  const run = async (backend: 'wasm' | 'cpu', c: Case, dtype: 'float32' | 'int32' = 'float32') => {
    await initBackend(backend);
    return tf.tidy(() => {
      const size = c.shape.reduce((a, b) => a * b, 1);
      const data =
        dtype === 'int32' ? Int32Array.from({ length: size }, (_, i) => (i % 11) - 5) : values(size, 0.5);
      const x = tf.tensor(data, c.shape, dtype);
      const y = tf.sum(x, c.axis ?? undefined, c.keepDims);
      const mag = tf.sum(tf.abs(x), c.axis ?? undefined, c.keepDims);
      return {
        shape: y.shape,
        dtype: y.dtype,
        data: Array.from(y.dataSync()),
        mag: Array.from(mag.dataSync()),
      };
    });
  };

  after(async () => {
    await initBackend('wasm');
  });

  for (const c of cases) {
    it(`sum over ${JSON.stringify(c.axis)} of ${JSON.stringify(c.shape)}${c.keepDims ? ' (keepDims)' : ''} matches the CPU backend`, async () => {
      const want = await run('cpu', c);
      const got = await run('wasm', c);
      assert.deepEqual(got.shape, want.shape);
      assert.equal(got.dtype, want.dtype);
      // Within f32 rounding of each output's sum of magnitudes (the CPU backend sums in f32 too).
      want.data.forEach((w, i) =>
        assert.ok(Math.abs(got.data[i] - w) <= 1e-6 * want.mag[i], `element ${i}: ${got.data[i]} vs ${w}`),
      );
    });
  }

  it('reductions around a kept block run on the probe’s kernel, short runs on TF.js’s', async () => {
    const before = sumKernelRuns.around;
    await run('wasm', { shape: [2, 16, 4, 6, 5], axis: [0, 2, 3, 4] });
    assert.equal(sumKernelRuns.around, before + 2, 'the sum and the sum of magnitudes');
    await run('wasm', { shape: [5, 3, 4], axis: [0, 2] });
    await run('wasm', { shape: [8, 5, 7, 13], axis: [1, 2] });
    assert.equal(sumKernelRuns.around, before + 2, 'runs under MIN_RUN and middle axes stay with TF.js');
  });

  it('int32 sums over leading axes go through TF.js’s kernel, exactly', async () => {
    const c = { shape: [4, 6, 5], axis: [0, 1] };
    const want = await run('cpu', c, 'int32');
    const got = await run('wasm', c, 'int32');
    assert.deepEqual(got, want);
    assert.equal(got.dtype, 'int32');
  });
});
