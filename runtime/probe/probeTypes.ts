/**
 * Options and results of gradient probes (the contract in DESIGN.md), shared by the CLI JSON,
 * the sidecar protocol and the view. Statistics are float64 numbers over float32's whole range;
 * NaN and ±Infinity, which JSON cannot carry, travel as the strings "NaN", "Infinity" and
 * "-Infinity" (probeJson.ts), and `nonFinite` fields say where they came from.
 */
import type { Diagnosis } from './diagnosis';

/** The loss the probe differentiates. */
export type LossKind = 'mean-square' | 'sum' | 'cross-entropy' | 'mse';
/** Execution backends, best first. */
export type BackendName = 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';

/** Where batches come from. */
export type BatchSource =
  | { kind: 'synthetic'; seed?: number }
  | { kind: 'npy'; files: Record<string, string> }
  | { kind: 'images'; folder: string; size?: [number, number]; mean?: number[]; std?: number[] };

/** What the caller asks for. */
export interface ProbeOptions {
  source: BatchSource;
  batchSize: number;
  batches: number;
  loss: LossKind;
  /** Labels for cross-entropy (class index per sample) or a .npy target for mse. */
  labels?: number[];
  target?: string;
  /** Values for symbolic dims, e.g. { height: 64, width: 64 }. */
  dims?: Record<string, number>;
  backend?: BackendName | 'auto';
  /** Threads of the WASM kernels (0 or absent: one per core). */
  threads?: number;
  seed?: number;
  /**
   * Folder with node_modules/@tensorflow/tfjs-node(-gpu) for the `tensorflow` backend. The
   * extension fills it from the machine-scoped setting only (a workspace cannot point it at its
   * own code); the CLI from --native-path or SKIPSCOPE_NATIVE_PATH.
   */
  nativePath?: string;
  /** Skips to cut (merge names or skip ids, or 'all'): their merge inputs read zeros (runtime/probe/cuts.ts). */
  cut?: string[] | 'all';
}

/** Mean and spread of a statistic over batches. */
export interface Stat {
  mean: number;
  std: number;
}

/** Gradient statistics of one parameter tensor (means over batches; spread of the L2 in `l2Spread`). */
export interface ParamGrad {
  name: string;
  shape: number[];
  /** The node that uses it (first consumer). */
  node: string;
  grad: {
    l2: number;
    rms: number;
    maxAbs: number;
    meanAbs: number;
    l2Spread?: number;
    /** Elements of the gradient that are NaN or ±Infinity (in the batch with most); absent when none. */
    nonFinite?: number;
  };
  weightL2: number;
  /** grad L2 / weight L2 (0 when the weight is all zeros). */
  ratio: number;
}

/** Gradient statistics at one node output. */
export interface ActivationGrad {
  node: string;
  tensor: string;
  rms: number;
  rmsSpread?: number;
  /** L2 norm of the gradient per sample (RMS × √(elements per sample)): comparable across layers of any width. */
  l2PerSample?: number;
  /** Fraction of exact zeros in the gradient (dead units; a gradient of 1e-40 is vanishing, not dead). */
  zeroFraction: number;
  /** Spread of that fraction over batches (standard deviation; 0 for one batch). */
  zeroFractionSpread?: number;
  /** Elements of the gradient that are NaN or ±Infinity (in the batch with most); absent when none. */
  nonFinite?: number;
}

/** Gradient statistics at one graph input (the gradient of the loss with respect to the batch). */
export interface InputGrad {
  input: string;
  rms: number;
  rmsSpread?: number;
  /** L2 norm of the gradient per sample. */
  l2PerSample?: number;
  zeroFraction: number;
  zeroFractionSpread?: number;
  nonFinite?: number;
}

/**
 * At one merge: gradient arriving through the skip versus the branch. At an Add both inputs
 * receive the very same gradient, so the split is measured where the two paths meet again: at the
 * fork (`skip`, the skip's source tensor), the gradient that came back along the skip path versus
 * the rest (the branch through the learned ops).
 */
export interface MergeGrad {
  merge: string;
  /** The skip's source tensor (the fork). */
  skip: string;
  /** RMS (per element of the fork tensor) of the gradient that reached the fork through the skip and through the branch. */
  skipRms: number;
  branchRms: number;
  /** skip share of the total (skipRms² / (skipRms² + branchRms²)). */
  skipShare: number;
}

