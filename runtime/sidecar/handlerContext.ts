/**
 * What every group of sidecar request handlers receives.
 */
import { ResponseError, type MessageConnection } from 'vscode-jsonrpc/node';
import { describeError, isModelError } from '../errors';
import type { ModelStore } from './modelStore';

/** The connection and the shared model store. */
export interface HandlerContext {
  conn: MessageConnection;
  store: ModelStore;
}

/**
 * Runs a handler body, turning thrown errors into JSON-RPC errors whose message is the
 * user-facing sentence (ModelError) or a logged internal error.
 */
export async function guarded<R>(body: () => R | Promise<R>): Promise<R | ResponseError<void>> {
  try {
    return await body();
  } catch (e) {
    if (!isModelError(e)) console.error(e instanceof Error ? (e.stack ?? e.message) : e);
    return new ResponseError(isModelError(e) ? 1 : -32603, describeError(e));
  }
}
