/**
 * The largest view model the sidecar sends to the graph view. Past it the webview would spend
 * minutes parsing, laying out and drawing (or run out of memory) while the editor looks frozen;
 * the sidecar refuses instead, with one sentence that points to the text view and the CLI, which
 * handle any size.
 */
import { ModelError } from '../errors';
import type { ViewModel } from './viewModel';

/** Nodes the graph view draws at most: ten times a ResNet-152, a fifth of a 100k-node chain. */
export const MAX_VIEW_NODES = 50_000;
/** Bytes of the view model as JSON at most (names of a megabyte each add up quickly). */
export const MAX_VIEW_BYTES = 64 * 1024 * 1024;

const mib = (b: number) => `${(b / 1024 ** 2).toFixed(0)} MiB`;
const WHAT_INSTEAD = 'open it as ONNX text or run the skipscope CLI on it instead';

/** Throws ModelError when `view` is too large for the graph view; returns its JSON size otherwise. */
export function checkViewSize(view: ViewModel, file: string): number {
  if (view.nodes.length > MAX_VIEW_NODES)
    throw new ModelError(
      `${file}: the graph has ${view.nodes.length.toLocaleString('en-US')} nodes, more than the ${MAX_VIEW_NODES.toLocaleString('en-US')} the graph view draws; ${WHAT_INSTEAD}.`,
      file,
    );
  const bytes = Buffer.byteLength(JSON.stringify(view));
  if (bytes > MAX_VIEW_BYTES)
    throw new ModelError(
      `${file}: the graph's view is ${mib(bytes)} (node and tensor names included), more than the ${mib(MAX_VIEW_BYTES)} the graph view takes; ${WHAT_INSTEAD}.`,
      file,
    );
  return bytes;
}
