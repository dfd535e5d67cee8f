/**
 * The extension ↔ sidecar protocol (JSON-RPC over stdio), typed once and imported by both ends.
 * Method names are namespaced: model/…, probe/…, runtime/….
 */
import { NotificationType, RequestType } from 'vscode-jsonrpc';
import type { WeightStats } from '../view/tensorStats';
import type { GradientOverlay, ViewModel } from '../view/viewModel';
import type { ProbeOptions, ProbeResult } from '../probe/probeTypes';
import type { JsonSafe } from './nonFiniteJson';

/** A model opened in the sidecar, referred to by handle afterwards. */
export interface OpenModelResult {
  handle: number;
  view: ViewModel;
}

/** Reads and analyses a model file; returns a handle and its view model. */
export const ModelOpen = new RequestType<{ file: string }, OpenModelResult, void>('model/open');
/** Forgets an opened model. */
export const ModelClose = new RequestType<{ handle: number }, void, void>('model/close');
/** Statistics of one weight tensor, computed on demand. */
export const ModelTensorStats = new RequestType<{ handle: number; tensor: string }, WeightStats, void>(
  'model/tensorStats',
);
/** The model printed in ONNX textual syntax. */
export const ModelText = new RequestType<{ file: string; weights?: boolean }, { text: string }, void>(
  'model/text',
);
/** A span of one line in a printed model text (0-based line, UTF-16 columns, end exclusive). */
export interface TextSpan {
  line: number;
  start: number;
  end: number;
}
/** A name under the cursor in a printed model text: what it is, where it is defined, its hover card. */
export interface TextSymbolInfo {
  name: string;
  kind: 'node' | 'tensor' | 'function';
  span: TextSpan;
  /** Where the name is defined in the same text, when it is. */
  definition?: TextSpan;
  /** The hover card in Markdown, when the model has something to say about the name. */
  markdown?: string;
}
/** The name at (line, character) of the text model/text returned for the same file and weights flag. */
export const ModelTextSymbol = new RequestType<
  { file: string; weights?: boolean; line: number; character: number },
  TextSymbolInfo | null,
  void
>('model/textSymbol');
/** Every place the name at (line, character) occurs with the same meaning: its definition and its uses. */
export const ModelTextOccurrences = new RequestType<
  { file: string; weights?: boolean; line: number; character: number },
  (TextSpan & { def: boolean })[],
  void
>('model/textOccurrences');
/** The hover card for a node, layer or tensor name in a model file (e.g. a TF.js model.json open as text). */
export const ModelNameCard = new RequestType<
  { file: string; name: string },
  { markdown: string } | null,
  void
>('model/nameCard');

/** What a probe run answers: the contract's result, and the overlay the editor draws from it. */
export interface ProbeRunResult {
  result: ProbeResult;
  overlay: GradientOverlay;
}
/**
 * Runs gradient probes on an opened model; progress arrives as probe/progress notifications. NaN
 * and ±Infinity in the answer travel by name (reviveNonFinite reads them back).
 */
export const ProbeRun = new RequestType<
  { handle: number; runId: number; options: ProbeOptions },
  JsonSafe<ProbeRunResult>,
  void
>('probe/run');
/**
 * Writes the gradient report of a run (JSON, CSV, Markdown, chart and graph as SVG and PNG) into
 * `dir`; the result's NaN and ±Infinity travel by name.
 */
export const ProbeReport = new RequestType<
  { handle: number; result: JsonSafe<ProbeResult>; dir: string },
  { files: string[] },
  void
>('probe/report');
/**
 * How long a cancelled probe/run may take to answer (it stops between batches) before the client
 * restarts the sidecar: a pass in flight is synchronous and cannot be interrupted inside it.
 */
export const CANCEL_GRACE_MS = 600;
/** Progress of a probe run. */
export const ProbeProgress = new NotificationType<{
  runId: number;
  done: number;
  total: number;
  message: string;
}>('probe/progress');

/** Backends available, versions and threads. */
export interface RuntimeInfo {
  version: string;
  node: string;
  backends: { name: string; available: boolean; detail: string }[];
  /** Threads the last probe ran on (0 before the first, or when native TensorFlow manages its own). */
  threads: number;
  /** Cores of this machine: the default thread count. */
  cores: number;
}
/** Asks the sidecar what it can run on. */
export const RuntimeInfoRequest = new RequestType<void, RuntimeInfo, void>('runtime/info');

/** The sidecar's memory and what holds it: the figures a long session must bring back to their baseline. */
export interface RuntimeMemory {
  /** Resident set size of the sidecar process, bytes. */
  rss: number;
  /** V8's heap in use, bytes. */
  heapUsed: number;
  /** Memory outside V8's heap that JS objects own (Buffers, ArrayBuffers, WebAssembly memories), bytes. */
  external: number;
  /** TF.js tensors alive, on every backend (`tf.memory().numTensors`), and the bytes they hold. */
  numTensors: number;
  numBytes: number;
  /** The backend TF.js runs on; none before the first probe. */
  backend?: string;
  /** Models open (handles given out and not closed). */
  models: number;
  /** Threads of the process (main, libuv, V8, kernel workers) where the system tells (Linux), else 0. */
  threads: number;
}
/** The sidecar's memory; with `gc`, after a full garbage collection (what a leak check compares). */
export const RuntimeMemoryRequest = new RequestType<{ gc?: boolean }, RuntimeMemory, void>('runtime/memory');
