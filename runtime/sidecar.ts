/**
 * The sidecar: a JSON-RPC server that reads models and runs probes for the extension. It talks
 * over the Node IPC channel of its forked process, never stdout: native code (Dawn, the WebGPU
 * backend) prints on stdout, which would corrupt a stream protocol there. Each group of handlers
 * lives in runtime/sidecar/ and is registered from the table below.
 */
import { createMessageConnection, IPCMessageReader, IPCMessageWriter } from 'vscode-jsonrpc/node';
import { describeError } from './errors';
import { ModelStore } from './sidecar/modelStore';
import type { HandlerContext } from './sidecar/handlerContext';
import { registerModelHandlers } from './sidecar/modelHandlers';
import { registerRuntimeHandlers } from './sidecar/runtimeHandlers';
import { registerTextHandlers } from './sidecar/textHandlers';
import { registerProbeHandlers } from './sidecar/probeHandlers';
import { releaseBackends } from './probe/backend';

if (!process.send) {
  console.error('skipscope sidecar: start me with child_process.fork (I talk over the IPC channel).');
  process.exit(2);
}

const ctx: HandlerContext = {
  conn: createMessageConnection(new IPCMessageReader(process), new IPCMessageWriter(process)),
  store: new ModelStore(),
};
for (const register of [
  registerModelHandlers,
  registerRuntimeHandlers,
  registerTextHandlers,
  registerProbeHandlers,
])
  register(ctx);

process.on('uncaughtException', (e) => console.error(`uncaught: ${describeError(e)}`));
// The extension host went away (or closed the channel): give the GPU back and go.
process.on('disconnect', () => {
  releaseBackends();
  process.exit(0);
});
ctx.conn.listen();
