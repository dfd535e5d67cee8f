/**
 * ONNX reader: ModelProto → IR Model, walking the file with the wire reader so that weights are
 * never loaded (initializers keep offsets; external data is read lazily).
 */
import { ModelError } from '../../errors';
import type {
  AttrValue,
  DType,
  FunctionDef,
  Graph,
  Model,
  Node,
  Shape,
  TensorData,
  TensorValues,
} from '../ir';
import type { ByteSource } from '../byteSource';
import { buildGraph, scopeOf, type RawGraph, type RawNode, type ValueDecl } from '../graphBuilder';
import { FieldReader, I32, LEN, VARINT, WireError } from './wire';
import { OnnxTensor, onnxDType, parseEntry, parseTensor, type OnnxFileRef } from './onnxTensor';
import { elementCount } from '../tensorValues';
import { isKnownOnnxOp } from './onnxOps';

/** Nesting limit for graphs inside attributes: deeper is treated as corruption. */
const MAX_DEPTH = 32;

interface Ctx {
  src: ByteSource;
  ref: OnnxFileRef;
  file: string;
  functions: Set<string>;
}

/** Reads an ONNX ModelProto from `src`. Throws ModelError for anything malformed. */
export function readOnnx(src: ByteSource, ref: OnnxFileRef): Model {
  const file = ref.file;
  const progress = { fields: 0 };
  try {
    return readModel(src, ref, progress);
  } catch (e) {
    if (e instanceof ModelError) throw e;
    if (e instanceof WireError || e instanceof RangeError) {
      // Nothing decoded at all: the bytes are not protobuf, so say what we expected instead.
      if (progress.fields === 0)
        throw new ModelError(`${file}: is neither an ONNX model (protobuf) nor a TF.js model.json.`, file);
      throw new ModelError(`${file}: not a valid ONNX model (${e.message}).`, file);
    }
    throw e;
  }
}

function readModel(src: ByteSource, ref: OnnxFileRef, progress: { fields: number }): Model {
  const file = ref.file;
  const f = new FieldReader(src, 0, src.size);
  const meta: Model['metadata'] = {};
  const opsets: Record<string, number> = {};
  let graphRange: [number, number] | null = null;
  const fnRanges: [number, number][] = [];
  const props: Record<string, string> = {};
  let sawOpset = false;
  while (f.next()) {
    switch (f.num) {
      case 1:
        f.expect(VARINT, 'ir_version');
        meta.irVersion = f.value;
        break;
      case 2:
        f.expect(LEN, 'producer_name');
        meta.producer = f.string();
        break;
      case 3:
        f.expect(LEN, 'producer_version');
        meta.producerVersion = f.string();
        break;
      case 7:
        f.expect(LEN, 'graph');
        graphRange = [f.vstart, f.vend];
        break;
      case 8: {
        f.expect(LEN, 'opset_import');
        const [domain, version] = parseOpset(src, f.vstart, f.vend);
        opsets[domain] = version;
        sawOpset = true;
        break;
      }
      case 14: {
        f.expect(LEN, 'metadata_props');
        const [k, v] = parseEntry(src, f.vstart, f.vend);
        props[k] = v;
        break;
      }
      case 25:
        f.expect(LEN, 'functions');
        fnRanges.push([f.vstart, f.vend]);
        break;
      default:
        break;
    }
    if (f.num <= 8 || f.num === 14 || f.num === 25) progress.fields++;
  }
  if (!graphRange) throw new ModelError(`${file}: not an ONNX model (no graph found).`, file);
  if (meta.irVersion === undefined && !sawOpset) {
    throw new ModelError(`${file}: not an ONNX model (no IR version or opset).`, file);
  }
  const fnNames = new Set<string>();
  const ctx: Ctx = { src, ref, file, functions: fnNames };
  const functions: FunctionDef[] = [];
  for (const [s, e] of fnRanges) functions.push(parseFunction(ctx, s, e));
  for (const fn of functions) fnNames.add(`${fn.domain}:${fn.name}`);
  const graph = parseGraph(ctx, graphRange[0], graphRange[1], 0, undefined);
  meta.opsets = opsets;
  if (Object.keys(props).length > 0) meta.props = props;
  const opset = opsets[''] ?? opsets['ai.onnx'];
  meta.description = `ONNX v${meta.irVersion ?? '?'}${opset !== undefined ? ` (opset ${opset})` : ''}`;
  return { format: 'onnx', file, graph, metadata: meta, functions, totalParams: 0, totalFlops: 0 };
}

