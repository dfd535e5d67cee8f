/**
 * Prints an ONNX model in ONNX's textual syntax, exactly as `onnx.printer.to_text` (ONNX 1.23)
 * writes it, and records where each node, tensor and function name lands.
 *
 * One deliberate difference: tensor values are elided by default. A tensor with more than
 * `elideAbove` values prints its value list as `{...}` (keeping ONNX's own spacing, so that
 * `float[64,3,7,7] "conv1.weight" =  {...}` differs from ONNX's line only inside the braces);
 * small ones (Reshape targets, scalars) keep their values.
 *
 * Another: control, bidi and invisible characters inside quoted names print as `\uXXXX` escapes
 * (runtime/view/displayName), so that a name cannot hide or reorder the text around it.
 *
 * It reads the protobuf itself (onnx-proto) rather than the graph IR, because the text format
 * needs what the IR normalises away: attribute types, field presence, exact int64 values.
 */
import { visibleName, visibleText } from '../view/displayName';
import { onnx } from 'onnx-proto';
import { ModelError } from '../errors';
import { formatFloat32, formatFloat64 } from './printNumber';
import { TextIndex } from './textIndex';
import { TextWriter } from './textWriter';

/** Tensors with more values than this print as `{...}` unless told otherwise. */
export const DEFAULT_ELIDE_ABOVE = 16;
/** Printing every weight of a large model would make a string no editor can hold. */
export const MAX_PRINTED_VALUES = 4_000_000;

/** How to print. */
export interface PrintOptions {
  /** Tensors with more values than this print as `{...}`; Infinity prints them all. */
  elideAbove?: number;
  /** The file, for error messages. */
  file?: string;
}

/** A printed model and the index of the names in it. */
export interface PrintedText {
  text: string;
  index: TextIndex;
}

type Long = { low: number; high: number; unsigned: boolean; toString(): string };
type Int = number | Long;

const DATA_TYPES = [
  'undefined',
  'float',
  'uint8',
  'int8',
  'uint16',
  'int16',
  'int32',
  'int64',
  'string',
  'bool',
  'float16',
  'double',
  'uint32',
  'uint64',
  'complex64',
  'complex128',
  'bfloat16',
  'float8e4m3fn',
  'float8e4m3fnuz',
  'float8e5m2',
  'float8e5m2fnuz',
  'uint4',
  'int4',
  'float4e2m1',
  'float8e8m0',
  'uint2',
  'int2',
  'float6e2m3',
  'float6e3m2',
];

const ATTR_TYPES = [
  'undefined',
  'float',
  'int',
  'string',
  'tensor',
  'graph',
  'floats',
  'ints',
  'strings',
  'tensors',
  'graphs',
  'sparse_tensor',
  'sparse_tensors',
  'type_proto',
  'type_protos',
];

