/**
 * Builds the TF.js layers-model fixtures under test/fixtures/tfjs-layers/ and their rows of
 * test/fixtures/expected.json. Run with `npx tsx scripts/make_tfjs_fixtures.ts`.
 *
 * Every model is saved by TF.js itself (`model.save(tf.io.withSaveHandler(…))`); the model.json
 * is laid out as the TF.js converter lays it out (weightsManifest with `group1-shardKofN.bin`
 * paths). Weights are set from a seeded generator so reruns write identical bytes. The quantized
 * variants re-encode the saved float32 weights following the weights-manifest quantization format
 * (`quantization: {dtype, scale, min}` for uint8/uint16 affine, `{dtype: 'float16'}`), the way the
 * Python converter's `--quantize_*` options do, since that converter is not available here; each
 * file is read back through tfjs-core's own loader to prove it decodes. It also writes the rows
 * of the real graph models under test/fixtures/tfjs-graph/ (copied from an npm package, checked
 * here against their published hashes).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
// The orthogonal initializer (recurrent layers' default) calls tensor methods.
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
import * as tfc from '@tensorflow/tfjs-converter';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { seedLayersWeights } from './seedLayersWeights';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outRoot = join(root, 'test', 'fixtures', 'tfjs-layers');
const expectedPath = join(root, 'test', 'fixtures', 'expected.json');

type SkipCounts = Record<'residual' | 'projection' | 'concat' | 'long' | 'gate' | 'parallel', number>;

/** Full counts with zero defaults. */
function skips(partial: Partial<SkipCounts>): SkipCounts {
  return { residual: 0, projection: 0, concat: 0, long: 0, gate: 0, parallel: 0, ...partial };
}

const conv = (name: string, filters: number, kernelSize: number, strides = 1, activation?: 'relu') =>
  tfl.layers.conv2d({ name, filters, kernelSize, strides, padding: 'same', useBias: false, activation });
const bn = (name: string) => tfl.layers.batchNormalization({ name });
const relu = (name: string) => tfl.layers.activation({ name, activation: 'relu' });
type Sym = tfl.SymbolicTensor;
const apply = (layer: tfl.layers.Layer, x: Sym | Sym[]) => layer.apply(x) as Sym;

/** A ResNet basic block: identity shortcut, or 1×1 conv + BN when the shape changes. */
function basicBlock(x: Sym, name: string, filters: number, strides: number): Sym {
  let y = apply(
    relu(`${name}_relu1`),
    apply(bn(`${name}_bn1`), apply(conv(`${name}_conv1`, filters, 3, strides), x)),
  );
  y = apply(bn(`${name}_bn2`), apply(conv(`${name}_conv2`, filters, 3), y));
  let shortcut = x;
  if (strides !== 1 || x.shape[3] !== filters) {
    shortcut = apply(bn(`${name}_proj_bn`), apply(conv(`${name}_proj_conv`, filters, 1, strides), x));
  }
  return apply(relu(`${name}_out`), apply(tfl.layers.add({ name: `${name}_add` }), [y, shortcut]));
}

/** Classifier head shared by the CNNs: global average pool and a softmax dense layer. */
function head(x: Sym, classes = 10): Sym {
  const p = apply(tfl.layers.globalAveragePooling2d({ name: 'gap' }), x);
  return apply(tfl.layers.dense({ name: 'fc', units: classes, activation: 'softmax' }), p);
}

function sequentialCnn(): tfl.LayersModel {
  const m = tfl.sequential({ name: 'sequential_cnn' });
  m.add(
    tfl.layers.conv2d({
      name: 'conv1',
      inputShape: [32, 32, 3],
      filters: 8,
      kernelSize: 3,
      activation: 'relu',
    }),
  );
  m.add(tfl.layers.maxPooling2d({ name: 'pool1', poolSize: 2 }));
  m.add(tfl.layers.conv2d({ name: 'conv2', filters: 16, kernelSize: 3, activation: 'relu' }));
  m.add(tfl.layers.batchNormalization({ name: 'bn2' }));
  m.add(tfl.layers.maxPooling2d({ name: 'pool2', poolSize: 2 }));
  m.add(tfl.layers.flatten({ name: 'flatten' }));
  m.add(tfl.layers.dropout({ name: 'dropout', rate: 0.25 }));
  m.add(tfl.layers.dense({ name: 'fc', units: 10, activation: 'softmax' }));
  return m;
}

