/**
 * bench/parse: median time to open (read + marking + shapes + cost) and to open + analyse skips a
 * ~100 MB ONNX ResNet-50 export and a synthetic 10,000-node graph, with the peak RSS of a fresh
 * child process per case (and of a bare child that only loads the code, for reference).
 *
 * Models: `/usr/bin/python3 scripts/make_bench_models.py` writes bench/models/.
 * Run: `npx tsx bench/parse.ts [--runs N] [--netron PATH_TO_NETRON_SOURCE]` — prints JSON.
 * The child runs this same file, bundled by esbuild, so that tsx's compiler does not sit in its RSS.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

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
  const { openModelSync } = await import('../runtime/model/open');
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

function bundle(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const esbuild = require('esbuild') as typeof import('esbuild');
  const out = path.join(os.tmpdir(), `skipscope-bench-parse-${process.pid}.cjs`);
  esbuild.buildSync({
    entryPoints: [__filename],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    outfile: out,
    logLevel: 'error',
    external: ['@tensorflow/*', 'onnxruntime-node'],
  });
  return out;
}

function runChild(script: string, file: string, runs: number): ChildResult {
  const r = spawnSync(process.execPath, [script, '--child', file, String(runs)], {
    encoding: 'utf8',
    maxBuffer: 64 * MiB,
  });
  if (r.status !== 0) throw new Error(`child failed for ${file}: ${r.stderr}`);
  return JSON.parse(r.stdout) as ChildResult;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--child') return child(args[1], Number(args[2]));
  const runs = Number(args[args.indexOf('--runs') + 1]) || 9;
  const root = path.resolve(__dirname, '..');
  const cases = [
    { name: 'resnet50', file: path.join(root, 'bench/models/resnet50.onnx') },
    { name: 'chain10k', file: path.join(root, 'bench/models/chain10k.onnx') },
  ];
  for (const c of cases) {
    if (!fs.existsSync(c.file))
      throw new Error(`${c.file} is missing: run /usr/bin/python3 scripts/make_bench_models.py`);
  }
  const script = bundle();
  try {
    const bare = runChild(script, cases[0].file, 0);
    const results = cases.map((c) => {
      const size = fs.statSync(c.file).size;
      // Peak RSS from a fresh process that opens the model once; times from a warm process (JIT, page cache).
      const once = runChild(script, c.file, 1);
      const warm = runChild(script, c.file, runs);
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
    const peer = {
      name: 'Netron 9.2.1 ONNX reader (figure quoted in the issue, not measured here)',
      resnet50Ms: 159,
      peakRssMiB: 265,
      bareMiB: 46,
    };
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
    fs.rmSync(script, { force: true });
  }
}

void main();
