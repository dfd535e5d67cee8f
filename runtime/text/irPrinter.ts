/**
 * Prints a model that is not ONNX (a TF.js layers or graph model) from the graph IR in the same
 * textual syntax, so that the text view, its grammar, hovers and go-to-definition work for it too.
 *
 * ONNX-style, not ONNX: the header names the format instead of an IR version and opsets, ops are
 * TF.js's own (Conv2D, _FusedConv2D), attribute types are inferred from the decoded values
 * (integers as int, other numbers as float, nested configs as a JSON string), and null
 * attributes are left out. Weights are elided above `elideAbove` values, like the ONNX printer.
 */
import { visibleName, visibleText } from '../view/displayName';
import type { AttrValue, DType, Graph, Model, TensorData } from '../model/ir';
import { DEFAULT_ELIDE_ABOVE, type PrintedText, type PrintOptions } from './onnxPrinter';
import { formatFloat32, formatFloat64 } from './printNumber';
import { TextIndex } from './textIndex';
import { TextWriter } from './textWriter';

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** IR dtypes under their ONNX text names. */
const TYPE_NAMES: Partial<Record<DType, string>> = {
  float32: 'float',
  float64: 'double',
  unknown: 'undefined',
};

/** A quoted string (a doc string keeps its lines); other control and bidi characters as `\\uXXXX`. */
function quoted(s: string): string {
  return `"${visibleText(s.replace(/[\\"]/g, '\\$&'))}"`;
}

/** A name, bare or quoted; every control and bidi character as `\\uXXXX` (a name is one line). */
function idText(s: string): string {
  return IDENT.test(s) ? s : `"${visibleName(s.replace(/[\\"]/g, '\\$&'))}"`;
}

function typeName(d: DType): string {
  return TYPE_NAMES[d] ?? d;
}

function isTensor(v: object | null): v is TensorData {
  return v !== null && 'dtype' in v && 'shape' in v && typeof (v as TensorData).read === 'function';
}

function isGraph(v: object | null): v is Graph {
  // Attribute lists of TF.js layers hold nulls (batch_input_shape: [null, 4]).
  return v !== null && 'nodes' in v && 'values' in v && Array.isArray((v as Graph).nodes);
}

class IrPrinter {
  readonly w = new TextWriter();
  private indent = 3;
  private scope = 0;
  readonly scopeParents: number[] = [-1];

  constructor(private readonly elideAbove: number) {}

  private id(name: string, kind: 'node' | 'tensor', def: boolean): void {
    if (name === '') this.w.write('""');
    else this.w.symbol(idText(name), name, kind, def, this.scope);
  }

  private ids(names: string[], def: boolean): void {
    names.forEach((n, i) => {
      if (i) this.w.write(', ');
      this.id(n, 'tensor', def);
    });
  }

  model(m: Model): void {
    const w = this.w;
    const pad = ' '.repeat(this.indent);
    w.write(`<\n${pad}format: ${quoted(m.format)}`);
    if (m.metadata.producer) w.write(`,\n${pad}producer_name: ${quoted(m.metadata.producer)}`);
    if (m.metadata.producerVersion)
      w.write(`,\n${pad}producer_version: ${quoted(m.metadata.producerVersion)}`);
    if (m.metadata.description) w.write(`,\n${pad}doc_string: ${quoted(m.metadata.description)}`);
    w.write('\n>\n');
    this.graph(m.graph);
  }

  private valueType(g: Graph, name: string): string {
    const v = g.values.get(name);
    if (!v) return 'undefined';
    const dims = v.shape?.map((d) => (d === null ? '?' : typeof d === 'number' ? String(d) : idText(d)));
    return typeName(v.dtype) + (dims === undefined ? '' : dims.length ? `[${dims.join(',')}]` : '');
  }

  private signature(g: Graph, names: string[], def: boolean): void {
    this.w.write('(');
    names.forEach((n, i) => {
      if (i) this.w.write(', ');
      this.w.write(`${this.valueType(g, n)} `);
      this.id(n, 'tensor', def);
    });
    this.w.write(')');
  }

