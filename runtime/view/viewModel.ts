/**
 * The view model the sidecar sends to the webview: everything needed to draw and explain the
 * graph, and never raw weights.
 */
import type { DType, ModelFormat, Shape } from '../model/ir';
import type { SkipAnalysis } from '../analysis/skipTypes';
import type { Diagnosis } from '../probe/diagnosis';
import type { FlowLayer } from './flowLayers';

// The webview sees view-model types only: what it needs of the IR and the analysis comes from here.
export type { DType, ModelFormat, Shape } from '../model/ir';
export type { MergeKind, SkipCounts, SkipPath } from '../analysis/skipTypes';
export type { Diagnosis, Finding } from '../probe/diagnosis';
export type { FlowLayer, FlowMetric } from './flowLayers';

/** One input of a node as the details panel shows it. */
export interface ViewInput {
  name: string;
  dtype: DType;
  shape: Shape;
  /** True when the tensor is a stored weight (an initializer): its stats can be asked for. */
  isParam: boolean;
  /** True for constants and shape arithmetic feeding the node (hidden from the drawing). */
  isConst?: boolean;
}

/** One node as drawn. */
export interface ViewNode {
  id: string;
  name: string;
  op: string;
  scope: string[];
  attributes: Record<string, string>;
  inputs: ViewInput[];
  outputs: { name: string; dtype: DType; shape: Shape }[];
  params: number;
  flops: number;
  /** Constants and shape arithmetic are hidden by default. */
  hidden: boolean;
  unknownOp?: boolean;
  /** TF graph control-flow op (Switch, Merge, Enter, Exit, NextIteration). */
  controlFlow?: boolean;
  /** Function or nested-model group this node stands for. */
  group?: string;
}

/** One edge between drawn nodes, labelled with the tensor's shape. */
export interface ViewEdge {
  from: string;
  to: string;
  tensor: string;
  shape: Shape;
  /** True when either end is hidden (constants, shape arithmetic). */
  hidden?: boolean;
}

/** The whole model as the webview sees it. */
export interface ViewModel {
  file: string;
  format: ModelFormat;
  description: string;
  producer?: string;
  nodes: ViewNode[];
  edges: ViewEdge[];
  inputs: { name: string; dtype: DType; shape: Shape }[];
  outputs: { name: string; dtype: DType; shape: Shape }[];
  totalParams: number;
  totalFlops: number;
  skips: SkipAnalysis;
}

/** Gradient statistics of one node output, sent to the view after a probe run. */
export interface NodeGradient {
  /** Gradient RMS at the node's output, and its spread over batches. */
  rms: number;
  rmsSpread?: number;
  /** Fraction of exact zeros (dead units), and its spread over batches. */
  zeroFraction: number;
  zeroFractionSpread?: number;
  /** Gradient L2 of the node's first weight and its grad/weight ratio, when it has one. */
  paramL2?: number;
  paramRatio?: number;
  paramRatioSpread?: number;
  /** Elements of the output gradient that were NaN or ±Infinity (absent when none). */
  nonFinite?: number;
  /** A recurrent node's gradient through time, per direction it runs (absent elsewhere). */
  timesteps?: TimeGradient[];
}

/** The gradient norm at a recurrent node's hidden state at each step (t = 0 first), mean over batches. */
export interface TimeGradient {
  direction: 'forward' | 'reverse';
  l2: number[];
  /** The first step the direction processes over the last: below 1 the gradient vanishes through time. */
  decay: number;
}

/** Gradient split at one merge: how much arrives through the skip input versus the branch. */
export interface MergeGradient {
  skipRms: number;
  branchRms: number;
  /** skipRms² / (skipRms² + branchRms²). */
  skipShare: number;
}

/** A gradient overlay for the graph: per node gradient RMS, per merge skip share (by node name). */
export interface GradientOverlay {
  /** What produced it, for the legend: e.g. "wasm, loss mean-square, 2 × 4 samples". */
  label: string;
  nodes: Record<string, NodeGradient>;
  merges: Record<string, MergeGradient>;
  /** The run it comes from: id (the extension numbers runs), name by its settings, where it ran, cut merges. */
  run?: { id: number; name: string; backend: string; device: string; cut: string[]; time?: string };
  /** Every probed layer in topological order with the chart's metrics (runtime/view/flowLayers.ts). */
  layers?: FlowLayer[];
  /** The run's diagnosis (runtime/probe/diagnosis.ts). */
  diagnosis?: Diagnosis;
  /** Where NaN or ±Infinity first appeared in the run, when they did. */
  nonFinite?: { node?: string; message: string };
}
