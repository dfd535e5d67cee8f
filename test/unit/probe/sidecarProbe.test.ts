/**
 * probe/run through a real sidecar process over JSON-RPC on its IPC channel: progress
 * notifications, cancellation, NaN/Infinity carried by name, errors that name the problem, and a
 * sidecar that survives them; writes straight to its stdout (as Dawn's native code makes) that do
 * not disturb the protocol; a webgpu run and the adapter named in runtime/info.
 */
import { strict as assert } from 'node:assert';
import * as cp from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  CancellationTokenSource,
  createMessageConnection,
  IPCMessageReader,
  IPCMessageWriter,
  ResponseError,
  type MessageConnection,
} from 'vscode-jsonrpc/node';
import {
  ModelOpen,
  ProbeProgress,
  ProbeReport,
  ProbeRun,
  RuntimeInfoRequest,
  type ProbeRunResult,
} from '../../../runtime/protocol/sidecarProtocol';
import { jsonSafe, reviveNonFinite } from '../../../runtime/protocol/nonFiniteJson';
import type { ProbeOptions } from '../../../runtime/probe/probeTypes';

const root = path.resolve(__dirname, '../../..');
const opts: ProbeOptions = {
  source: { kind: 'synthetic' },
  batchSize: 2,
  batches: 2,
  loss: 'mean-square',
  backend: 'wasm',
  threads: 2,
};

