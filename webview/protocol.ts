/**
 * The extension ↔ webview protocol, typed once and imported by both ends: a discriminated union
 * per direction, and a ready → init handshake.
 */
import type { WeightStats } from '../runtime/view/tensorStats';
import type { GradientOverlay, ViewModel } from '../runtime/view/viewModel';
import type { JsonSafe } from '../runtime/protocol/nonFiniteJson';

/** Settings the webview needs, read by the extension from the `skipscope.*` configuration. */
export interface ViewSettings {
  /** Blocks and name scopes start collapsed when the model has more visible nodes than this. */
  collapseAbove: number;
}

/** Statistics of one weight tensor (the sidecar's `model/tensorStats` answer). */
export type TensorStats = WeightStats;

/** Webview → extension: the page has loaded and can take the model. */
export interface ReadyMessage {
  type: 'ready';
}
/** Webview → extension: please compute the statistics of a weight tensor. */
export interface TensorStatsRequest {
  type: 'tensorStats';
  requestId: number;
  tensor: string;
}
/** Webview → extension: reopen this file with the default text editor. */
export interface OpenAsTextMessage {
  type: 'openAsText';
}
/** Webview → extension: try to open the model again (after an error). */
export interface RetryMessage {
  type: 'retry';
}
/** Webview → extension: the graph is on screen; timings for the log and the status bar. */
export interface RenderedMessage {
  type: 'rendered';
  drawnNodes: number;
  layoutMs: number;
  firstPaintMs: number;
}

/** Extension → webview: the model to draw, or the reason it could not be read. */
export interface InitMessage {
  type: 'init';
  fileName: string;
  view?: ViewModel;
  error?: string;
  settings?: ViewSettings;
}
/** Extension → webview: the answer to a TensorStatsRequest. */
export interface TensorStatsResponse {
  type: 'tensorStatsResult';
  requestId: number;
  stats?: TensorStats;
  error?: string;
}
/**
 * Extension → webview: gradient statistics from a probe run, drawn as an overlay (null clears it);
 * NaN and ±Infinity travel by name (reviveNonFinite).
 */
export interface GradientsMessage {
  type: 'gradients';
  overlay: JsonSafe<GradientOverlay> | null;
}
/** Extension → webview: select and show a node (e.g. from the text view). */
export interface RevealNodeMessage {
  type: 'revealNode';
  name: string;
}

/** Extension → webview: the probe runs of this model (kept for the window's lifetime), run A shown and run B compared. */
export interface RunsMessage {
  type: 'runs';
  runs: GradientOverlay[];
  a?: number;
  b?: number;
}
/**
 * Extension → webview: the model file changed on disk (or its sidecar stopped) and could not be
 * read again: the graph shown stays, under a notice that says why, with Retry and Open as Text.
 * `message` undefined clears the notice.
 */
export interface FileNoticeMessage {
  type: 'fileNotice';
  message?: string;
}
/** Webview → extension: set up and run a gradient probe (the Run button). */
export interface RunProbeMessage {
  type: 'runProbe';
}
/**
 * Webview → extension: cut skips and compare with the intact run; `merges` names merges (all their
 * skip inputs) or skip ids (that skip alone), as `skipscope probe --cut` takes them.
 */
export interface CutSkipMessage {
  type: 'cutSkip';
  merges: string[];
}
/** Webview → extension: show run `a`, compared with run `b` (none when absent). */
export interface CompareMessage {
  type: 'compare';
  a: number;
  b?: number;
}
/** Webview → extension: export the gradient report of the run shown. */
export interface ExportReportMessage {
  type: 'exportReport';
}

/** Messages the extension sends. */
export type ToWebviewMessage =
  InitMessage | TensorStatsResponse | GradientsMessage | RevealNodeMessage | RunsMessage | FileNoticeMessage;
/** Messages the webview sends. */
export type FromWebviewMessage =
  | ReadyMessage
  | TensorStatsRequest
  | OpenAsTextMessage
  | RetryMessage
  | RenderedMessage
  | RunProbeMessage
  | CutSkipMessage
  | CompareMessage
  | ExportReportMessage;
