/**
 * The sidecar's limit on the view model (runtime/view/viewLimits.ts): a graph past MAX_VIEW_NODES
 * nodes or MAX_VIEW_BYTES of JSON is refused with one sentence naming the file and the numbers,
 * through a real sidecar process, which stays up and opens the next model.
 */
import { strict as assert } from 'node:assert';
import * as cp from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  createMessageConnection,
  IPCMessageReader,
  IPCMessageWriter,
  ResponseError,
} from 'vscode-jsonrpc/node';
import { ModelOpen } from '../../../runtime/protocol/sidecarProtocol';
import { graph, node, tensor, valueInfo, writeModel } from '../../../scripts/adversarial/onnxWrite';
import { checkViewSize, MAX_VIEW_BYTES, MAX_VIEW_NODES } from '../../../runtime/view/viewLimits';
import { buildViewModel } from '../../../runtime/view/buildViewModel';
import { openModel, openModelSync } from '../../../runtime/analysis/openModel';
import { isModelError } from '../../../runtime/errors';

const root = path.resolve(__dirname, '../../..');

function chain(file: string, n: number, nameLength = 0): void {
  const pad = 'n'.repeat(nameLength);
  const nodes = Array.from({ length: n }, (_, i) =>
    node('Relu', [i === 0 ? 'x' : `t${i - 1}`], [i === n - 1 ? 'y' : `t${i}`], `${pad}${i}`),
  );
  writeModel(
    file,
    graph(nodes, [valueInfo('x', [1, 4])], [valueInfo('y', [1, 4])], [tensor('unused', [1], [0])]),
  );
}

describe('view model size limit', function () {
  this.timeout(300_000);
  let dir = '';
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skipscope-viewlimit-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it(`refuses more than ${MAX_VIEW_NODES} nodes and accepts exactly that many`, async () => {
    const at = path.join(dir, 'at.onnx');
    chain(at, MAX_VIEW_NODES);
    assert.ok(checkViewSize(buildViewModel(await openModel(at)), at) > 0);
    const over = path.join(dir, 'over.onnx');
    chain(over, MAX_VIEW_NODES + 1);
    assert.throws(
      () => checkViewSize(buildViewModel(openModelSync(over)), over),
      (e: unknown) =>
        isModelError(e) &&
        e.message ===
          `${over}: the graph has 50,001 nodes, more than the 50,000 the graph view draws; open it as ONNX text or run the skipscope CLI on it instead.`,
    );
  });

  it(`refuses a view model of more than ${MAX_VIEW_BYTES / 2 ** 20} MiB (long names)`, async () => {
    const f = path.join(dir, 'names.onnx');
    chain(f, 80, 1 << 20); // each name a MiB, printed in the node and its output's edges
    assert.throws(
      () => checkViewSize(buildViewModel(openModelSync(f)), f),
      (e: unknown) =>
        isModelError(e) &&
        /the graph's view is \d+ MiB .*more than the 64 MiB the graph view takes/.test(e.message),
    );
  });

  it('the sidecar answers model/open with that sentence and stays up', async () => {
    const proc = cp.fork(path.join(root, 'runtime/sidecar.ts'), [], {
      cwd: root,
      execArgv: ['-r', 'tsx/cjs'],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    const conn = createMessageConnection(new IPCMessageReader(proc), new IPCMessageWriter(proc));
    conn.listen();
    try {
      const over = path.join(dir, 'over.onnx');
      await assert.rejects(
        conn.sendRequest(ModelOpen, { file: over }),
        (e: unknown) => e instanceof ResponseError && /the graph has 50,001 nodes/.test(e.message),
      );
      const small = path.join(dir, 'small.onnx');
      chain(small, 3);
      const r = await conn.sendRequest(ModelOpen, { file: small });
      assert.equal(r.view.nodes.length, 3);
    } finally {
      conn.dispose();
      proc.kill();
    }
  });
});