describe('sidecar probe/run', () => {
  let proc: cp.ChildProcess;
  let conn: MessageConnection;
  const progress: { runId: number; done: number; total: number }[] = [];
  const stdout: string[] = [];

  before(() => {
    // Writes to fd 1 behind Node's back, as native code does, including what looks like a header.
    const noise = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'skipscope-noise-')), 'noise.js');
    fs.writeFileSync(
      noise,
      `const fs = require('fs');
const junk = () => fs.writeSync(1, 'validation:\\nContent-Length: 12\\r\\n\\r\\n{"broken":\\n');
junk();
setInterval(junk, 20).unref();`,
    );
    proc = cp.fork(path.join(root, 'runtime/sidecar.ts'), [], {
      cwd: root,
      execArgv: ['-r', 'tsx/cjs', '-r', noise],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    proc.stdout!.on('data', (d: Buffer) => stdout.push(d.toString()));
    conn = createMessageConnection(new IPCMessageReader(proc), new IPCMessageWriter(proc));
    conn.onNotification(ProbeProgress, (p) => progress.push(p));
    conn.listen();
  });
  after(() => {
    conn.dispose();
    proc.kill();
  });

  it('runs probes with progress notifications', async () => {
    const { handle } = await conn.sendRequest(ModelOpen, { file: path.join(root, 'samples/sample.onnx') });
    const { result: r, overlay } = await conn.sendRequest(ProbeRun, { handle, runId: 7, options: opts });
    assert.equal(r.backend.name, 'wasm');
    // The two threads asked for; or, when both were up from the first batch, one: none of the sample
    // model's kernel calls is large enough to share out (kernelThreads.test.ts).
    assert.equal(r.backend.threadsAsked ?? r.backend.threads, 2);
    if (r.backend.threadsAsked) assert.equal(r.backend.threads, 1);
    // The editor draws the overlay as it comes: every merge's split and every probed node's RMS.
    for (const m of r.merges) assert.equal(overlay.merges[m.merge]?.skipShare, m.skipShare);
    for (const a of r.activations) assert.ok(overlay.nodes[a.node], a.node);
    assert.equal(r.loss.values.length, 2);
    assert.ok(r.merges.length > 0);
    const mine = progress.filter((p) => p.runId === 7);
    assert.deepEqual(
      mine.map((p) => p.done),
      [0, 1, 2],
    );
    assert.ok(mine.every((p) => p.total === 2));
  });

  it('stops a run when the request is cancelled', async () => {
    const { handle } = await conn.sendRequest(ModelOpen, {
      file: path.join(root, 'test/fixtures/onnx/probe/resnet18.onnx'),
    });
    const cts = new CancellationTokenSource();
    const off = conn.onNotification(ProbeProgress, (p) => p.runId === 8 && p.done === 1 && cts.cancel());
    await assert.rejects(
      conn.sendRequest(
        ProbeRun,
        { handle, runId: 8, options: { ...opts, batchSize: 8, batches: 50 } },
        cts.token,
      ),
      (e: unknown) => e instanceof ResponseError && e.code === -32800,
    );
    off.dispose();
    assert.ok(progress.filter((p) => p.runId === 8).length < 50);
    // Nothing runs on after the cancellation: the kernel threads sleep, and the sidecar's CPU time
    // (every thread's, in clock ticks) stands still.
    if (fs.existsSync(`/proc/${proc.pid}/stat`)) {
      const cpuTicks = () => {
        const f = fs.readFileSync(`/proc/${proc.pid}/stat`, 'utf8').split(') ')[1].split(' ');
        return Number(f[11]) + Number(f[12]);
      };
      await new Promise((r) => setTimeout(r, 200));
      const t0 = cpuTicks();
      await new Promise((r) => setTimeout(r, 1000));
      assert.ok(cpuTicks() - t0 <= 10, `the sidecar used ${cpuTicks() - t0} ticks of CPU while idle`);
    }
  });

  it('carries NaN and Infinity by name, and they read back as numbers', async () => {
    const { handle } = await conn.sendRequest(ModelOpen, {
      file: path.join(root, 'test/fixtures/grads/tiny_overflow.onnx'),
    });
    const answer = await conn.sendRequest(ProbeRun, { handle, runId: 11, options: { ...opts, batches: 1 } });
    const w1 = answer.result.params.find((p) => p.name === 'w1')!;
    assert.ok(['NaN', 'Infinity'].includes(String(w1.grad.l2)), `on the wire: ${String(w1.grad.l2)}`);
    const { result, overlay } = reviveNonFinite<ProbeRunResult>(answer);
    const back = result.params.find((p) => p.name === 'w1')!;
    assert.ok(typeof back.grad.l2 === 'number' && !Number.isFinite(back.grad.l2));
    assert.equal(back.grad.nonFinite, 16);
    assert.equal(result.nonFinite?.node, 'matmul1');
    assert.equal(overlay.nonFinite?.node, 'matmul1');
    assert.ok(!Number.isFinite(overlay.nodes.matmul1.rms));
    // The report request takes the result as it came (by name) and writes the names to probe.json.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skipscope-sidecar-report-'));
    await conn.sendRequest(ProbeReport, { handle, result: jsonSafe(result), dir });
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'probe.json'), 'utf8')) as typeof answer.result;
    assert.equal(json.params.find((p) => p.name === 'w1')!.grad.l2, w1.grad.l2);
  });

  it('answers bad input with one sentence and keeps running', async () => {
    const { handle } = await conn.sendRequest(ModelOpen, {
      file: path.join(root, 'test/fixtures/grads/tiny_unsupported.onnx'),
    });
    await assert.rejects(
      conn.sendRequest(ProbeRun, { handle, runId: 9, options: opts }),
      (e: unknown) => e instanceof ResponseError && e.code === 1 && /TopK/.test(e.message),
    );
    await assert.rejects(conn.sendRequest(ProbeRun, { handle: 999, runId: 10, options: opts }), /not open/);
    const info = await conn.sendRequest(RuntimeInfoRequest, undefined);
    const wasm = info.backends.find((b) => b.name === 'wasm');
    assert.ok(wasm?.available && /in use/.test(wasm.detail));
    assert.equal(info.backends.find((b) => b.name === 'tensorflow')?.available, false);
    // The threads the last run really used (the kernel threads the options asked for).
    assert.equal(info.threads, 2);
    assert.ok(info.cores >= 1);
  });

  it('keeps its protocol off stdout: native writes there are only log lines', () => {
    assert.ok(stdout.join('').includes('Content-Length: 12'), 'the noise reached stdout');
  });

  it('runs a probe on webgpu on request and names the adapter in runtime/info', async function () {
    const info = await conn.sendRequest(RuntimeInfoRequest, undefined);
    const gpu = info.backends.find((b) => b.name === 'webgpu');
    assert.ok(gpu, 'runtime/info lists webgpu');
    if (!gpu.available) {
      if (process.env.CI) assert.fail(`no WebGPU adapter in CI: ${gpu.detail}`);
      this.test!.title += ` (skipped: ${gpu.detail})`;
      this.skip();
    }
    assert.match(gpu.detail, /\((vulkan|metal|d3d12|opengl).*; (hardware|software)\)/);
    const { handle } = await conn.sendRequest(ModelOpen, { file: path.join(root, 'samples/sample.onnx') });
    const { result: r } = await conn.sendRequest(ProbeRun, {
      handle,
      runId: 11,
      options: { ...opts, backend: 'webgpu' },
    });
    assert.equal(r.backend.name, 'webgpu');
    assert.ok(r.backend.adapter && typeof r.backend.adapter.hardware === 'boolean');
    assert.ok(Number(r.timing.firstBatchMs) > 0);
    const after = await conn.sendRequest(RuntimeInfoRequest, undefined);
    assert.match(after.backends.find((b) => b.name === 'webgpu')!.detail, /in use: GPU \(WebGPU on /);
    const { result: wasm } = await conn.sendRequest(ProbeRun, { handle, runId: 12, options: opts });
    r.loss.values.forEach((l, i) =>
      assert.ok(Math.abs(Number(l) - Number(wasm.loss.values[i])) <= 1e-5 * Math.abs(Number(l))),
    );
  });
});
