/**
 * How long printing a model as ONNX text takes: a synthetic 10,000-node residual network and the
 * ResNet-50 fixture, decode + print with weights elided (the text view's default) and, for the
 * 10,000-node model, with every weight. Prints JSON with medians.
 *
 * Peer: ONNX's own printer (`onnx.printer.to_text`, C++), timed on the same files when a Python
 * with onnx >= 1.16 is given in ONNX_PYTHON (e.g. ONNX_PYTHON=/tmp/onnxref/bin/python).
 *
 * Run: npx tsx bench/printText.ts
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onnx } from 'onnx-proto';
import { printOnnxModel } from '../runtime/text/onnxPrinter';

const NODES = 10_000;
const RUNS = 7;
const CHANNELS = 8;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** A chain of residual blocks (Conv, Relu, Conv, Add, Relu), each conv with its own weights. */
function syntheticModel(nodeCount: number): Uint8Array {
  let seed = 1;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 0.2;
  const nodes: onnx.INodeProto[] = [];
  const inits: onnx.ITensorProto[] = [];
  const ints = (name: string, v: number[]) => ({
    name,
    type: onnx.AttributeProto.AttributeType.INTS,
    ints: v,
  });
  const weight = (name: string, dims: number[]) => {
    const data = new Float32Array(dims.reduce((a, b) => a * b, 1)).map(rand);
    inits.push({ name, dims, dataType: 1, rawData: new Uint8Array(data.buffer) });
  };
  let x = 'input';
  for (let b = 0; nodes.length < nodeCount; b++) {
    const p = `/layer${b}`;
    const conv = (i: number, input: string) => {
      weight(`layer${b}.conv${i}.weight`, [CHANNELS, CHANNELS, 3, 3]);
      weight(`layer${b}.conv${i}.bias`, [CHANNELS]);
      nodes.push({
        name: `${p}/conv${i}/Conv`,
        opType: 'Conv',
        input: [input, `layer${b}.conv${i}.weight`, `layer${b}.conv${i}.bias`],
        output: [`${p}/conv${i}/Conv_output_0`],
        attribute: [ints('kernel_shape', [3, 3]), ints('pads', [1, 1, 1, 1]), ints('strides', [1, 1])],
      });
      return `${p}/conv${i}/Conv_output_0`;
    };
    const unary = (op: string, name: string, inputs: string[]) => {
      nodes.push({ name: `${p}/${name}`, opType: op, input: inputs, output: [`${p}/${name}_output_0`] });
      return `${p}/${name}_output_0`;
    };
    const c1 = conv(1, x);
    const r1 = unary('Relu', 'relu1', [c1]);
    const c2 = conv(2, r1);
    const sum = unary('Add', 'add', [c2, x]);
    x = unary('Relu', 'relu2', [sum]);
  }
  const vi = (name: string): onnx.IValueInfoProto => ({
    name,
    type: {
      tensorType: {
        elemType: 1,
        shape: { dim: [{ dimParam: 'batch' }, { dimValue: CHANNELS }, { dimValue: 32 }, { dimValue: 32 }] },
      },
    },
  });
  const model: onnx.IModelProto = {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'bench/printText.ts',
    graph: { name: 'synthetic', node: nodes, initializer: inits, input: [vi('input')], output: [vi(x)] },
  };
  return onnx.ModelProto.encode(model).finish();
}

function time(
  bytes: Uint8Array,
  elideAbove: number,
): { ms: number; cpuMs: number; chars: number; lines: number } {
  const runs: number[] = [];
  const cpu: number[] = [];
  let text = '';
  printOnnxModel(bytes, { elideAbove }); // warm-up
  for (let i = 0; i < RUNS; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    text = printOnnxModel(bytes, { elideAbove }).text;
    runs.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return {
    ms: +median(runs).toFixed(2),
    cpuMs: +median(cpu).toFixed(2),
    chars: text.length,
    lines: text.split('\n').length,
  };
}

/** Median ms of ONNX's own printer on `file`, or undefined without a Python that has it. */
function peer(file: string): number | undefined {
  const python = process.env.ONNX_PYTHON;
  if (!python) return undefined;
  const script = `
import onnx, onnx.printer, sys, time
m = onnx.load(sys.argv[1], load_external_data=False)
onnx.printer.to_text(m)
ts = []
for _ in range(${RUNS}):
    t0 = time.perf_counter(); onnx.printer.to_text(m); ts.append((time.perf_counter() - t0) * 1000)
print(sorted(ts)[len(ts) // 2])`;
  return +Number(execFileSync(python, ['-c', script, file], { encoding: 'utf8' }).trim()).toFixed(2);
}

const dir = mkdtempSync(join(tmpdir(), 'skipscope-bench-'));
try {
  const synthFile = join(dir, 'synthetic10k.onnx');
  const synth = syntheticModel(NODES);
  writeFileSync(synthFile, synth);
  const resnet50File = join(__dirname, '../test/fixtures/onnx/resnet50.onnx');
  const resnet50 = readFileSync(resnet50File);
  const cases = [
    { name: 'synthetic 10,000 nodes, weights elided', file: synthFile, bytes: synth, elideAbove: 16 },
    { name: 'synthetic 10,000 nodes, every weight', file: synthFile, bytes: synth, elideAbove: Infinity },
    { name: 'resnet50 fixture, weights elided', file: resnet50File, bytes: resnet50, elideAbove: 16 },
  ];
  const results = cases.map((c) => {
    const mine = time(c.bytes, c.elideAbove);
    // ONNX's printer always prints every weight, so it is the peer of the full-weight case only.
    const onnxMs = c.elideAbove === Infinity ? peer(c.file) : undefined;
    return {
      case: c.name,
      fileBytes: c.bytes.length,
      medianMs: mine.ms,
      // CPU time of this process: steadier than wall time on a machine shared with other work.
      medianCpuMs: mine.cpuMs,
      lines: mine.lines,
      chars: mine.chars,
      ...(onnxMs !== undefined
        ? { onnxPrinterMedianMs: onnxMs, ratioToOnnx: +(mine.ms / onnxMs).toFixed(2) }
        : {}),
    };
  });
  const load = os.loadavg()[0];
  console.log(
    JSON.stringify(
      { bench: 'printText', runs: RUNS, node: process.version, loadAverage1m: load, results },
      null,
      2,
    ),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
