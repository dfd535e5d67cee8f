/**
 * Volumetric benchmark: forward + backward of 3-D convolution layers and a gradient-probe pass of a
 * 3-D U-Net (base 16: 16-32-64-128 channels, one input channel, a 32³ volume, batch 1) on the
 * WASM backend with Skipscope's kernels (im2col3d + SGEMM, convGrad3d.ts), against
 *
 * - the plain TF.js path on the same backend: tf.conv3d (NDHWC) and its gradient kernels
 *   Conv3DBackpropInputV2 / Conv3DBackpropFilterV2, which TF.js 4.22 ships for WASM (timed only:
 *   their gradients are wrong there, see volumeOps.ts; `maxRelErr` says by how much);
 * - PyTorch CPU (bench/volume_torch.py, Debian's python3-torch) at the same thread count, in a
 *   session before and one after Skipscope's runs (the faster median counts).
 *
 * Prints JSON with medians, ratios, the machine's load average and peak RSS.
 *
 *   npx tsx bench/volume.ts [--runs N] [--size 32] [--cpu]
 *
 * --cpu also times the layers on the CPU backend's TF.js kernels (slow: seconds per layer).
 */
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { openModel } from '../runtime/analysis/openModel';
import { initBackend } from '../runtime/probe/backend';
import { runProbe } from '../runtime/probe/runProbe';
import { conv3dOwn, convTranspose3dOwn, type VolumeGeom } from '../runtime/probe/convGrad3d';
import { wasmVolumeSettings } from '../runtime/probe/wasmVolumeKernels';
import { median } from './probeTiming';

const root = process.cwd();
const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1]) || 5;
const size = Number(args[args.indexOf('--size') + 1]) || 32;
const withCpu = args.includes('--cpu');

type Layer = { kind: 'conv' | 'convT'; x: number[]; w: number[]; stride: number; pad: number };

/** The layers of bench/volume_torch.py (same names, shapes and attributes). */
const LAYERS: Record<string, Layer> = {
  conv3x3x3_16to16_32cube: { kind: 'conv', x: [1, 16, 32, 32, 32], w: [16, 16, 3, 3, 3], stride: 1, pad: 1 },
  conv3x3x3_32to32_16cube: { kind: 'conv', x: [1, 32, 16, 16, 16], w: [32, 32, 3, 3, 3], stride: 1, pad: 1 },
  conv3x3x3_s2_16to32_32cube: {
    kind: 'conv',
    x: [1, 16, 32, 32, 32],
    w: [32, 16, 3, 3, 3],
    stride: 2,
    pad: 1,
  },
  convT2x2x2_s2_64to32_8cube: { kind: 'convT', x: [1, 64, 8, 8, 8], w: [64, 32, 2, 2, 2], stride: 2, pad: 0 },
};

type T3 = [number, number, number];
const t3 = (v: number): T3 => [v, v, v];

function timeMedian(f: () => void, n = runs): number {
  f(); // warm-up
  const ts: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    f();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

function values(n: number, phase: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + phase) * 0.5);
}

/** Output size of one layer along each spatial axis. */
function outSize(l: Layer): T3 {
  const k = l.w[2];
  const s = l.x.slice(2);
  return (
    l.kind === 'conv'
      ? s.map((v) => Math.floor((v + 2 * l.pad - k) / l.stride) + 1)
      : s.map((v) => l.stride * (v - 1) + k - 2 * l.pad)
  ) as T3;
}

/** Skipscope's kernels: mean(y²) and its gradients w.r.t. input and weight; returns [dx, dw]. */
function ownStep(l: Layer, x: tf.Tensor, w: tf.Tensor): tf.Tensor[] {
  const g: VolumeGeom = {
    kernel: [l.w[2], l.w[3], l.w[4]],
    strides: t3(l.stride),
    dilations: t3(1),
    padBegin: t3(l.pad),
    padEnd: t3(l.pad),
  };
  const f = (a: tf.Tensor, b: tf.Tensor) =>
    tf.mean(
      tf.square(
        l.kind === 'conv' ? conv3dOwn(a, b, g, 1, true) : convTranspose3dOwn(a, b, g, 1, outSize(l), true),
      ),
    );
  return tf.grads(f)([x, w]);
}

