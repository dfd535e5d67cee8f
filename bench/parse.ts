/**
 * bench/parse: median time to open (read + marking + shapes + cost) and to open + analyse skips a
 * ~100 MB ONNX ResNet-50 export and a synthetic 10,000-node graph, with the peak RSS of a fresh
 * child process per case (and of a bare child that only loads the code, for reference).
 *
 * Models: `/usr/bin/python3 scripts/make_bench_models.py` writes bench/models/.
 * Run: `npx tsx bench/parse.ts [--runs N] [--models DIR] [--netron DIR]` — prints JSON.
 * With --netron DIR (a Netron source tree: DIR/source/*.js and DIR/test/mock.js, e.g. extracted
 * from lutzroeder/netron), Netron's own ModelFactoryService opens the same ResNet-50 in a child
 * process of the same kind, and both are reported side by side; otherwise the issue's figure
 * for Netron 9.2.1 is quoted.
 * The child runs this same file, bundled by esbuild, so that tsx's compiler does not sit in its RSS.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bundleSelf, runChild } from './childProcess';
import { pathToFileURL } from 'node:url';

interface ChildResult {
  ms: number[];
  analyseMs: number[];
  maxRssBytes: number;
  nodes: number;
  params: number;
  flops: number;
}

const MiB = 1024 * 1024;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0
    ? NaN
    : s.length % 2
      ? s[(s.length - 1) / 2]
      : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function child(file: string, runs: number): Promise<void> {
  const { openModelSync } = await import('../runtime/analysis/openModel');
  const { analyzeSkips } = await import('../runtime/analysis/analyzeSkips');
  const out: ChildResult = { ms: [], analyseMs: [], maxRssBytes: 0, nodes: 0, params: 0, flops: 0 };
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const m = openModelSync(file);
    const t1 = performance.now();
    analyzeSkips(m);
    const t2 = performance.now();
    out.ms.push(t1 - t0);
    out.analyseMs.push(t2 - t0);
    out.nodes = m.graph.nodes.length;
    out.params = m.totalParams;
    out.flops = m.totalFlops;
  }
  out.maxRssBytes = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(JSON.stringify(out));
}

/** A harness (ours) that times Netron's ModelFactoryService.open in Node, as its test runner does. */
function netronHarness(dir: string): string {
  const u = (p: string) => JSON.stringify(pathToFileURL(path.join(dir, p)).href);
  const out = path.join(os.tmpdir(), `skipscope-bench-netron-${process.pid}.mjs`);
  const lines = [
    `import * as fs from 'fs/promises';`,
    `import * as path from 'path';`,
    `import * as mock from ${u('test/mock.js')};`,
    `import * as node from ${u('source/node.js')};`,
    `import * as view from ${u('source/view.js')};`,
    `import * as zip from ${u('source/zip.js')};`,
    `const [, , , file, runsArg] = process.argv;`,
    `const runs = Number(runsArg);`,
    `await zip.Archive.import();`,
    `const host = await new mock.Host({ zoom: 'none' });`,
    `const ms = [];`,
    `let nodes = 0;`,
    `for (let i = 0; i < runs; i++) {`,
    `  const t0 = performance.now();`,
    `  const stat = await fs.stat(file);`,
    `  const stream = new node.FileStream(file, 0, stat.size, stat.mtimeMs);`,
    `  const context = new mock.Context(host, path.dirname(file), path.basename(file), stream, new Map());`,
    `  const model = await new view.ModelFactoryService(host).open(context);`,
    `  const graph = model.modules ? model.modules[0] : model.graphs[0];`,
    `  nodes = graph.nodes.length;`,
    `  ms.push(performance.now() - t0);`,
    `}`,
    `process.stdout.write(JSON.stringify({ ms, analyseMs: ms, maxRssBytes: process.resourceUsage().maxRSS * 1024, nodes, params: 0, flops: 0 }));`,
  ];
  fs.writeFileSync(out, lines.join('\n') + '\n');
  return out;
}