function resnet(): tfl.LayersModel {
  const input = tfl.input({ name: 'input', shape: [32, 32, 3] });
  let x = apply(relu('stem_relu'), apply(bn('stem_bn'), apply(conv('stem_conv', 8, 3), input)));
  x = basicBlock(x, 'block1', 8, 1);
  x = basicBlock(x, 'block2', 16, 2);
  return tfl.model({ name: 'resnet', inputs: input, outputs: head(x) });
}

function densenet(): tfl.LayersModel {
  const input = tfl.input({ name: 'input', shape: [32, 32, 3] });
  let x = apply(conv('stem_conv', 8, 3), input);
  for (let i = 1; i <= 3; i++) {
    let y = apply(relu(`dense${i}_relu1`), apply(bn(`dense${i}_bn1`), x));
    y = apply(conv(`dense${i}_conv1`, 16, 1), y);
    y = apply(relu(`dense${i}_relu2`), apply(bn(`dense${i}_bn2`), y));
    y = apply(conv(`dense${i}_conv2`, 4, 3), y);
    x = apply(tfl.layers.concatenate({ name: `dense${i}_concat`, axis: -1 }), [x, y]);
  }
  x = apply(
    tfl.layers.averagePooling2d({ name: 'transition_pool', poolSize: 2 }),
    apply(conv('transition_conv', 10, 1), x),
  );
  return tfl.model({ name: 'densenet', inputs: input, outputs: head(x) });
}

function unet(): tfl.LayersModel {
  const input = tfl.input({ name: 'input', shape: [32, 32, 3] });
  const e1 = apply(conv('enc1_conv', 8, 3, 1, 'relu'), input);
  const e2 = apply(
    conv('enc2_conv', 16, 3, 1, 'relu'),
    apply(tfl.layers.maxPooling2d({ name: 'enc2_pool', poolSize: 2 }), e1),
  );
  const b = apply(
    conv('mid_conv', 32, 3, 1, 'relu'),
    apply(tfl.layers.maxPooling2d({ name: 'mid_pool', poolSize: 2 }), e2),
  );
  let d = apply(tfl.layers.upSampling2d({ name: 'dec2_up', size: [2, 2] }), b);
  d = apply(
    conv('dec2_conv', 16, 3, 1, 'relu'),
    apply(tfl.layers.concatenate({ name: 'dec2_concat' }), [e2, d]),
  );
  d = apply(tfl.layers.conv2dTranspose({ name: 'dec1_up', filters: 8, kernelSize: 2, strides: 2 }), d);
  d = apply(
    conv('dec1_conv', 8, 3, 1, 'relu'),
    apply(tfl.layers.concatenate({ name: 'dec1_concat' }), [e1, d]),
  );
  const out = apply(tfl.layers.conv2d({ name: 'out_conv', filters: 2, kernelSize: 1 }), d);
  return tfl.model({ name: 'unet', inputs: input, outputs: out });
}

/** A functional residual block with squeeze-excitation, used as one layer of an outer model. */
function seBlockModel(): tfl.LayersModel {
  const input = tfl.input({ name: 'block_input', shape: [16, 16, 8] });
  let y = apply(relu('se_relu1'), apply(bn('se_bn1'), apply(conv('se_conv1', 8, 3), input)));
  y = apply(bn('se_bn2'), apply(conv('se_conv2', 8, 3), y));
  let s = apply(tfl.layers.globalAveragePooling2d({ name: 'se_squeeze' }), y);
  s = apply(tfl.layers.dense({ name: 'se_fc1', units: 2, activation: 'relu' }), s);
  s = apply(tfl.layers.dense({ name: 'se_fc2', units: 8, activation: 'sigmoid' }), s);
  s = apply(tfl.layers.reshape({ name: 'se_reshape', targetShape: [1, 1, 8] }), s);
  y = apply(tfl.layers.multiply({ name: 'se_scale' }), [y, s]);
  const out = apply(relu('se_out'), apply(tfl.layers.add({ name: 'se_add' }), [y, input]));
  return tfl.model({ name: 'se_block', inputs: input, outputs: out });
}

function nested(): tfl.LayersModel {
  const input = tfl.input({ name: 'input', shape: [32, 32, 3] });
  let x = apply(relu('stem_relu'), apply(conv('stem_conv', 8, 3, 2), input));
  x = apply(seBlockModel(), x);
  return tfl.model({ name: 'nested', inputs: input, outputs: head(x) });
}

