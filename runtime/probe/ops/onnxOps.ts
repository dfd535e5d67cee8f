/**
 * The ONNX ops the executor can run (default domain), by op type, and which of their input slots
 * carry learnable tensors (the others — running statistics, shapes, indices, scales — are not
 * reported as parameters).
 */
import type { Node } from '../../model/ir';
import type { OpFn } from './opContext';
import { elementwiseOps } from './elementwiseOps';
import { nnOps } from './nnOps';
import { tensorOps } from './tensorOps';
import { indexOps } from './indexOps';
import { einsum } from './einsumOp';
import { recurrentOps, recurrentProblem } from './recurrentOps';

/** Every supported op. */
export const onnxOps: Record<string, OpFn> = {
  ...elementwiseOps,
  ...nnOps,
  ...tensorOps,
  ...indexOps,
  ...recurrentOps,
  Einsum: einsum,
};

/** Attribute checks run before anything runs, by op: the end of a sentence naming the node, or undefined. */
const opProblems: Record<string, (n: Node) => string | undefined> = {
  LSTM: recurrentProblem,
  GRU: recurrentProblem,
  RNN: recurrentProblem,
};

/** Integer-list attributes the kernels index memory with; `min` is the least value each entry may take. */
const INT_LISTS: Record<string, number> = {
  kernel_shape: 1,
  strides: 1,
  dilations: 1,
  pads: 0,
  output_padding: 0,
  output_shape: 0,
  perm: 0,
};
/** Integer attributes, with the least value each may take. */
const INTS: Record<string, number> = {
  group: 1,
  axis: -Infinity,
  transA: 0,
  transB: 0,
  keepdims: 0,
  ceil_mode: 0,
};

/**
 * An attribute whose value is not of its type (a file may declare `strides` as floats or
 * `kernel_shape` as a string): said before anything runs, since a kernel would index memory with it.
 */
function attributeTypeProblem(n: Node): string | undefined {
  for (const [name, v] of Object.entries(n.attributes)) {
    const listMin = INT_LISTS[name];
    if (listMin !== undefined) {
      if (!Array.isArray(v) || !v.every((x) => Number.isSafeInteger(x) && (x as number) >= listMin))
        return `has attribute ${name} = ${shortValue(v)}, which is not a list of ${listMin === 1 ? 'positive ' : listMin === 0 ? 'non-negative ' : ''}integers`;
    }
    const intMin = INTS[name];
    if (intMin !== undefined && !(Number.isSafeInteger(v) && (v as number) >= intMin))
      return `has attribute ${name} = ${shortValue(v)}, which is not ${intMin === 1 ? 'a positive' : intMin === 0 ? 'a non-negative' : 'an'} integer`;
  }
  return undefined;
}

function shortValue(v: unknown): string {
  const text = Array.isArray(v)
    ? `[${v.map(String).join(', ')}]`
    : typeof v === 'string'
      ? `"${v}"`
      : String(v);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/** What keeps a supported op's node from running, found from its attributes alone (undefined: nothing). */
export function onnxOpProblem(n: Node): string | undefined {
  return attributeTypeProblem(n) ?? opProblems[n.op]?.(n);
}

/** Input slots that never hold parameters even when fed by a float initializer. */
const nonParamSlots: Record<string, number[]> = {
  BatchNormalization: [3, 4],
  Resize: [1, 2, 3],
  Upsample: [1],
  Clip: [1, 2],
  Pad: [1, 2, 3],
  Reshape: [1],
  Expand: [1],
  Tile: [1],
  Slice: [1, 2, 3, 4],
  Squeeze: [1],
  Unsqueeze: [1],
  Gather: [1],
  Split: [1],
  CumSum: [1],
  Range: [0, 1, 2],
  ConstantOfShape: [0],
  ReduceMean: [1],
  ReduceSum: [1],
  ReduceMax: [1],
  ReduceMin: [1],
  ReduceProd: [1],
  ReduceL1: [1],
  ReduceL2: [1],
  ReduceSumSquare: [1],
  ReduceLogSumExp: [1],
  // sequence_lens (int) is never one; learned initial states (initial_h, initial_c) and peepholes are.
  LSTM: [4],
  GRU: [4],
  RNN: [4],
};

/** True when input `slot` of an `op` node can hold a learnable parameter. */
export function isParamSlot(op: string, slot: number): boolean {
  return !(nonParamSlots[op] ?? []).includes(slot);
}
