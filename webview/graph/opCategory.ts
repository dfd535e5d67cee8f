/**
 * Op categories, for node colours: the same families across ONNX and TF.js spellings.
 */

/** The colour families nodes are drawn in. */
export type OpCategory =
  'conv' | 'linear' | 'norm' | 'activation' | 'pool' | 'merge' | 'shape' | 'io' | 'other';

const table: [RegExp, OpCategory][] = [
  [/conv|depthwise/i, 'conv'],
  [/^(gemm|matmul|dense|_fusedmatmul|batchmatmul|einsum|embedding|gather)$/i, 'linear'],
  [/norm/i, 'norm'],
  [
    /relu|sigmoid|tanh|softmax|gelu|elu|swish|silu|hardswish|hardsigmoid|activation|clip|erf|prelu|softplus|mish/i,
    'activation',
  ],
  [/pool|resize|upsampl|globalaverage|globalmax/i, 'pool'],
  [
    /^(add|addv2|addn|sum|concat|concatv2|concatenate|mul|multiply|sub|div|average|maximum|minimum)$/i,
    'merge',
  ],
  [
    /reshape|flatten|transpose|squeeze|unsqueeze|slice|split|pad|shape|gather|cast|identity|expand|tile|permute|dropout/i,
    'shape',
  ],
];

const cache = new Map<string, OpCategory>();

/** The category of an op type. */
export function opCategory(op: string): OpCategory {
  let c = cache.get(op);
  if (c) return c;
  c = table.find(([re]) => re.test(op))?.[1] ?? 'other';
  cache.set(op, c);
  return c;
}