function shared(): tfl.LayersModel {
  const input = tfl.input({ name: 'input', shape: [32, 32, 3] });
  const x = apply(relu('stem_relu'), apply(conv('stem_conv', 8, 3), input));
  // One Conv2D layer called twice: its weights exist once, it has two inbound nodes.
  const sharedConv = conv('shared_conv', 8, 3);
  let y = apply(relu('relu_a'), apply(sharedConv, x));
  y = apply(sharedConv, y);
  y = apply(relu('out_relu'), apply(tfl.layers.add({ name: 'add' }), [x, y]));
  return tfl.model({ name: 'shared', inputs: input, outputs: head(y) });
}

/** Recurrent models over a sequence input [6 steps, 4 features]: TF.js's own LSTM, GRU and
 * SimpleRNN layers (defaults: hard-sigmoid recurrent activation, GRU reset before the product). */
const SEQ = [6, 4];

function lstm(): tfl.LayersModel {
  const m = tfl.sequential({ name: 'lstm' });
  m.add(tfl.layers.lstm({ name: 'lstm1', units: 8, returnSequences: true, inputShape: SEQ }));
  m.add(tfl.layers.lstm({ name: 'lstm2', units: 6 }));
  m.add(tfl.layers.dense({ name: 'fc', units: 3 }));
  return m;
}

function gru(): tfl.LayersModel {
  const input = tfl.input({ name: 'input', shape: SEQ });
  const y = apply(tfl.layers.gru({ name: 'gru', units: 6, returnSequences: true }), input);
  return tfl.model({
    name: 'gru',
    inputs: input,
    outputs: apply(tfl.layers.dense({ name: 'fc', units: 3 }), y),
  });
}

function simpleRnn(): tfl.LayersModel {
  const input = tfl.input({ name: 'input', shape: SEQ });
  const y = apply(tfl.layers.simpleRNN({ name: 'rnn', units: 8 }), input);
  return tfl.model({
    name: 'simple_rnn',
    inputs: input,
    outputs: apply(tfl.layers.dense({ name: 'fc', units: 3 }), y),
  });
}

function bidirectional(): tfl.LayersModel {
  const input = tfl.input({ name: 'input', shape: SEQ });
  const wrap = (name: string, layer: tfl.RNN, mergeMode: 'concat' | 'sum') =>
    tfl.layers.bidirectional({ name, layer, mergeMode });
  let y = apply(
    wrap('bi_lstm', tfl.layers.lstm({ units: 5, returnSequences: true }) as tfl.RNN, 'concat'),
    input,
  );
  y = apply(wrap('bi_gru', tfl.layers.gru({ units: 4 }) as tfl.RNN, 'sum'), y);
  return tfl.model({
    name: 'bidirectional',
    inputs: input,
    outputs: apply(tfl.layers.dense({ name: 'fc', units: 3 }), y),
  });
}

interface Saved {
  modelTopology: object;
  weightSpecs: tf.io.WeightsManifestEntry[];
  weightData: ArrayBuffer;
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
}

/** Saves through TF.js's own serialisation and returns the artifacts it hands the handler. */
async function saveArtifacts(model: tfl.LayersModel): Promise<Saved> {
  let saved: Saved | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const data = artifacts.weightData;
      saved = {
        modelTopology: artifacts.modelTopology as object,
        weightSpecs: artifacts.weightSpecs ?? [],
        weightData: data === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(data),
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
      };
      return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON' } };
    }),
  );
  if (saved === undefined) throw new Error(`${model.name}: the save handler was not called`);
  return saved;
}

/** IEEE half from a float (round to nearest even), as numpy's astype(float16) does. */
function toHalf(value: number): number {
  const f = new Float32Array([value]);
  const x = new Uint32Array(f.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  e = half >>> 10;
  return sign | half;
}

type Quant = 'uint8' | 'uint16' | 'float16';

/** Re-encodes float32 weights as the converter's quantization does: per tensor, affine with the
 * range nudged so that 0 is exact (uint8/uint16), or plain half floats (float16). */
function quantize(saved: Saved, dtype: Quant): Saved {
  const specs: tf.io.WeightsManifestEntry[] = [];
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const spec of saved.weightSpecs) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(saved.weightData.slice(offset, offset + 4 * n));
    offset += 4 * n;
    if (spec.dtype !== 'float32') throw new Error(`${spec.name}: only float32 weights are quantized`);
    if (dtype === 'float16') {
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) out[i] = toHalf(values[i]);
      chunks.push(new Uint8Array(out.buffer));
      specs.push({ ...spec, quantization: { dtype: 'float16' } });
      continue;
    }
    const qmax = dtype === 'uint8' ? 255 : 65535;
    let lo = Math.min(0, ...values);
    let hi = Math.max(0, ...values);
    let scale = 1;
    const q = dtype === 'uint8' ? new Uint8Array(n) : new Uint16Array(n);
    if (hi > lo) {
      scale = (hi - lo) / qmax;
      lo = Math.round(lo / scale) * scale;
      hi = lo + qmax * scale;
      for (let i = 0; i < n; i++) q[i] = Math.round((Math.min(hi, Math.max(lo, values[i])) - lo) / scale);
    }
    chunks.push(new Uint8Array(q.buffer));
    specs.push({ ...spec, quantization: { dtype, scale, min: lo } });
  }
  const total = chunks.reduce((a, c) => a + c.byteLength, 0);
  const data = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    data.set(c, at);
    at += c.byteLength;
  }
  return { ...saved, weightSpecs: specs, weightData: data.buffer };
}

