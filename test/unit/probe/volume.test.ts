/**
 * Volumetric and video models (5-D tensors) on every test backend, beyond the checks every
 * fixture gets (gradients.test.ts: PyTorch float64; forward.test.ts: onnxruntime): which 3-D
 * implementation runs where, central finite differences on the tiny 3-D graphs (parameters and,
 * for the attribute variants, the input), the chunked and tap-rebuilding paths of the WASM
 * kernels against PyTorch, the memory estimate, and every refusal a 5-D graph can meet, as one
 * sentence naming the node.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { openModel } from '../../../runtime/analysis/openModel';
import { Executor } from '../../../runtime/probe/executor';
import { initBackend } from '../../../runtime/probe/backend';
import { makeLoss } from '../../../runtime/probe/losses';
import { isModelError } from '../../../runtime/errors';
import { volumeRuns, volumeSettings } from '../../../runtime/probe/convGrad3d';
import { estimatePassBytes } from '../../../runtime/probe/memoryGuard';
import { testBackends, useBackend } from '../helpers/testBackends';
import { assertMatchesRef, fullGrads, loadRef, readRef, root } from '../helpers/gradRefs';
import { GraphBuilder } from '../helpers/graphBuilder';

/** Deterministic, non-symmetric input values. */
function pattern(n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) + 0.1 * Math.cos(i * 1.3));
}

/**
 * The mean-square loss (mean over the outputs of mean(y²)) of a forward pass, summed in float64
 * on the JS side: finite differences of a float32 sum drown small gradients in rounding noise.
 */
async function lossF64(
  ex: Executor,
  feeds: Record<string, tf.Tensor>,
  hooks = {},
  params?: Map<string, tf.Tensor>,
): Promise<number> {
  // Read asynchronously: a GPU cannot be read back synchronously.
  const outs = tf.tidy(() => ex.run(feeds, hooks, params).map((v) => v.nat()));
  const ys = await Promise.all(outs.map((t) => t.data()));
  tf.dispose(outs);
  let total = 0;
  for (const y of ys) {
    let s = 0;
    for (const v of y) s += v * v;
    total += s / y.length;
  }
  return total / ys.length;
}

const totalRuns = () => volumeRuns.forward + volumeRuns.filter + volumeRuns.input;

const defaults = { ...volumeSettings };

/** Puts the 3-D kernel settings a test changed back. */
function restoreSettings(): void {
  Object.assign(volumeSettings, defaults);
}

