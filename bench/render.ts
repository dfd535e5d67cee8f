/**
 * How fast the model editor draws: the built webview bundle in headless Chromium (playwright-core,
 * /usr/bin/chromium) under the editor's CSP, fed view models built by the runtime from real
 * fixtures and from synthetic 10,000-node graphs. Per model: the sidecar's share (open, analyse,
 * build the view model, serialise) and the webview's share (init message → layout in the worker →
 * first frame), their sum as time to first paint, and pan/zoom frame rates at 10,000 nodes.
 *
 * Targets (issue 5): DenseNet-121 < 500 ms, ResNet-50 < 300 ms, 10,000 nodes < 1 s, pan/zoom
 * ≥ 30 fps at 10,000 nodes. Peer: Netron 9.2.1's dagre layout alone takes 2.7 s for DenseNet-121.
 *
 * For the 10,000-node models it also times the gradient-flow workbench: a probe result with a value
 * for every node (seeded, log-normal) handed to the page as one run, then the chart (one bar per
 * layer, whiskers, skip arcs) and the graph overlay (node fills, skip shares) drawn; target (issue
 * 13) < 300 ms.
 *
 * Run: npx tsx bench/render.ts [--runs N] [--screenshots DIR]   (builds dist/ first)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import { loadavg } from 'node:os';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { analyzeSkips } from '../runtime/analysis/analyzeSkips';
import type { Model } from '../runtime/model/ir';
import { openModelSync } from '../runtime/analysis/openModel';
import { buildViewModel } from '../runtime/view/buildViewModel';
import type { GradientOverlay, ViewModel } from '../runtime/view/viewModel';
import type { ProbeResult } from '../runtime/probe/probeTypes';
import { toGradientOverlay } from '../runtime/view/gradientOverlay';
import { diagnose } from '../runtime/probe/diagnosis';

/** A probe result for `view` with seeded log-normal values at every node (what a real run returns, in shape). */
function syntheticProbe(view: ViewModel): GradientOverlay {
  let seed = 1;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const logn = () => 10 ** (-6 + 3 * rand());
  const nodes = view.nodes.filter((n) => !n.hidden);
  const r: ProbeResult = {
    model: view.file,
    backend: { name: 'wasm', device: 'bench', threads: 1 },
    loss: { kind: 'mean-square', values: [1, 1] },
    batchSize: 2,
    batches: 2,
    params: nodes
      .filter((n) => n.inputs.some((i) => i.isParam))
      .map((n) => {
        const g = logn();
        return {
          name: `${n.name}.w`,
          shape: [8, 8, 3, 3],
          node: n.name,
          grad: { l2: g * 24, rms: g, maxAbs: g * 3, meanAbs: g, l2Spread: g * 2 },
          weightL2: 1,
          ratio: g * 24,
        };
      }),
    activations: nodes.map((n) => {
      const g = logn();
      return {
        node: n.name,
        tensor: n.outputs[0]?.name ?? n.name,
        rms: g,
        rmsSpread: g / 10,
        l2PerSample: g * 30,
        zeroFraction: rand(),
      };
    }),
    merges: view.skips.skips.map((k) => ({
      merge: k.merge,
      skip: k.source,
      skipRms: logn(),
      branchRms: logn(),
      skipShare: rand(),
    })),
    summary: { issues: [], text: '' },
    timing: { msPerBatch: 1, firstBatchMs: 1, totalMs: 1 },
    cut: [],
  };
  r.diagnosis = diagnose(r);
  return toGradientOverlay(r);
}

// Kept as source text (see PAN_ZOOM): hands the run to the page and draws chart and overlay once.
const WORKBENCH = `((overlay) => {
  const v = window.skipscopeView;
  const t0 = performance.now();
  v.setRuns([{ ...overlay, run: { ...overlay.run, id: 1 } }], 1);
  v.canvas.draw();
  return { ms: performance.now() - t0, chartMs: v.flow.lastDrawMs, graphDrawMs: v.canvas.lastDrawMs, layers: v.flow.layers.length };
})`;

const root = join(__dirname, '..');
const runsArg = process.argv.indexOf('--runs');
const shotsArg = process.argv.indexOf('--screenshots');
/** With `--screenshots DIR`, the first paint of each model is saved there as a PNG. */
const SHOTS = shotsArg > 0 ? process.argv[shotsArg + 1] : undefined;
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;
const NETRON_DAGRE_DENSENET_MS = 2700;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
}