/** Writes model.json and the weight shards, split into `shards` nearly equal files. */
function writeModel(dir: string, saved: Saved, shards: number): string[] {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const bytes = new Uint8Array(saved.weightData);
  const size = Math.ceil(bytes.byteLength / shards);
  const paths: string[] = [];
  for (let k = 0; k < shards; k++) {
    const name = `group1-shard${k + 1}of${shards}.bin`;
    writeFileSync(join(dir, name), bytes.subarray(k * size, Math.min(bytes.byteLength, (k + 1) * size)));
    paths.push(name);
  }
  const modelJson = {
    modelTopology: saved.modelTopology,
    format: saved.format,
    generatedBy: saved.generatedBy,
    convertedBy: saved.convertedBy,
    weightsManifest: [{ paths, weights: saved.weightSpecs }],
  };
  writeFileSync(join(dir, 'model.json'), JSON.stringify(modelJson));
  return paths;
}

/** Reads a written model back through tfjs-core's own weight decoding and returns max |Δw|. */
async function roundTrip(dir: string, model: tfl.LayersModel): Promise<number> {
  const modelJson = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
  const manifest = modelJson.weightsManifest[0];
  const parts = manifest.paths.map((p: string) => readFileSync(join(dir, p)));
  const weightData = new Uint8Array(Buffer.concat(parts)).buffer;
  const loaded = await tfl.loadLayersModel(
    tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs: manifest.weights, weightData }),
  );
  let worst = 0;
  const a = model.getWeights();
  const b = loaded.getWeights();
  if (a.length !== b.length) throw new Error(`${dir}: ${b.length} weights read back, ${a.length} saved`);
  for (let i = 0; i < a.length; i++) {
    worst = Math.max(worst, tf.max(tf.abs(tf.sub(a[i], b[i]))).dataSync()[0]);
  }
  loaded.dispose();
  return worst;
}

interface Row {
  file: string;
  format: 'tfjs-layers';
  className: string;
  tfjsParams: number;
  layers: number;
  weights: number;
  shards: number;
  quantization?: Quant;
  inputs: Record<string, (number | string)[]>;
  skips: SkipCounts;
  notes?: string;
}

interface Spec {
  name: string;
  build: () => tfl.LayersModel;
  skips: SkipCounts;
  shards?: number;
  quantize?: Quant;
  notes?: string;
}

const SPECS: Spec[] = [
  { name: 'sequential_cnn', build: sequentialCnn, skips: skips({}) },
  { name: 'resnet', build: resnet, skips: skips({ residual: 2, projection: 1 }) },
  { name: 'densenet', build: densenet, skips: skips({ concat: 3 }) },
  {
    name: 'unet',
    build: unet,
    skips: skips({ long: 2 }),
    notes: 'one UpSampling2D and one Conv2DTranspose upsampling',
  },
  {
    name: 'nested',
    build: nested,
    skips: skips({ residual: 1, gate: 1 }),
    notes: 'layer se_block is a Functional model (residual block with SE gate)',
  },
  { name: 'shared', build: shared, skips: skips({ residual: 1 }), notes: 'shared_conv is called twice' },
  { name: 'resnet_sharded', build: resnet, skips: skips({ residual: 2, projection: 1 }), shards: 3 },
  { name: 'resnet_uint8', build: resnet, skips: skips({ residual: 2, projection: 1 }), quantize: 'uint8' },
  { name: 'resnet_uint16', build: resnet, skips: skips({ residual: 2, projection: 1 }), quantize: 'uint16' },
  {
    name: 'resnet_float16',
    build: resnet,
    skips: skips({ residual: 2, projection: 1 }),
    quantize: 'float16',
  },
  // Recurrent layers (appended: the seeds of the models above stay as they were).
  { name: 'lstm', build: lstm, skips: skips({}), notes: 'two stacked LSTM layers' },
  { name: 'gru', build: gru, skips: skips({}) },
  { name: 'simple_rnn', build: simpleRnn, skips: skips({}), notes: 'only the last step feeds the head' },
  {
    name: 'bidirectional',
    build: bidirectional,
    skips: skips({}),
    notes: 'Bidirectional(LSTM) concatenated, then Bidirectional(GRU) summed',
  },
];

