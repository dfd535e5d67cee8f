/**
 * A long session in a real sidecar process, on every backend: 200 models (ONNX and TF.js) opened
 * and closed, 50 probes of which 25 are cancelled mid-run by the JSON-RPC cancellation the editor
 * sends. The sidecar's tensors, models and threads come back to their baseline exactly, its
 * resident memory within RSS_TOLERANCE, and it does not keep growing per model or per run.
 *
 * The editor's fallback, a restart of the sidecar when a cancelled run has not answered within
 * CANCEL_GRACE_MS (a pass in flight cannot be interrupted), is taken once per backend on a long
 * pass: the old process exits, and no process or worker outlives it. In the session itself every
 * cancelled run is waited for (on a slow backend the editor would restart instead) so that what
 * a cancellation leaves behind inside the sidecar is measured.
 */
import { strict as assert } from 'node:assert';
import * as cp from 'node:child_process';
import * as fs from 'node:fs';
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
  CANCEL_GRACE_MS,
  ModelClose,
  ModelOpen,
  ProbeProgress,
  ProbeRun,
  RuntimeInfoRequest,
  RuntimeMemoryRequest,
  type RuntimeMemory,
} from '../../../runtime/protocol/sidecarProtocol';
import type { BackendName, ProbeOptions } from '../../../runtime/probe/probeTypes';
import { testBackends } from '../helpers/testBackends';

const root = path.resolve(__dirname, '../../..');
const MiB = 1024 * 1024;

/**
 * How far the sidecar's RSS may end above its baseline (taken after a warm-up round of the same
 * models), and how fast it may still climb over the second half of the session, per iteration
 * (one probe and four models opened and closed). Measured on 2 cores at load 8–14 (figures in the
 * README's Reliability section): the end sits 2–15 MiB above the baseline (the allocator and the
 * JIT settle over the first iterations), and the second half climbs by 0.03–0.08 MiB per
 * iteration, mostly compiled code. A view model or a runner kept per model would add 0.4 MiB or
 * more per iteration; the TF.js layers graphs that were kept (fixed) added about 0.1 MiB.
 */
const RSS_TOLERANCE = 32 * MiB;
const RSS_SLOPE_TOLERANCE = 0.25 * MiB;

/** Models the session probes: small (a batch takes well under a second even on the CPU backend). */
const PROBED = [
  'test/fixtures/grads/tiny_conv.onnx',
  'test/fixtures/tfjs-layers/sequential_cnn/model.json',
  'test/fixtures/grads/tiny_seq.onnx',
  'test/fixtures/tfjs-layers/gru/model.json',
  'test/fixtures/grads/tiny_pool.onnx',
  'test/fixtures/onnx/probe/densenet.onnx',
  'test/fixtures/grads/tiny_ops.onnx',
];
/** Models the session only opens and closes (three per probe): every reader, external data included. */
const OPENED = [
  'test/fixtures/onnx/resnet18_external.onnx',
  'samples/sample.onnx',
  'test/fixtures/tfjs-layers/resnet/model.json',
  'test/fixtures/tfjs-graph/emotion/emotion.json',
  'test/fixtures/onnx/transformer.onnx',
  'test/fixtures/tfjs-layers/unet/model.json',
  'test/fixtures/onnx/inception.onnx',
  'test/fixtures/grads/rnn_tanh.onnx',
  'test/fixtures/tfjs-layers/resnet_sharded/model.json',
  'test/fixtures/onnx/probe/plain_deep.onnx',
  'test/fixtures/tfjs-graph/blazeface/blazeface.json',
  'test/fixtures/onnx/resnet18_functions.onnx',
  'test/fixtures/tfjs-layers/lstm/model.json',
];
/** Probes (each with three more models opened beside it); every other one is cancelled. */
const ITERATIONS = 50;
const MODELS_PER_ITERATION = 4;
/** Memory is sampled (after a full collection) every SAMPLE_EVERY iterations. */
const SAMPLE_EVERY = 5;

