/**
 * The view model a report draws its graph from: the same one the editor gets (nodes, edges, skip
 * paths), built headless.
 */
import type { Model } from '../model/ir';
import { analyzeSkips } from '../analysis/analyzeSkips';
import { buildViewModel, emptySkipAnalysis } from '../view/buildViewModel';
import type { ViewModel } from '../view/viewModel';

/** The view model of `model` (without skip paths when the analysis cannot read the graph). */
export function reportGraph(model: Model): ViewModel {
  let analysis;
  try {
    analysis = analyzeSkips(model);
  } catch {
    analysis = emptySkipAnalysis();
  }
  return buildViewModel(model, analysis);
}
