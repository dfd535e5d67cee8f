/**
 * Result types of the skip-path analysis (the contract in DESIGN.md), shared by the CLI JSON,
 * the sidecar and the view.
 */

/** How a merge combines its inputs. */
export type MergeKind = 'residual' | 'concat' | 'long' | 'gate' | 'parallel';

/** A skip connection: one skip input of one merge. */
export interface SkipPath {
  /** Stable id within the model, e.g. "skip3". */
  id: string;
  kind: 'residual' | 'concat' | 'long';
  /** True for a residual whose skip side holds one learned projection (1×1 conv/linear, optional norm). */
  projection: boolean;
  /** Name of the merge node. */
  merge: string;
  /** Name of the tensor the skip forks from. */
  source: string;
  /** Name of the node that produces the source tensor ("" when it is a graph input). */
  sourceNode: string;
  /** Which input of the merge the skip enters through (index into the merge's inputs). */
  skipInput: number;
  /** Nodes on the skip side between fork and merge (carry ops and the projection, if any). */
  skipNodes: string[];
  span: {
    /** Learned ops bypassed (on the longer, branch side). */
    learnedOps: number;
    /** Op count on the longer path from fork to merge. */
    ops: number;
  };
  /** Resolution change along the longer path: product of downsampling and upsampling factors seen. */
  resolution: { down: number; up: number };
  /** Id of the block (fork→merge region) this skip closes. */
  block: string;
  /** What the bypassed learned ops are when all of one kind ("conv", "linear"…), for words. */
  bypassedKind?: string;
}

/** One merge node and how it was classified. */
export interface MergeInfo {
  node: string;
  op: string;
  kind: MergeKind;
  /** Input value names that are data (not constants / shape arithmetic). */
  dataInputs: string[];
  /** Ids of the SkipPaths entering this merge (empty for parallel merges). */
  skips: string[];
}

/** A fork→merge region; blocks nest. */
export interface Block {
  id: string;
  /** The merge that closes it and the tensor it forks from. */
  merge: string;
  source: string;
  kind: MergeKind;
  /** Names of the nodes strictly inside the region (between fork and merge), merge included. */
  nodes: string[];
  /** Nested blocks (ids). */
  children: string[];
  parent?: string;
}

/** A name-scope group (from PyTorch "/layer1/layer1.0/conv1" or TF.js layer names). */
export interface ScopeGroup {
  path: string[];
  nodes: string[];
  children: ScopeGroup[];
}

/** Counts the CLI reports under `counts`. */
export interface SkipCounts {
  residual: number;
  projection: number;
  concat: number;
  long: number;
  gate: number;
  parallel: number;
}

/** Everything the skip analysis returns for one graph. */
export interface SkipAnalysis {
  counts: SkipCounts;
  skips: SkipPath[];
  merges: MergeInfo[];
  blocks: Block[];
  /** Root blocks (ids) of the block tree. */
  rootBlocks: string[];
  scopes: ScopeGroup;
}