function parseOpset(src: ByteSource, start: number, end: number): [string, number] {
  const f = new FieldReader(src, start, end);
  let domain = '';
  let version = 0;
  while (f.next()) {
    if (f.num === 1 && f.wt === LEN) domain = f.string();
    else if (f.num === 2 && f.wt === VARINT) version = f.value;
  }
  return [domain, version];
}

function parseGraph(
  ctx: Ctx,
  start: number,
  end: number,
  depth: number,
  outer: Set<string> | undefined,
): Graph {
  if (depth > MAX_DEPTH)
    throw new ModelError(`${ctx.file}: graphs are nested more than ${MAX_DEPTH} deep.`, ctx.file);
  const f = new FieldReader(ctx.src, start, end);
  const raw: RawGraph = {
    name: '',
    nodes: [],
    initializers: new Map(),
    inputs: [],
    outputs: [],
    valueInfo: [],
    outerNames: outer,
  };
  const nodeRanges: [number, number][] = [];
  while (f.next()) {
    switch (f.num) {
      case 1:
        f.expect(LEN, 'node');
        nodeRanges.push([f.vstart, f.vend]);
        break;
      case 2:
        f.expect(LEN, 'graph name');
        raw.name = f.string();
        break;
      case 5: {
        f.expect(LEN, 'initializer');
        const t = parseTensor(ctx.src, f.vstart, f.vend, ctx.ref);
        // onnx's checker refuses it too (SSA form): which of the two would a runtime use?
        if (raw.initializers.has(t.name))
          throw new ModelError(`${ctx.file}: the initializer '${t.name}' is defined twice.`, ctx.file);
        raw.initializers.set(t.name, t);
        break;
      }
      case 15: {
        f.expect(LEN, 'sparse_initializer');
        const t = parseSparse(ctx, f.vstart, f.vend);
        if (t) raw.initializers.set(t.name, t);
        break;
      }
      case 11:
        f.expect(LEN, 'input');
        raw.inputs.push(parseValueInfo(ctx, f.vstart, f.vend));
        break;
      case 12:
        f.expect(LEN, 'output');
        raw.outputs.push(parseValueInfo(ctx, f.vstart, f.vend));
        break;
      case 13:
        f.expect(LEN, 'value_info');
        raw.valueInfo.push(parseValueInfo(ctx, f.vstart, f.vend));
        break;
      default:
        break;
    }
  }
  // Bodies may read any name of an enclosing graph; buildGraph finds those reads (outerReads).
  for (const [s, e] of nodeRanges) raw.nodes.push(parseNode(ctx, s, e, depth, outer));
  return buildGraph(raw, ctx.file);
}

function parseSparse(ctx: Ctx, start: number, end: number): (TensorData & { name: string }) | null {
  const f = new FieldReader(ctx.src, start, end);
  let values: OnnxTensor | null = null;
  let indices: OnnxTensor | null = null;
  const dims: number[] = [];
  while (f.next()) {
    if (f.num === 1 && f.wt === LEN) values = parseTensor(ctx.src, f.vstart, f.vend, ctx.ref);
    else if (f.num === 2 && f.wt === LEN) indices = parseTensor(ctx.src, f.vstart, f.vend, ctx.ref);
    else if (f.num === 3) f.ints(dims);
  }
  if (!values) return null;
  const count = elementCount(dims);
  if (count < 0)
    throw new ModelError(
      `${ctx.file}: sparse tensor '${values.name}' has dimensions that overflow.`,
      ctx.file,
    );
  const v = values;
  const idx = indices;
  const file = ctx.file;
  return {
    name: v.name,
    dtype: v.dtype,
    shape: dims.slice(),
    location: 'sparse',
    // Densified on read: indices are either linear ([NNZ]) or coordinates ([NNZ, rank]).
    read: () => densify(v, idx, dims, count, file),
  };
}

