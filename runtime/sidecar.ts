/**
 * The sidecar: a JSON-RPC server over stdio that reads models and runs probes for the extension.
 * Each group of handlers lives in runtime/sidecar/ and is registered from the table below.
 */
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import { describeError } from './errors';
import { ModelStore } from './sidecar/modelStore';
import type { HandlerContext } from './sidecar/handlerContext';
import { registerModelHandlers } from './sidecar/modelHandlers';
import { registerRuntimeHandlers } from './sidecar/runtimeHandlers';
import { registerTextHandlers } from './sidecar/textHandlers';
import { registerProbeHandlers } from './sidecar/probeHandlers';

const ctx: HandlerContext = {
  conn: createMessageConnection(
    new StreamMessageReader(process.stdin),
    new StreamMessageWriter(process.stdout),
  ),
  store: new ModelStore(),
};
for (const register of [
  registerModelHandlers,
  registerRuntimeHandlers,
  registerTextHandlers,
  registerProbeHandlers,
])
  register(ctx);

// stdout carries JSON-RPC: route console.log to stderr so that a stray log cannot corrupt it.
console.log = console.error;
process.on('uncaughtException', (e) => console.error(`uncaught: ${describeError(e)}`));
process.stdin.on('end', () => process.exit(0));
ctx.conn.listen();
