/**
 * The webgpu backend's own pieces (runtime/probe/webgpu/), each against TF.js's CPU kernels or
 * a sentence: the kernels replaced above rank 4 (PadV2, MirrorPad, Reverse, Select, and the pad
 * that the gradient of a slice is), int32 and bool transposes, the nearest-resize gradient at
 * half-pixel centres, max-pool ties; shape arithmetic that stays readable on the CPU; a kernel
 * WebGPU lacks; validation errors, a lost device and GPU buffer limits ending a run with a
 * clear error (and the next run starting a new device); and adapters named for what they are.
 * Every GPU computation runs inside gpuGuard, so a dropped kernel fails the test.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, releaseBackends } from '../../../runtime/probe/backend';
import { guardGpu } from '../../../runtime/probe/webgpu/gpuGuard';
import { webgpuDevice } from '../../../runtime/probe/webgpu/webgpuBackend';
import { HostReadError, HOST_ELEMENTS } from '../../../runtime/probe/webgpu/hostValues';
import { adapterLabel, isSoftwareAdapter } from '../../../runtime/probe/webgpu/gpuAdapter';
import { registerResizeGradKernel } from '../../../runtime/probe/resizeGradKernels';
import { checkMemory } from '../../../runtime/probe/memoryGuard';
import { openModel } from '../../../runtime/analysis/openModel';
import { releaseExecutor, runProbe } from '../../../runtime/probe/runProbe';
import { isModelError } from '../../../runtime/errors';
import type { AdapterDescription } from '../../../runtime/probe/probeTypes';
import { useBackend } from '../helpers/testBackends';

const root = path.resolve(__dirname, '../../..');
const guard = { file: 'test', step: 'the kernel', batchSize: 1 };

/** Deterministic values of `shape` (ints when `int`). */
function values(shape: number[], seed: number, int = false): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = Array.from({ length: n }, (_, i) => Math.sin(i * 1.37 + seed * 2.1) * 5);
  return int ? tf.tensor(v.map(Math.round), shape, 'int32') : tf.tensor(v, shape);
}

/** Runs `f` on the CPU backend and on webgpu (guarded) and returns both results' values. */
async function both(
  f: () => tf.Tensor,
): Promise<{ cpu: ArrayLike<number>; gpu: ArrayLike<number>; shape: number[] }> {
  await initBackend('cpu');
  const c = f();
  const cpu = await c.data();
  const shape = c.shape;
  tf.dispose(c);
  await initBackend('webgpu');
  const gpu = await guardGpu(guard, async () => {
    const g = f();
    try {
      assert.deepEqual(g.shape, shape);
      // Computed by a GPU kernel, not handed to the CPU as small shape arithmetic is.
      const d = (
        tf.backend() as unknown as { tensorMap: { get(id: object): { resource: unknown } } }
      ).tensorMap.get(g.dataId);
      assert.ok(d.resource, 'the result lives on the GPU');
      return await g.data();
    } finally {
      g.dispose();
    }
  });
  return { cpu, gpu, shape };
}

function assertClose(r: { cpu: ArrayLike<number>; gpu: ArrayLike<number> }, tol: number, what: string): void {
  assert.equal(r.gpu.length, r.cpu.length, what);
  for (let i = 0; i < r.cpu.length; i++)
    assert.ok(
      Math.abs(r.gpu[i] - r.cpu[i]) <= tol * (1 + Math.abs(r.cpu[i])),
      `${what}[${i}]: ${r.gpu[i]} vs ${r.cpu[i]}`,
    );
}

