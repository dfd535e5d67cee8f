/**
 * Expands calls of ONNX model-local functions (PyTorch's export_modules_as_functions) into their
 * bodies, so that the executor only sees primitive ops. Values inside a body are renamed under
 * the calling node's name; formal inputs and outputs map to the call's actual values.
 */
import type { FunctionDef, Node } from '../model/ir';

/** The graph's nodes with every function call inlined (recursively), renumbered in order. */
export function inlineFunctions(nodes: Node[], functions: FunctionDef[]): Node[] {
  const byKey = new Map(functions.map((f) => [`${f.domain}:${f.name}`, f]));
  const out: Node[] = [];
  const expand = (node: Node, depth: number): void => {
    const fn = byKey.get(`${node.domain ?? ''}:${node.op}`);
    if (!fn || depth > 32) {
      out.push({ ...node, index: out.length });
      return;
    }
    const rename = new Map<string, string>();
    fn.inputs.forEach((f, i) => rename.set(f, node.inputs[i] ?? ''));
    fn.outputs.forEach((f, i) => rename.set(f, node.outputs[i] ?? ''));
    const map = (v: string) => (v === '' ? '' : (rename.get(v) ?? `${node.name}/${v}`));
    for (const inner of fn.nodes) {
      expand(
        {
          ...inner,
          name: `${node.name}/${inner.name}`,
          scope: [...node.scope, ...inner.scope],
          inputs: inner.inputs.map(map),
          outputs: inner.outputs.map(map),
        },
        depth + 1,
      );
    }
  };
  for (const n of nodes) expand(n, 0);
  return out;
}