const TOLERANCE: Record<Quant | 'none', number> = { none: 0, float16: 2e-3, uint16: 1e-4, uint8: 2e-2 };

async function main(): Promise<void> {
  await tf.setBackend('cpu');
  const rows: Row[] = [];
  for (const [i, spec] of SPECS.entries()) {
    const model = spec.build();
    // The quantized and sharded variants share the resnet's seed, so they hold the same weights.
    const seedIndex = SPECS.findIndex((s) => s.build === spec.build);
    seedLayersWeights(model, 1000 + (seedIndex >= 0 ? seedIndex : i), 3);
    let saved = await saveArtifacts(model);
    if (spec.quantize) saved = quantize(saved, spec.quantize);
    const dir = join(outRoot, spec.name);
    const paths = writeModel(dir, saved, spec.shards ?? 1);
    const err = await roundTrip(dir, model);
    const tol = TOLERANCE[spec.quantize ?? 'none'];
    if (err > tol) throw new Error(`${spec.name}: weights read back differ by ${err} (> ${tol})`);
    const topology = saved.modelTopology as { class_name: string; config: { layers: unknown[] } };
    const row: Row = {
      file: `test/fixtures/tfjs-layers/${spec.name}/model.json`,
      format: 'tfjs-layers',
      className: topology.class_name,
      tfjsParams: model.countParams(),
      layers: topology.config.layers.length,
      weights: saved.weightSpecs.length,
      shards: paths.length,
      inputs: Object.fromEntries(
        model.inputs.map((t) => [t.name, t.shape.map((d) => (d === null ? 'batch' : d))]),
      ),
      skips: spec.skips,
    };
    if (spec.quantize) row.quantization = spec.quantize;
    if (spec.notes) row.notes = spec.notes;
    rows.push(row);
    console.log(
      `${row.file}: ${row.tfjsParams} params, ${row.layers} layers, ${paths.length} shard(s), max |Δw| ${err}`,
    );
    model.dispose();
  }
  writeExpected([...rows, ...(await graphRows())]);
}

/** Real TF.js graph models copied unchanged from the npm package @vladmandic/human@3.3.6
 * (package/models/); see test/fixtures/README.md. The hashes pin the published bytes. */
const GRAPH_MODELS = [
  {
    name: 'blazeface',
    json: 'blazeface.json',
    sha256: {
      'blazeface.json': 'cd7bbfc078270572beb39f9e5ae67aadbd50b5e67cff37e6d4f6b3ea39312e5f',
      'blazeface.bin': 'dc9a97fdc50bc43216554bdd69aa3e7b9361a519ee7bdd996a2f69a98a6f9b72',
    },
    // BlazeFace (MediaPipe): every BlazeBlock ends in an AddV2 with its input; the three stride-2
    // blocks carry the shortcut through MaxPool (+ a channel Pad), parameter-free.
    skips: skips({ residual: 31 }),
    notes: 'BlazeFace (MediaPipe, Apache-2.0) as converted by the human package; 4 outputs',
  },
  {
    name: 'emotion',
    json: 'emotion.json',
    sha256: {
      'emotion.json': '56f7e557eb0c863a8b9ab04ac7ccba756e93bf2c27dce135ef0e8712b80b7ad2',
      'emotion.bin': '927ac8224f356ab1e68c2bcfbfa07b0c8567047d1bcf817388ba6e38214c4987',
    },
    // mini-Xception (oarriaga/face_classification): two residual modules, each a separable-conv
    // branch ending in MaxPool added to a 1×1 stride-2 conv (+ folded BN) shortcut.
    skips: skips({ residual: 2, projection: 2 }),
    notes: 'mini-Xception emotion classifier (oarriaga/face_classification, MIT); dynamic batch',
  },
];

