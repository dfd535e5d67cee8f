/**
 * The passes run on every freshly read model: constant and shape-arithmetic marking, shape
 * inference, and parameter/FLOP counts with model totals.
 */
import type { Model } from './ir';
import { markConstants } from './constMarking';

/** Runs the shared passes on `model` in place and returns it. */
export function finishModel(model: Model): Model {
  markConstants(model.graph);
  return model;
}