for (const backend of testBackends) {
  describe(`volumetric and video models on ${backend}`, () => {
    before(async function () {
      await useBackend(this, backend);
    });
    after(async () => {
      await initBackend('wasm');
    });

    // gradients.test.ts and forward.test.ts check every fixture here against PyTorch and onnxruntime
    // on every backend; this checks which implementation ran.
    it(`the 3-D convolutions run on ${backend === 'wasm' ? "the probe's WASM kernels" : "TF.js's own 3-D kernels"}`, async () => {
      const ref = readRef('tiny_conv3d');
      const { ex, feeds } = await loadRef(ref);
      const before = totalRuns();
      try {
        await assertMatchesRef(ex, feeds, ref);
        if (backend === 'wasm') assert.ok(totalRuns() > before, 'the WASM 3-D kernels did not run');
        else assert.equal(totalRuns(), before, 'the WASM 3-D kernels ran off the WASM backend');
      } finally {
        tf.dispose(Object.values(feeds));
        ex.dispose();
      }
    });

    for (const name of ['tiny_conv3d', 'tiny_pool3d'])
      it(`${name}: central differences agree with autodiff for every parameter`, async () => {
        const ref = readRef(name);
        const { ex, feeds } = await loadRef(ref);
        try {
          const grads = await fullGrads(ex, feeds);
          const lossAt = (pm: Map<string, tf.Tensor>) => lossF64(ex, feeds, {}, pm);
          let compared = 0;
          for (const p of ex.params) {
            const base = (await p.tensor.data()) as Float32Array;
            const g = grads.get(p.name)!;
            // The element with the largest gradient, where float32 differences are meaningful.
            let idx = 0;
            g.forEach((v, i) => (Math.abs(v) > Math.abs(g[idx]) ? (idx = i) : 0));
            if (Math.abs(g[idx]) < 1e-6) continue;
            const h = 1e-2 * Math.max(1, Math.abs(base[idx]));
            const at = async (delta: number) => {
              const v = Float32Array.from(base);
              v[idx] += delta;
              const t = tf.tensor(v, p.tensor.shape);
              const l = await lossAt(new Map(ex.params.map((q) => [q.name, q === p ? t : q.tensor])));
              t.dispose();
              return l;
            };
            const fd = ((await at(h)) - (await at(-h))) / (2 * h);
            assert.ok(
              Math.abs(fd - g[idx]) <= 2e-2 * Math.abs(g[idx]) + 1e-5,
              `${p.name}[${idx}]: fd ${fd} vs ${g[idx]}`,
            );
            compared++;
          }
          assert.ok(
            compared >= ex.params.length * 0.8,
            `only ${compared}/${ex.params.length} parameters compared`,
          );
        } finally {
          tf.dispose(Object.values(feeds));
          ex.dispose();
        }
      });

    it('tiny_volume_variants (auto_pad, asymmetric pads, output_shape, LpPool, Resize): input gradients agree with central differences', async () => {
      const model = await openModel(path.join(root, 'test/fixtures/grads/tiny_volume_variants.onnx'));
      const ex = new Executor(model);
      try {
        const name = model.graph.inputs[0];
        const shape = [2, 2, 5, 7, 6];
        const n = shape.reduce((a, b) => a * b, 1);
        // Distinct values, so that no max-pool window changes its maximum within the step.
        const base = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) + 0.01 * i);
        const loss = makeLoss('mean-square', {}, model.file);
        // The input is tapped, so that convolutions reading it compute their input gradient too.
        const hooks = { inputs: new Set([name]) };
        const f = (x: tf.Tensor) => loss(ex.run({ [name]: x }, hooks, new Map()).map((v) => v.nat()));
        const x0 = tf.tensor(base, shape);
        const gT = tf.grad(f)(x0);
        const g = (await gT.data()) as Float32Array;
        tf.dispose([x0, gT]);
        const at = async (idx: number, delta: number) => {
          const v = Float64Array.from(base);
          v[idx] += delta;
          const t = tf.tensor(Float32Array.from(v), shape);
          const l = await lossF64(ex, { [name]: t }, hooks, new Map());
          t.dispose();
          return l;
        };
        // The largest gradients, plus elements spread over the whole input.
        const top = [...g.keys()].sort((a, b) => Math.abs(g[b]) - Math.abs(g[a])).slice(0, 8);
        const order = [...top, ...Array.from({ length: 24 }, (_, i) => Math.floor(((i + 0.5) * n) / 24))];
        const h = 1e-2;
        for (const idx of order) {
          const fd = ((await at(idx, h)) - (await at(idx, -h))) / (2 * h);
          // On a GPU, and on WASM (whose Sum adds in f64 blocks), the forward pass rounds
          // differently from the CPU backend's one-by-one float32 sums, and a step that crosses a
          // max-pool or nearest-resize boundary shows it: 1% there (input[822]: the same FD on both,
          // 0.03947 against the CPU's 0.03913, while the autodiff gradient is the same to 1e-8
          // everywhere; the gradients of every fixture are checked against PyTorch in
          // gradients.test.ts).
          const tol = backend === 'cpu' ? 5e-3 : 1e-2;
          assert.ok(
            Math.abs(fd - g[idx]) <= tol * Math.abs(g[idx]) + 1e-5,
            `input[${idx}]: fd ${fd} vs ${g[idx]}`,
          );
        }
        assert.ok(Math.abs(g[top[0]]) > 1e-3, 'gradients too small to compare');
      } finally {
        ex.dispose();
      }
    });
  });
}

describe('volumetric WASM kernels: chunked and rebuilt tap matrices', () => {
  before(async () => {
    await initBackend('wasm');
  });
  afterEach(restoreSettings);

  for (const name of ['unet3d', 'tiny_conv3d', 'r3d18'])
    it(`${name}: taps rebuilt in the backward pass, one output depth per chunk, same gradients`, async () => {
      // Nothing kept, and chunks of a single output depth: every chunk boundary is exercised.
      volumeSettings.keepTapsFloats = 0;
      volumeSettings.chunkFloats = 1;
      const ref = readRef(name);
      const { ex, feeds } = await loadRef(ref);
      try {
        await assertMatchesRef(ex, feeds, ref);
      } finally {
        tf.dispose(Object.values(feeds));
        ex.dispose();
      }
    });
});

describe('volumetric models: memory estimate', () => {
  afterEach(restoreSettings);
  it('counts the tap matrix of a 3-D conv only while it is small enough to be kept', async () => {
    const model = await openModel(path.join(root, 'test/fixtures/onnx/probe/unet3d.onnx'));
    // The tap matrices of the 3×3×3 convs, from the node shapes: output voxels × C/group × 27.
    let taps = 0;
    for (const n of model.graph.nodes) {
      const w = model.graph.values.get(n.inputs[1])?.initializer?.shape;
      if (n.op !== 'Conv' || !w || w[2] * w[3] * w[4] === 1) continue;
      const out = model.graph.values.get(n.outputs[0])!.shape!;
      taps += 2 * (out.slice(2) as number[]).reduce((a, b) => a * b, 1) * w[1] * w[2] * w[3] * w[4];
    }
    assert.ok(taps > 0);
    const kept = estimatePassBytes(model, 2);
    volumeSettings.keepTapsFloats = 0;
    assert.equal(kept - estimatePassBytes(model, 2), 4 * taps);
  });
});

