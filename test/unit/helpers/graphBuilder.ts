/**
 * A tiny builder of IR graphs for hand-made test graphs: nodes are added in topological order,
 * parameters are initializer values, and constant / shape-arithmetic flags are propagated the way
 * the readers mark them.
 */
import type {
  AttrValue,
  DType,
  Graph,
  Model,
  ModelFormat,
  Node,
  Shape,
  TensorData,
  Value,
} from '../../../runtime/model/ir';

const SHAPE_OPS = new Set(['Shape', 'Size']);

/** A fake lazily read tensor of `shape` filled with `fill` (or given values). */
export function tensor(shape: number[], values?: number[]): TensorData {
  const size = shape.reduce((a, b) => a * b, 1);
  return {
    dtype: 'float32',
    shape,
    location: 'inline',
    read: () => Float32Array.from(values ?? new Array<number>(size).fill(0.5)),
  };
}

/** Options of one op. */
export interface OpOptions {
  name?: string;
  attrs?: Record<string, AttrValue>;
  /** Output shape(s); unknown when left out. */
  shape?: Shape;
  outputs?: number;
}

/** Builds a Graph/Model node by node. */
export class GraphBuilder {
  readonly nodes: Node[] = [];
  readonly values = new Map<string, Value>();
  readonly inputs: string[] = [];
  readonly outputs: string[] = [];
  private counter = 0;

  constructor(readonly format: ModelFormat = 'onnx') {}

  private value(name: string, shape: Shape, extra: Partial<Value> = {}): Value {
    const v: Value = {
      name,
      dtype: 'float32' as DType,
      shape,
      consumers: [],
      constant: false,
      shapeArith: false,
      ...extra,
    };
    this.values.set(name, v);
    return v;
  }

  /** A graph input (run-time data). */
  input(name: string, shape: Shape = null): string {
    this.value(name, shape, { isGraphInput: true });
    this.inputs.push(name);
    return name;
  }

  /** A parameter (initializer) of `shape`. */
  init(name: string, shape: number[], values?: number[]): string {
    this.value(name, shape, { initializer: tensor(shape, values), constant: true });
    return name;
  }

  /** Adds a node reading `inputs`; returns its output name(s). */
  op(op: string, inputs: string[], o: OpOptions = {}): string {
    return this.opN(op, inputs, o)[0];
  }

  /** Like op() for nodes with several outputs. */
  opN(op: string, inputs: string[], o: OpOptions = {}): string[] {
    const index = this.nodes.length;
    const name = o.name ?? `${op}_${this.counter++}`;
    const ins = inputs.map((i) => this.values.get(i));
    const live = ins.filter((v): v is Value => v !== undefined);
    const constant = live.length > 0 && live.every((v) => v.constant) && !SHAPE_OPS.has(op);
    const shapeArith =
      SHAPE_OPS.has(op) || (!constant && live.length > 0 && live.every((v) => v.constant || v.shapeArith));
    let params = 0;
    for (const v of live) if (v.initializer) params += v.initializer.shape.reduce((a, b) => a * b, 1);
    const outputs: string[] = [];
    for (let k = 0; k < (o.outputs ?? 1); k++) {
      const out = `${name}:${k}`;
      this.value(out, o.shape ?? null, { producer: index, constant, shapeArith });
      outputs.push(out);
    }
    for (const v of live) if (!v.consumers.includes(index)) v.consumers.push(index);
    const scope = name
      .split('/')
      .filter((p) => p)
      .slice(0, -1);
    this.nodes.push({
      index,
      name,
      op,
      scope,
      attributes: o.attrs ?? {},
      inputs,
      outputs,
      constant,
      shapeArith,
      params,
      flops: 0,
    });
    return outputs;
  }

  /** Conv with a [cout, cin, k, k] weight (ONNX layout). */
  conv(x: string, k = 3, o: OpOptions & { stride?: number; cin?: number; cout?: number } = {}): string {
    const w = this.init(`w${this.counter++}`, [o.cout ?? 4, o.cin ?? 4, k, k]);
    const attrs: Record<string, AttrValue> = {
      kernel_shape: [k, k],
      strides: [o.stride ?? 1, o.stride ?? 1],
      ...(o.attrs ?? {}),
    };
    return this.op('Conv', [x, w], { ...o, attrs });
  }

  /** Marks graph outputs. */
  output(...names: string[]): this {
    this.outputs.push(...names);
    return this;
  }

  /** The graph. */
  graph(): Graph {
    return {
      name: 'test',
      nodes: this.nodes,
      values: this.values,
      inputs: this.inputs,
      outputs: this.outputs,
    };
  }

  /** A Model wrapping the graph. */
  model(): Model {
    return {
      format: this.format,
      file: '/test/model',
      graph: this.graph(),
      metadata: {},
      functions: [],
      totalParams: 0,
      totalFlops: 0,
    };
  }
}
