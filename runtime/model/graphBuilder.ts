/**
 * Shared by every reader: turns a reader's flat node list into the IR Graph — unique node names,
 * name scopes, values with producers and consumers, and a topological order (cycles are errors).
 */
import { ModelError } from '../errors';
import type { AttrValue, DType, Graph, Node, Shape, TensorData, Value } from './ir';

/** A node as a reader found it, before ordering. */
export interface RawNode {
  name: string;
  op: string;
  domain?: string;
  attributes: Record<string, AttrValue>;
  inputs: string[];
  outputs: string[];
  controlInputs?: string[];
  subgraphs?: Record<string, Graph>;
  group?: string;
  controlFlow?: boolean;
  unknownOp?: boolean;
  /** Overrides the scope derived from the name (TF.js layers nested models). */
  scope?: string[];
}

/** A typed value declaration (graph input/output, value_info, layer output). */
export interface ValueDecl {
  name: string;
  dtype: DType;
  shape: Shape;
}

/** A graph as a reader found it. */
export interface RawGraph {
  name: string;
  nodes: RawNode[];
  initializers: Map<string, TensorData>;
  inputs: ValueDecl[];
  outputs: ValueDecl[];
  valueInfo: ValueDecl[];
  /** Names visible from an enclosing graph (control-flow bodies may read them). */
  outerNames?: Set<string>;
}

/** Scope from a node name: "/layer1/layer1.0/conv1/Conv" → ["layer1", "layer1.0", "conv1"]. */
export function scopeOf(name: string): string[] {
  const last = name.lastIndexOf('/');
  if (last <= 0) return [];
  const parts = name.slice(0, last).split('/');
  return parts[0] === '' || parts.includes('') ? parts.filter((p) => p.length > 0) : parts;
}

/** Builds the IR graph: orders nodes topologically and links values. Throws ModelError on a cycle. */
export function buildGraph(raw: RawGraph, file: string): Graph {
  const n = raw.nodes.length;
  // Unique names: readers invent op_N for unnamed nodes; duplicates get a suffix.
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const node = raw.nodes[i];
    let name = node.name || `${node.op}_${i}`;
    if (seen.has(name)) {
      let k = 1;
      while (seen.has(`${name}_${k}`)) k++;
      name = `${name}_${k}`;
    }
    seen.add(name);
    node.name = name;
  }
  const producerOf = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    for (const o of raw.nodes[i].outputs) {
      if (o === '') continue;
      if (producerOf.has(o) || raw.initializers.has(o)) {
        throw new ModelError(
          `${file}: the value '${o}' is produced twice (by '${raw.nodes[producerOf.get(o) ?? i].name}' and '${raw.nodes[i].name}').`,
          file,
        );
      }
      producerOf.set(o, i);
    }
  }
  const byName = new Map<string, number>();
  for (let i = 0; i < n; i++) byName.set(raw.nodes[i].name, i);
  const deps = (i: number): number[] => {
    const node = raw.nodes[i];
    const out: number[] = [];
    for (const inp of node.inputs) {
      const p = producerOf.get(inp);
      // TF while loops close their cycle through NextIteration → Merge: that edge is a back-edge.
      if (p !== undefined && raw.nodes[p].op !== 'NextIteration') out.push(p);
    }
    if (node.controlInputs)
      for (const c of node.controlInputs) {
        const p = byName.get(c);
        if (p !== undefined) out.push(p);
      }
    // A control-flow body may read values of this graph: the node depends on their producers.
    if (node.subgraphs)
      for (const g of Object.values(node.subgraphs)) {
        for (const name of outerReads(g)) {
          const p = producerOf.get(name);
          if (p !== undefined) out.push(p);
        }
      }
    return out;
  };
  const order = topoOrder(n, deps, (i) => raw.nodes[i].name, file);

  const values = new Map<string, Value>();
  const valueOf = (name: string): Value => {
    let v = values.get(name);
    if (!v) {
      v = { name, dtype: 'unknown', shape: null, consumers: [], constant: false, shapeArith: false };
      values.set(name, v);
    }
    return v;
  };
  const declare = (d: ValueDecl): void => {
    const v = valueOf(d.name);
    if (d.dtype !== 'unknown') v.dtype = d.dtype;
    if (d.shape) v.shape = d.shape;
  };
  for (const [name, t] of raw.initializers) {
    const v = valueOf(name);
    v.initializer = t;
    v.dtype = t.dtype;
    v.shape = t.shape.slice();
    v.constant = true;
  }
  const inputs: string[] = [];
  for (const d of raw.inputs) {
    if (raw.initializers.has(d.name)) continue; // IR < 4 lists initializers among inputs
    declare(d);
    valueOf(d.name).isGraphInput = true;
    inputs.push(d.name);
  }
  for (const d of raw.valueInfo) declare(d);
  for (const d of raw.outputs) declare(d);

  const nodes: Node[] = new Array(n);
  for (let k = 0; k < n; k++) {
    const r = raw.nodes[order[k]];
    const node: Node = {
      index: k,
      name: r.name,
      op: r.op,
      scope: r.scope ?? scopeOf(r.name),
      attributes: r.attributes,
      inputs: r.inputs,
      outputs: r.outputs,
      constant: false,
      shapeArith: false,
      params: 0,
      flops: 0,
    };
    if (r.domain !== undefined) node.domain = r.domain;
    if (r.controlInputs && r.controlInputs.length > 0) node.controlInputs = r.controlInputs;
    if (r.subgraphs) node.subgraphs = r.subgraphs;
    if (r.group !== undefined) node.group = r.group;
    if (r.controlFlow) node.controlFlow = true;
    if (r.unknownOp) node.unknownOp = true;
    nodes[k] = node;
    for (const inp of r.inputs) {
      if (inp === '') continue;
      const v = valueOf(inp);
      // An exact-size literal first: a push onto [] reserves room for 17 (most values have one reader).
      if (v.consumers.length === 0) v.consumers = [k];
      else if (v.consumers[v.consumers.length - 1] !== k) v.consumers.push(k);
    }
    for (const o of r.outputs) if (o !== '') valueOf(o).producer = k;
  }
  return { name: raw.name, nodes, values, inputs, outputs: raw.outputs.map((o) => o.name) };
}

