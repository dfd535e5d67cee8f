/**
 * Builds the webview's view model from a model and its analysis (no weights).
 */
import type { Model } from '../model/ir';
import type { ViewModel } from './viewModel';

/** The view model for `model`. */
export function buildViewModel(model: Model): ViewModel {
  const nodes = model.graph.nodes.map((n) => ({
    id: String(n.index),
    name: n.name,
    op: n.op,
    scope: n.scope,
    attributes: {},
    inputs: [],
    outputs: [],
    params: n.params,
    flops: n.flops,
    hidden: n.constant || n.shapeArith,
  }));
  return {
    file: model.file,
    format: model.format,
    description: model.metadata.description ?? model.format,
    nodes,
    edges: [],
    inputs: [],
    outputs: [],
    totalParams: model.totalParams,
    totalFlops: model.totalFlops,
    skips: {
      counts: { residual: 0, projection: 0, concat: 0, long: 0, gate: 0, parallel: 0 },
      skips: [],
      merges: [],
      blocks: [],
      rootBlocks: [],
      scopes: { path: [], nodes: [], children: [] },
    },
  };
}
