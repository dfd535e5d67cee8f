/**
 * What an ONNX op implementation receives: its node, typed attribute readers and its inputs in
 * the layout it asks for.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { AttrValue, Node, TensorData } from '../../model/ir';
import { ModelError } from '../../errors';
import { Val, readInts } from '../val';
import type { Direction } from '../probeTypes';

/** One op's view of the running graph. */
export interface OpContext {
  node: Node;
  /** Default-domain opset of the model (attribute forms changed across opsets). */
  opset: number;
  /** Number of inputs, counting omitted ones. */
  count: number;
  /** True when input `i` is present. */
  has(i: number): boolean;
  /** Input `i` with its layout (throws ModelError when missing). */
  val(i: number): Val;
  /** Input `i` in ONNX layout. */
  nat(i: number): tf.Tensor;
  /** Input `i`, a logical 4-D tensor, in NHWC. */
  nhwc(i: number): tf.Tensor4D;
  /** Input `i` read as integers (shape arithmetic, axes, pads); undefined when omitted. */
  ints(i: number): number[] | undefined;
  /** Input `i` read as numbers; undefined when omitted. */
  floats(i: number): number[] | undefined;
  /** True when input `i` needs a gradient (depends on a parameter or is probed). */
  needsGrad(i: number): boolean;
  /** Throws a ModelError naming the node. */
  fail(problem: string): never;
  /**
   * Taps the hidden state of step `t` (sequence order) of one direction of a recurrent node:
   * returns the tensor to use in its place. Absent when no probe measures timesteps.
   */
  timestep?(direction: Direction, t: number, h: tf.Tensor): tf.Tensor;
}

/** An ONNX op: computes the node's outputs (one Val per output, in any layout). */
export type OpFn = (c: OpContext) => Val[];

/** Converts an int64 attribute or element to a number, clamping the INT64 sentinels ONNX uses for "to the end". */
export function toNum(v: number | bigint): number {
  if (typeof v === 'number') return v;
  if (v > 2147483647n) return 2147483647;
  if (v < -2147483648n) return -2147483648;
  return Number(v);
}

function attr(node: Node, name: string): AttrValue | undefined {
  return node.attributes[name];
}

/** An integer attribute. */
export function aInt(node: Node, name: string, dflt: number): number {
  const v = attr(node, name);
  if (v === undefined || v === null) return dflt;
  if (typeof v === 'number' || typeof v === 'bigint') return toNum(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  throw new ModelError(`node "${node.name}" (${node.op}): attribute ${name} should be an integer.`);
}

/** A float attribute. */
export function aFloat(node: Node, name: string, dflt: number): number {
  const v = attr(node, name);
  if (v === undefined || v === null) return dflt;
  if (typeof v === 'number' || typeof v === 'bigint') return Number(v);
  throw new ModelError(`node "${node.name}" (${node.op}): attribute ${name} should be a number.`);
}

/** An integer-list attribute (undefined when absent). */
export function aInts(node: Node, name: string): number[] | undefined {
  const v = attr(node, name);
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) return (v as (number | bigint | string)[]).map((x) => toNum(x as number | bigint));
  if (typeof v === 'number' || typeof v === 'bigint') return [toNum(v)];
  throw new ModelError(`node "${node.name}" (${node.op}): attribute ${name} should be a list of integers.`);
}

/** A string attribute. */
export function aStr(node: Node, name: string, dflt: string): string {
  const v = attr(node, name);
  if (v === undefined || v === null) return dflt;
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) return new TextDecoder().decode(v);
  throw new ModelError(`node "${node.name}" (${node.op}): attribute ${name} should be a string.`);
}

/** A tensor attribute (Constant value, ConstantOfShape value). */
export function aTensor(node: Node, name: string): TensorData | undefined {
  const v = attr(node, name);
  if (v && typeof v === 'object' && 'read' in v && typeof (v as TensorData).read === 'function')
    return v as TensorData;
  return undefined;
}

/** Builds a TF.js tensor from lazily read tensor data (int64 → int32, float64/16 → float32). */
export function tensorFromData(d: TensorData, what: string): tf.Tensor {
  const vals = d.read();
  const shape = d.shape;
  switch (d.dtype) {
    case 'float32':
    case 'float16':
    case 'bfloat16':
    case 'float64':
      return tf.tensor(
        vals instanceof Float32Array ? vals : Float32Array.from(vals as ArrayLike<number>),
        shape,
        'float32',
      );
    case 'bool':
      return tf.tensor(Int32Array.from(vals as ArrayLike<number>), shape, 'bool');
    case 'int64':
    case 'uint64':
    case 'int32':
    case 'uint32':
    case 'int16':
    case 'uint16':
    case 'int8':
    case 'uint8': {
      const out = new Int32Array((vals as ArrayLike<number | bigint>).length);
      for (let i = 0; i < out.length; i++) out[i] = toNum((vals as ArrayLike<number | bigint>)[i]);
      return tf.tensor(out, shape, 'int32');
    }
    default:
      throw new ModelError(`${what}: tensors of type ${d.dtype} cannot be run.`);
  }
}

/** Reads an integer tensor synchronously. */
export { readInts };
