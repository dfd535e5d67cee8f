/**
 * runtime/… requests: what this sidecar can run on.
 */
import * as os from 'node:os';
import { RuntimeInfoRequest } from '../protocol/sidecarProtocol';
import { VERSION } from '../version';
import type { HandlerContext } from './handlerContext';

/** Registers the runtime/… handlers. */
export function registerRuntimeHandlers({ conn }: HandlerContext): void {
  conn.onRequest(RuntimeInfoRequest, () => ({
    version: VERSION,
    node: process.versions.node,
    backends: [
      { name: 'wasm', available: true, detail: 'WebAssembly (bundled)' },
      { name: 'cpu', available: true, detail: 'plain JavaScript' },
    ],
    threads: os.availableParallelism(),
  }));
}
