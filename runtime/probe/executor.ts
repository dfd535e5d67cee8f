/**
 * Runs an ONNX graph (the IR) on TensorFlow.js ops so that TF.js autodiff yields gradients with
 * respect to every parameter, and — through identity hooks placed on node outputs and on chosen
 * edges — the gradient at every node output, all in one backward pass.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Graph, Model, Node, Value } from '../model/ir';
import { ModelError, isModelError, quotedCause } from '../errors';
import { Val, nat, readInts } from './val';
import { tensorFromData, type OpContext } from './ops/opContext';
import { isParamSlot, onnxOpProblem, onnxOps } from './ops/onnxOps';
import { inlineFunctions } from '../model/inlineFunctions';
import { markPersistentWeight, releaseWeightViews } from './convGrad';
import type { Direction } from './probeTypes';
import { tapeMark } from './gradientGuard';

/** A learnable tensor of the model. */
export interface ParamInfo {
  name: string;
  shape: number[];
  /** The first node that uses it. */
  node: string;
  /** Its values, float32, kept for the executor's lifetime. */
  tensor: tf.Tensor;
}

/** Taps on the running graph: each returns the tensor to use in place of the one it was given. */
export interface Hooks {
  /** Called on every hooked node output (see Executor.hookable). */
  value?(name: string, t: tf.Tensor): tf.Tensor;
  /** Called on the edges listed in `edges`, as the consumer reads the value. */
  edge?(value: string, node: number, t: tf.Tensor): tf.Tensor;
  /** "value\u0000nodeIndex" keys of the edges to tap. */
  edges?: Set<string>;
  /** Graph inputs to tap too (their gradients are then computed). */
  inputs?: Set<string>;
  /** Called on the hidden state of every step of a recurrent node (direction, step in sequence order). */
  timestep?(node: string, direction: Direction, t: number, h: tf.Tensor): tf.Tensor;
  /** Inputs read as zeros of their shape (cut skips): node index → input slots. */
  zero?: Map<number, Set<number>>;
}

const FLOAT = new Set(['float32', 'float16', 'bfloat16', 'float64']);

/** Every node, including those inside branches (If/Loop bodies), recursively. */
function allNodes(nodes: Node[]): Node[] {
  const out: Node[] = [];
  const walk = (ns: Node[]) => {
    for (const n of ns) {
      out.push(n);
      for (const g of Object.values(n.subgraphs ?? {})) walk(g.nodes);
    }
  };
  walk(nodes);
  return out;
}

/** Values a subgraph reads from enclosing scopes. */
function outerReads(g: Graph): Set<string> {
  const local = new Set<string>(g.inputs);
  for (const [name, v] of g.values) if (v.initializer) local.add(name);
  const reads = new Set<string>();
  for (const n of g.nodes) {
    for (const i of n.inputs) if (i && !local.has(i)) reads.add(i);
    for (const sg of Object.values(n.subgraphs ?? {}))
      for (const r of outerReads(sg)) if (!local.has(r)) reads.add(r);
    for (const o of n.outputs) local.add(o);
  }
  return reads;
}

/** Key of an edge (value → consumer node) in Hooks.edges. */
export function edgeKey(value: string, node: number): string {
  return `${value}\u0000${node}`;
}

/** A compiled, reusable executor for one model. */
export class Executor {
  /** Learnable tensors, in graph order of first use. */
  readonly params: ParamInfo[] = [];
  /** Node outputs whose gradient is meaningful (float, downstream of a parameter). */
  readonly hookable = new Set<string>();
  /** The nodes that run, in order (dead nodes pruned, constant subgraphs folded once). */
  readonly nodes: Node[];
  private readonly constants = new Map<string, tf.Tensor>();
  private readonly paramDependent = new Set<string>();
  private readonly opset: number;
  private readonly file: string;
  private disposed = false;
  /** Where each node's kernels begin on the gradient tape, in the last run recorded by tf.grads. */
  private tapeStarts: { start: number; node: Node }[] = [];

