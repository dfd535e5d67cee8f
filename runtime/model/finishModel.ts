/**
 * The passes run on every freshly read model: constant and shape-arithmetic marking, shape
 * inference, and parameter/FLOP counts with model totals.
 */
import type { Model } from './ir';
import { markConstants } from './constMarking';
import { linkOuterScopes } from './graphBuilder';
import { inferShapes } from '../analysis/shapes';
import { computeCost } from '../analysis/cost';

/** Runs the shared passes on `model` in place and returns it. */
export function finishModel(model: Model): Model {
  linkOuterScopes(model.graph);
  markConstants(model.graph);
  inferShapes(model.graph, model.format);
  computeCost(model);
  return model;
}