/**
 * The plain TF.js path (NDHWC, TF.js's own 3-D kernels, not the replacements Skipscope registers
 * on WASM); returns [dx, dw] in ONNX layouts.
 */
function tfjsStep(l: Layer, x: tf.Tensor, w: tf.Tensor): tf.Tensor[] {
  wasmVolumeSettings.enabled = false;
  try {
    return tfjsStepBody(l, x, w);
  } finally {
    wasmVolumeSettings.enabled = true;
  }
}

function tfjsStepBody(l: Layer, x: tf.Tensor, w: tf.Tensor): tf.Tensor[] {
  const xl = tf.transpose(x, [0, 2, 3, 4, 1]) as tf.Tensor5D;
  if (l.kind === 'conv') {
    const f = tf.transpose(w, [2, 3, 4, 1, 0]) as tf.Tensor5D; // [k, k, k, ci, co]
    const p: [number, number] = [l.pad, l.pad];
    const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.mean(
        tf.square(
          tf.conv3d(tf.pad(a, [[0, 0], p, p, p, [0, 0]]) as tf.Tensor5D, b as tf.Tensor5D, l.stride, 'valid'),
        ),
      ),
    )([xl, f]);
    return [tf.transpose(dx, [0, 4, 1, 2, 3]), tf.transpose(df, [4, 3, 0, 1, 2])];
  }
  // Transposed: Conv3DBackpropInputV2 forward (no registered gradient), then its two adjoints.
  const f = tf.transpose(w, [2, 3, 4, 1, 0]) as tf.Tensor5D; // [k, k, k, m, c]
  const out = outSize(l);
  const y = tf
    .engine()
    .runKernel(
      'Conv3DBackpropInputV2',
      { dy: xl, filter: f },
      { strides: t3(l.stride), pad: 'valid', inputShape: [l.x[0], ...out, l.w[1]] },
    ) as tf.Tensor5D;
  const dy = tf.mul(y, 2 / y.size) as tf.Tensor5D;
  const dx = tf.conv3d(dy, f, l.stride, 'valid');
  const df = tf
    .engine()
    .runKernel(
      'Conv3DBackpropFilterV2',
      { x: dy, dy: xl },
      { strides: t3(l.stride), pad: 'valid', filterShape: f.shape },
    ) as tf.Tensor;
  return [tf.transpose(dx, [0, 4, 1, 2, 3]), tf.transpose(df, [3, 4, 0, 1, 2])];
}

/** Largest difference of b from a, relative to a's largest magnitude. */
function maxRelErr(a: Float32Array, b: Float32Array): number {
  let err = 0;
  let mag = 0;
  for (let i = 0; i < a.length; i++) {
    err = Math.max(err, Math.abs(a[i] - b[i]));
    mag = Math.max(mag, Math.abs(a[i]));
  }
  return err / mag;
}

interface TorchResult {
  model: string;
  input: string;
  params: number;
  convFlops: number;
  threads: number;
  torch: string;
  loss: number;
  msPerBatch: number;
  layersMs: Record<string, number>;
  peakRssMB: number;
}

function torchSession(threads: number): TorchResult {
  const run = spawnSync(
    '/usr/bin/python3',
    [
      path.join(root, 'bench/volume_torch.py'),
      '--out',
      path.join(root, 'bench/results/volume'),
      '--size',
      String(size),
      '--threads',
      String(threads),
      '--runs',
      String(runs),
    ],
    { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: String(threads) } },
  );
  if (run.status !== 0) throw new Error(`bench/volume_torch.py failed: ${run.stderr.slice(-2000)}`);
  return JSON.parse(run.stdout.trim().split('\n').pop()!) as TorchResult;
}