/** A sidecar process as the extension starts it (forked, JSON-RPC on the IPC channel). */
class Sidecar {
  readonly proc: cp.ChildProcess;
  readonly conn: MessageConnection;
  /** Progress listeners by run id. */
  readonly progress = new Map<number, (done: number) => void>();
  private readonly exited: Promise<void>;

  constructor() {
    this.proc = cp.fork(path.join(root, 'runtime/sidecar.ts'), [], {
      cwd: root,
      execArgv: ['-r', 'tsx/cjs'],
      // stderr shows what the sidecar logs (an internal error's stack); stdout is native noise.
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    this.exited = new Promise((resolve) => this.proc.once('exit', () => resolve()));
    this.conn = createMessageConnection(new IPCMessageReader(this.proc), new IPCMessageWriter(this.proc));
    this.conn.onNotification(ProbeProgress, (p) => this.progress.get(p.runId)?.(p.done));
    this.conn.listen();
  }

  memory(): Promise<RuntimeMemory> {
    return this.conn.sendRequest(RuntimeMemoryRequest, { gc: true });
  }

  /** Stops the process as the extension's restart does (SIGTERM); resolves once it has exited. */
  stop(): Promise<void> {
    this.conn.dispose();
    this.proc.kill();
    return this.exited;
  }
}

/** Sidecar processes whose parent is this one (Linux; empty elsewhere), by pid. */
function sidecars(): number[] {
  if (!fs.existsSync('/proc/self/stat')) return [];
  const found: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').includes('sidecar.ts'))
        found.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Least-squares slope of `ys` against their index. */
function slope(ys: number[]): number {
  const n = ys.length;
  const mx = (n - 1) / 2;
  const my = ys.reduce((s, y) => s + y, 0) / n;
  let num = 0;
  let den = 0;
  ys.forEach((y, x) => {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  });
  return num / den;
}

/** RSS bytes per iteration over the second half of the samples. */
function lateSlope(samples: RuntimeMemory[]): number {
  return slope(samples.slice(samples.length >> 1).map((m) => m.rss)) / SAMPLE_EVERY;
}

/** What one backend's session measured. */
interface SessionFigures {
  backend: string;
  opened: number;
  probes: number;
  /** The session's cancelled runs: answered within CANCEL_GRACE_MS, or later (the editor would restart). */
  stopped: Record<Stopped, number>;
  baseline: RuntimeMemory;
  samples: RuntimeMemory[];
  seconds: number;
}

/** A probe of one batch that runs to the end, or of many that gets cancelled. */
function probeOptions(backend: BackendName, cancel: boolean, batchSize: number): ProbeOptions {
  return {
    source: { kind: 'synthetic' },
    batchSize,
    batches: cancel ? 1000 : 1,
    loss: 'mean-square',
    backend,
    threads: 2,
  };
}

/** How a cancelled run ends: answered within the grace period, later, or by a restart. */
type Stopped = 'answered' | 'late' | 'restarted';

/** The long session of `backend`; starts its own sidecars and stops them. */
class Session {
  side = new Sidecar();
  restarts = 0;
  /** Cancelled runs by how they stopped. */
  readonly stopped: Record<Stopped, number> = { answered: 0, late: 0, restarted: 0 };
  private runId = 0;

  constructor(private readonly backend: BackendName) {}

  /** Restarts the sidecar as the extension does after a cancel that was not answered in time. */
  async restart(): Promise<void> {
    const old = this.side.proc.pid!;
    await this.side.stop();
    this.restarts++;
    this.side = new Sidecar();
    // The old process has exited and been reaped (no zombie); its worker threads went with it.
    if (fs.existsSync('/proc/self'))
      assert.ok(!fs.existsSync(`/proc/${old}`), `sidecar ${old} outlived its restart`);
  }

  /**
   * Runs a probe on `handle`. With `cancelAfter`, cancels it once that many batches are done:
   * the sidecar answers the cancellation between two batches. With `restart`, stops it as the
   * editor's stopRun does: if no answer came within `grace` ms (CANCEL_GRACE_MS unless given), the
   * sidecar is restarted.
   */
  async probe(
    handle: number,
    cancelAfter?: number,
    opts: { batchSize?: number; restart?: boolean; grace?: number } = {},
  ) {
    const runId = ++this.runId;
    const side = this.side;
    const cts = new CancellationTokenSource();
    let cancelSent!: () => void;
    const sent = new Promise<void>((resolve) => (cancelSent = resolve));
    if (cancelAfter !== undefined)
      side.progress.set(runId, (done) => {
        if (done < cancelAfter || cts.token.isCancellationRequested) return;
        cts.cancel();
        cancelSent();
      });
    const options = probeOptions(this.backend, cancelAfter !== undefined, opts.batchSize ?? 1);
    const request = side.conn.sendRequest(ProbeRun, { handle, runId, options }, cts.token);
    try {
      if (cancelAfter === undefined) {
        const { result } = await request;
        assert.ok(result.params.length > 0 && result.loss.values.length === 1);
        return;
      }
      const answered = request.then(
        () => assert.fail('a cancelled run answered with a result'),
        (e: unknown) => assert.ok(e instanceof ResponseError && e.code === -32800, String(e)),
      );
      let timer: NodeJS.Timeout | undefined;
      const late = sent.then(
        () =>
          new Promise<'late'>(
            (resolve) => (timer = setTimeout(() => resolve('late'), opts.grace ?? CANCEL_GRACE_MS)),
          ),
      );
      let how: Stopped = await Promise.race([answered.then(() => 'answered' as const), late]);
      clearTimeout(timer);
      if (how === 'late' && opts.restart) {
        answered.catch(() => undefined); // the restart disposes the connection, which rejects it
        await this.restart();
        how = 'restarted';
      } else if (how === 'late') await answered;
      this.stopped[how]++;
    } finally {
      side.progress.delete(runId);
      cts.dispose();
    }
  }

  async open(file: string): Promise<number> {
    return (await this.side.conn.sendRequest(ModelOpen, { file: path.join(root, file) })).handle;
  }

  close(handle: number): Promise<void> {
    return this.side.conn.sendRequest(ModelClose, { handle });
  }
}

describe('a long sidecar session: 200 models opened and closed, 50 probes of which 25 cancelled', function () {
  this.timeout(600_000);
  const figures: SessionFigures[] = [];
  after(() => {
    for (const f of figures) {
      const last = f.samples[f.samples.length - 1];
      const line = {
        backend: f.backend,
        opened: f.opened,
        probes: f.probes,
        cancelled: f.stopped,
        baselineRssMiB: +(f.baseline.rss / MiB).toFixed(1),
        rssMiB: f.samples.map((s) => +(s.rss / MiB).toFixed(1)),
        heapMiB: f.samples.map((s) => +(s.heapUsed / MiB).toFixed(1)),
        externalMiB: f.samples.map((s) => +(s.external / MiB).toFixed(1)),
        endDeltaMiB: +((last.rss - f.baseline.rss) / MiB).toFixed(1),
        lateSlopeMiBPerIteration: +(lateSlope(f.samples) / MiB).toFixed(3),
        numTensors: [f.baseline.numTensors, last.numTensors],
        threads: [f.baseline.threads, last.threads],
        seconds: +f.seconds.toFixed(1),
      };
      console.log(`      ${JSON.stringify(line)}`);
    }
  });

  for (const backend of testBackends) {
    it(`comes back to its baseline memory on ${backend}`, async function () {
      const t0 = performance.now();
      const s = new Session(backend);
      try {
        if (backend === 'webgpu') {
          const gpu = (await s.side.conn.sendRequest(RuntimeInfoRequest, undefined)).backends.find(
            (b) => b.name === 'webgpu',
          );
          if (!gpu?.available) {
            if (process.env.CI) assert.fail(`no WebGPU adapter in CI: ${gpu?.detail}`);
            this.test!.title += ` (skipped: ${gpu?.detail})`;
            this.skip();
          }
        }
        // The editor's fallback for a pass that does not answer its cancel in time: the sidecar is
        // restarted while a long pass (resnet18, a batch of 64) is in flight. The grace period is
        // left out here (0 ms), so that the path is taken however fast the machine is; the
        // session then runs in the new sidecar.
        const big = await s.open('test/fixtures/onnx/resnet18.onnx');
        await s.probe(big, 0, { batchSize: 64, restart: true, grace: 0 });
        assert.equal(s.restarts, 1, 'the sidecar was restarted under a pass in flight');
        assert.deepEqual(sidecars(), fs.existsSync('/proc/self') ? [s.side.proc.pid] : []);
        assert.equal(s.stopped.restarted + s.stopped.answered, 1);

        // Warm-up: every model opened once, every probed one run to the end and cancelled
        // (backend, kernels, WASM heap and allocator settle here); then the baseline.
        for (const file of [...PROBED, ...OPENED]) await s.close(await s.open(file));
        for (const file of PROBED) {
          const h = await s.open(file);
          await s.probe(h);
          await s.probe(h, 1);
          await s.close(h);
        }
        Object.assign(s.stopped, { answered: 0, late: 0, restarted: 0 });
        const baseline = await s.side.memory();
        assert.equal(baseline.models, 0);
        assert.equal(baseline.backend, backend);
        // Every model probed so far is closed: no runner keeps its parameters.
        assert.equal(baseline.numTensors, 0, 'tensors of closed models');

        const samples: RuntimeMemory[] = [];
        let opened = 0;
        let probes = 0;
        for (let i = 0; i < ITERATIONS; i++) {
          const files = [PROBED[i % PROBED.length]];
          for (let k = 1; k < MODELS_PER_ITERATION; k++)
            files.push(OPENED[(i * (MODELS_PER_ITERATION - 1) + k) % OPENED.length]);
          const handles: number[] = [];
          for (const f of files) handles.push(await s.open(f));
          opened += files.length;
          await s.probe(handles[0], i % 2 === 1 ? 1 : undefined);
          probes++;
          for (const h of handles) await s.close(h);
          if ((i + 1) % SAMPLE_EVERY === 0) samples.push(await s.side.memory());
        }
        figures.push({
          backend,
          opened,
          probes,
          stopped: { ...s.stopped },
          baseline,
          samples,
          seconds: (performance.now() - t0) / 1000,
        });
        assert.equal(opened, 200);
        assert.equal(s.stopped.answered + s.stopped.late, 25);

        const last = samples[samples.length - 1];
        assert.equal(last.models, 0, 'models still open');
        assert.equal(last.numTensors, baseline.numTensors, 'TF.js tensors left behind');
        assert.equal(last.threads, baseline.threads, 'threads left behind');
        assert.ok(
          Math.abs(last.rss - baseline.rss) <= RSS_TOLERANCE,
          `RSS ${(last.rss / MiB).toFixed(1)} MiB vs a baseline of ${(baseline.rss / MiB).toFixed(1)} MiB`,
        );
        const perIteration = lateSlope(samples);
        assert.ok(
          perIteration <= RSS_SLOPE_TOLERANCE,
          `RSS grows ${(perIteration / MiB).toFixed(3)} MiB per probe and ${MODELS_PER_ITERATION} models in the second half`,
        );
        assert.deepEqual(sidecars(), fs.existsSync('/proc/self') ? [s.side.proc.pid] : []);
      } finally {
        await s.side.stop();
      }
    });
  }
});
