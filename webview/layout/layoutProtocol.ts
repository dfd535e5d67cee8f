/**
 * The webview ↔ layout worker protocol, typed once: one request and one response per job, matched
 * by id; arrays travel as transferables.
 */
import type { LayoutInput, LayoutOutput } from '../../runtime/view/layered';

/** Webview → worker: lay out this graph. A newer job supersedes older ones. */
export interface LayoutRequest {
  type: 'layout';
  id: number;
  input: LayoutInput;
}

/** Worker → webview: the layout of job `id` and how long it took. */
export interface LayoutResponse {
  type: 'layoutDone';
  id: number;
  output: LayoutOutput;
  ms: number;
}

/** Worker → webview: the layout of job `id` failed. */
export interface LayoutFailed {
  type: 'layoutFailed';
  id: number;
  message: string;
}

/** Messages the worker receives. */
export type ToLayoutWorker = LayoutRequest;
/** Messages the worker sends. */
export type FromLayoutWorker = LayoutResponse | LayoutFailed;

/** The buffers of a layout input, to transfer rather than copy. */
export function inputTransfer(i: LayoutInput): ArrayBuffer[] {
  return [i.widths.buffer, i.heights.buffer, i.from.buffer, i.to.buffer] as ArrayBuffer[];
}

/** The buffers of a layout output, to transfer rather than copy. */
export function outputTransfer(o: LayoutOutput): ArrayBuffer[] {
  return [o.x.buffer, o.y.buffer, o.points.buffer, o.offsets.buffer] as ArrayBuffer[];
}