  constructor(readonly model: Model) {
    this.file = model.file;
    const g = model.graph;
    this.opset = model.metadata.opsets?.[''] ?? model.metadata.opsets?.['ai.onnx'] ?? 13;
    if (model.format !== 'onnx')
      throw new ModelError(
        `${model.file}: the ONNX executor cannot run a ${model.format} model.`,
        model.file,
      );
    this.nodes = this.liveNodes();
    this.checkOps();
    this.findParams(g.values);
    try {
      this.foldConstants();
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  /** Nodes that the graph outputs depend on. */
  private liveNodes(): Node[] {
    const g = this.model.graph;
    const all = inlineFunctions(g, this.model.functions).graph.nodes;
    const need = new Set(g.outputs);
    const live = new Set<number>();
    for (let i = all.length - 1; i >= 0; i--) {
      const n = all[i];
      if (n.outputs.some((o) => need.has(o))) {
        live.add(i);
        for (const inp of n.inputs) if (inp) need.add(inp);
        for (const sg of Object.values(n.subgraphs ?? {})) for (const r of outerReads(sg)) need.add(r);
      }
    }
    return all.filter((_, i) => live.has(i));
  }

  /** Names every op this executor cannot run, before anything runs. */
  private checkOps(): void {
    const bad = allNodes(this.nodes).filter(
      (n) =>
        (n.domain && n.domain !== 'ai.onnx') ||
        (n.op === 'If'
          ? !n.subgraphs?.then_branch || !n.subgraphs?.else_branch
          : !Object.prototype.hasOwnProperty.call(onnxOps, n.op)),
    );
    if (bad.length === 0) {
      for (const n of allNodes(this.nodes)) {
        const problem = onnxOpProblem(n);
        if (problem) throw new ModelError(`${this.file}: node "${n.name}" (${n.op}) ${problem}.`, this.file);
      }
      return;
    }
    const list = bad
      .slice(0, 5)
      .map((n) => `node "${n.name}" (${n.domain ? `${n.domain}.` : ''}${n.op})`)
      .join(', ');
    const more = bad.length > 5 ? ` and ${bad.length - 5} more` : '';
    throw new ModelError(
      `${this.file}: cannot run ${list}${more}: the op is not supported by the gradient executor.`,
      this.file,
    );
  }

  private findParams(values: Map<string, Value>): void {
    const byName = new Map<string, Node>();
    for (const n of allNodes(this.nodes)) {
      n.inputs.forEach((inp, slot) => {
        const v = inp ? values.get(inp) : undefined;
        if (!v?.initializer || !FLOAT.has(v.initializer.dtype) || !isParamSlot(n.op, slot)) return;
        if (!byName.has(inp)) byName.set(inp, n);
      });
    }
    for (const [name, node] of byName) {
      const init = values.get(name)!.initializer!;
      if (init.shape.reduce((a, b) => a * b, 1) === 0) continue;
      const tensor = tf.keep(tensorFromData(init, `${this.file}: initializer "${name}"`));
      markPersistentWeight(tensor);
      this.params.push({ name, shape: init.shape, node: node.name, tensor });
      this.paramDependent.add(name);
    }
    // Without parameters a run differentiates with respect to the float inputs (gradPass.ts): what
    // they reach is then what carries a gradient.
    if (this.params.length === 0)
      for (const name of this.model.graph.inputs) {
        const v = values.get(name);
        if (v && !v.initializer && (v.dtype === 'unknown' || FLOAT.has(v.dtype)))
          this.paramDependent.add(name);
      }
    for (const n of this.nodes) {
      // Branches read outer values implicitly: treat their outputs as depending on parameters.
      if (n.subgraphs || n.inputs.some((i) => i && this.paramDependent.has(i))) {
        for (const o of n.outputs) {
          if (!o) continue;
          this.paramDependent.add(o);
          const v = values.get(o);
          if (!v || v.dtype === 'unknown' || FLOAT.has(v.dtype)) this.hookable.add(o);
        }
      }
    }
  }

  /** Evaluates, once, the nodes that depend on neither graph inputs nor parameters. */
  private foldConstants(): void {
    const g = this.model.graph;
    const isConst = (name: string): boolean => {
      if (!name) return true;
      if (this.constants.has(name)) return true;
      const v = g.values.get(name);
      return !!v?.initializer && !this.paramDependent.has(name);
    };
    for (const n of this.nodes) {
      if (n.subgraphs || !n.inputs.every(isConst) || n.outputs.every((o) => this.paramDependent.has(o)))
        continue;
      const env = new Map<string, Val>();
      const outs = tf.tidy(() => this.runNode(n, env, new Map(), {}).map((v) => v.nat()));
      n.outputs.forEach((o, i) => o && outs[i] && this.constants.set(o, tf.keep(outs[i])));
    }
  }

  /** Reads value `name` (graph input, initializer, constant or computed). */
  private lookup(name: string, env: Map<string, Val>, params: Map<string, tf.Tensor>): Val | undefined {
    const have = env.get(name);
    if (have) return have;
    const p = params.get(name);
    if (p) return nat(p);
    const c = this.constants.get(name);
    if (c) return nat(c);
    const v = this.model.graph.values.get(name);
    if (v?.initializer) {
      const t = tf.keep(tensorFromData(v.initializer, `${this.file}: initializer "${name}"`));
      this.constants.set(name, t);
      return nat(t);
    }
    return undefined;
  }

  private runNode(node: Node, env: Map<string, Val>, params: Map<string, tf.Tensor>, hooks: Hooks): Val[] {
    const fail = (problem: string): never => {
      throw new ModelError(`${this.file}: node "${node.name}" (${node.op}) ${problem}.`, this.file);
    };
    const tapped = new Map<number, Val>();
    const val = (i: number): Val => {
      const name = node.inputs[i];
      if (!name) return fail(`is missing input ${i}`);
      const cached = tapped.get(i);
      if (cached) return cached;
      let v = this.lookup(name, env, params);
      if (!v) return fail(`reads "${name}", which nothing produces`);
      if (hooks.zero?.get(node.index)?.has(i)) {
        // A cut skip: zeros of the same shape. zerosLike keeps a (zero) gradient path, so the ops
        // only the skip fed get exact zero gradients instead of none (which valueAndGrads refuses).
        v = new Val(tf.zerosLike(v.t), v.nhwc);
        tapped.set(i, v);
        return v;
      }
      if (hooks.edges?.has(edgeKey(name, node.index)) && hooks.edge)
        v = new Val(hooks.edge(name, node.index, v.t), v.nhwc);
      tapped.set(i, v);
      return v;
    };
    const ctx: OpContext = {
      node,
      opset: this.opset,
      count: node.inputs.length,
      has: (i) => i < node.inputs.length && !!node.inputs[i],
      val,
      nat: (i) => val(i).nat(),
      nhwc: (i) => {
        const v = val(i);
        if (v.rank !== 4) fail(`expects a 4-D input ${i}, got shape [${v.shape}]`);
        return v.phys();
      },
      ints: (i) => (ctx.has(i) ? readInts(val(i).nat()) : undefined),
      floats: (i) => (ctx.has(i) ? Array.from(val(i).nat().dataSync(), Number) : undefined),
      needsGrad: (i) => {
        const name = node.inputs[i];
        return !!name && (this.paramDependent.has(name) || !!hooks.inputs?.has(name));
      },
      fail,
      timestep: hooks.timestep ? (d, t, h) => hooks.timestep!(node.name, d, t, h) : undefined,
    };
    try {
      if (node.op === 'If') return this.runIf(node, ctx, env, params);
      return onnxOps[node.op](ctx);
    } catch (e) {
      if (isModelError(e)) throw e;
      const shapes = node.inputs
        .map((n) => (n ? `[${this.lookup(n, env, params)?.shape ?? '?'}]` : '-'))
        .join(', ');
      throw new ModelError(
        `${this.file}: node "${node.name}" (${node.op}) failed on inputs ${shapes}: ${quotedCause(e)}.`,
        this.file,
      );
    }
  }

  /** Runs the branch that the condition picks; the branch reads outer values by name. */
  private runIf(node: Node, ctx: OpContext, env: Map<string, Val>, params: Map<string, tf.Tensor>): Val[] {
    const cond = readInts(ctx.nat(0))[0] !== 0;
    const g = node.subgraphs![cond ? 'then_branch' : 'else_branch'];
    const inner = new Map(env);
    for (const [name, v] of g.values) {
      if (!v.initializer || params.has(name) || inner.has(name)) continue;
      const key = `${node.name}\u0000${name}`;
      let t = this.constants.get(key);
      if (!t)
        this.constants.set(
          key,
          (t = tf.keep(tensorFromData(v.initializer, `${this.file}: initializer "${name}"`))),
        );
      inner.set(name, nat(t));
    }
    for (const n of g.nodes) {
      const outs = this.runNode(n, inner, params, {});
      n.outputs.forEach((o, i) => o && outs[i] && inner.set(o, outs[i]));
    }
    return g.outputs.map((o) => {
      const v = this.lookup(o, inner, params);
      if (!v) return ctx.fail(`has a branch output "${o}" that nothing computes`);
      return v;
    });
  }

  /**
   * Runs the graph on `feeds` (graph input name → tensor in ONNX layout). `params` replaces the
   * stored parameter tensors (pass the tensors being differentiated). Returns the graph outputs
   * as Vals (call nat() for ONNX layout). Call inside tf.tidy.
   */
  run(feeds: Record<string, tf.Tensor>, hooks: Hooks = {}, params?: Map<string, tf.Tensor>): Val[] {
    if (this.disposed) throw new Error('executor was disposed');
    const g = this.model.graph;
    const env = new Map<string, Val>();
    for (const name of g.inputs) {
      if (this.constants.has(name) || g.values.get(name)?.initializer) continue;
      const t = feeds[name];
      if (!t) throw new ModelError(`${this.file}: no data was given for graph input "${name}".`, this.file);
      env.set(name, nat(hooks.inputs?.has(name) && hooks.value ? hooks.value(name, t) : t));
    }
    const p = params ?? new Map(this.params.map((x) => [x.name, x.tensor]));
    this.tapeStarts = [];
    for (const node of this.nodes) {
      if (node.outputs.every((o) => !o || this.constants.has(o))) continue;
      const mark = tapeMark();
      if (mark !== undefined) this.tapeStarts.push({ start: mark, node });
      const outs = this.runNode(node, env, p, hooks);
      node.outputs.forEach((o, i) => {
        if (!o || !outs[i]) return;
        let v = outs[i];
        if (hooks.value && this.hookable.has(o)) v = new Val(hooks.value(o, v.t), v.nhwc);
        env.set(o, v);
      });
    }
    return g.outputs.map((o) => {
      const v = this.lookup(o, env, p);
      if (!v) throw new ModelError(`${this.file}: graph output "${o}" was not computed.`, this.file);
      return v;
    });
  }

  /** The node that ran the kernel at gradient-tape position `index` in the last recorded run. */
  nodeAtTape(index: number): Node | undefined {
    let owner: Node | undefined;
    for (const t of this.tapeStarts) {
      if (t.start > index) break;
      owner = t.node;
    }
    return owner;
  }

  /** Forward pass only: the graph outputs in ONNX layout (caller disposes). */
  forward(feeds: Record<string, tf.Tensor>): tf.Tensor[] {
    return tf.tidy(() => this.run(feeds).map((v) => v.nat()));
  }

  /** Frees parameters and folded constants. */
  dispose(): void {
    this.disposed = true;
    for (const p of this.params) {
      releaseWeightViews(p.tensor);
      p.tensor.dispose();
    }
    for (const c of this.constants.values()) c.dispose();
    this.constants.clear();
  }
}
