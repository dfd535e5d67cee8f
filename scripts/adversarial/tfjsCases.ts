/**
 * The TF.js files of the adversarial corpus: model.json folders whose weight manifest lies (sizes,
 * dtypes, missing shards, shards outside the folder) or whose format is mixed up.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CorpusCase } from './corpusCase';

type Json = Record<string, unknown>;
const F = 'model.json';

/** A Sequential model: Dense(4, relu) on 4 inputs → Dense(2). */
function layersTopology(): Json {
  return {
    class_name: 'Sequential',
    config: {
      name: 'seq',
      layers: [
        {
          class_name: 'Dense',
          config: {
            name: 'dense_1',
            units: 4,
            activation: 'relu',
            use_bias: true,
            batch_input_shape: [null, 4],
            dtype: 'float32',
          },
        },
        { class_name: 'Dense', config: { name: 'dense_2', units: 2, activation: 'linear', use_bias: true } },
      ],
    },
    keras_version: 'tfjs-layers 4.22.0',
    backend: 'tensor_flow.js',
  };
}

/** The manifest of layersTopology's weights, in one shard. */
function layersWeights(paths = ['group1-shard1of1.bin']): Json[] {
  return [
    {
      paths,
      weights: [
        { name: 'dense_1/kernel', shape: [4, 4], dtype: 'float32' },
        { name: 'dense_1/bias', shape: [4], dtype: 'float32' },
        { name: 'dense_2/kernel', shape: [4, 2], dtype: 'float32' },
        { name: 'dense_2/bias', shape: [2], dtype: 'float32' },
      ],
    },
  ];
}

const LAYERS_FLOATS = 16 + 4 + 8 + 2;

/** A graph model: x → MatMul(W) → Relu → y. */
function graphTopology(): Json {
  return {
    node: [
      {
        name: 'x',
        op: 'Placeholder',
        attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: { dim: [{ size: '-1' }, { size: '4' }] } } },
      },
      {
        name: 'W',
        op: 'Const',
        attr: {
          dtype: { type: 'DT_FLOAT' },
          value: { tensor: { dtype: 'DT_FLOAT', tensorShape: { dim: [{ size: '4' }, { size: '4' }] } } },
        },
      },
      {
        name: 'mm',
        op: 'MatMul',
        input: ['x', 'W'],
        attr: { T: { type: 'DT_FLOAT' }, transpose_a: { b: false }, transpose_b: { b: false } },
      },
      { name: 'y', op: 'Relu', input: ['mm'], attr: { T: { type: 'DT_FLOAT' } } },
    ],
    library: {},
    versions: { producer: 1482 },
  };
}

const shard = (floats: number) =>
  Buffer.from(Float32Array.from({ length: floats }, (_, i) => (i % 7) / 7 - 0.4).buffer);

/** A case writing model.json (and shards: name → float count, or a function of the folder). */
function tfjsCase(
  name: string,
  what: string,
  json: Json,
  shards: Record<string, number> = {},
  extra?: (dir: string) => void,
  afterOpen?: (dir: string) => void,
): CorpusCase {
  return {
    name,
    kind: 'tfjs',
    what,
    file: F,
    write(dir) {
      fs.writeFileSync(path.join(dir, F), JSON.stringify(json));
      for (const [f, n] of Object.entries(shards)) fs.writeFileSync(path.join(dir, f), shard(n));
      extra?.(dir);
    },
    afterOpen,
  };
}

const layers = (
  manifest: Json[] = layersWeights(),
  topo = layersTopology(),
  format = 'layers-model',
): Json => ({
  format,
  generatedBy: 'skipscope-adversarial',
  modelTopology: topo,
  weightsManifest: manifest,
});
const graphModel = (manifest: Json[], format = 'graph-model'): Json => ({
  format,
  generatedBy: 'skipscope-adversarial',
  modelTopology: graphTopology(),
  weightsManifest: manifest,
});
const oneShard = { 'group1-shard1of1.bin': LAYERS_FLOATS };

