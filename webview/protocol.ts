/**
 * The extension ↔ webview protocol, typed once and imported by both ends: a discriminated union
 * per direction, and a ready → init handshake.
 */
import type { ViewModel } from '../runtime/view/viewModel';

/** Webview → extension: the page has loaded and can take the model. */
export interface ReadyMessage {
  type: 'ready';
}
/** Extension → webview: the model to draw, or the reason it could not be read. */
export interface InitMessage {
  type: 'init';
  fileName: string;
  view?: ViewModel;
  error?: string;
}

/** Messages the extension sends. */
export type ToWebviewMessage = InitMessage;
/** Messages the webview sends. */
export type FromWebviewMessage = ReadyMessage;
