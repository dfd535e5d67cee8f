/**
 * How fast a gradient report is made (the editor's Export Gradient Report and `skipscope probe
 * --report` share runtime/report/writeReport.ts): for ResNet-18 (test/fixtures/onnx/probe) and
 * DenseNet-121 (test/fixtures/onnx), a real probe (wasm, synthetic, 2 × 2) and then, timed, the
 * whole set of files in memory, with its parts: the chart and the graph as drawings, their SVG,
 * their rasters and their PNG encoding. Prints JSON with the median wall time and the median CPU
 * time of this process (the CPU time reads the same on a loaded machine), per part and in all.
 *
 * Target (issue 13): the report of ResNet-18 well under a second.
 *
 *   npx tsx bench/report.ts [--runs N]
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { analyzeSkips } from '../runtime/analysis/analyzeSkips';
import { openModelSync } from '../runtime/analysis/openModel';
import { runProbe } from '../runtime/probe/runProbe';
import { graphOverlay } from '../runtime/report/graphOverlay';
import { encodePng } from '../runtime/report/pngEncode';
import { rasterize } from '../runtime/report/raster';
import { toSvg } from '../runtime/report/svg';
import { reportFiles } from '../runtime/report/writeReport';
import { buildViewModel } from '../runtime/view/buildViewModel';
import { flowChart } from '../runtime/view/flowChart';
import { flowLayers } from '../runtime/view/flowLayers';
import { median } from './probeTiming';

const root = path.join(__dirname, '..');
const args = process.argv.slice(2);
const RUNS = Number(args[args.indexOf('--runs') + 1]) || 7;
const MODELS = ['test/fixtures/onnx/probe/resnet18.onnx', 'test/fixtures/onnx/densenet121.onnx'];

/** Median wall and CPU milliseconds of `f` over RUNS runs after a warm-up, and its last value. */
function time<T>(f: () => T): { wallMs: number; cpuMs: number; value: T } {
  let value = f();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    value = f();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  const round = (x: number) => Math.round(x * 10) / 10;
  return { wallMs: round(median(wall)), cpuMs: round(median(cpu)), value };
}

async function main(): Promise<void> {
  const results = [];
  for (const rel of MODELS) {
    const model = openModelSync(path.join(root, rel));
    const view = buildViewModel(model, analyzeSkips(model));
    const result = await runProbe(model, {
      source: { kind: 'synthetic' },
      batchSize: 2,
      batches: 2,
      loss: 'mean-square',
      backend: 'wasm',
    });
    const layers = flowLayers(result);
    const chart = time(
      () =>
        flowChart({
          layers,
          metric: 'paramRms',
          width: Math.max(720, Math.min(4000, 200 + layers.length * 6)),
          height: 360,
          title: 'chart',
        }).drawing,
    );
    const graph = time(() => graphOverlay(view, layers, 'actRms'));
    const scale = 2;
    const chartRaster = time(() => rasterize(chart.value, scale));
    const graphRaster = time(() => rasterize(graph.value, scale));
    const { width, height, data } = graphRaster.value;
    const part = ({ wallMs, cpuMs }: { wallMs: number; cpuMs: number }) => ({ wallMs, cpuMs });
    const all = time(() => reportFiles(result, view));
    results.push({
      model: path.basename(rel),
      layers: layers.length,
      graphPixels: `${width}×${height}`,
      parts: {
        chartDrawing: part(chart),
        graphDrawing: part(graph),
        svg: part(time(() => toSvg(chart.value) + toSvg(graph.value))),
        chartRaster: part(chartRaster),
        graphRaster: part(graphRaster),
        graphPngEncode: part(time(() => encodePng(width, height, data))),
      },
      report: { ...part(all), files: all.value.size },
    });
  }
  console.log(
    JSON.stringify(
      {
        bench: 'report',
        runs: RUNS,
        target: 'ResNet-18 report well under 1000 ms',
        loadAverage1m: +os.loadavg()[0].toFixed(2),
        cpus: os.cpus().length,
        results,
      },
      null,
      2,
    ),
  );
}

void main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
