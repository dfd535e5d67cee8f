/**
 * A compact, integer-indexed view of a graph's data flow for the skip analysis: which values are
 * run-time data (not parameters, constants or shape arithmetic), each node's data inputs, and each
 * node's role. Built once in O(nodes + edges) so the per-merge walks touch only typed arrays.
 */
import type { Graph, ModelFormat, Value } from '../model/ir';
import { nodeRole, SHAPE_OPS, SOURCE_OPS, type NodeRole } from './opRoles';

/** The data-flow view of one graph. */
export interface DataGraph {
  graph: Graph;
  format: ModelFormat;
  /** Value names by id, and ids by name. */
  valueNames: string[];
  valueId: Map<string, number>;
  /** Producing node index per value id, -1 for graph inputs and initializers. */
  producer: Int32Array;
  /** 1 when the value is run-time data. */
  isData: Uint8Array;
  /**
   * Data inputs of node n (compressed rows): value ids `inputIds[inputStart[n] .. inputStart[n+1])`,
   * in input order (a value read twice appears twice), at positions `inputPos[…]` of `node.inputs`.
   */
  inputStart: Int32Array;
  inputIds: Int32Array;
  inputPos: Int32Array;
  roles: NodeRole[];
}

/**
 * Builds the data-flow view. A value is data when it is a graph input, or when its producer reads
 * data and is not a shape op — and the reader has not marked it constant or shape arithmetic. The
 * readers already mark constants; recomputing here keeps hand-built and partially marked graphs
 * honest (an Identity of an initializer is never data).
 */
export function buildDataGraph(graph: Graph, format: ModelFormat): DataGraph {
  const nv = graph.values.size;
  const valueNames: string[] = new Array<string>(nv);
  const vals: Value[] = new Array<Value>(nv);
  const valueId = new Map<string, number>();
  const producer = new Int32Array(nv).fill(-1);
  const isData = new Uint8Array(nv);
  let i = 0;
  for (const [name, v] of graph.values) {
    valueId.set(name, i);
    valueNames[i] = name;
    vals[i] = v;
    if (v.producer !== undefined) producer[i] = v.producer;
    if (v.isGraphInput && !v.constant && !v.shapeArith) isData[i] = 1;
    i++;
  }
  const nodes = graph.nodes;
  let edges = 0;
  for (const node of nodes) edges += node.inputs.length;
  const inputStart = new Int32Array(nodes.length + 1);
  const inputIds = new Int32Array(edges);
  const inputPos = new Int32Array(edges);
  const roles: NodeRole[] = new Array<NodeRole>(nodes.length);
  const names: string[] = [];
  let at = 0;
  for (let n = 0; n < nodes.length; n++) {
    const node = nodes[n];
    inputStart[n] = at;
    names.length = 0;
    for (let p = 0; p < node.inputs.length; p++) {
      const name = node.inputs[p];
      if (name === '') continue;
      const id = valueId.get(name);
      if (id === undefined || !isData[id]) continue;
      inputIds[at] = id;
      inputPos[at++] = p;
      names.push(name);
    }
    const producesData =
      !node.constant &&
      !node.shapeArith &&
      !SHAPE_OPS.has(node.op) &&
      (names.length > 0 || SOURCE_OPS.has(node.op));
    if (producesData) {
      for (const o of node.outputs) {
        const id = valueId.get(o);
        if (id !== undefined && !vals[id].constant && !vals[id].shapeArith) isData[id] = 1;
      }
    }
    roles[n] = nodeRole(node, graph, format, names);
  }
  inputStart[nodes.length] = at;
  return { graph, format, valueNames, valueId, producer, isData, inputStart, inputIds, inputPos, roles };
}
