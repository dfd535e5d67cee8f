/**
 * The graph IR that every feature reads: readers produce it, analysis and probes consume it.
 *
 * One IR for ONNX, TF.js layers and TF.js graph models. Conventions every reader follows:
 * - Tensors ("values") are named; a node lists the names of its input and output values.
 *   An empty string in `inputs` is an omitted optional input (ONNX style).
 * - Every parameter tensor a node uses is one of its inputs, backed by a `Value` whose
 *   `initializer` is set — also for TF.js layers, whose layer weights become inputs of the
 *   layer's node (kernel, bias, gamma…), named as in the weights manifest.
 * - Weights are never copied: `TensorData` reads them lazily (views into the file buffer,
 *   external data, shards, dequantisation).
 * - TF.js graph models: a node's output port 0 is the value named like the node, port k > 0 is
 *   "name:k"; Placeholders are graph inputs (values, not nodes) and Const nodes backed by the
 *   weights manifest are initializers (values, not nodes).
 * - TF.js layers models: one node per layer call (a shared layer's k-th call is "name_k"), whose
 *   output value has the node's name; nested models are flattened into the graph with their name
 *   as the first scope entry and as `group`.
 * - Symbolic dims come from the file (ONNX dim_param) or stand for a free batch ("batch"); FLOPs
 *   count them as 1 (per sample).
 */

/** A dimension: a number when known, a symbol such as "batch" when symbolic, null when unknown. */
export type Dim = number | string | null;
/** A shape: one Dim per axis, or null when even the rank is unknown. */
export type Shape = Dim[] | null;

/** Element types, named as TF.js / numpy name them. */
export type DType =
  | 'float32'
  | 'float16'
  | 'bfloat16'
  | 'float64'
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64'
  | 'bool'
  | 'string'
  | 'complex64'
  | 'complex128'
  | 'unknown';

/** Typed arrays a tensor's values may be read into. */
export type TensorValues =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | string[];

/** A lazily read tensor (an initializer, a constant attribute, a layer weight). */
export interface TensorData {
  readonly dtype: DType;
  readonly shape: number[];
  /** Where the bytes live, for display: "inline", "external:weights.bin@1024", "shard:group1-shard1of1.bin". */
  readonly location: string;
  /** Reads (and for quantised weights, dequantises) the values; throws ModelError if the bytes are missing. */
  read(): TensorValues;
}

/** A node attribute value, already decoded. */
export type AttrValue =
  | number
  | bigint
  | string
  | boolean
  | number[]
  | string[]
  | TensorData
  | Graph
  | Graph[]
  | { [key: string]: unknown }
  | null;

/** A named tensor flowing along edges. */
export interface Value {
  name: string;
  dtype: DType;
  shape: Shape;
  /** Index into Graph.nodes of the node that produces it; undefined for inputs and initializers. */
  producer?: number;
  /** Indices into Graph.nodes of the nodes that read it (once per node even if read twice). */
  consumers: number[];
  /** Set for parameters and constants stored in the file. */
  initializer?: TensorData;
  /** True for a graph input (fed at run time). */
  isGraphInput?: boolean;
  /** True when it depends only on initializers/constants (no graph input upstream). */
  constant: boolean;
  /** True when it is shape arithmetic: computed from Shape/Size outputs and constants only. */
  shapeArith: boolean;
}

/** One operation. */
export interface Node {
  /** Position in Graph.nodes (topological order). */
  index: number;
  /** Unique within the graph; readers invent one (`op_N`) where the file has none. */
  name: string;
  /** The op type as the file spells it: "Conv", "Conv2D" (TF.js layer class), "_FusedConv2D". */
  op: string;
  /** ONNX domain ("" for the default domain); undefined for TF.js. */
  domain?: string;
  /** Name scope, outermost first: "/layer1/layer1.0/conv1/Conv" → ["layer1", "layer1.0", "conv1"]. */
  scope: string[];
  attributes: Record<string, AttrValue>;
  /** Data (and parameter) input value names; "" for an omitted optional input. */
  inputs: string[];
  outputs: string[];
  /** TF graph `^name` control dependencies (node names). */
  controlInputs?: string[];
  /** Nested graphs of control-flow ops (If then/else, Loop/Scan body), by attribute name. */
  subgraphs?: Record<string, Graph>;
  /** True when all outputs are constant (computed only from initializers/constants). */
  constant: boolean;
  /** True when all outputs are shape arithmetic. */
  shapeArith: boolean;
  /** True when the op is not known to Skipscope (still shown, as a node of unknown kind). */
  unknownOp?: boolean;
  /** TF graph control-flow ops (Switch, Merge, Enter, Exit, NextIteration) are marked. */
  controlFlow?: boolean;
  /**
   * Number of scalar parameters among this node's initializer inputs (not counting shared ones twice
   * per model). Constant nodes (an Identity alias) pass their weights on to the learned op reading them.
   */
  params: number;
  /** Floating-point operations for one forward pass at the inferred shapes (2 × MACs for conv/gemm/matmul). */
  flops: number;
  /** For a node standing for a model-local function call or nested TF.js model: its function/group name. */
  group?: string;
}

/** A (sub)graph. Nodes are in topological order. */
export interface Graph {
  name: string;
  nodes: Node[];
  values: Map<string, Value>;
  /** Names of the values fed at run time (initializers excluded). */
  inputs: string[];
  outputs: string[];
}

/** An ONNX model-local function (kept as a collapsible group). */
export interface FunctionDef {
  name: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: string[];
  nodes: Node[];
}

/** The formats Skipscope reads. */
export type ModelFormat = 'onnx' | 'tfjs-layers' | 'tfjs-graph';

/** A whole model as read from disk. */
export interface Model {
  format: ModelFormat;
  /** Absolute path of the file that was opened. */
  file: string;
  graph: Graph;
  metadata: {
    producer?: string;
    producerVersion?: string;
    irVersion?: number;
    opsets?: Record<string, number>;
    /** TF.js graph models: the serving signature. */
    signature?: { inputs: Record<string, string>; outputs: Record<string, string> };
    /** Free-form key/values from the file (ONNX metadata_props, TF.js userDefinedMetadata). */
    props?: Record<string, string>;
    /** Human-readable format description, e.g. "ONNX v8 (opset 17)". */
    description?: string;
  };
  functions: FunctionDef[];
  /** Total parameters (each initializer counted once). */
  totalParams: number;
  /** Total FLOPs of one forward pass. */
  totalFlops: number;
}
