/**
 * The ONNX files of the adversarial corpus: each is valid protobuf that lies about its content
 * (shapes, dtypes, structure, versions, external data, names) or is merely extreme (100k nodes).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CaseKind, CorpusCase } from './corpusCase';
import {
  ATTR,
  attr,
  externalTensor,
  graph,
  INT64,
  node,
  tensor,
  valueInfo,
  writeModel,
  type ModelOptions,
  type Proto,
} from './onnxWrite';

const F = 'model.onnx';
const x4 = () => valueInfo('x', [1, 4]);
const y4 = () => valueInfo('y', [1, 4]);
const floats = (n: number, v = 0.5) => new Array<number>(n).fill(v);

/** A case writing one ONNX model (plus side files from `extra`). */
function onnxCase(
  name: string,
  kind: CaseKind,
  what: string,
  make: () => Proto,
  opts?: ModelOptions & { extra?: (dir: string) => void; afterOpen?: (dir: string) => void },
): CorpusCase {
  return {
    name,
    kind,
    what,
    file: F,
    write(dir) {
      writeModel(path.join(dir, F), make(), opts);
      opts?.extra?.(dir);
    },
    afterOpen: opts?.afterOpen,
  };
}

/** x → op_0 → … → op_{n-1} → y, each node named `${prefix}${i}`. */
function chain(n: number, op = 'Relu', prefix = 'relu_'): Proto {
  const nodes: Proto[] = [];
  for (let i = 0; i < n; i++)
    nodes.push(node(op, [i === 0 ? 'x' : `t${i - 1}`], [i === n - 1 ? 'y' : `t${i}`], `${prefix}${i}`));
  return graph(nodes, [x4()], [y4()]);
}

/** A Gemm y = x·Wᵀ + b with a 4×4 weight: the smallest model with parameters. */
function gemm(w: Proto = tensor('W', [4, 4], floats(16)), extraInits: Proto[] = []): Proto {
  return graph(
    [node('Gemm', ['x', 'W', 'b'], ['y'], 'fc', [attr('transB', { i: 1 })])],
    [x4()],
    [y4()],
    [w, tensor('b', [4], floats(4, 0.1)), ...extraInits],
  );
}

/** Text of `n` characters cycling through markup, bidi and control characters. */
function evilText(n: number): string {
  const bits = [
    '<script>alert(1)</script>',
    '<img src=x onerror=alert(2)>',
    '[click](command:workbench.action.terminal.new)',
    '`code`**bold**',
    '\u202e\u2066evil\u2069\u202c',
    '\u0000\u0007\u001b[31m\r\n\t',
    '${x}{{y}}%s',
    '&amp;&lt;',
  ];
  let s = '';
  for (let i = 0; s.length < n; i++) s += bits[i % bits.length];
  return s.slice(0, n);
}

/** An If whose then-branch reads `outer` (a value of the enclosing graph). */
function ifBody(outer: string, out: string): Proto {
  return graph([node('Identity', [outer], [out], 'then_id')], [], [valueInfo(out, [1, 4])], [], [], 'then');
}

/** Writes `bytes` of float data to `dir/name`. */
const dataFile = (name: string, floatsCount: number) => (dir: string) =>
  fs.writeFileSync(path.join(dir, name), Buffer.from(Float32Array.from(floats(floatsCount)).buffer));

/** A secret the escapes point at: beside the case folders, outside every model's folder. */
const SECRET = '../secret.bin';
const secret = (dir: string) => {
  const f = path.join(dir, SECRET);
  if (!fs.existsSync(f)) fs.writeFileSync(f, Buffer.alloc(4096, 0x41));
};