/** A one-node graph on a 5-D input [2, 2, 4, 4, 4] (plus a weight for convolutions). */
function oneNode(
  op: string,
  attrs: Record<string, unknown>,
  opts: { weight?: number[]; outputs?: number; rank?: number } = {},
) {
  const b = new GraphBuilder();
  const shape = [2, 2, 4, 4, 4, 4].slice(0, opts.rank ?? 5);
  const x = b.input('x', shape);
  const inputs = [x];
  if (opts.weight) inputs.push(b.init('w', opts.weight));
  const outs = b.opN(op, inputs, { name: `my_${op}`, attrs: attrs as never, outputs: opts.outputs ?? 1 });
  b.output(outs[0]);
  return { model: b.model(), x: tf.tensor(pattern(shape.reduce((a, c) => a * c, 1)), shape) };
}

/** Asserts that a forward pass fails with one sentence naming the node and matching `what`. */
function refuses(model: ReturnType<typeof oneNode>['model'], x: tf.Tensor, what: RegExp): void {
  const ex = new Executor(model);
  try {
    assert.throws(
      () => ex.forward({ x }),
      (e: unknown) =>
        isModelError(e) &&
        /node "my_\w+" \(\w+\)/.test(e.message) &&
        what.test(e.message) &&
        !/\n/.test(e.message),
    );
  } finally {
    ex.dispose();
    x.dispose();
  }
}

describe('volumetric ops: refusals name the node', () => {
  before(async () => {
    await initBackend('wasm');
  });
  afterEach(restoreSettings);

  it("MaxPool's Indices output on a 5-D input", () => {
    const { model, x } = oneNode('MaxPool', { kernel_shape: [2, 2, 2], strides: [2, 2, 2] }, { outputs: 2 });
    model.graph.nodes[0].outputs[1] = 'idx';
    refuses(model, x, /Indices output on a 5-D input/);
  });

  it('pads that are not six values for a 5-D input', () => {
    const { model, x } = oneNode('Conv', { pads: [1, 1, 1, 1] }, { weight: [3, 2, 3, 3, 3] });
    refuses(model, x, /pads \[1,1,1,1\], which are not six values/);
  });

  it('a kernel_shape of the wrong length for a 5-D pool', () => {
    const { model, x } = oneNode('AveragePool', { kernel_shape: [2, 2] });
    refuses(model, x, /kernel_shape \[2,2\], which is not three values/);
  });

  it('a 4-D weight on a 5-D input', () => {
    const { model, x } = oneNode('Conv', {}, { weight: [3, 2, 3, 3] });
    refuses(model, x, /rank-4 weight for a 5-D input/);
  });

  it('a window larger than the padded volume', () => {
    const { model, x } = oneNode('Conv', {}, { weight: [3, 2, 5, 5, 5] });
    refuses(model, x, /window larger than its padded input/);
  });

  it('a ConvTranspose output_padding not smaller than its stride, and an output_shape past its full output', () => {
    const a = oneNode(
      'ConvTranspose',
      { strides: [2, 2, 2], output_padding: [0, 2, 0] },
      { weight: [2, 3, 2, 2, 2] },
    );
    refuses(a.model, a.x, /output_padding \[0,2,0\], which must be smaller than the stride/);
    const b = oneNode(
      'ConvTranspose',
      { strides: [2, 2, 2], output_shape: [8, 9, 8] },
      { weight: [2, 3, 2, 2, 2] },
    );
    refuses(b.model, b.x, /output_shape \[8,9,8\], larger than its full output \[8,8,8\]/);
  });

  it('a pool window larger than the padded volume', () => {
    const { model, x } = oneNode('MaxPool', { kernel_shape: [2, 5, 2], pads: [0, 0, 0, 0, 0, 0] });
    refuses(model, x, /has a window \(5\) larger than its padded input \(4\)/);
  });

  it('a 6-D input to a convolution or a Resize', () => {
    const conv = oneNode('Conv', {}, { weight: [3, 2, 1, 1, 1, 1], rank: 6 });
    refuses(conv.model, conv.x, /expects a 3-D, 4-D or 5-D input, got rank 6/);
    const b = new GraphBuilder();
    const xin = b.input('x', [2, 2, 4, 4, 4, 4]);
    const scales = b.init('scales', [6], [1, 1, 2, 2, 2, 2]);
    b.output(b.op('Resize', [xin, '', scales], { name: 'my_Resize', attrs: { mode: 'nearest' } }));
    refuses(b.model(), tf.zeros([2, 2, 4, 4, 4, 4]), /resizes a rank-6 tensor/);
  });

  it('3-D convolutions on the wasm backend without the probe kernels (TF.js own WASM 3-D gradients are wrong)', () => {
    volumeSettings.ownKernels = false;
    const { model, x } = oneNode('ConvTranspose', { strides: [2, 2, 2] }, { weight: [2, 3, 2, 2, 2] });
    refuses(model, x, /needs the probe's WebAssembly SIMD kernels for 3-D convolutions/);
  });
});
