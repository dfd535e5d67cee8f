/**
 * The sidecar: a JSON-RPC server over stdio that reads models and runs probes for the extension.
 * It keeps opened models by handle so that probes reuse the parsed model.
 */
import {
  createMessageConnection,
  ResponseError,
  StreamMessageReader,
  StreamMessageWriter,
} from 'vscode-jsonrpc/node';
import { describeError, isModelError } from './errors';
import type { Model } from './model/ir';
import { openModel } from './model/open';
import { ModelClose, ModelOpen, RuntimeInfoRequest } from './protocol/sidecarProtocol';
import { buildViewModel } from './view/buildViewModel';
import { VERSION } from './version';
import * as os from 'node:os';

const conn = createMessageConnection(
  new StreamMessageReader(process.stdin),
  new StreamMessageWriter(process.stdout),
);
const models = new Map<number, Model>();
let nextHandle = 1;

/** Turns a thrown value into a JSON-RPC error whose message is the user-facing sentence. */
function toResponseError(e: unknown): ResponseError<void> {
  if (!isModelError(e)) console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  return new ResponseError(isModelError(e) ? 1 : -32603, describeError(e));
}

conn.onRequest(ModelOpen, async ({ file }) => {
  try {
    const model = await openModel(file);
    const handle = nextHandle++;
    models.set(handle, model);
    return { handle, view: buildViewModel(model) };
  } catch (e) {
    return toResponseError(e);
  }
});
conn.onRequest(ModelClose, ({ handle }) => {
  models.delete(handle);
});
conn.onRequest(RuntimeInfoRequest, () => ({
  version: VERSION,
  node: process.versions.node,
  backends: [
    { name: 'wasm', available: true, detail: 'WebAssembly (bundled)' },
    { name: 'cpu', available: true, detail: 'plain JavaScript' },
  ],
  threads: os.availableParallelism(),
}));

process.on('uncaughtException', (e) => console.error(`uncaught: ${describeError(e)}`));
conn.listen();