  private graph(g: Graph): void {
    const w = this.w;
    w.write(idText(g.name));
    w.write(' ');
    this.signature(g, g.inputs, true);
    w.write(' => ');
    this.signature(g, g.outputs, false);
    w.write(' ');
    const inits = [...g.values.values()].filter((v) => v.initializer);
    if (inits.length) {
      w.write(`\n${' '.repeat(this.indent)}<`);
      inits.forEach((v, i) => {
        if (i) w.write(', ');
        this.tensor(v.initializer!, v.name);
      });
      w.write('>\n');
    }
    w.write('{\n');
    for (const n of g.nodes) {
      w.write(' '.repeat(this.indent));
      w.write('[');
      this.id(n.name, 'node', true);
      w.write('] ');
      this.ids(n.outputs, true);
      w.write(` = ${n.domain ? `${n.domain}.` : ''}${n.op}`);
      const attrs = Object.entries(n.attributes).filter(([, v]) => v !== null && v !== undefined);
      // As in ONNX's printer, subgraph attributes come after the inputs.
      const sub = attrs.some(([, v]) => this.isGraphList(v));
      if (attrs.length && !sub) this.attributes(attrs);
      w.write(' (');
      this.ids(n.inputs, false);
      w.write(')');
      if (attrs.length && sub) this.attributes(attrs);
      w.write('\n');
    }
    if (this.indent > 3) w.write(' '.repeat(this.indent - 3));
    w.write('}');
  }

  private isGraphList(v: AttrValue): boolean {
    if (v && typeof v === 'object' && !Array.isArray(v)) return isGraph(v);
    return Array.isArray(v) && v.length > 0 && typeof v[0] === 'object' && isGraph(v[0] as object);
  }

  private attributes(attrs: [string, AttrValue][]): void {
    this.w.write(' <');
    attrs.forEach(([k, v], i) => {
      if (i) this.w.write(', ');
      this.attribute(k, v);
    });
    this.w.write('>');
  }

  private attribute(name: string, v: AttrValue): void {
    const w = this.w;
    if (typeof v === 'number')
      return w.write(`${name}: ${Number.isInteger(v) ? 'int' : 'float'} = ${numberText(v)}`);
    if (typeof v === 'bigint') return w.write(`${name}: int = ${v}`);
    if (typeof v === 'boolean') return w.write(`${name}: int = ${v ? 1 : 0}`);
    if (typeof v === 'string') return w.write(`${name}: string = ${quoted(v)}`);
    if (Array.isArray(v)) {
      if (v.every((x) => typeof x === 'number')) {
        const ints = (v as number[]).every(Number.isInteger);
        return w.write(
          `${name}: ${ints ? 'ints' : 'floats'} = [${(v as number[]).map(numberText).join(', ')}]`,
        );
      }
      if (v.every((x) => typeof x === 'string'))
        return w.write(`${name}: strings = [${v.map(quoted).join(', ')}]`);
      if (this.isGraphList(v)) {
        w.write(`${name}: graphs = [`);
        (v as Graph[]).forEach((g, i) => {
          if (i) w.write(', ');
          this.subgraph(g);
        });
        return w.write(']');
      }
    }
    if (v && typeof v === 'object' && isTensor(v)) {
      w.write(`${name}: tensor = `);
      return this.tensor(v, '');
    }
    if (v && typeof v === 'object' && isGraph(v)) {
      w.write(`${name}: graph = `);
      return this.subgraph(v);
    }
    // Nested configs (initializers, regularizers, TF attr maps) stay readable as JSON.
    w.write(
      `${name}: string = ${quoted(JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? String(x) : x)))}`,
    );
  }

  private subgraph(g: Graph): void {
    this.indent += 3;
    const outer = this.scope;
    this.scope = this.scopeParents.length;
    this.scopeParents.push(outer);
    this.graph(g);
    this.scope = outer;
    this.indent -= 3;
  }

  private tensor(t: TensorData, name: string): void {
    const w = this.w;
    w.write(typeName(t.dtype) + (t.shape.length ? `[${t.shape.join(',')}]` : ''));
    if (name) {
      w.write(' ');
      this.id(name, 'tensor', true);
      w.write(' = ');
    }
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count > this.elideAbove) return w.write(' {...}');
    let values: ArrayLike<unknown>;
    try {
      values = t.read();
    } catch {
      // Missing weight bytes (a shard not found) must not stop the text; the card says more.
      return w.write(' {...}');
    }
    const fmt = t.dtype === 'float32' ? formatFloat32 : t.dtype === 'float64' ? formatFloat64 : String;
    const items = Array.from(values, (x) => (typeof x === 'string' ? quoted(x) : fmt(x as number)));
    w.write(` {${items.join(',')}}`);
  }
}

function numberText(x: number): string {
  return Number.isInteger(x) ? String(x) : formatFloat64(x);
}

/** Prints a model from its IR in ONNX-style text (for formats that are not ONNX). */
export function printModelIr(model: Model, options: PrintOptions = {}): PrintedText {
  const p = new IrPrinter(options.elideAbove ?? DEFAULT_ELIDE_ABOVE);
  p.model(model);
  return { text: p.w.toString(), index: new TextIndex(p.w.symbols, p.scopeParents) };
}