const enum DT {
  FLOAT = 1,
  UINT8 = 2,
  INT8 = 3,
  UINT16 = 4,
  INT16 = 5,
  INT32 = 6,
  INT64 = 7,
  STRING = 8,
  BOOL = 9,
  FLOAT16 = 10,
  DOUBLE = 11,
  UINT32 = 12,
  UINT64 = 13,
  BFLOAT16 = 16,
  FLOAT8E4M3FN = 17,
  FLOAT8E5M2FNUZ = 20,
  FLOAT8E8M0 = 24,
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const utf8 = new TextDecoder();

/** proto2 field presence: protobufjs sets a decoded field as an own property, defaults live on the prototype. */
function has(msg: object, field: string): boolean {
  return Object.prototype.hasOwnProperty.call(msg, field);
}

function escapeQuotes(s: string): string {
  return s.includes('"') || s.includes('\\') ? s.replace(/[\\"]/g, '\\$&') : s;
}

/** A quoted string (a doc string keeps its lines); other control and bidi characters as `\\uXXXX`. */
function quoted(s: string): string {
  return `"${visibleText(escapeQuotes(s))}"`;
}

/**
 * ONNX prints a name bare when it is an identifier, quoted otherwise; every control and bidi
 * character of a name prints as `\\uXXXX` (a name is one line: see runtime/view/displayName).
 */
function idText(s: string): string {
  return IDENT.test(s) ? s : `"${visibleName(escapeQuotes(s))}"`;
}

/** An int64 as decimal; protobufjs gives a Long, whose general toString is slow for small values. */
function intText(v: Int | null | undefined): string {
  if (v === null || v === undefined) return '0';
  if (typeof v === 'number') return String(v);
  const { low, high, unsigned } = v;
  if ((high === 0 && low >= 0) || (high === -1 && low < 0 && !unsigned)) return String(low);
  return v.toString();
}

function dataTypeName(t: number | null | undefined): string {
  return DATA_TYPES[t ?? 0] ?? 'undefined';
}

function pad(n: number): string {
  return ' '.repeat(Math.max(1, n));
}

class OnnxPrinter {
  readonly w = new TextWriter();
  private indent = 3;
  private scope = 0;
  readonly scopeParents: number[] = [-1];
  private printedValues = 0;
  /** "domain:name" of the model-local functions, so that calls to them link to their header. */
  private readonly functionKeys = new Set<string>();

  constructor(
    private readonly elideAbove: number,
    private readonly file: string,
  ) {}

  private id(name: string, kind: 'node' | 'tensor', def: boolean): void {
    if (name === '') this.w.write('""');
    else this.w.symbol(idText(name), name, kind, def, this.scope);
  }

  private idList(names: string[], sep: string, def: boolean): void {
    for (let i = 0; i < names.length; i++) {
      if (i) this.w.write(sep);
      this.id(names[i], 'tensor', def);
    }
  }

  private enterScope(parent: number): number {
    const outer = this.scope;
    this.scope = this.scopeParents.length;
    this.scopeParents.push(parent);
    return outer;
  }

  model(m: onnx.IModelProto): void {
    const w = this.w;
    for (const fn of m.functions ?? []) this.functionKeys.add(`${fn.domain ?? ''}:${fn.name ?? ''}`);
    w.write(`<\n${pad(this.indent)}ir_version: ${intText(m.irVersion)}`);
    w.write(`,\n${pad(this.indent)}opset_import: `);
    this.opsets(m.opsetImport ?? [], ', ');
    const kv = (key: string, value: string) => w.write(`,\n${pad(this.indent)}${key}: ${value}`);
    if (has(m, 'producerName')) kv('producer_name', quoted(m.producerName ?? ''));
    if (has(m, 'producerVersion')) kv('producer_version', quoted(m.producerVersion ?? ''));
    if (has(m, 'domain')) kv('domain', quoted(m.domain ?? ''));
    if (has(m, 'modelVersion')) kv('model_version', intText(m.modelVersion));
    if (has(m, 'docString')) kv('doc_string', quoted(m.docString ?? ''));
    if (m.metadataProps?.length) kv('metadata_props', this.entries(m.metadataProps));
    w.write('\n>\n');
    this.graph(m.graph ?? {});
    for (const fn of m.functions ?? []) {
      w.write('\n');
      this.function(fn);
    }
  }

  private opsets(list: onnx.IOperatorSetIdProto[], sep: string): void {
    this.w.write(`[${list.map((o) => `${quoted(o.domain ?? '')} : ${intText(o.version)}`).join(sep)}]`);
  }

  private entries(list: onnx.IStringStringEntryProto[]): string {
    return `[${list.map((e) => `${quoted(e.key ?? '')}: ${quoted(e.value ?? '')}`).join(', ')}]`;
  }

  private graph(g: onnx.IGraphProto): void {
    const w = this.w;
    w.write(idText(g.name ?? ''));
    w.write(' ');
    this.valueInfos(g.input ?? [], true);
    w.write(' => ');
    this.valueInfos(g.output ?? [], false);
    w.write(' ');
    const inits = g.initializer ?? [];
    const infos = g.valueInfo ?? [];
    if (inits.length || infos.length) {
      w.write(`\n${pad(this.indent)}<`);
      let sep = '';
      for (const t of inits) {
        w.write(sep);
        this.tensor(t, true);
        sep = ', ';
      }
      for (const vi of infos) {
        w.write(sep);
        this.valueInfo(vi, false);
        sep = ', ';
      }
      w.write('>\n');
    }
    this.nodes(g.node ?? []);
  }

  private valueInfos(list: onnx.IValueInfoProto[], def: boolean): void {
    this.w.write('(');
    for (let i = 0; i < list.length; i++) {
      if (i) this.w.write(', ');
      this.valueInfo(list[i], def);
    }
    this.w.write(')');
  }

  private valueInfo(vi: onnx.IValueInfoProto, def: boolean): void {
    this.w.write(this.typeText(vi.type ?? {}));
    this.w.write(' ');
    this.id(vi.name ?? '', 'tensor', def);
  }

  private shapeText(shape: onnx.ITensorShapeProto): string {
    const dims = (shape.dim ?? []).map((d) => {
      if (has(d, 'dimValue')) return intText(d.dimValue);
      if (has(d, 'dimParam')) return idText(d.dimParam ?? '');
      return '?';
    });
    return `[${dims.join(',')}]`;
  }

  private tensorTypeText(
    elemType: number | null | undefined,
    shape: onnx.ITensorShapeProto | null | undefined,
  ) {
    let s = dataTypeName(elemType);
    if (shape) {
      if (shape.dim?.length) s += this.shapeText(shape);
    } else s += '[]';
    return s;
  }

  private typeText(t: onnx.ITypeProto): string {
    if (t.tensorType) return this.tensorTypeText(t.tensorType.elemType, t.tensorType.shape);
    if (t.sequenceType) return `seq(${this.typeText(t.sequenceType.elemType ?? {})})`;
    if (t.mapType)
      return `map(${dataTypeName(t.mapType.keyType)}, ${this.typeText(t.mapType.valueType ?? {})})`;
    if (t.optionalType) return `optional(${this.typeText(t.optionalType.elemType ?? {})})`;
    if (t.sparseTensorType)
      return `sparse_tensor(${this.tensorTypeText(t.sparseTensorType.elemType, t.sparseTensorType.shape)})`;
    return '';
  }

  private values(count: number, text: () => string, open = ' {'): void {
    if (count > this.elideAbove) {
      this.w.write(`${open}...}`);
      return;
    }
    this.printedValues += count;
    if (this.printedValues > MAX_PRINTED_VALUES)
      throw new ModelError(
        `${this.file}: has more than ${MAX_PRINTED_VALUES.toLocaleString('en-US')} weight values, too many to print; open it as text without weights.`,
        this.file,
      );
    this.w.write(`${open}${text()}}`);
  }

  private tensor(t: onnx.ITensorProto, isInitializer: boolean): void {
    const w = this.w;
    const dims = t.dims ?? [];
    w.write(dataTypeName(t.dataType) + (dims.length ? `[${dims.map(intText).join(',')}]` : ''));
    if (t.name) {
      w.write(' ');
      this.id(t.name, 'tensor', isInitializer);
    }
    if (isInitializer) w.write(' = ');
    const type = t.dataType ?? 0;
    if (has(t, 'dataLocation') && t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
      w.write(this.entries(t.externalData ?? []));
    } else if (has(t, 'rawData')) {
      this.rawValues(t.rawData ?? new Uint8Array(0), type);
    } else {
      this.fieldValues(t, type);
    }
  }

  private rawValues(raw: Uint8Array, type: number): void {
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const list = (size: number, get: (i: number) => string) => {
      const n = Math.floor(raw.byteLength / size);
      this.values(n, () => {
        const out = new Array<string>(n);
        for (let i = 0; i < n; i++) out[i] = get(i * size);
        return out.join(',');
      });
    };
    if (type === DT.INT8) list(1, (o) => String(dv.getInt8(o)));
    else if (type === DT.UINT8 || type === DT.BOOL || (type >= DT.FLOAT8E4M3FN && type <= DT.FLOAT8E5M2FNUZ))
      list(1, (o) => String(dv.getUint8(o)));
    else if (type === DT.FLOAT8E8M0) list(1, (o) => String(dv.getUint8(o)));
    else if (type === DT.INT16) list(2, (o) => String(dv.getInt16(o, true)));
    else if (type === DT.UINT16 || type === DT.FLOAT16 || type === DT.BFLOAT16)
      list(2, (o) => String(dv.getUint16(o, true)));
    else if (type === DT.INT32) list(4, (o) => String(dv.getInt32(o, true)));
    else if (type === DT.UINT32) list(4, (o) => String(dv.getUint32(o, true)));
    else if (type === DT.INT64) list(8, (o) => String(dv.getBigInt64(o, true)));
    else if (type === DT.UINT64) list(8, (o) => String(dv.getBigUint64(o, true)));
    else if (type === DT.FLOAT) list(4, (o) => formatFloat32(dv.getFloat32(o, true)));
    else if (type === DT.DOUBLE) list(8, (o) => formatFloat64(dv.getFloat64(o, true)));
    // Sub-byte, complex and string raw data: ONNX prints an ellipsis too.
    else this.w.write('...');
  }

  private fieldValues(t: onnx.ITensorProto, type: number): void {
    const ints = (xs: Int[]) => this.values(xs.length, () => xs.map(intText).join(','));
    switch (type) {
      case DT.INT8:
      case DT.INT16:
      case DT.INT32:
      case DT.UINT8:
      case DT.UINT16:
      case DT.BOOL:
      case DT.FLOAT16:
      case DT.BFLOAT16:
      case 17:
      case 18:
      case 19:
      case 20:
      case 24:
        return ints(t.int32Data ?? []);
      case DT.INT64:
        return ints(t.int64Data ?? []);
      case DT.UINT32:
      case DT.UINT64:
        return ints(t.uint64Data ?? []);
      case DT.FLOAT: {
        const xs = t.floatData ?? [];
        return this.values(xs.length, () => xs.map(formatFloat32).join(','));
      }
      case DT.DOUBLE: {
        const xs = t.doubleData ?? [];
        return this.values(xs.length, () => xs.map(formatFloat64).join(','));
      }
      case DT.STRING: {
        const xs = t.stringData ?? [];
        return this.values(xs.length, () => xs.map((b) => quoted(utf8.decode(b))).join(', '), '{');
      }
      default:
        this.w.write('...');
    }
  }

  private attribute(a: onnx.IAttributeProto): void {
    const w = this.w;
    const typeName = ATTR_TYPES[a.type ?? 0] ?? 'undefined';
    if (has(a, 'refAttrName')) {
      w.write(`${a.name ?? ''}: ${typeName} = @${a.refAttrName ?? ''}`);
      return;
    }
    w.write(`${a.name ?? ''}: ${typeName} = `);
    const T = onnx.AttributeProto.AttributeType;
    switch (a.type) {
      case T.INT:
        return w.write(intText(a.i));
      case T.INTS:
        return w.write(`[${(a.ints ?? []).map(intText).join(', ')}]`);
      case T.FLOAT:
        return w.write(formatFloat32(a.f ?? 0));
      case T.FLOATS:
        return w.write(`[${(a.floats ?? []).map(formatFloat32).join(', ')}]`);
      case T.STRING:
        return w.write(quoted(utf8.decode(a.s ?? new Uint8Array(0))));
      case T.STRINGS:
        return w.write(`[${(a.strings ?? []).map((s) => quoted(utf8.decode(s))).join(', ')}]`);
      case T.GRAPH:
        return this.subgraphs([a.g ?? {}], false);
      case T.GRAPHS:
        return this.subgraphs(a.graphs ?? [], true);
      case T.TENSOR:
        return this.tensor(a.t ?? {}, false);
      case T.TENSORS: {
        w.write('[');
        (a.tensors ?? []).forEach((t, i) => {
          if (i) w.write(', ');
          this.tensor(t, false);
        });
        return w.write(']');
      }
      case T.TYPE_PROTO:
        return w.write(this.typeText(a.tp ?? {}));
      case T.TYPE_PROTOS:
        return w.write(`[${(a.typeProtos ?? []).map((t) => this.typeText(t)).join(', ')}]`);
      default:
    }
  }

  private subgraphs(graphs: onnx.IGraphProto[], bracketed: boolean): void {
    this.indent += 3;
    if (bracketed) this.w.write('[');
    graphs.forEach((g, i) => {
      if (i) this.w.write(', ');
      const outer = this.enterScope(this.scope);
      this.graph(g);
      this.scope = outer;
    });
    if (bracketed) this.w.write(']');
    this.indent -= 3;
  }

  private attributes(list: onnx.IAttributeProto[]): void {
    this.w.write(' <');
    list.forEach((a, i) => {
      if (i) this.w.write(', ');
      this.attribute(a);
    });
    this.w.write('>');
  }

  private node(n: onnx.INodeProto): void {
    const w = this.w;
    w.write(pad(this.indent));
    if (has(n, 'name')) {
      w.write('[');
      this.id(n.name ?? '', 'node', true);
      w.write('] ');
    }
    this.idList(n.output ?? [], ', ', true);
    w.write(' = ');
    const domain = n.domain ?? '';
    if (domain) w.write(`${domain}.`);
    const op = n.opType ?? '';
    if (this.functionKeys.has(`${domain}:${op}`)) w.symbol(op, op, 'function', false, this.scope);
    else w.write(op);
    const attrs = n.attribute ?? [];
    const hasSubgraph = attrs.some((a) => has(a, 'g') || (a.graphs?.length ?? 0) > 0);
    if (!hasSubgraph && attrs.length) this.attributes(attrs);
    w.write(' (');
    this.idList(n.input ?? [], ', ', false);
    w.write(')');
    if (hasSubgraph && attrs.length) this.attributes(attrs);
    w.write('\n');
  }

  private nodes(list: onnx.INodeProto[]): void {
    this.w.write('{\n');
    for (const n of list) this.node(n);
    if (this.indent > 3) this.w.write(pad(Math.max(3, this.indent - 3)));
    this.w.write('}');
  }

  private function(fn: onnx.IFunctionProto): void {
    const w = this.w;
    w.write(`<\n  domain: ${quoted(fn.domain ?? '')},\n  opset_import: `);
    this.opsets(fn.opsetImport ?? [], ',');
    w.write('\n>\n');
    const outer = this.enterScope(-1);
    const name = fn.name ?? '';
    w.symbol(idText(name), name, 'function', true, this.scope);
    w.write(' ');
    if (fn.attribute?.length) w.write(`<${fn.attribute.join(',')}>`);
    w.write('(');
    this.idList(fn.input ?? [], ', ', true);
    w.write(') => (');
    this.idList(fn.output ?? [], ', ', false);
    w.write(')\n');
    this.nodes(fn.node ?? []);
    this.scope = outer;
  }
}

/** Prints a decoded ModelProto. */
export function printModelProto(model: onnx.IModelProto, options: PrintOptions = {}): PrintedText {
  const p = new OnnxPrinter(options.elideAbove ?? DEFAULT_ELIDE_ABOVE, options.file ?? 'the model');
  p.model(model);
  return { text: p.w.toString(), index: new TextIndex(p.w.symbols, p.scopeParents) };
}

/** Decodes the bytes of an .onnx file and prints it; throws ModelError when they are not a model. */
export function printOnnxModel(bytes: Uint8Array, options: PrintOptions = {}): PrintedText {
  const file = options.file ?? 'the model';
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new ModelError(
      `${file}: is not a readable ONNX model (${e instanceof Error ? e.message : String(e)}).`,
      file,
    );
  }
  return printModelProto(model, { ...options, file });
}