describe('webgpu backend pieces', function () {
  this.timeout(300_000);
  before(async function () {
    await useBackend(this, 'webgpu');
  });
  after(async () => {
    releaseExecutor();
    await initBackend('wasm');
  });

  for (const rank of [5, 6]) {
    // More than HOST_ELEMENTS elements: small tensors are computed on the CPU.
    const s = rank === 5 ? [3, 4, 5, 6, 4] : [2, 3, 4, 5, 3, 4];
    const pads = s.map((_, i) => [i % 2, 1] as [number, number]);
    const cases: [string, () => tf.Tensor][] = [
      ['pad', () => tf.pad(values(s, 1), pads, 0.5)],
      [
        'mirrorPad',
        () =>
          tf.mirrorPad(
            values(s, 1),
            s.map((_, i) => [i === 3 ? 1 : 0, i === 1 ? 1 : 0] as [number, number]),
            'reflect',
          ),
      ],
      ['reverse', () => tf.reverse(values(s, 1), [1, 4])],
      ['where', () => tf.where(tf.greater(values(s, 1), 0), values(s, 2), values(s, 3))],
      ['transpose', () => tf.transpose(values(s, 1), [...Array(rank).keys()].reverse())],
      [
        'tile',
        () =>
          tf.tile(
            values(s, 1),
            s.map((_, i) => (i % 2) + 1),
          ),
      ],
      ['sum', () => tf.sum(values(s, 1), [0, 2])],
      [
        'slice gradient (a pad)',
        () =>
          tf.grad((x: tf.Tensor) =>
            tf.sum(
              tf.square(
                tf.slice(
                  x,
                  s.map(() => 1),
                  s.map((d) => d - 1),
                ),
              ),
            ),
          )(values(s, 1)),
      ],
      [
        'pad gradient (a slice)',
        () =>
          tf.grad((x: tf.Tensor) =>
            tf.sum(
              tf.mul(
                tf.pad(x, pads),
                values(
                  s.map((d, i) => d + pads[i][0] + pads[i][1]),
                  4,
                ),
              ),
            ),
          )(values(s, 1)),
      ],
    ];
    for (const [name, f] of cases)
      it(`rank ${rank}: ${name} as on the CPU`, async () =>
        assertClose(await both(f), 1e-5, `${name}${rank}`));
  }

  it('sums twenty tensors at once (AddN binds a buffer per input, more than the per-stage limit)', async () =>
    assertClose(
      await both(() => tf.addN(Array.from({ length: 20 }, (_, i) => values([40, 50], i)))),
      1e-5,
      'addN',
    ));

  for (const dtype of ['int32', 'bool'] as const)
    for (const perm of [
      [0, 3, 1, 2],
      [2, 0, 1],
    ])
      it(`transposes ${dtype} tensors exactly (perm [${perm}])`, async () => {
        const shape = perm.length === 4 ? [2, 5, 40, 30] : [6, 50, 20];
        const r = await both(() => {
          const x = values(shape, 3, true);
          return tf.transpose(
            dtype === 'bool' ? tf.greater(x, 0) : tf.mul(x, tf.scalar(1000, 'int32')),
            perm,
          );
        });
        assertClose(r, 0, `${dtype} transpose`);
      });

  for (const [alignCorners, halfPixel] of [
    [false, true],
    [true, false],
    [false, false],
  ])
    it(`routes the nearest-resize gradient as the forward pass picks (align ${alignCorners}, half-pixel ${halfPixel}, 5×5 → 7×8, batch 2)`, async () => {
      const c = 60;
      registerResizeGradKernel('cpu'); // TF.js CPU's own is wrong for batch > 1
      const r = await both(() =>
        tf.grad((x: tf.Tensor) =>
          tf.sum(
            tf.mul(
              tf.image.resizeNearestNeighbor(x as tf.Tensor4D, [7, 8], alignCorners, halfPixel),
              values([2, 7, 8, c], 5),
            ),
          ),
        )(values([2, 5, 5, c], 6)),
      );
      assertClose(r, 1e-5, 'dx');
    });

  it('routes the max-pool gradient to the first maximum of each window, as the CPU does (ties after a ReLU; blazeface in webgpuProbe.test.ts is where the kernel of TF.js differs)', async () => {
    const r = await both(() =>
      tf.grad((x: tf.Tensor) =>
        tf.sum(
          tf.mul(tf.maxPool(tf.relu(tf.sub(x, 4)) as tf.Tensor4D, 3, 2, 'same'), values([2, 4, 5, 30], 8)),
        ),
      )(values([2, 7, 9, 30], 7)),
    );
    assertClose(r, 1e-5, 'dx');
  });

  it('keeps shape arithmetic readable on the CPU, and says so when a GPU tensor is read synchronously', async () => {
    await initBackend('webgpu');
    tf.tidy(() => {
      // Gather's negative-index fix-up (Select) and a Concat, as an exported Reshape target does.
      const shape = tf.tensor1d([2, 3, 4, 5], 'int32');
      const idx = tf.tensor1d([-1, 0], 'int32');
      const fixed = tf.where(tf.less(idx, 0), tf.add(idx, tf.scalar(4, 'int32')), idx);
      const target = tf.concat([tf.gather(shape, fixed), tf.tensor1d([-1], 'int32')]);
      assert.deepEqual(Array.from(target.dataSync()), [5, 2, -1]);
      // A small constant used by a GPU kernel keeps its CPU copy.
      const big = tf.add(tf.ones([HOST_ELEMENTS * 2]), tf.tensor1d([1]));
      const scale = tf.tensor1d([0.5, 2]);
      tf.mul(tf.reshape(big, [HOST_ELEMENTS, 2]), scale);
      assert.deepEqual(Array.from(scale.dataSync()), [0.5, 2]);
      assert.throws(
        () => big.dataSync(),
        (e: unknown) => e instanceof HostReadError && /wasm backend/.test(e.message),
      );
    });
  });

  it('runs a kernel WebGPU lacks on the CPU when its input is there, and names it when not', async () => {
    await initBackend('webgpu');
    tf.tidy(() => {
      const { values: u } = tf.unique(tf.tensor1d([3, 1, 3, 2, 1], 'int32'));
      assert.deepEqual(Array.from(u.dataSync()), [3, 1, 2]);
      const onGpu = tf.add(tf.zeros([HOST_ELEMENTS * 2]), tf.scalar(1));
      assert.throws(() => tf.unique(onGpu), /no Unique kernel.*wasm backend/);
    });
  });

  it('ends a GPU step with a sentence when the GPU reports a validation error', async () => {
    await initBackend('webgpu');
    const device = webgpuDevice() as unknown as { createBuffer(d: { size: number; usage: number }): unknown };
    await assert.rejects(
      guardGpu({ file: 'm.onnx', step: 'batch 1 of 2', batchSize: 4 }, async () => {
        device.createBuffer({ size: 4, usage: 0xffffff }); // no such usage: a validation error
      }),
      (e: unknown) =>
        isModelError(e) &&
        /^m\.onnx: batch 1 of 2 stopped: the GPU reported a validation error \(.+\).*wasm backend/.test(
          e.message,
        ),
    );
    // The next step is clean.
    assert.equal(await guardGpu(guard, async () => 7), 7);
  });

  it('ends a run whose device is lost with a sentence, and the next run gets a new device', async () => {
    const model = await openModel(path.join(root, 'samples/sample.onnx'));
    const opts = {
      source: { kind: 'synthetic' as const },
      batchSize: 2,
      batches: 3,
      loss: 'mean-square' as const,
      backend: 'webgpu' as const,
    };
    const ok = await runProbe(model, opts);
    await assert.rejects(
      runProbe(model, opts, {
        onProgress: (done) => {
          if (done === 1) (webgpuDevice() as unknown as { destroy(): void }).destroy();
        },
      }),
      (e: unknown) =>
        isModelError(e) && /batch 2 of 3 stopped: the GPU device was lost \(destroyed/.test(e.message),
    );
    const again = await runProbe(model, opts);
    assert.equal(again.backend.name, 'webgpu');
    assert.ok(Math.abs(again.loss.values[0] - ok.loss.values[0]) <= 1e-6 * Math.abs(ok.loss.values[0]));
  });

  it('refuses a pass whose largest tensor exceeds a GPU buffer, with the numbers and the batch that fits', async () => {
    const model = await openModel(path.join(root, 'test/fixtures/onnx/probe/resnet18.onnx'));
    const adapter: AdapterDescription = {
      vendor: 'test',
      architecture: '',
      device: 'Small GPU',
      description: '',
      backend: 'vulkan',
      hardware: true,
      limits: { maxBufferSize: 256 * 1024 ** 2, maxStorageBufferBindingSize: 128 * 1024 ** 2 },
    };
    assert.equal(checkMemory(model, 2, 'webgpu', {}, adapter), undefined);
    assert.throws(
      () => checkMemory(model, 100_000, 'webgpu', {}, adapter),
      (e: unknown) =>
        isModelError(e) &&
        /at batch 100000 tensor ".+" \(shape \[.+\]\) needs \d+ MiB, more than the 128 MiB one GPU buffer may hold on Small GPU \(maxStorageBufferBindingSize\); lower the batch size to \d+ or less/.test(
          e.message,
        ),
    );
  });
});

describe('webgpu adapters', () => {
  it('tells software adapters from hardware ones by what they say of themselves', () => {
    assert.ok(isSoftwareAdapter({ device: 'llvmpipe (LLVM 15.0.6, 256 bits)' }));
    assert.ok(isSoftwareAdapter({ description: 'Vulkan backend - lavapipe' }));
    assert.ok(isSoftwareAdapter({ vendor: 'google', architecture: 'swiftshader' }));
    assert.ok(isSoftwareAdapter({ description: 'Microsoft Basic Render Driver' }));
    assert.ok(isSoftwareAdapter({ device: 'x', isFallbackAdapter: true }));
    assert.ok(
      !isSoftwareAdapter({
        vendor: 'nvidia',
        architecture: 'ada',
        device: 'NVIDIA GeForce RTX 4090',
        description: 'Vulkan backend - NVIDIA 550.54',
      }),
    );
    assert.ok(!isSoftwareAdapter({ vendor: 'apple', architecture: 'metal-3', device: 'Apple M2' }));
  });

  it('names vendor, architecture, device, driver and whether it is hardware', () => {
    const d: AdapterDescription = {
      vendor: 'nvidia',
      architecture: 'ampere',
      device: 'NVIDIA A100',
      description: 'Vulkan backend - NVIDIA 550.54',
      backend: 'vulkan',
      hardware: true,
      limits: { maxBufferSize: 1, maxStorageBufferBindingSize: 1 },
    };
    assert.equal(
      adapterLabel(d),
      'nvidia ampere NVIDIA A100 (vulkan, Vulkan backend - NVIDIA 550.54; hardware)',
    );
  });

  it('a named webgpu request without an adapter is one sentence saying why', async () => {
    releaseBackends();
    const saved = process.env.SKIPSCOPE_WEBGPU_BACKEND;
    process.env.SKIPSCOPE_WEBGPU_BACKEND = 'bogus';
    try {
      await assert.rejects(
        initBackend('webgpu'),
        (e: unknown) =>
          isModelError(e) &&
          /no probe backend could start \(webgpu: no usable GPU adapter: unrecognised backend 'bogus'; WebGPU needs/.test(
            e.message,
          ),
      );
      // auto goes on to WASM.
      assert.equal((await initBackend('auto')).name, 'wasm');
    } finally {
      if (saved === undefined) delete process.env.SKIPSCOPE_WEBGPU_BACKEND;
      else process.env.SKIPSCOPE_WEBGPU_BACKEND = saved;
      releaseBackends();
    }
  });
});
