import { openModel } from '../runtime/model/open';
import { inferShapes } from '../runtime/analysis/shapes';
(async () => {
  const model = await openModel(process.argv[2]);
  const g = model.graph;
  const declared = new Map<string, unknown>();
  for (const v of g.values.values()) if (v.producer !== undefined && v.shape && !g.nodes[v.producer].constant) { declared.set(v.name, v.shape.slice()); v.shape = null; }
  inferShapes(g, 'onnx');
  for (const n of g.nodes) for (const o of n.outputs) { const d = declared.get(o); const v = g.values.get(o)!; if (d) console.log(n.op.padEnd(20), o.padEnd(40), JSON.stringify(v.shape), JSON.stringify(d), n.constant, n.shapeArith); }
})();