/** Scatters a sparse tensor's non-zeros into a dense array of `dims`. */
function densify(
  values: OnnxTensor,
  indices: OnnxTensor | null,
  dims: number[],
  count: number,
  file: string,
): TensorValues {
  const vals = values.read();
  if (!indices || typeof vals[0] === 'string' || Array.isArray(vals))
    throw new ModelError(`${file}: sparse tensor '${values.name}' cannot be densified.`, file);
  if (count > 1 << 28)
    throw new ModelError(
      `${file}: sparse tensor '${values.name}' is too large to densify (${count} elements).`,
      file,
    );
  const idx = Array.from(indices.read() as ArrayLike<number | bigint>, Number);
  const nnz = vals.length;
  const rank = dims.length;
  const out = new (vals.constructor as new (n: number) => Exclude<TensorValues, string[]>)(count);
  const coords = idx.length === nnz * rank && rank > 1;
  if (!coords && idx.length !== nnz)
    throw new ModelError(
      `${file}: sparse tensor '${values.name}' has ${idx.length} indices for ${nnz} values.`,
      file,
    );
  for (let k = 0; k < nnz; k++) {
    let at = idx[k];
    if (coords) {
      at = 0;
      for (let r = 0; r < rank; r++) at = at * dims[r] + idx[k * rank + r];
    }
    if (!(at >= 0 && at < count))
      throw new ModelError(`${file}: sparse tensor '${values.name}' has an index outside its shape.`, file);
    (out as unknown as Record<number, unknown>)[at] = vals[k];
  }
  return out;
}

function parseValueInfo(ctx: Ctx, start: number, end: number): ValueDecl {
  const f = new FieldReader(ctx.src, start, end);
  let name = '';
  let dtype: DType = 'unknown';
  let shape: Shape = null;
  while (f.next()) {
    if (f.num === 1 && f.wt === LEN) name = f.string();
    else if (f.num === 2 && f.wt === LEN) [dtype, shape] = parseType(ctx, f.vstart, f.vend);
  }
  return { name, dtype, shape };
}

/** TypeProto → (dtype, shape); only tensor types carry a shape. */
function parseType(ctx: Ctx, start: number, end: number): [DType, Shape] {
  const f = new FieldReader(ctx.src, start, end);
  let dtype: DType = 'unknown';
  let shape: Shape = null;
  while (f.next()) {
    if ((f.num === 1 || f.num === 8) && f.wt === LEN) {
      const t = new FieldReader(ctx.src, f.vstart, f.vend);
      while (t.next()) {
        if (t.num === 1 && t.wt === VARINT) dtype = onnxDType(t.value);
        else if (t.num === 2 && t.wt === LEN) shape = parseShape(ctx, t.vstart, t.vend);
      }
    }
  }
  return [dtype, shape];
}

function parseShape(ctx: Ctx, start: number, end: number): Shape {
  const f = new FieldReader(ctx.src, start, end);
  const dims: (number | string | null)[] = [];
  while (f.next()) {
    if (f.num !== 1 || f.wt !== LEN) continue;
    const d = new FieldReader(ctx.src, f.vstart, f.vend);
    let dim: number | string | null = null;
    while (d.next()) {
      if (d.num === 1 && d.wt === VARINT)
        dim = Number.isSafeInteger(d.value) && d.value >= 0 ? d.value : null;
      else if (d.num === 2 && d.wt === LEN) dim = d.string() || null;
    }
    dims.push(dim);
  }
  return dims;
}

function parseNode(
  ctx: Ctx,
  start: number,
  end: number,
  depth: number,
  visible: Set<string> | undefined,
): RawNode {
  const f = new FieldReader(ctx.src, start, end);
  const node: RawNode = { name: '', op: '', domain: '', attributes: {}, inputs: [], outputs: [] };
  const attrRanges: [number, number][] = [];
  while (f.next()) {
    switch (f.num) {
      case 1:
        f.expect(LEN, 'node input');
        node.inputs.push(f.string());
        break;
      case 2:
        f.expect(LEN, 'node output');
        node.outputs.push(f.string());
        break;
      case 3:
        f.expect(LEN, 'node name');
        node.name = f.string();
        break;
      case 4:
        f.expect(LEN, 'op_type');
        node.op = f.string();
        break;
      case 7:
        f.expect(LEN, 'domain');
        node.domain = f.string();
        break;
      case 5:
        f.expect(LEN, 'attribute');
        attrRanges.push([f.vstart, f.vend]);
        break;
      default:
        break;
    }
  }
  if (node.op === '') node.op = 'Unknown';
  // Exact-size copies: arrays grown by push keep spare room, which adds up over 10,000s of nodes.
  node.inputs = node.inputs.slice();
  node.outputs = node.outputs.slice();
  for (const [s, e] of attrRanges) {
    const [name, value] = parseAttribute(ctx, s, e, depth, visible);
    node.attributes[name] = value;
    if (isGraph(value)) (node.subgraphs ??= {})[name] = value;
    else if (Array.isArray(value) && value.length > 0 && isGraph(value[0])) {
      (value as unknown as Graph[]).forEach((g, i) => ((node.subgraphs ??= {})[`${name}[${i}]`] = g));
    }
  }
  const domain = node.domain ?? '';
  if (ctx.functions.has(`${domain}:${node.op}`)) node.group = node.op;
  else if (!isKnownOnnxOp(domain, node.op)) node.unknownOp = true;
  node.scope = scopeOf(node.name);
  return node;
}