interface GraphRow {
  file: string;
  format: 'tfjs-graph';
  graphNodes: number;
  weights: number;
  shards: number;
  inputs: Record<string, (number | string)[]>;
  outputs: Record<string, (number | string)[]>;
  skips: SkipCounts;
  notes: string;
}

interface SignatureTensor {
  name: string;
  tensorShape?: { dim?: { size?: string }[] };
}

/** Signature outputs as node name (the `:0` port dropped, as TF.js's executor names them) → shape,
 * with −1 shown as `batch`; sorted by name. */
function signatureOutputs(
  sig: { outputs?: Record<string, SignatureTensor> } | undefined,
): Record<string, (number | string)[]> {
  const entries = Object.values(sig?.outputs ?? {}).map((t): [string, (number | string)[]] => [
    t.name.replace(/:0$/, ''),
    (t.tensorShape?.dim ?? []).map((d) => (Number(d.size ?? -1) === -1 ? 'batch' : Number(d.size))),
  ]);
  return Object.fromEntries(entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
}

interface GraphNode {
  name: string;
  op: string;
}

/** Checks the copied graph models against their published hashes, runs each once through
 * tfjs-converter, and states what the file itself says (node count, inputs, outputs). */
async function graphRows(): Promise<GraphRow[]> {
  const rows: GraphRow[] = [];
  for (const g of GRAPH_MODELS) {
    const dir = join(root, 'test', 'fixtures', 'tfjs-graph', g.name);
    for (const [file, sum] of Object.entries(g.sha256)) {
      const got = createHash('sha256')
        .update(readFileSync(join(dir, file)))
        .digest('hex');
      if (got !== sum) throw new Error(`${g.name}/${file}: sha256 ${got}, expected the published ${sum}`);
    }
    const modelJson = JSON.parse(readFileSync(join(dir, g.json), 'utf8'));
    const manifest = modelJson.weightsManifest as {
      paths: string[];
      weights: tf.io.WeightsManifestEntry[];
    }[];
    const weightSpecs = manifest.flatMap((m) => m.weights);
    const parts = manifest.flatMap((m) => m.paths.map((p) => readFileSync(join(dir, p))));
    const weightData = new Uint8Array(Buffer.concat(parts)).buffer;
    const sig = modelJson.userDefinedMetadata?.signature ?? modelJson.signature;
    const model = await tfc.loadGraphModel(
      tf.io.fromMemory({
        modelTopology: modelJson.modelTopology,
        weightSpecs,
        weightData,
        userDefinedMetadata: modelJson.userDefinedMetadata,
      }),
    );
    const inputs: Record<string, (number | string)[]> = {};
    for (const t of model.inputs) {
      inputs[t.name] = (t.shape ?? []).map((d) => (d === -1 ? 'batch' : d));
    }
    const feed = model.inputs.map((t) => tf.zeros((t.shape ?? []).map((d) => (d === -1 ? 1 : d))));
    const out = model.execute(feed);
    tf.dispose([feed, out]);
    model.dispose();
    const nodes = modelJson.modelTopology.node as GraphNode[];
    rows.push({
      file: `test/fixtures/tfjs-graph/${g.name}/${g.json}`,
      format: 'tfjs-graph',
      graphNodes: nodes.length,
      weights: weightSpecs.length,
      shards: parts.length,
      inputs,
      outputs: signatureOutputs(sig),
      skips: g.skips,
      notes: g.notes,
    });
    console.log(`${g.name}: ${nodes.length} nodes, ran once through tfjs-converter`);
  }
  return rows;
}

/** Replaces the TF.js rows of expected.json, keeping the rows the other generators wrote. */
function writeExpected(rows: (Row | GraphRow)[]): void {
  const table = existsSync(expectedPath)
    ? (JSON.parse(readFileSync(expectedPath, 'utf8')) as { fixtures: { file: string; format: string }[] })
    : { fixtures: [] };
  const kept = table.fixtures.filter((r) => r.format !== 'tfjs-layers' && r.format !== 'tfjs-graph');
  const all = [...kept, ...rows].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  const out = { ...table, fixtures: all };
  // Same layout as make_fixtures.py writes: short arrays (shapes) on one line.
  const text = JSON.stringify(out, null, 2).replace(
    /\[\s*([^[\]{}]*?)\s*\]/g,
    (_m, inner: string) => `[${inner.replace(/,\s+/g, ', ')}]`,
  );
  writeFileSync(expectedPath, text + '\n');
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
