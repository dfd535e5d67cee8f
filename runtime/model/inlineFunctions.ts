/**
 * Inlines ONNX model-local function calls (PyTorch's export_modules_as_functions): a residual
 * block exported as a function is one call node in the main graph, with its Add inside the body.
 * The skip analysis and the probe executor both work on the expanded graph: inner nodes are named
 * "<call node>/<inner node>", values inside a body likewise, formal inputs and outputs map to the
 * call's actual values. The analysis reports its results against the call nodes (`visibleName`),
 * which are what the file's graph and the view show.
 */
import type { FunctionDef, Graph, Node, Value } from './ir';

/** Functions nest at most this deep; deeper calls stay as opaque nodes. */
const MAX_DEPTH = 8;

/** A graph with its function calls inlined, and where each node came from. */
export interface InlinedGraph {
  graph: Graph;
  /** Per node of `graph`: the name of the node of the original graph it stands for (the call). */
  visibleName: string[];
}

/** The graph with every call of a model-local function replaced by its body (same graph if none). */
export function inlineFunctions(graph: Graph, functions: FunctionDef[]): InlinedGraph {
  const same = (): InlinedGraph => ({ graph, visibleName: graph.nodes.map((n) => n.name) });
  if (functions.length === 0) return same();
  const byKey = new Map<string, FunctionDef>();
  for (const f of functions) byKey.set(`${f.domain}:${f.name}`, f);
  const find = (n: Node): FunctionDef | undefined => byKey.get(`${n.domain ?? ''}:${n.op}`);
  if (!graph.nodes.some((n) => find(n))) return same();
  const visibleName: string[] = [];
  let top = '';

  const nodes: Node[] = [];
  const values = new Map<string, Value>();
  for (const v of graph.values.values()) values.set(v.name, { ...v, producer: undefined, consumers: [] });
  const ensure = (name: string): Value => {
    let v = values.get(name);
    if (!v) {
      v = { name, dtype: 'unknown', shape: null, consumers: [], constant: false, shapeArith: false };
      values.set(name, v);
    }
    return v;
  };
  const emit = (
    n: Node,
    rename: (s: string) => string,
    prefix: string,
    scope: string[],
    depth: number,
  ): void => {
    const f = depth < MAX_DEPTH ? find(n) : undefined;
    const inputs = n.inputs.map((s) => (s === '' ? '' : rename(s)));
    const outputs = n.outputs.map((s) => (s === '' ? '' : rename(s)));
    const name = prefix + n.name;
    if (!f) {
      const index = nodes.length;
      nodes.push({ ...n, index, name, inputs, outputs, scope: [...scope, ...n.scope] });
      visibleName.push(top);
      for (const o of outputs) if (o) ensure(o).producer = index;
      for (const i of inputs) if (i) ensure(i).consumers.push(index);
      return;
    }
    const map = new Map<string, string>();
    f.inputs.forEach((formal, i) => map.set(formal, inputs[i] ?? ''));
    f.outputs.forEach((formal, i) => map.set(formal, outputs[i] ?? ''));
    const inner = (s: string): string => map.get(s) ?? `${name}/${s}`;
    for (const b of f.nodes) emit(b, inner, `${name}/`, [...scope, ...n.scope], depth + 1);
  };
  for (const n of graph.nodes) {
    top = n.name;
    emit(n, (s) => s, '', [], 0);
  }
  return { graph: { ...graph, nodes, values }, visibleName };
}