// A real ONNX file of 10,000 nodes (Conv → Relu → Conv → Add(skip) → Relu blocks) written by the
// onnx Python package, so that the 10,000-node figure includes reading a file like any other model.
// With `named`, nodes carry PyTorch-style scopes (/stage3/block310/conv1/Conv); without, none.
const SYNTHETIC_PY = `
import sys, numpy as np, onnx
from onnx import helper, TensorProto, numpy_helper
path, blocks, named = sys.argv[1], int(sys.argv[2]), sys.argv[3] == 'named'
rng = np.random.default_rng(0)
nodes, inits = [], []
def nm(scope, op, i):
    return f'/{scope}/{op}' if named else f'{op.lower()}_{i}'
def conv(x, scope, i):
    w = f'{scope}.w' if named else f'w{i}'
    inits.append(numpy_helper.from_array(rng.standard_normal((8, 8, 3, 3)).astype(np.float32) * 0.1, w))
    n = nm(scope, 'Conv', i)
    nodes.append(helper.make_node('Conv', [x, w], [n + ':0'], name=n, kernel_shape=[3, 3], pads=[1, 1, 1, 1]))
    return n + ':0'
def op(kind, xs, scope, i):
    n = nm(scope, kind, i)
    nodes.append(helper.make_node(kind, xs, [n + ':0'], name=n))
    return n + ':0'
x = op('Relu', [conv('input', 'stem/conv', 0)], 'stem/relu', 0)
for b in range(blocks):
    s = f'stage{b // 100}/block{b}'
    br = conv(op('Relu', [conv(x, s + '/conv1', 4 * b + 1)], s + '/relu1', 4 * b + 1), s + '/conv2', 4 * b + 2)
    x = op('Relu', [op('Add', [x, br], s + '/add', 4 * b + 3)], s + '/relu2', 4 * b + 4)
g = helper.make_graph(nodes, 'synthetic', [helper.make_tensor_value_info('input', TensorProto.FLOAT, ['batch', 8, 32, 32])],
    [helper.make_tensor_value_info(x, TensorProto.FLOAT, None)], inits)
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid('', 17)], producer_name='skipscope-bench'), path)
`;

/** Writes the synthetic 10,000-node ONNX file (once) and returns its path. */
function syntheticOnnx(named: boolean): string {
  const dir = join(root, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `synthetic-${named ? 'named' : 'unnamed'}-10k.onnx`);
  if (!existsSync(file))
    execFileSync('/usr/bin/python3', ['-c', SYNTHETIC_PY, file, '2000', named ? 'named' : 'unnamed'], {
      stdio: 'inherit',
    });
  return file;
}

/** The sidecar's share for one model: open + analyse + view model + JSON, median of RUNS. */
function sidecarSide(open: () => Model): { view: ViewModel; json: string; ms: number } {
  const times: number[] = [];
  let view: ViewModel | undefined;
  let json = '';
  for (let r = 0; r < RUNS; r++) {
    const t = performance.now();
    const model = open();
    view = buildViewModel(model, analyzeSkips(model));
    json = JSON.stringify(view);
    times.push(performance.now() - t);
  }
  return { view: view!, json, ms: median(times) };
}

const PAGE = `<!DOCTYPE html><html><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; font-src 'self'; script-src 'self'; worker-src 'self' blob:; connect-src 'self'">
<link rel="stylesheet" href="/dist/codicon.css" id="vscode-codicon-stylesheet"><link rel="stylesheet" href="/dist/webview.css">
</head><body class="vscode-dark"><div id="app" data-worker="/dist/layoutWorker.js"></div>
<script src="/stub.js"></script><script src="/dist/webview.js"></script></body></html>`;

// Stands in for the extension: answers `ready` with the view model, as VS Code would post it.
const STUB = `
window.__posted = [];
window.acquireVsCodeApi = () => ({
  postMessage(m) {
    window.__posted.push({ m, t: performance.now() });
    if (m.type !== 'ready') return;
    const name = new URLSearchParams(location.search).get('model');
    fetch('/view/' + name).then((r) => r.text()).then((text) => {
      window.__t0 = performance.now();
      const view = JSON.parse(text);
      window.postMessage({ type: 'init', fileName: name, view, settings: { collapseAbove: Number(new URLSearchParams(location.search).get('collapse') || 400) } }, '*');
    });
  },
});`;

