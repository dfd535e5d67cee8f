/**
 * Gradient-probe benchmark for TF.js models: ms per batch (forward + backward with every probe
 * attached, runProbe on the WASM backend, batch 8, 64×64 synthetic input) of a TF.js layers
 * ResNet-18 (full width, convolutions without bias then batch norm, as Keras builds it), with the
 * probe's own convolution kernels (runtime/probe/wasmConvKernels.ts) and Tile kernel
 * (runtime/probe/wasm/tileKernel.ts) and without them (the backend's XNNPACK Conv2D and Tile, the
 * composite backprops of convGrad.ts), in one process, runs interleaved, medians compared. The model is generated (seeded, identical every time) into
 * bench/results/tfjs-resnet18/ on first use. Prints JSON; with --kernels also the WASM kernel
 * times of one pass each way. One thread unless --threads N (TF.js's own kernels have one).
 *
 *   npx tsx bench/probeTfjs.ts [--runs N] [--threads N] [--kernels]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { openModel } from '../runtime/analysis/openModel';
import { initBackend } from '../runtime/probe/backend';
import { runProbe } from '../runtime/probe/runProbe';
import { wasmConvSettings } from '../runtime/probe/wasmConvKernels';
import { tileSettings } from '../runtime/probe/wasm/tileKernel';
import { seedLayersWeights } from '../scripts/seedLayersWeights';
import { median, timeKernels } from './probeTiming';

const root = process.cwd();
const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1]) || 7;
const kernels = args.includes('--kernels');
const threads = Number(args[args.indexOf('--threads') + 1]) || 1;
const batch = 8;
const size = 64;
const modelDir = path.join(root, 'bench/results/tfjs-resnet18');

type Sym = tfl.SymbolicTensor;
const apply = (layer: tfl.layers.Layer, x: Sym | Sym[]) => layer.apply(x) as Sym;
const conv = (name: string, filters: number, kernelSize: number, strides = 1) =>
  tfl.layers.conv2d({ name, filters, kernelSize, strides, padding: 'same', useBias: false });
const bn = (name: string) => tfl.layers.batchNormalization({ name });
const relu = (name: string) => tfl.layers.activation({ name, activation: 'relu' });

function basicBlock(x: Sym, name: string, filters: number, strides: number): Sym {
  let y = apply(
    relu(`${name}_relu1`),
    apply(bn(`${name}_bn1`), apply(conv(`${name}_conv1`, filters, 3, strides), x)),
  );
  y = apply(bn(`${name}_bn2`), apply(conv(`${name}_conv2`, filters, 3), y));
  let shortcut = x;
  if (strides !== 1 || x.shape[3] !== filters)
    shortcut = apply(bn(`${name}_proj_bn`), apply(conv(`${name}_proj_conv`, filters, 1, strides), x));
  return apply(relu(`${name}_out`), apply(tfl.layers.add({ name: `${name}_add` }), [y, shortcut]));
}

function resnet18(): tfl.LayersModel {
  const input = tfl.input({ name: 'input', shape: [size, size, 3] });
  let x = apply(relu('stem_relu'), apply(bn('stem_bn'), apply(conv('stem_conv', 64, 7, 2), input)));
  x = apply(tfl.layers.maxPooling2d({ name: 'stem_pool', poolSize: 3, strides: 2, padding: 'same' }), x);
  const widths = [64, 128, 256, 512];
  widths.forEach((f, i) => {
    x = basicBlock(x, `layer${i + 1}_0`, f, i ? 2 : 1);
    x = basicBlock(x, `layer${i + 1}_1`, f, 1);
  });
  const p = apply(tfl.layers.globalAveragePooling2d({ name: 'gap' }), x);
  return tfl.model({
    name: 'resnet18',
    inputs: input,
    outputs: apply(tfl.layers.dense({ name: 'fc', units: 10 }), p),
  });
}

/** Writes the model (model.json and one weight shard) unless it is there already. */
async function ensureModel(): Promise<string> {
  const file = path.join(modelDir, 'model.json');
  if (fs.existsSync(file)) return file;
  const model = resnet18();
  seedLayersWeights(model, 12345, 6); // He-like uniform convolutions
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      fs.mkdirSync(modelDir, { recursive: true });
      const data = artifacts.weightData;
      const bytes = data === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(data);
      fs.writeFileSync(path.join(modelDir, 'group1-shard1of1.bin'), Buffer.from(bytes));
      const json = {
        modelTopology: artifacts.modelTopology,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: artifacts.weightSpecs ?? [] }],
      };
      fs.writeFileSync(file, JSON.stringify(json));
      return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON' } };
    }),
  );
  model.dispose();
  return file;
}

async function main(): Promise<void> {
  const backend = await initBackend('wasm', { threads });
  const model = await openModel(await ensureModel());
  const opts = {
    source: { kind: 'synthetic' as const, seed: 1 },
    batchSize: batch,
    batches: 1,
    loss: 'mean-square' as const,
    backend: 'wasm' as const,
    threads,
  };
  const modes = { before: false, after: true };
  const pass = async (on: boolean) => {
    wasmConvSettings.enabled = on;
    tileSettings.enabled = on;
    try {
      return await runProbe(model, opts);
    } finally {
      wasmConvSettings.enabled = true;
      tileSettings.enabled = true;
    }
  };
  const warm = { before: await pass(false), after: await pass(true) };
  const times: Record<keyof typeof modes, number[]> = { before: [], after: [] };
  for (let i = 0; i < runs; i++) {
    // Alternate which goes first, so that drift on a shared machine hits both alike.
    const order: (keyof typeof modes)[] = i % 2 ? ['after', 'before'] : ['before', 'after'];
    for (const m of order) times[m].push((await pass(modes[m])).timing.msPerBatch);
  }
  const kernelTimes: Record<string, unknown> = {};
  if (kernels)
    for (const m of ['before', 'after'] as const) {
      const timer = timeKernels();
      const t0 = performance.now();
      await pass(modes[m]);
      const ms = performance.now() - t0;
      kernelTimes[m] = { passMs: Math.round(ms), top: timer.stop(12) };
    }
  const before = median(times.before);
  const after = median(times.after);
  const lossBefore = warm.before.loss.values[0];
  const lossAfter = warm.after.loss.values[0];
  const result = {
    bench: 'probe-tfjs',
    model: 'tfjs-layers resnet18 (generated)',
    params: warm.after.params.reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0),
    batch,
    size,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    threads: backend.threads,
    probes: {
      params: warm.after.params.length,
      activations: warm.after.activations.length,
      merges: warm.after.merges.length,
    },
    before: { msPerBatchMedian: before, msPerBatchAll: times.before },
    after: { msPerBatchMedian: after, msPerBatchAll: times.after },
    speedup: before / after,
    lossRelDiff: Math.abs(lossAfter - lossBefore) / Math.abs(lossBefore),
    peakRssMB: process.resourceUsage().maxRSS / 1024,
    ...(kernels ? { kernels: kernelTimes } : {}),
  };
  const text = JSON.stringify(result, null, 2);
  fs.mkdirSync(path.join(root, 'bench/results'), { recursive: true });
  fs.writeFileSync(path.join(root, 'bench/results/probe-tfjs.json'), text);
  console.log(text);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exitCode = 1;
});