/** The TF.js cases. */
export function tfjsCases(): CorpusCase[] {
  const withWeights = (edit: (w: Json[]) => void) => {
    const m = layersWeights();
    edit((m[0] as { weights: Json[] }).weights);
    return layers(m);
  };
  return [
    tfjsCase('tfjs_layers_ok', 'a valid two-Dense layers model (the control case)', layers(), oneShard),
    tfjsCase(
      'tfjs_graph_ok',
      'a valid MatMul → Relu graph model (the control case)',
      graphModel([{ paths: ['w.bin'], weights: [{ name: 'W', shape: [4, 4], dtype: 'float32' }] }]),
      { 'w.bin': 16 },
    ),
    tfjsCase(
      'tfjs_size_lie',
      'a manifest claiming a [1000, 1000] kernel in a 120-byte shard',
      withWeights((w) => (w[0].shape = [1000, 1000])),
      oneShard,
    ),
    tfjsCase(
      'tfjs_shape_lie',
      'a kernel of [4, 3] where the layer needs [4, 4] (bytes still add up)',
      withWeights((w) => {
        w[0].shape = [4, 3];
        w[1].shape = [8];
      }),
      oneShard,
    ),
    tfjsCase(
      'tfjs_dtype_lie',
      'a weight of dtype "float64"',
      withWeights((w) => (w[1].dtype = 'float64')),
      oneShard,
    ),
    tfjsCase(
      'tfjs_quantization_lie',
      'a weight quantized to "uint3"',
      withWeights((w) => (w[0].quantization = { dtype: 'uint3', scale: 1, min: 0 })),
      oneShard,
    ),
    tfjsCase(
      'tfjs_negative_shape',
      'a weight of shape [-4, 4]',
      withWeights((w) => (w[0].shape = [-4, 4])),
      oneShard,
    ),
    tfjsCase(
      'tfjs_huge_shape',
      'a weight of shape [2^40, 2^40]',
      withWeights((w) => (w[0].shape = [2 ** 40, 2 ** 40])),
      oneShard,
    ),
    tfjsCase(
      'tfjs_missing_shard',
      'a manifest naming a shard that is not there',
      layers(layersWeights(['group1-shard1of2.bin', 'group1-shard2of2.bin'])),
      { 'group1-shard1of2.bin': 16 },
    ),
    tfjsCase('tfjs_short_shard', 'a shard of 8 bytes for 120', layers(), { 'group1-shard1of1.bin': 2 }),
    tfjsCase(
      'tfjs_shard_dotdot',
      'a shard path ../secret.bin, outside the folder',
      layers(layersWeights(['../secret.bin'])),
      {},
      (dir) => fs.writeFileSync(path.join(dir, '../secret.bin'), Buffer.alloc(4096, 0x41)),
    ),
    tfjsCase('tfjs_shard_absolute', 'a shard path /etc/hostname', layers(layersWeights(['/etc/hostname']))),
    tfjsCase(
      'tfjs_shard_symlink_out',
      'a shard that is a symlink to a file outside the folder',
      layers(),
      {},
      (dir) => {
        const secret = path.join(dir, '../secret.bin');
        if (!fs.existsSync(secret)) fs.writeFileSync(secret, Buffer.alloc(4096, 0x41));
        fs.symlinkSync(secret, path.join(dir, 'group1-shard1of1.bin'));
      },
    ),
    tfjsCase(
      'tfjs_shard_shrinks',
      'the shard is truncated after the model is opened',
      layers(),
      oneShard,
      undefined,
      (dir) => fs.truncateSync(path.join(dir, 'group1-shard1of1.bin'), 8),
    ),
    tfjsCase(
      'tfjs_layers_as_graph',
      'a layers topology in a file saying format "graph-model"',
      layers(layersWeights(), layersTopology(), 'graph-model'),
      oneShard,
    ),
    tfjsCase(
      'tfjs_layers_no_parameters',
      'a layers model of one Activation layer: no weights',
      layers([], {
        class_name: 'Sequential',
        config: {
          name: 'seq',
          layers: [
            {
              class_name: 'Activation',
              config: { name: 'act', activation: 'tanh', batch_input_shape: [null, 4], dtype: 'float32' },
            },
          ],
        },
      }),
    ),
    tfjsCase('tfjs_graph_no_parameters', 'a graph model x → Relu → Tanh: no weights', {
      format: 'graph-model',
      modelTopology: {
        node: [
          {
            name: 'x',
            op: 'Placeholder',
            attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: { dim: [{ size: '-1' }, { size: '4' }] } } },
          },
          { name: 'r', op: 'Relu', input: ['x'], attr: { T: { type: 'DT_FLOAT' } } },
          { name: 'y', op: 'Tanh', input: ['r'], attr: { T: { type: 'DT_FLOAT' } } },
        ],
        library: {},
        versions: { producer: 1482 },
      },
      weightsManifest: [],
    }),
    tfjsCase(
      'tfjs_graph_as_layers',
      'a graph topology in a file saying format "layers-model"',
      graphModel(
        [{ paths: ['w.bin'], weights: [{ name: 'W', shape: [4, 4], dtype: 'float32' }] }],
        'layers-model',
      ),
      { 'w.bin': 16 },
    ),
    tfjsCase(
      'tfjs_manifest_not_list',
      'weightsManifest is an object',
      layers({ paths: [] } as unknown as Json[]),
      oneShard,
    ),
    tfjsCase(
      'tfjs_unknown_layer',
      'a layer of class "TimeMachine"',
      layers(layersWeights(), {
        class_name: 'Sequential',
        config: {
          name: 'seq',
          layers: [{ class_name: 'TimeMachine', config: { name: 'tm', batch_input_shape: [null, 4] } }],
        },
      }),
      oneShard,
    ),
    tfjsCase(
      'tfjs_functional_dangling',
      'a Functional model whose layer reads a layer that is not there',
      layers([], {
        class_name: 'Functional',
        config: {
          name: 'fn',
          layers: [
            {
              class_name: 'InputLayer',
              name: 'in',
              config: { name: 'in', batch_input_shape: [null, 4] },
              inbound_nodes: [],
            },
            {
              class_name: 'Activation',
              name: 'act',
              config: { name: 'act', activation: 'relu' },
              inbound_nodes: [[['ghost', 0, 0, {}]]],
            },
          ],
          input_layers: [['in', 0, 0]],
          output_layers: [['act', 0, 0]],
        },
      }),
      {},
    ),
    tfjsCase(
      'tfjs_functional_cycle',
      'a Functional model whose two layers read each other',
      layers([], {
        class_name: 'Functional',
        config: {
          name: 'fn',
          layers: [
            {
              class_name: 'InputLayer',
              name: 'in',
              config: { name: 'in', batch_input_shape: [null, 4] },
              inbound_nodes: [],
            },
            {
              class_name: 'Add',
              name: 'a',
              config: { name: 'a' },
              inbound_nodes: [
                [
                  ['in', 0, 0, {}],
                  ['b', 0, 0, {}],
                ],
              ],
            },
            {
              class_name: 'Activation',
              name: 'b',
              config: { name: 'b', activation: 'relu' },
              inbound_nodes: [[['a', 0, 0, {}]]],
            },
          ],
          input_layers: [['in', 0, 0]],
          output_layers: [['b', 0, 0]],
        },
      }),
      {},
    ),
    tfjsCase('tfjs_graph_cycle', 'a graph model whose two nodes read each other', {
      format: 'graph-model',
      modelTopology: {
        node: [
          {
            name: 'x',
            op: 'Placeholder',
            attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: { dim: [{ size: '1' }, { size: '4' }] } } },
          },
          { name: 'a', op: 'AddV2', input: ['x', 'b'], attr: { T: { type: 'DT_FLOAT' } } },
          { name: 'b', op: 'Relu', input: ['a'], attr: { T: { type: 'DT_FLOAT' } } },
        ],
      },
      weightsManifest: [],
    }),
    tfjsCase(
      'tfjs_markup_names',
      'layer names of HTML, a Markdown command link and bidi overrides',
      layers(
        [
          {
            paths: ['w.bin'],
            weights: [{ name: '<img src=x onerror=alert(1)>/kernel', shape: [4, 4], dtype: 'float32' }],
          },
        ],
        {
          class_name: 'Sequential',
          config: {
            name: '[x](command:workbench.action.reloadWindow)',
            layers: [
              {
                class_name: 'Dense',
                config: {
                  name: '<img src=x onerror=alert(1)>',
                  units: 4,
                  use_bias: false,
                  batch_input_shape: [null, 4],
                  dtype: 'float32',
                },
              },
            ],
          },
        },
      ),
      { 'w.bin': 16 },
    ),
  ];
}