function serve(views: Map<string, string>): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const send = (type: string, body: string | Buffer) => {
      res.writeHead(200, { 'content-type': type });
      res.end(body);
    };
    if (url.pathname === '/') return send('text/html', PAGE);
    if (url.pathname === '/stub.js') return send('text/javascript', STUB);
    if (url.pathname.startsWith('/view/'))
      return send('application/json', views.get(url.pathname.slice(6)) ?? '{}');
    if (url.pathname.startsWith('/dist/')) {
      const f = url.pathname.slice(6).replace(/[^\w.-]/g, '');
      const type = f.endsWith('.js')
        ? 'text/javascript'
        : f.endsWith('.css')
          ? 'text/css'
          : 'application/octet-stream';
      try {
        return send(type, readFileSync(join(root, 'dist', f)));
      } catch {
        /* fall through to 404 */
      }
    }
    res.writeHead(404);
    res.end();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

interface PageTiming {
  webviewMs: number;
  /** Milliseconds since the init message at each step of the first paint. */
  steps: Record<string, number>;
  layoutMs: number;
  items: number;
  layoutWhere: string;
}

async function firstPaint(page: Page, base: string, model: string, collapse: number): Promise<PageTiming> {
  await page.goto(`${base}/?model=${model}&collapse=${collapse}`);
  await page.waitForFunction(
    () =>
      (window as unknown as { __posted: { m: { type: string } }[] }).__posted.some(
        (p) => p.m.type === 'rendered',
      ),
    undefined,
    {
      timeout: 60000,
    },
  );
  return page.evaluate(() => {
    const w = window as unknown as {
      __posted: { m: { type: string; layoutMs: number; drawnNodes: number }; t: number }[];
      __t0: number;
    };
    const r = w.__posted.find((p) => p.m.type === 'rendered')!;
    const outline = document.getElementById('outline')!;
    return {
      webviewMs: r.t - w.__t0,
      steps: JSON.parse(outline.dataset.timing ?? '{}') as Record<string, number>,
      layoutMs: r.m.layoutMs,
      items: r.m.drawnNodes,
      layoutWhere: outline.dataset.layoutWhere ?? '',
    };
  });
}

// Kept as source text: tsx would wrap inner functions in a helper the page does not have.
const PAN_ZOOM = `(async ({ ms, fitFirst }) => {
  const c = window.skipscopeView.canvas;
  if (fitFirst) c.fit(); else c.zoomAt(0, 0, 1 / c.vp.k);
  await new Promise((r) => requestAnimationFrame(r));
  const draws = [];
  const start = performance.now();
  const startFrames = c.frames;
  for (let i = 0; ; i++) {
    await new Promise((r) => requestAnimationFrame(r));
    const now = performance.now();
    if (i > 0) draws.push(c.lastDrawMs);
    if (now - start > ms) {
      const frames = c.frames - startFrames;
      draws.sort((a, b) => a - b);
      return { fps: +((frames * 1000) / (now - start)).toFixed(1), drawMsMedian: +draws[Math.floor(draws.length / 2)].toFixed(2), drawMsP95: +draws[Math.floor(draws.length * 0.95)].toFixed(2), frames, zoom: +c.vp.k.toFixed(3) };
    }
    // Alternate pans and zooms, as a user dragging and wheeling would.
    if (i % 2) c.panBy(7, -4); else c.zoomAt(400, 300, i % 4 ? 1.02 : 1 / 1.02);
  }
})`;

/** Pans and zooms every frame for `ms` and reports frames per second and draw times. */
async function panZoom(page: Page, ms: number, fitFirst: boolean): Promise<unknown> {
  return page.evaluate(`${PAN_ZOOM}(${JSON.stringify({ ms, fitFirst })})`);
}

