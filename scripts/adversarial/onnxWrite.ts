/**
 * A few helpers to write ONNX protobuf by hand (onnx-proto's encoder), for the adversarial corpus:
 * every file they make is valid protobuf, whatever lies it tells about its content.
 */
import * as fs from 'node:fs';
import { onnx } from 'onnx-proto';

/** An int64 field's value: a number, or a decimal string for values past 2^53. */
export type Int64 = number | string;

/** int64 values go through fromObject, which takes decimal strings for those past 2^53. */
const long = (v: Int64) => v;

/** A message as onnx-proto's fromObject takes it (int64 as number or decimal string). */
export type Proto = Record<string, unknown>;

/** ONNX data types by name (TensorProto.DataType). */
export const FLOAT = 1;
export const INT64 = 7;

/** A tensor type with `dims` (numbers, symbolic names, or decimal strings of huge values). */
export function valueInfo(name: string, dims: (Int64 | null)[] | null, elemType = FLOAT): Proto {
  const shape =
    dims === null
      ? undefined
      : {
          dim: dims.map((d) =>
            d === null
              ? {}
              : typeof d === 'string' && !/^-?\d+$/.test(d)
                ? { dimParam: d }
                : { dimValue: long(d) },
          ),
        };
  return { name, type: { tensorType: { elemType, shape } } };
}

/** An initializer with `dims` and the given raw bytes (or float32 values). */
export function tensor(name: string, dims: Int64[], data: Uint8Array | number[], dataType = FLOAT): Proto {
  const rawData = Array.isArray(data) ? new Uint8Array(Float32Array.from(data).buffer) : data;
  return { name, dims: dims.map(long), dataType, rawData };
}

/** An initializer whose bytes live in `location` (offset/length as written, lies included). */
export function externalTensor(
  name: string,
  dims: Int64[],
  location: string,
  offset?: Int64,
  length?: Int64,
): Proto {
  const externalData = [{ key: 'location', value: location }];
  if (offset !== undefined) externalData.push({ key: 'offset', value: String(offset) });
  if (length !== undefined) externalData.push({ key: 'length', value: String(length) });
  return {
    name,
    dims: dims.map(long),
    dataType: FLOAT,
    dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
    externalData,
  };
}

/** An attribute value as ONNX types it. */
export type Attr =
  | { f: number }
  | { i: Int64 }
  | { s: string }
  | { floats: number[] }
  | { ints: Int64[] }
  | { g: Proto }
  | { t: Proto }
  | { strings: string[] };

const ATTR = onnx.AttributeProto.AttributeType;

/** An attribute; `type` overrides the declared type (to make it lie). */
export function attr(name: string, a: Attr, type?: onnx.AttributeProto.AttributeType): Proto {
  if ('f' in a) return { name, type: type ?? ATTR.FLOAT, f: a.f };
  if ('i' in a) return { name, type: type ?? ATTR.INT, i: long(a.i) };
  if ('s' in a) return { name, type: type ?? ATTR.STRING, s: Buffer.from(a.s) };
  if ('floats' in a) return { name, type: type ?? ATTR.FLOATS, floats: a.floats };
  if ('ints' in a) return { name, type: type ?? ATTR.INTS, ints: a.ints.map(long) };
  if ('g' in a) return { name, type: type ?? ATTR.GRAPH, g: a.g };
  if ('t' in a) return { name, type: type ?? ATTR.TENSOR, t: a.t };
  return { name, type: type ?? ATTR.STRINGS, strings: a.strings.map((s) => Buffer.from(s)) };
}
export { ATTR };

/** A node. */
export function node(
  op: string,
  inputs: string[],
  outputs: string[],
  name = '',
  attributes: Proto[] = [],
  domain = '',
): Proto {
  return { opType: op, input: inputs, output: outputs, name, attribute: attributes, domain };
}

/** A graph. */
export function graph(
  nodes: Proto[],
  inputs: Proto[],
  outputs: Proto[],
  initializers: Proto[] = [],
  valueInfos: Proto[] = [],
  name = 'g',
): Proto {
  return {
    name,
    node: nodes,
    input: inputs,
    output: outputs,
    initializer: initializers,
    valueInfo: valueInfos,
  };
}

/** Model-level settings a case may change. */
export interface ModelOptions {
  opsets?: Record<string, number>;
  irVersion?: number;
}

/** Encodes a model around `g` (IR 8, opset 17 unless told otherwise). */
export function modelBytes(g: Proto, opts: ModelOptions = {}): Uint8Array {
  const opsets = opts.opsets ?? { '': 17 };
  const m = onnx.ModelProto.fromObject({
    irVersion: long(opts.irVersion ?? 8),
    producerName: 'skipscope-adversarial',
    opsetImport: Object.entries(opsets).map(([domain, version]) => ({ domain, version: long(version) })),
    graph: g,
  });
  return onnx.ModelProto.encode(m).finish();
}

/** Writes the model around `g` to `file`. */
export function writeModel(file: string, g: Proto, opts?: ModelOptions): void {
  fs.writeFileSync(file, modelBytes(g, opts));
}
