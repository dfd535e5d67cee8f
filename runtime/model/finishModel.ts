/**
 * The IR passes run on every freshly read model, before anything else sees it: outer-scope links of
 * subgraphs and constant/shape-arithmetic marking. Analyses (shapes, cost) run a layer above, in
 * runtime/analysis/openModel.ts.
 */
import type { Model } from './ir';
import { markConstants } from './constMarking';
import { linkOuterScopes } from './graphBuilder';

/** Runs the IR passes on `model` in place and returns it. */
export function finishModel(model: Model): Model {
  linkOuterScopes(model.graph);
  markConstants(model.graph);
  return model;
}
