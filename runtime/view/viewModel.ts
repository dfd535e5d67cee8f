/**
 * The view model the sidecar sends to the webview: everything needed to draw and explain the
 * graph, and never raw weights.
 */
import type { DType, ModelFormat, Shape } from '../model/ir';
import type { SkipAnalysis } from '../analysis/skipTypes';

/** One node as drawn. */
export interface ViewNode {
  id: string;
  name: string;
  op: string;
  scope: string[];
  attributes: Record<string, string>;
  inputs: { name: string; dtype: DType; shape: Shape; isParam: boolean }[];
  outputs: { name: string; dtype: DType; shape: Shape }[];
  params: number;
  flops: number;
  /** Constants and shape arithmetic are hidden by default. */
  hidden: boolean;
  unknownOp?: boolean;
}

/** One edge between drawn nodes, labelled with the tensor's shape. */
export interface ViewEdge {
  from: string;
  to: string;
  tensor: string;
  shape: Shape;
}

/** The whole model as the webview sees it. */
export interface ViewModel {
  file: string;
  format: ModelFormat;
  description: string;
  nodes: ViewNode[];
  edges: ViewEdge[];
  inputs: { name: string; dtype: DType; shape: Shape }[];
  outputs: { name: string; dtype: DType; shape: Shape }[];
  totalParams: number;
  totalFlops: number;
  skips: SkipAnalysis;
}