/** Which way a recurrent layer runs through the sequence. */
export type Direction = 'forward' | 'reverse';

/**
 * The gradient through time at one direction of a recurrent node (ONNX LSTM/GRU/RNN, TF.js
 * LSTM/GRU/SimpleRNN): the L2 norm of dLoss/dh_t over the batch at each timestep t, in sequence
 * order, mean over batches. A forward direction starts at t = 0, a reverse one at the last step.
 */
export interface TimestepGrad {
  node: string;
  direction: Direction;
  l2: number[];
}

/** A stretch of consecutive layers where gradient vanishes or explodes. */
export interface FlowIssue {
  kind: 'vanishing' | 'exploding';
  from: string;
  to: string;
  /** Ratio of gradient RMS between the ends. */
  factor: number;
  message: string;
}

/** The GPU adapter a webgpu run used, as Dawn describes it. */
export interface AdapterDescription {
  vendor: string;
  architecture: string;
  /** The device name (e.g. "NVIDIA GeForce RTX 4090", "llvmpipe (LLVM 15.0.6, 256 bits)"). */
  device: string;
  /** The driver's description (e.g. "Vulkan backend - NVIDIA 550.54"). */
  description: string;
  /** Dawn's backend: vulkan, metal, d3d12, opengl… */
  backend: string;
  /** False for a CPU rasterizer posing as a GPU (llvmpipe, lavapipe, SwiftShader, WARP). */
  hardware: boolean;
  /** The device limits the memory guard checks, in bytes. */
  limits: { maxBufferSize: number; maxStorageBufferBindingSize: number };
}

/** Where NaN or ±Infinity first appeared in a run. */
export interface NonFiniteReport {
  /** The batch (from 0). */
  batch: number;
  /**
   * `forward`: a node's output (the model's own float32 arithmetic overflowed); `loss`: every
   * node output was finite but the loss was not; `backward`: the gradient at a node's output, or
   * of a parameter, on the way back.
   */
  pass: 'forward' | 'loss' | 'backward';
  /** That node, when there is one. */
  node?: string;
  /** One sentence for people. */
  message: string;
}

/** Everything a probe run returns. */
export interface ProbeResult {
  model: string;
  backend: {
    name: BackendName;
    device: string;
    /** The threads that ran the WebAssembly kernels. */
    threads: number;
    /** The threads asked for, when the run used one because no kernel call was worth sharing out. */
    threadsAsked?: number;
    adapter?: AdapterDescription;
  };
  loss: { kind: LossKind; values: number[] };
  batchSize: number;
  batches: number;
  params: ParamGrad[];
  activations: ActivationGrad[];
  /**
   * The gradient at the graph inputs, where it was measured: always for a model without
   * parameters (it is then what the run differentiates against), else where a skip leaves an input.
   */
  inputs?: InputGrad[];
  merges: MergeGrad[];
  /** Per recurrent node and direction: the gradient at the hidden state of every timestep (runProbe always fills it; empty without recurrent nodes). */
  timesteps?: TimestepGrad[];
  summary: { issues: FlowIssue[]; text: string };
  /** Present when a loss or a gradient held NaN or ±Infinity: where that first happened. */
  nonFinite?: NonFiniteReport;
  /**
   * msPerBatch: the mean over all batches, the first included; firstBatchMs: the first alone (it
   * pays the set-up: weight transforms, buffers and, on a GPU, shader compilation);
   * steadyMedianMs: the median of the others (absent with one batch); setupMs: starting the GPU
   * (adapter and device; 0 when reused or not a GPU).
   */
  timing: {
    msPerBatch: number;
    firstBatchMs: number;
    steadyMedianMs?: number;
    totalMs: number;
    setupMs?: number;
  };
  /** Where the batches came from, in words (e.g. "synthetic, seed 0"). */
  source?: string;
  /** The merges whose skip inputs were cut (replaced by zeros); empty for an intact run. */
  cut?: string[];
  /** Findings in plain words with the thresholds used (runtime/probe/diagnosis.ts). */
  diagnosis?: Diagnosis;
}
