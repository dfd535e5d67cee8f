/**
 * bench/bigModel: opening a 2.7 GB LLM-style ONNX export (16 pre-LN blocks, 678 M parameters,
 * one external data file per tensor; scripts/make_big_llm.ts writes it on demand into
 * bench/models/llm16, sparse) — time to read, to read and analyse the skips, and to build the
 * view model the sidecar answers model/open with; the peak RSS of a fresh child process that
 * does it once (and of a bare child that only loads the code), and the bytes that child read
 * (Linux's /proc/self/io rchar), which shows that the weights stay on disk.
 *
 * Run: `npx tsx bench/bigModel.ts [--runs N] [--dir DIR]` — prints JSON.
 * The child runs this same file, bundled by esbuild, so that tsx's compiler does not sit in its RSS.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bundleSelf, runChild } from './childProcess';

interface ChildResult {
  openMs: number[];
  analyseMs: number[];
  viewMs: number[];
  maxRssBytes: number;
  /** Bytes read through system calls while opening (every run), or -1 where /proc/self/io is missing. */
  readBytes: number;
  nodes: number;
  params: number;
  skips: number;
}

const MiB = 1024 * 1024;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function readChars(): number {
  try {
    return Number(/rchar: (\d+)/.exec(fs.readFileSync('/proc/self/io', 'utf8'))![1]);
  } catch {
    return -1;
  }
}

async function child(file: string, runs: number): Promise<void> {
  const { openModelSync } = await import('../runtime/analysis/openModel');
  const { analyzeSkips } = await import('../runtime/analysis/analyzeSkips');
  const { buildViewModel } = await import('../runtime/view/buildViewModel');
  const out: ChildResult = {
    openMs: [],
    analyseMs: [],
    viewMs: [],
    maxRssBytes: 0,
    readBytes: 0,
    nodes: 0,
    params: 0,
    skips: 0,
  };
  const read0 = readChars();
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const m = openModelSync(file);
    const t1 = performance.now();
    const a = analyzeSkips(m);
    const t2 = performance.now();
    buildViewModel(m, a);
    const t3 = performance.now();
    out.openMs.push(t1 - t0);
    out.analyseMs.push(t2 - t0);
    out.viewMs.push(t3 - t0);
    out.nodes = m.graph.nodes.length;
    out.params = m.totalParams;
    out.skips = a.skips.length;
  }
  out.readBytes = read0 < 0 ? -1 : readChars() - read0;
  out.maxRssBytes = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(JSON.stringify(out));
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--child') return child(args[1], Number(args[2]));
  const runs = Number(args[args.indexOf('--runs') + 1]) || 7;
  const root = path.resolve(__dirname, '..');
  const dir = args.includes('--dir')
    ? path.resolve(args[args.indexOf('--dir') + 1])
    : path.join(root, 'bench/models/llm16');
  const file = path.join(dir, 'model.onnx');
  if (!fs.existsSync(file)) {
    const { makeBigLlm } = await import('../scripts/make_big_llm');
    makeBigLlm(dir);
  }
  const files = fs.readdirSync(dir);
  const bytes = files.reduce((s, f) => s + fs.statSync(path.join(dir, f)).size, 0);
  const script = bundleSelf(__filename, 'big');
  try {
    const bare = runChild<ChildResult>(script, file, 0);
    // Peak RSS and bytes read from a fresh process that opens the model once; times from a warm one.
    const once = runChild<ChildResult>(script, file, 1);
    const warm = runChild<ChildResult>(script, file, runs);
    const round = (x: number) => +x.toFixed(1);
    process.stdout.write(
      JSON.stringify(
        {
          case: 'llm16 (2.7 GB, 16 pre-LN blocks, external data per tensor)',
          totalGB: +(bytes / 1e9).toFixed(2),
          files: files.length,
          modelFileKiB: round(fs.statSync(file).size / 1024),
          nodes: warm.nodes,
          params: warm.params,
          skips: warm.skips,
          openMs: { median: round(median(warm.openMs)), first: round(once.openMs[0]), runs },
          openAndAnalyseMs: { median: round(median(warm.analyseMs)), first: round(once.analyseMs[0]) },
          withViewModelMs: { median: round(median(warm.viewMs)), first: round(once.viewMs[0]) },
          peakRssMiB: round(once.maxRssBytes / MiB),
          peakRssAboveBareMiB: round((once.maxRssBytes - bare.maxRssBytes) / MiB),
          readAtOpenKiB: once.readBytes < 0 ? null : round((once.readBytes - bare.readBytes) / 1024),
          load: os.loadavg().map((l) => +l.toFixed(2)),
        },
        null,
        2,
      ) + '\n',
    );
  } finally {
    if (!__filename.endsWith('.cjs')) fs.rmSync(script, { force: true });
  }
}

void main();