/** The ONNX cases. */
export function onnxCases(): CorpusCase[] {
  return [
    // Issue 16's hand-made files.
    onnxCase('relu_chain_60k', 'issue', '60,000 Relu nodes in a chain, no parameters', () => chain(60_000)),
    onnxCase('markup_name_100k', 'issue', 'one Relu named by 100,000 characters of markup and controls', () =>
      graph([node('Relu', ['x'], ['y'], evilText(100_000))], [x4()], [y4()]),
    ),
    onnxCase('opset_99', 'issue', 'declares opset 99', () => chain(3), { opsets: { '': 99 } }),
    onnxCase('init_2p40_16_bytes', 'issue', 'an initializer of 2^40 elements with 16 bytes of data', () =>
      gemm(tensor('W', [1_048_576, 1_048_576], floats(4))),
    ),
    onnxCase('reshape_2p40_2p30', 'issue', 'a Reshape to [2^40, 2^30]', () =>
      graph(
        [node('Reshape', ['x', 'shape'], ['y'], 'reshape_huge')],
        [x4()],
        [valueInfo('y', null)],
        [tensor('shape', [2], new Uint8Array(BigInt64Array.from([2n ** 40n, 2n ** 30n]).buffer), INT64)],
      ),
    ),
    onnxCase('cycle', 'issue', 'two nodes feeding each other', () =>
      graph(
        [node('Add', ['x', 'b'], ['a'], 'add_a'), node('Relu', ['a'], ['b'], 'relu_b')],
        [x4()],
        [valueInfo('a', [1, 4])],
      ),
    ),
    onnxCase('conv_negative_pads', 'issue', 'a Conv with negative pads and the wrong channel count', () =>
      graph(
        [
          node('Conv', ['x', 'W'], ['y'], 'conv_bad', [
            attr('pads', { ints: [-2, -2, -2, -2] }),
            attr('kernel_shape', { ints: [3, 3] }),
          ]),
        ],
        [valueInfo('x', [1, 3, 8, 8])],
        [valueInfo('y', null)],
        [tensor('W', [4, 5, 3, 3], floats(180))],
      ),
    ),
    onnxCase('external_etc_passwd', 'issue', 'external data at ../../../../etc/passwd', () =>
      gemm(externalTensor('W', [4, 4], '../../../../etc/passwd')),
    ),

    // Shape and dtype lies.
    onnxCase('init_short_data', 'shape', 'a [8, 8] initializer with 16 bytes', () =>
      graph(
        [node('MatMul', ['x', 'W'], ['y'], 'mm')],
        [valueInfo('x', [1, 8])],
        [valueInfo('y', [1, 8])],
        [tensor('W', [8, 8], floats(4))],
      ),
    ),
    onnxCase('init_long_data', 'shape', 'a [4, 4] initializer with 1,024 bytes', () =>
      gemm(tensor('W', [4, 4], floats(256))),
    ),
    onnxCase(
      'value_info_lies',
      'shape',
      'value_info says int64 [7, 7, 7] where the value is float [1, 4]',
      () =>
        graph(
          [node('Relu', ['x'], ['h'], 'relu'), node('Sigmoid', ['h'], ['y'], 'sig')],
          [x4()],
          [valueInfo('y', [3, 3])],
          [],
          [valueInfo('h', [7, 7, 7], INT64)],
        ),
    ),
    onnxCase('negative_dims', 'shape', 'initializers of dims [-3, 4] and [-1]', () =>
      gemm(tensor('W', [-3, 4], floats(16)), [tensor('unused', [-1], floats(1))]),
    ),
    onnxCase('input_negative_dim', 'shape', 'a graph input of shape [-5, 4]', () =>
      graph([node('Relu', ['x'], ['y'], 'relu')], [valueInfo('x', [-5, 4])], [y4()]),
    ),
    onnxCase('dims_2p62', 'shape', 'an initializer of dims [2^62, 4] and an input of dim 2^62', () =>
      graph(
        [node('Add', ['x', 'W'], ['y'], 'add')],
        [valueInfo('x', ['4611686018427387904', 4])],
        [valueInfo('y', null)],
        [tensor('W', ['4611686018427387904', 4], floats(4))],
      ),
    ),
    onnxCase('input_dim_2p40', 'shape', 'a graph input of shape [1, 2^40]', () =>
      graph([node('Relu', ['x'], ['y'], 'relu_big')], [valueInfo('x', [1, 2 ** 40])], [valueInfo('y', null)]),
    ),
    onnxCase('rank_mismatch', 'shape', 'MatMul of [1, 4] by a rank-1 weight; Add of [1, 4] and [5, 3]', () =>
      graph(
        [node('MatMul', ['x', 'W'], ['h'], 'mm_rank'), node('Add', ['h', 'B'], ['y'], 'add_rank')],
        [x4()],
        [valueInfo('y', null)],
        [tensor('W', [3], floats(3)), tensor('B', [5, 3], floats(15))],
      ),
    ),
    onnxCase('gemm_4d_weight', 'shape', 'a Gemm with a 4-D weight', () =>
      gemm(tensor('W', [4, 4, 1, 1], floats(16))),
    ),
    onnxCase('dtype_lie', 'shape', 'an int64 initializer with 6 bytes; an initializer of data type 999', () =>
      graph(
        [node('Reshape', ['x', 'shape'], ['h'], 'reshape'), node('Add', ['h', 'odd'], ['y'], 'add_odd')],
        [x4()],
        [valueInfo('y', null)],
        [tensor('shape', [2], new Uint8Array(6), INT64), tensor('odd', [1], new Uint8Array(4), 999)],
      ),
    ),

    // Structure.
    onnxCase('empty_graph', 'structure', 'a graph with no nodes, inputs or outputs', () => graph([], [], [])),
    onnxCase('no_parameters', 'structure', 'Relu → Sigmoid → Tanh, no initializers', () =>
      graph(
        [
          node('Relu', ['x'], ['a'], 'relu'),
          node('Sigmoid', ['a'], ['b'], 'sigmoid'),
          node('Tanh', ['b'], ['y'], 'tanh'),
        ],
        [x4()],
        [y4()],
      ),
    ),
    onnxCase('no_outputs', 'structure', 'nodes, but no graph output', () => {
      const g = gemm();
      g.output = [];
      return g;
    }),
    onnxCase('no_inputs', 'structure', 'a Gemm of two initializers, no graph input', () =>
      graph(
        [node('Gemm', ['A', 'W'], ['y'], 'fc')],
        [],
        [y4()],
        [tensor('A', [1, 4], floats(4)), tensor('W', [4, 4], floats(16))],
      ),
    ),
    onnxCase('missing_input', 'structure', 'a node reading a tensor nothing defines', () =>
      graph([node('Add', ['x', 'ghost'], ['y'], 'add_ghost')], [x4()], [y4()]),
    ),
    onnxCase('duplicate_node_names', 'structure', 'two nodes named "n"', () =>
      graph([node('Relu', ['x'], ['a'], 'n'), node('Sigmoid', ['a'], ['y'], 'n')], [x4()], [y4()]),
    ),
    onnxCase('duplicate_outputs', 'structure', 'two nodes writing the same tensor', () =>
      graph(
        [node('Relu', ['x'], ['y'], 'relu_1'), node('Sigmoid', ['x'], ['y'], 'sigmoid_2')],
        [x4()],
        [y4()],
      ),
    ),
    onnxCase(
      'duplicate_initializers',
      'structure',
      'two initializers named W, one also a graph input',
      () => {
        const g = gemm(tensor('W', [4, 4], floats(16)), [tensor('W', [2, 2], floats(4))]);
        (g.input as Proto[]).push(valueInfo('W', [4, 4]));
        return g;
      },
    ),
    onnxCase('self_loop', 'structure', 'a node reading its own output', () =>
      graph([node('Add', ['x', 'y'], ['y'], 'add_self')], [x4()], [y4()]),
    ),
    onnxCase('cycle_through_if', 'structure', 'an If whose branch reads a value computed from the If', () =>
      graph(
        [
          node('If', ['cond'], ['z'], 'if_cycle', [
            attr('then_branch', { g: ifBody('late', 'z_then') }),
            attr('else_branch', { g: ifBody('x', 'z_else') }),
          ]),
          node('Relu', ['z'], ['late'], 'relu_late'),
          node('Identity', ['late'], ['y'], 'out'),
        ],
        [x4(), valueInfo('cond', [], 9)],
        [y4()],
      ),
    ),
    onnxCase(
      'cycle_through_loop',
      'structure',
      'a Loop whose body reads a value computed from the Loop',
      () =>
        graph(
          [
            node('Loop', ['trip', '', 'x'], ['v'], 'loop_cycle', [
              attr('body', {
                g: graph(
                  [
                    node('Identity', ['c_in'], ['c_out'], 'body_cond'),
                    node('Add', ['v_in', 'late'], ['v_out'], 'body_add'),
                  ],
                  [valueInfo('i', []), valueInfo('c_in', [], 9), valueInfo('v_in', [1, 4])],
                  [valueInfo('c_out', [], 9), valueInfo('v_out', [1, 4])],
                  [],
                  [],
                  'body',
                ),
              }),
            ]),
            node('Relu', ['v'], ['late'], 'relu_late'),
            node('Identity', ['late'], ['y'], 'out'),
          ],
          [x4()],
          [y4()],
          [tensor('trip', [], new Uint8Array(BigInt64Array.from([2n]).buffer), INT64)],
        ),
    ),
    onnxCase('subgraphs_40_deep', 'structure', 'If bodies nested 40 deep', () => {
      let body = graph(
        [node('Identity', ['x'], ['z0'], 'leaf')],
        [],
        [valueInfo('z0', [1, 4])],
        [],
        [],
        'b0',
      );
      for (let i = 1; i <= 40; i++)
        body = graph(
          [
            node('If', ['cond'], [`z${i}`], `if_${i}`, [
              attr('then_branch', { g: body }),
              attr('else_branch', { g: ifBody('x', `e${i}`) }),
            ]),
          ],
          [],
          [valueInfo(`z${i}`, [1, 4])],
          [],
          [],
          `b${i}`,
        );
      const top = body.node as Proto[];
      (top[0].output as string[])[0] = 'y';
      return graph(top, [x4(), valueInfo('cond', [], 9)], [y4()]);
    }),

    // Scale.
    onnxCase('chain_100k', 'scale', '100,000 Relu nodes in a chain', () => chain(100_000)),
    onnxCase('fanout_100k', 'scale', 'one input read by 100,000 nodes, summed by one Sum', () => {
      const n = 100_000;
      const nodes: Proto[] = [];
      for (let i = 0; i < n; i++) nodes.push(node('Relu', ['x'], [`r${i}`], `fan_${i}`));
      nodes.push(
        node(
          'Sum',
          nodes.map((_, i) => `r${i}`),
          ['y'],
          'sum_all',
        ),
      );
      return graph(nodes, [x4()], [y4()]);
    }),
    onnxCase('outputs_100k', 'scale', '100,000 graph outputs', () => {
      const n = 100_000;
      const nodes: Proto[] = [];
      for (let i = 0; i < n; i++) nodes.push(node('Neg', ['x'], [`o${i}`], `neg_${i}`));
      return graph(
        nodes,
        [x4()],
        nodes.map((_, i) => valueInfo(`o${i}`, [1, 4])),
      );
    }),

    // Versions, domains, attributes.
    onnxCase(
      'future_domain',
      'version',
      'an op of domain com.future.ai (opset 7) between Relus',
      () =>
        graph(
          [
            node('Relu', ['x'], ['a'], 'relu'),
            node('HyperConv', ['a'], ['b'], 'hyper', [attr('warp', { f: 9 })], 'com.future.ai'),
            node('Relu', ['b'], ['y'], 'relu_2'),
          ],
          [x4()],
          [y4()],
        ),
      { opsets: { '': 17, 'com.future.ai': 7 } },
    ),
    onnxCase('future_op', 'version', 'an unknown op in the default domain', () =>
      graph(
        [node('Relu', ['x'], ['a'], 'relu'), node('FluxCapacitor', ['a'], ['y'], 'flux')],
        [x4()],
        [y4()],
      ),
    ),
    onnxCase('ir_version_99', 'version', 'IR version 99', () => gemm(), { irVersion: 99 }),
    onnxCase('unknown_attributes', 'version', 'a Relu and a Gemm with attributes no opset defines', () =>
      graph(
        [
          node('Relu', ['x'], ['a'], 'relu', [attr('flavor', { s: 'spicy' })]),
          node('Gemm', ['a', 'W'], ['y'], 'fc', [
            attr('transB', { i: 1 }),
            attr('turbo', { floats: [1, 2] }),
          ]),
        ],
        [x4()],
        [y4()],
        [tensor('W', [4, 4], floats(16))],
      ),
    ),
    onnxCase(
      'attr_type_lies',
      'version',
      'Conv kernel_shape as a string, strides as floats, Gemm transB as a graph',
      () =>
        graph(
          [
            node('Conv', ['x', 'W'], ['c'], 'conv_lie', [
              attr('kernel_shape', { s: '3x3' }),
              attr('strides', { floats: [1.5, 1.5] }),
              attr('pads', { ints: [1, 1, 1, 1] }, ATTR.FLOAT),
            ]),
            node('Flatten', ['c'], ['f'], 'flat'),
            node('Gemm', ['f', 'G'], ['y'], 'gemm_lie', [attr('transB', { g: graph([], [], []) })]),
          ],
          [valueInfo('x', [1, 3, 4, 4])],
          [valueInfo('y', null)],
          [tensor('W', [2, 3, 3, 3], floats(54)), tensor('G', [32, 4], floats(128))],
        ),
    ),
    onnxCase(
      'attr_missing_required',
      'version',
      'a Transpose with a perm longer than the rank, a Concat without axis',
      () =>
        graph(
          [
            node('Transpose', ['x'], ['t'], 'transpose_bad', [attr('perm', { ints: [3, 2, 1, 0, 7] })]),
            node('Concat', ['t', 't'], ['y'], 'concat_no_axis'),
          ],
          [x4()],
          [valueInfo('y', null)],
        ),
    ),

    // External data.
    onnxCase('external_absolute', 'external', 'external data at an absolute path', () =>
      gemm(externalTensor('W', [4, 4], '/etc/hostname')),
    ),
    onnxCase(
      'external_dotdot',
      'external',
      'external data at ../secret.bin',
      () => gemm(externalTensor('W', [4, 4], SECRET)),
      {
        extra: secret,
      },
    ),
    onnxCase(
      'external_symlink_out',
      'external',
      'external data in a symlink to a file outside the folder',
      () => gemm(externalTensor('W', [4, 4], 'weights.bin')),
      {
        extra: (dir) => {
          secret(dir);
          fs.symlinkSync(path.resolve(dir, SECRET), path.join(dir, 'weights.bin'));
        },
      },
    ),
    onnxCase(
      'external_offset_past_end',
      'external',
      'external data at offset 10^9 of a 64-byte file',
      () => gemm(externalTensor('W', [4, 4], 'weights.bin', 1_000_000_000, 64)),
      { extra: dataFile('weights.bin', 16) },
    ),
    onnxCase(
      'external_huge_offset',
      'external',
      'external data at offset 2^62',
      () => gemm(externalTensor('W', [4, 4], 'weights.bin', '4611686018427387904')),
      { extra: dataFile('weights.bin', 16) },
    ),
    onnxCase('external_missing', 'external', 'external data in a file that is not there', () =>
      gemm(externalTensor('W', [4, 4], 'gone.bin')),
    ),
    onnxCase(
      'external_is_folder',
      'external',
      'external data "file" that is a folder',
      () => gemm(externalTensor('W', [4, 4], 'sub')),
      { extra: (dir) => fs.mkdirSync(path.join(dir, 'sub')) },
    ),
    onnxCase(
      'external_shrinks',
      'external',
      'the external data file is truncated after the model is opened',
      () => gemm(externalTensor('W', [4, 4], 'weights.bin')),
      {
        extra: dataFile('weights.bin', 16),
        afterOpen: (dir) => fs.truncateSync(path.join(dir, 'weights.bin'), 8),
      },
    ),
    onnxCase(
      'model_shrinks',
      'external',
      'the model file is truncated after it is opened, before its weights are read',
      () =>
        graph(
          [
            node('Relu', ['x'], ['h'], 'relu'),
            node('Gemm', ['h', 'W', 'b'], ['y'], 'fc', [attr('transB', { i: 1 })]),
          ],
          [valueInfo('x', [1, 64])],
          [valueInfo('y', [1, 64])],
          // Larger than the 1 KiB the reader keeps in memory: its bytes stay in the file.
          [tensor('b', [64], floats(64)), tensor('W', [64, 64], floats(64 * 64))],
        ),
      { afterOpen: (dir) => fs.truncateSync(path.join(dir, F), 40) },
    ),

    // Names.
    onnxCase(
      'names_markup',
      'names',
      'node, tensor and graph names of HTML, Markdown links and command URIs',
      () => {
        const n = '<b onmouseover=alert(1)>[x](command:workbench.action.reloadWindow)</b>';
        return graph(
          [node('Gemm', [`${n}_in`, `${n}_W`], [`${n}_out`], n, [attr('transB', { i: 1 })])],
          [valueInfo(`${n}_in`, [1, 4])],
          [valueInfo(`${n}_out`, [1, 4])],
          [tensor(`${n}_W`, [4, 4], floats(16))],
          [],
          '<svg onload=alert(3)>',
        );
      },
    ),
    onnxCase('names_bidi_controls', 'names', 'names with bidi overrides, NUL, ESC and newlines', () => {
      const n = 'relu\u202e)1(trela\u202c\u0000\u001b[2J\r\nend';
      return graph(
        [node('Relu', ['x\u2066'], [`y${n}`], n), node('Identity', [`y${n}`], ['y'], 'id\u200b')],
        [valueInfo('x\u2066', [1, 4])],
        [y4()],
      );
    }),
    onnxCase('names_megabyte', 'names', 'a node and a weight whose names are a megabyte long', () => {
      const long = 'n'.repeat(1 << 20);
      return graph(
        [node('Gemm', ['x', `${long}_W`], ['y'], long, [attr('transB', { i: 1 })])],
        [x4()],
        [y4()],
        [tensor(`${long}_W`, [4, 4], floats(16))],
      );
    }),
    onnxCase('names_empty', 'names', 'nodes without names, a graph output named ""', () =>
      graph([node('Relu', ['x'], ['a']), node('Relu', ['a'], ['y'])], [x4()], [y4(), valueInfo('', [1])]),
    ),
  ];
}
