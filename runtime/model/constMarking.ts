/**
 * Marks what analysis and the view set aside: constants (computed only from initializers and
 * constants — PyTorch aliases initializers through Identity) and shape arithmetic (computed from
 * Shape/Size outputs and constants, e.g. Shape → Gather → Unsqueeze → Concat → Reshape's shape).
 */
import type { Graph } from './ir';

/** Ops with no inputs that still produce run-time data (not constants). */
const SOURCES = new Set([
  'Placeholder',
  'PlaceholderWithDefault',
  'InputLayer',
  'RandomNormal',
  'RandomUniform',
  'Multinomial',
  'RandomUniformInt',
  'RandomStandardNormal',
  'TruncatedNormal',
]);
/** Ops whose output is shape arithmetic whatever their input. */
const SHAPE_OPS = new Set(['Shape', 'Size', 'Rank']);
/** Random ops are never constant even when their inputs are. */
const RANDOM = new Set([
  'RandomNormalLike',
  'RandomUniformLike',
  'Bernoulli',
  'Multinomial',
  'RandomNormal',
  'RandomUniform',
]);

/** Sets `constant` and `shapeArith` on the nodes and values of `g` (and of nested graphs). */
export function markConstants(g: Graph): void {
  for (const v of g.values.values()) {
    v.constant = v.initializer !== undefined && !v.isGraphInput;
    v.shapeArith = false;
  }
  for (const node of g.nodes) {
    if (node.subgraphs) for (const sg of Object.values(node.subgraphs)) markConstants(sg);
    let allConst = true;
    let allConstOrShape = true;
    let anyShape = false;
    let anyInput = false;
    for (const name of node.inputs) {
      if (name === '') continue;
      anyInput = true;
      const v = g.values.get(name);
      const c = v ? v.constant : false;
      const s = v ? v.shapeArith : false;
      if (!c) allConst = false;
      if (!c && !s) allConstOrShape = false;
      if (s) anyShape = true;
    }
    // A body reading the enclosing graph's data makes the node data-dependent.
    if (node.subgraphs) allConst = false;
    let constant: boolean;
    let shapeArith: boolean;
    if (SHAPE_OPS.has(node.op)) {
      constant = false;
      shapeArith = true;
    } else if (!anyInput) {
      constant = !SOURCES.has(node.op) && !RANDOM.has(node.op) && node.outputs.length > 0;
      shapeArith = false;
    } else {
      constant = allConst && !RANDOM.has(node.op);
      shapeArith = !constant && allConstOrShape && anyShape;
    }
    node.constant = constant;
    node.shapeArith = shapeArith;
    for (const o of node.outputs) {
      const v = g.values.get(o);
      if (!v) continue;
      v.constant = constant;
      v.shapeArith = shapeArith;
    }
  }
}