async function layerTimes(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [name, l] of Object.entries(LAYERS)) {
    await initBackend('wasm');
    const x = tf.tensor(
      values(
        l.x.reduce((a, b) => a * b, 1),
        0.1,
      ),
      l.x,
    );
    const w = tf.tensor(
      values(
        l.w.reduce((a, b) => a * b, 1),
        0.7,
      ),
      l.w,
    );
    const own = timeMedian(() => tf.dispose(tf.tidy(() => ownStep(l, x, w).map((t) => (t.dataSync(), t)))));
    const plain = timeMedian(() =>
      tf.dispose(tf.tidy(() => tfjsStep(l, x, w).map((t) => (t.dataSync(), t)))),
    );
    const [ownG, plainG] = [ownStep, tfjsStep].map((f) =>
      tf.tidy(() => f(l, x, w).map((t) => Float32Array.from(t.dataSync()))),
    );
    tf.dispose([x, w]);
    const row: Record<string, unknown> = {
      skipscopeMs: own,
      tfjsWasmMs: plain,
      tfjsWasmOverSkipscope: plain / own,
      // TF.js's WASM 3-D backprops against Skipscope's (which the unit tests check against PyTorch).
      tfjsWasmMaxRelErr: { dx: maxRelErr(ownG[0], plainG[0]), dw: maxRelErr(ownG[1], plainG[1]) },
    };
    if (withCpu) {
      await initBackend('cpu');
      const xc = tf.tensor(
        values(
          l.x.reduce((a, b) => a * b, 1),
          0.1,
        ),
        l.x,
      );
      const wc = tf.tensor(
        values(
          l.w.reduce((a, b) => a * b, 1),
          0.7,
        ),
        l.w,
      );
      row.tfjsCpuMs = timeMedian(
        () => tf.dispose(tf.tidy(() => tfjsStep(l, xc, wc).map((t) => (t.dataSync(), t)))),
        1,
      );
      tf.dispose([xc, wc]);
    }
    out[name] = row;
  }
  await initBackend('wasm');
  return out;
}

async function main(): Promise<void> {
  const backend = await initBackend('wasm');
  const load = os.loadavg();
  const before = torchSession(backend.threads);
  const layers = await layerTimes();
  const model = await openModel(path.resolve(root, before.model));
  const opts = {
    source: { kind: 'npy' as const, files: { '': path.resolve(root, before.input) } },
    batchSize: 1,
    batches: 1,
    loss: 'mean-square' as const,
    backend: 'wasm' as const,
  };
  const warm = await runProbe(model, opts);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push((await runProbe(model, opts)).timing.msPerBatch);
  const ms = median(times);
  const after = torchSession(backend.threads);
  const torchMs = Math.min(before.msPerBatch, after.msPerBatch);
  for (const [name, row] of Object.entries(layers) as [string, Record<string, number>][]) {
    const t = Math.min(before.layersMs[name], after.layersMs[name]);
    Object.assign(row, { pytorchMs: t, skipscopeOverPytorch: row.skipscopeMs / t });
  }
  console.log(
    JSON.stringify(
      {
        bench: 'volume',
        cpu: os.cpus()[0]?.model ?? 'unknown',
        loadAverage: { start: load, end: os.loadavg() },
        threads: backend.threads,
        layers,
        unet3d: {
          model: path.basename(before.model),
          params: before.params,
          convGflopsForward: before.convFlops / 1e9,
          input: [1, 1, size, size, size],
          skipscope: {
            backend: backend.name,
            msPerBatchMedian: ms,
            msPerBatchAll: times,
            loss: warm.loss.values[0],
            peakRssMB: process.resourceUsage().maxRSS / 1024,
          },
          pytorch: {
            version: before.torch,
            threads: before.threads,
            msPerBatchMedian: torchMs,
            sessionMedians: [before.msPerBatch, after.msPerBatch],
            peakRssMB: Math.max(before.peakRssMB, after.peakRssMB),
            loss: before.loss,
          },
          ratio: ms / torchMs,
          lossRelDiff: Math.abs(warm.loss.values[0] - before.loss) / Math.abs(before.loss),
        },
      },
      null,
      2,
    ),
  );
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
