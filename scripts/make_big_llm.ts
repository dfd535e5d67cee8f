/**
 * Writes an LLM-style ONNX export of 2.7 GB for bench/bigModel.ts: a GPT-like decoder of 16
 * pre-LN blocks (LayerNorm → q/k/v projections → attention → output projection → residual Add;
 * LayerNorm → MLP with GELU written out in Erf, as PyTorch exports it → residual Add), width 1856,
 * 16 heads, MLP 7424, vocabulary 8000, the embedding tied to the output; node names as
 * torch.onnx.export writes them. Every weight lives in its own external data file (as
 * `save_as_external_data(all_tensors_to_one_file=False)` writes them): 260 files, created sparse
 * (zeros that take no disk space), so that writing them is instant.
 *
 * Run: `npx tsx scripts/make_big_llm.ts [DIR]` (default bench/models/llm16, git-ignored).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { onnx } from 'onnx-proto';

/** The shape of the export. */
export const LLM = { blocks: 16, width: 1856, heads: 16, mlp: 7424, vocab: 8000, context: 1024 };

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

/** Writes the model into `dir` (model.onnx and one .bin per weight); returns the model file. */
export function makeBigLlm(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const nodes: onnx.INodeProto[] = [];
  const inits: onnx.ITensorProto[] = [];
  let files = 0;

  /** A float weight in its own sparse file. */
  const weight = (name: string, dims: number[]): string => {
    const bytes = dims.reduce((a, b) => a * b, 1) * 4;
    const location = `${name}.bin`;
    const fd = fs.openSync(path.join(dir, location), 'w');
    fs.ftruncateSync(fd, bytes);
    fs.closeSync(fd);
    files++;
    inits.push({
      name,
      dims,
      dataType: FLOAT,
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: location },
        { key: 'offset', value: '0' },
        { key: 'length', value: String(bytes) },
      ],
    });
    return name;
  };
  const ints = (name: string, values: number[]): string => {
    inits.push({ name, dims: [values.length], dataType: INT64, int64Data: values });
    return name;
  };
  const scalar = (name: string, value: number): string => {
    inits.push({ name, dims: [], dataType: FLOAT, floatData: [value] });
    return name;
  };
  const node = (name: string, opType: string, input: string[], attribute: onnx.IAttributeProto[] = []) => {
    const out = `${name}_output_0`;
    nodes.push({ name, opType, input, output: [out], attribute });
    return out;
  };
  const perm = (p: number[]) => [{ name: 'perm', type: onnx.AttributeProto.AttributeType.INTS, ints: p }];
  const axis = (a: number) => [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: a }];
  const eps = [{ name: 'epsilon', type: onnx.AttributeProto.AttributeType.FLOAT, f: 1e-5 }];
  const d = LLM.width;
  const headShape = ints('/attn/heads_shape', [0, 0, LLM.heads, d / LLM.heads]);
  const widthShape = ints('/attn/width_shape', [0, 0, d]);
  const scale = scalar('/attn/scale', Math.sqrt(d / LLM.heads));
  const sqrt2 = scalar('/mlp/sqrt2', Math.SQRT2);
  const one = scalar('/mlp/one', 1);
  const half = scalar('/mlp/half', 0.5);
  const linear = (p: string, x: string, inDim: number, outDim: number) =>
    node(`/${p}/Add`, 'Add', [
      node(`/${p}/MatMul`, 'MatMul', [x, weight(`${p}.weight`, [inDim, outDim])]),
      weight(`${p}.bias`, [outDim]),
    ]);
  // Parameters are named `blocks.0.ln_1.weight`, their node `/blocks.0/ln_1/LayerNormalization`.
  const layerNorm = (p: string, x: string) =>
    node(
      `/${p.replace(/\.(?=[a-z])/g, '/')}/LayerNormalization`,
      'LayerNormalization',
      [x, weight(`${p}.weight`, [d]), weight(`${p}.bias`, [d])],
      [...eps, ...axis(-1)],
    );

  const wte = weight('wte.weight', [LLM.vocab, d]);
  let x = node('/Add', 'Add', [
    node('/wte/Gather', 'Gather', [wte, 'input_ids']),
    node('/wpe/Gather', 'Gather', [weight('wpe.weight', [LLM.context, d]), 'position_ids']),
  ]);
  for (let b = 0; b < LLM.blocks; b++) {
    const p = `blocks.${b}`;
    const h = layerNorm(`${p}.ln_1`, x);
    const heads = (name: string, order: number[]) =>
      node(
        `/${p}/attn/${name}/Transpose`,
        'Transpose',
        [
          node(`/${p}/attn/${name}/Reshape`, 'Reshape', [
            linear(`${p}.attn.${name}_proj`, h, d, d),
            headShape,
          ]),
        ],
        perm(order),
      );
    const q = heads('q', [0, 2, 1, 3]);
    const k = heads('k', [0, 2, 3, 1]);
    const v = heads('v', [0, 2, 1, 3]);
    const scores = node(`/${p}/attn/Add`, 'Add', [
      node(`/${p}/attn/Div`, 'Div', [node(`/${p}/attn/MatMul`, 'MatMul', [q, k]), scale]),
      'attention_mask',
    ]);
    const att = node(`/${p}/attn/Softmax`, 'Softmax', [scores], axis(-1));
    const merged = node(`/${p}/attn/Reshape`, 'Reshape', [
      node(
        `/${p}/attn/Transpose`,
        'Transpose',
        [node(`/${p}/attn/MatMul_1`, 'MatMul', [att, v])],
        perm([0, 2, 1, 3]),
      ),
      widthShape,
    ]);
    x = node(`/${p}/Add`, 'Add', [x, linear(`${p}.attn.o_proj`, merged, d, d)]);
    const m = linear(`${p}.mlp.fc1`, layerNorm(`${p}.ln_2`, x), d, LLM.mlp);
    const erf = node(`/${p}/mlp/Erf`, 'Erf', [node(`/${p}/mlp/Div`, 'Div', [m, sqrt2])]);
    const gelu = node(`/${p}/mlp/Mul_1`, 'Mul', [
      node(`/${p}/mlp/Mul`, 'Mul', [m, node(`/${p}/mlp/Add`, 'Add', [erf, one])]),
      half,
    ]);
    x = node(`/${p}/Add_1`, 'Add', [x, linear(`${p}.mlp.fc2`, gelu, LLM.mlp, d)]);
  }
  const tied = node('/lm_head/Transpose', 'Transpose', [wte], perm([1, 0]));
  const logits = node('/lm_head/MatMul', 'MatMul', [layerNorm('ln_f', x), tied]);

  const dim = (v: string | number): onnx.TensorShapeProto.IDimension =>
    typeof v === 'number' ? { dimValue: v } : { dimParam: v };
  const vi = (name: string, elemType: number, dims: (string | number)[]): onnx.IValueInfoProto => ({
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map(dim) } } },
  });
  const model: onnx.IModelProto = {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'pytorch',
    producerVersion: '2.1.0',
    graph: {
      name: 'main_graph',
      node: nodes,
      initializer: inits,
      input: [
        vi('input_ids', INT64, ['batch', 'seq']),
        vi('position_ids', INT64, ['batch', 'seq']),
        vi('attention_mask', FLOAT, ['batch', 1, 'seq', 'seq']),
      ],
      output: [vi(logits, FLOAT, ['batch', 'seq', LLM.vocab])],
    },
  };
  const file = path.join(dir, 'model.onnx');
  fs.writeFileSync(file, onnx.ModelProto.encode(model).finish());
  if (files !== 4 + LLM.blocks * 16) throw new Error(`wrote ${files} weight files`);
  return file;
}

if (require.main === module) {
  const dir = path.resolve(process.argv[2] ?? path.join(__dirname, '..', 'bench', 'models', 'llm16'));
  const file = makeBigLlm(dir);
  const bytes = fs.readdirSync(dir).reduce((s, f) => s + fs.statSync(path.join(dir, f)).size, 0);
  process.stdout.write(`${file}: ${(bytes / 1e9).toFixed(2)} GB in ${fs.readdirSync(dir).length} files\n`);
}