function isGraph(v: unknown): v is Graph {
  return typeof v === 'object' && v !== null && 'nodes' in v && 'values' in v;
}

function parseAttribute(
  ctx: Ctx,
  start: number,
  end: number,
  depth: number,
  visible: Set<string> | undefined,
): [string, AttrValue] {
  const f = new FieldReader(ctx.src, start, end);
  let name = '';
  let type = 0;
  let fv: number | undefined;
  let iv: number | undefined;
  let sv: string | undefined;
  let tv: TensorData | undefined;
  let gv: Graph | undefined;
  const floats: number[] = [];
  const ints: number[] = [];
  const strings: string[] = [];
  const tensors: TensorData[] = [];
  const graphs: Graph[] = [];
  while (f.next()) {
    switch (f.num) {
      case 1:
        if (f.wt === LEN) name = f.string();
        break;
      case 20:
        if (f.wt === VARINT) type = f.value;
        break;
      case 2:
        if (f.wt === I32) fv = f.float();
        break;
      case 3:
        if (f.wt === VARINT) iv = f.value;
        break;
      case 4:
        if (f.wt === LEN) sv = f.string();
        break;
      case 5:
        if (f.wt === LEN) tv = parseTensor(ctx.src, f.vstart, f.vend, ctx.ref);
        break;
      case 6:
        if (f.wt === LEN) gv = parseGraph(ctx, f.vstart, f.vend, depth + 1, visible);
        break;
      case 7:
        f.floats(floats);
        break;
      case 8:
        f.ints(ints);
        break;
      case 9:
        if (f.wt === LEN) strings.push(f.string());
        break;
      case 10:
        if (f.wt === LEN) tensors.push(parseTensor(ctx.src, f.vstart, f.vend, ctx.ref));
        break;
      case 11:
        if (f.wt === LEN) graphs.push(parseGraph(ctx, f.vstart, f.vend, depth + 1, visible));
        break;
      default:
        break;
    }
  }
  let value: AttrValue = null;
  switch (type) {
    case 1:
      value = fv ?? 0;
      break;
    case 2:
      value = iv ?? 0;
      break;
    case 3:
      value = sv ?? '';
      break;
    case 4:
      value = tv ?? null;
      break;
    case 5:
      value = gv ?? null;
      break;
    case 6:
      value = floats.slice();
      break;
    case 7:
      value = ints.slice();
      break;
    case 8:
      value = strings;
      break;
    case 9:
      value = tensors as unknown as AttrValue;
      break;
    case 10:
      value = graphs;
      break;
    default:
      // IR < 3 files have no type: take whichever field is set.
      value =
        fv ??
        iv ??
        sv ??
        tv ??
        gv ??
        (floats.length
          ? floats
          : ints.length
            ? ints
            : strings.length
              ? strings
              : graphs.length
                ? graphs
                : null);
  }
  return [name, value];
}

function parseFunction(ctx: Ctx, start: number, end: number): FunctionDef {
  const f = new FieldReader(ctx.src, start, end);
  const fn: FunctionDef = { name: '', domain: '', inputs: [], outputs: [], attributes: [], nodes: [] };
  const nodeRanges: [number, number][] = [];
  while (f.next()) {
    if (f.wt !== LEN) continue;
    switch (f.num) {
      case 1:
        fn.name = f.string();
        break;
      case 4:
        fn.inputs.push(f.string());
        break;
      case 5:
        fn.outputs.push(f.string());
        break;
      case 6:
        fn.attributes.push(f.string());
        break;
      case 7:
        nodeRanges.push([f.vstart, f.vend]);
        break;
      case 10:
        fn.domain = f.string();
        break;
      default:
        break;
    }
  }
  const visible = new Set(fn.inputs);
  const raw: RawGraph = {
    name: fn.name,
    nodes: nodeRanges.map(([s, e]) => parseNode(ctx, s, e, 1, visible)),
    initializers: new Map(),
    inputs: fn.inputs.map((name) => ({ name, dtype: 'unknown' as DType, shape: null })),
    outputs: fn.outputs.map((name) => ({ name, dtype: 'unknown' as DType, shape: null })),
    valueInfo: [],
  };
  const body = buildGraph(raw, ctx.file);
  fn.nodes = body.nodes as Node[];
  return fn;
}