async function main(): Promise<void> {
  execFileSync(process.execPath, [join(root, 'scripts/build.mjs')], { stdio: 'inherit' });
  const models: { name: string; open: () => Model; target?: number }[] = [
    { name: 'resnet18', open: () => openModelSync(join(root, 'test/fixtures/onnx/resnet18.onnx')) },
    {
      name: 'resnet50',
      open: () => openModelSync(join(root, 'test/fixtures/onnx/resnet50.onnx')),
      target: 300,
    },
    {
      name: 'densenet121',
      open: () => openModelSync(join(root, 'test/fixtures/onnx/densenet121.onnx')),
      target: 500,
    },
    { name: 'unet', open: () => openModelSync(join(root, 'test/fixtures/onnx/unet.onnx')) },
    { name: 'synthetic-residual-10k', open: () => openModelSync(syntheticOnnx(true)), target: 1000 },
    { name: 'synthetic-unnamed-10k', open: () => openModelSync(syntheticOnnx(false)), target: 1000 },
  ];
  const views = new Map<string, string>();
  const probes = new Map<string, GradientOverlay>();
  const sidecar = new Map<string, { ms: number; nodes: number; skips: number }>();
  for (const m of models) {
    const s = sidecarSide(m.open);
    if (m.name.includes('10k')) probes.set(m.name, syntheticProbe(s.view));
    views.set(m.name, s.json);
    sidecar.set(m.name, { ms: s.ms, nodes: s.view.nodes.length, skips: s.view.skips.skips.length });
  }
  const server = await serve(views);
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const results: Record<string, unknown>[] = [];
  try {
    for (const m of models) {
      const configs: { label: string; collapse: number }[] = [{ label: 'default', collapse: 400 }];
      if (m.name.includes('10k')) configs.push({ label: 'expanded', collapse: 1e9 });
      for (const cfg of configs) {
        const timings: PageTiming[] = [];
        for (let r = 0; r < RUNS; r++) timings.push(await firstPaint(page, base, m.name, cfg.collapse));
        if (SHOTS) {
          mkdirSync(SHOTS, { recursive: true });
          await page.screenshot({ path: join(SHOTS, `${m.name}-${cfg.label}.png`) });
        }
        const webviewMs = median(timings.map((t) => t.webviewMs));
        const sc = sidecar.get(m.name)!;
        const row: Record<string, unknown> = {
          model: m.name,
          collapse: cfg.label,
          nodes: sc.nodes,
          skips: sc.skips,
          drawnItems: timings[0].items,
          layoutIn: timings[0].layoutWhere,
          sidecarMsMedian: +sc.ms.toFixed(1),
          webviewMsMedian: +webviewMs.toFixed(1),
          layoutMsMedian: median(timings.map((t) => t.layoutMs)),
          firstPaintMsMedian: +(sc.ms + webviewMs).toFixed(1),
          webviewStepsMs: timings[Math.floor(timings.length / 2)].steps,
        };
        if (m.target && cfg.label === 'default') {
          row.targetMs = m.target;
          row.meetsTarget = sc.ms + webviewMs < m.target;
        }
        if (m.name === 'densenet121')
          row.ratioToNetronDagreLayoutOnly = +((sc.ms + webviewMs) / NETRON_DAGRE_DENSENET_MS).toFixed(3);
        if (m.name.includes('10k')) {
          const overlay = probes.get(m.name)!;
          const wb: { ms: number; chartMs: number; graphDrawMs: number; layers: number }[] = [];
          for (let r = 0; r < RUNS; r++)
            wb.push(await page.evaluate(`${WORKBENCH}(${JSON.stringify(overlay)})`));
          row.workbench = {
            layers: wb[0].layers,
            chartAndOverlayMsMedian: +median(wb.map((w) => w.ms)).toFixed(1),
            chartDrawMsMedian: +median(wb.map((w) => w.chartMs)).toFixed(1),
            graphDrawMsMedian: +median(wb.map((w) => w.graphDrawMs)).toFixed(1),
            targetMs: 300,
          };
          row.panZoomFit = await panZoom(page, 2000, true);
          row.panZoom100 = await panZoom(page, 2000, false);
        }
        results.push(row);
      }
    }
  } finally {
    await browser.close();
    server.close();
  }
  console.log(
    JSON.stringify(
      {
        bench: 'render',
        loadAverage1m: +loadavg()[0].toFixed(2),
        cpus: os.cpus().length,
        runs: RUNS,
        browser: 'chromium headless, --disable-gpu',
        viewport: '1400x900',
        results,
        pageErrors: errors,
      },
      null,
      2,
    ),
  );
}

void main().catch((e) => {
  console.error(e);
  process.exit(1);
});