/** Names a graph (and its nested graphs) reads without defining them: reads of the enclosing scope. */
export function outerReads(g: Graph): Set<string> {
  const out = new Set<string>();
  for (const node of g.nodes) {
    for (const inp of node.inputs) {
      if (inp === '') continue;
      const v = g.values.get(inp);
      if (v && v.producer === undefined && !v.initializer && !v.isGraphInput) out.add(inp);
    }
    if (node.subgraphs)
      for (const sg of Object.values(node.subgraphs)) {
        for (const name of outerReads(sg)) {
          const v = g.values.get(name);
          if (!v || (v.producer === undefined && !v.initializer && !v.isGraphInput)) out.add(name);
        }
      }
  }
  return out;
}

/**
 * Depth-first topological order that keeps the file's order where it can. Iterative, so a
 * 100,000-node chain cannot overflow the stack. Throws ModelError naming a node on a cycle.
 */
export function topoOrder(
  n: number,
  deps: (i: number) => number[],
  nameOf: (i: number) => string,
  file: string,
): number[] {
  const state = new Uint8Array(n); // 0 new, 1 on stack, 2 done
  const order: number[] = [];
  const stack: number[] = [];
  const iters: number[][] = [];
  const pos: number[] = [];
  for (let root = 0; root < n; root++) {
    if (state[root] !== 0) continue;
    stack.push(root);
    iters.push(deps(root));
    pos.push(0);
    state[root] = 1;
    while (stack.length > 0) {
      const top = stack.length - 1;
      const d = iters[top];
      if (pos[top] < d.length) {
        const next = d[pos[top]++];
        if (state[next] === 1) {
          throw new ModelError(`${file}: the graph has a cycle through node '${nameOf(next)}'.`, file);
        }
        if (state[next] === 0) {
          state[next] = 1;
          stack.push(next);
          iters.push(deps(next));
          pos.push(0);
        }
      } else {
        state[stack[top]] = 2;
        order.push(stack[top]);
        stack.pop();
        iters.pop();
        pos.pop();
      }
    }
  }
  return order;
}

/**
 * Lets control-flow bodies see the enclosing graph: a body's value that it reads but does not
 * define takes the outer value's dtype and shape, and its initializer (the same TensorData, so
 * a weight read inside a body is still one parameter). Recurses into nested bodies.
 */
export function linkOuterScopes(g: Graph): void {
  for (const node of g.nodes) {
    if (!node.subgraphs) continue;
    for (const sg of Object.values(node.subgraphs)) {
      for (const v of sg.values.values()) {
        if (v.producer !== undefined || v.initializer || v.isGraphInput) continue;
        const o = g.values.get(v.name);
        if (!o) continue;
        if (v.dtype === 'unknown') v.dtype = o.dtype;
        if (!v.shape && o.shape) v.shape = o.shape.slice();
        if (o.initializer) v.initializer = o.initializer;
      }
      linkOuterScopes(sg);
    }
  }
}