function readVersion(dir: string): string {
  try {
    return (
      (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version?: string }).version ??
      '?'
    );
  } catch {
    return '?';
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--child') return child(args[1], Number(args[2]));
  const runs = Number(args[args.indexOf('--runs') + 1]) || 9;
  const root = path.resolve(__dirname, '..');
  const modelsDir = args.includes('--models')
    ? path.resolve(args[args.indexOf('--models') + 1])
    : path.join(root, 'bench/models');
  const cases = [
    { name: 'resnet50', file: path.join(modelsDir, 'resnet50.onnx') },
    { name: 'chain10k', file: path.join(modelsDir, 'chain10k.onnx') },
  ];
  for (const c of cases) {
    if (!fs.existsSync(c.file))
      throw new Error(`${c.file} is missing: run /usr/bin/python3 scripts/make_bench_models.py`);
  }
  const script = bundleSelf(__filename, 'parse');
  try {
    const bare = runChild<ChildResult>(script, cases[0].file, 0);
    const results = cases.map((c) => {
      const size = fs.statSync(c.file).size;
      // Peak RSS from a fresh process that opens the model once; times from a warm process (JIT, page cache).
      const once = runChild<ChildResult>(script, c.file, 1);
      const warm = runChild<ChildResult>(script, c.file, runs);
      return {
        case: c.name,
        fileMiB: +(size / MiB).toFixed(1),
        nodes: warm.nodes,
        params: warm.params,
        gflops: +(warm.flops / 1e9).toFixed(2),
        openMs: { median: +median(warm.ms).toFixed(1), first: +once.ms[0].toFixed(1), runs },
        openAndAnalyseMs: {
          median: +median(warm.analyseMs).toFixed(1),
          first: +once.analyseMs[0].toFixed(1),
        },
        peakRssMiB: +(once.maxRssBytes / MiB).toFixed(1),
        peakRssOverFile: +(once.maxRssBytes / size).toFixed(2),
        peakRssAboveBareMiB: +((once.maxRssBytes - bare.maxRssBytes) / MiB).toFixed(1),
      };
    });
    const resnet = results[0];
    let peer: {
      name: string;
      resnet50Ms: number;
      resnet50FirstMs?: number;
      peakRssMiB: number;
      bareMiB: number;
      nodes?: number;
    };
    const netronDir = args.includes('--netron') ? path.resolve(args[args.indexOf('--netron') + 1]) : null;
    if (netronDir) {
      const harness = netronHarness(netronDir);
      try {
        const nBare = runChild<ChildResult>(harness, cases[0].file, 0);
        const nOnce = runChild<ChildResult>(harness, cases[0].file, 1);
        const nWarm = runChild<ChildResult>(harness, cases[0].file, runs);
        peer = {
          name: `Netron ${readVersion(netronDir)} ModelFactoryService.open, measured in this run`,
          resnet50Ms: +median(nWarm.ms).toFixed(1),
          resnet50FirstMs: +nOnce.ms[0].toFixed(1),
          peakRssMiB: +(nOnce.maxRssBytes / MiB).toFixed(1),
          bareMiB: +(nBare.maxRssBytes / MiB).toFixed(1),
          nodes: nWarm.nodes,
        };
      } finally {
        fs.rmSync(harness, { force: true });
      }
    } else {
      peer = {
        name: 'Netron 9.2.1 ONNX reader (figure quoted in the issue, not measured here)',
        resnet50Ms: 159,
        peakRssMiB: 265,
        bareMiB: 46,
      };
    }
    console.log(
      JSON.stringify(
        {
          bench: 'parse',
          node: process.version,
          cpu: os.cpus()[0]?.model,
          bareProcessRssMiB: +(bare.maxRssBytes / MiB).toFixed(1),
          results,
          peer,
          ratios: {
            resnet50OpenVsPeer: +(resnet.openMs.median / peer.resnet50Ms).toFixed(3),
            resnet50OpenAndAnalyseVsPeer: +(resnet.openAndAnalyseMs.median / peer.resnet50Ms).toFixed(3),
            resnet50PeakRssVsPeer: +(resnet.peakRssMiB / peer.peakRssMiB).toFixed(3),
          },
          targets: {
            resnet50UnderMs: 100,
            met: resnet.openAndAnalyseMs.median < 100,
            peakRssUnderFileTimes: 1.2,
            rssMet: resnet.peakRssOverFile < 1.2,
          },
        },
        null,
        2,
      ),
    );
  } finally {
    if (script !== __filename) fs.rmSync(script, { force: true });
  }
}

void main();
