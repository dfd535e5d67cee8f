/**
 * Writes the gradient report of a probe run into a folder: probe.json (the probe contract),
 * layers.csv, report.md, and the chart and the graph with its overlay as SVG and PNG. The CLI's
 * --report and the editor's "Export Gradient Report" both call it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ProbeResult } from '../probe/probeTypes';
import { probeJson } from '../probe/probeJson';
import type { ViewModel } from '../view/viewModel';
import { ModelError, describeError } from '../errors';
import { flowLayers } from '../view/flowLayers';
import { flowChart } from '../view/flowChart';
import { graphOverlay } from './graphOverlay';
import { layersCsv } from './layersCsv';
import { reportMarkdown } from './reportMarkdown';
import { toSvg } from './svg';
import { toPng } from './raster';
import type { Drawing } from '../view/drawing';

/** The files a report holds, by role. */
export const REPORT_FILES = {
  json: 'probe.json',
  csv: 'layers.csv',
  markdown: 'report.md',
  chartSvg: 'chart.svg',
  chartPng: 'chart.png',
  graphSvg: 'graph.svg',
  graphPng: 'graph.png',
} as const;

/** Pixels a PNG may hold before it is drawn at a smaller scale (a 10,000-node graph stays a few MB). */
const MAX_PNG_PIXELS = 24e6;

function pngScale(d: Drawing): number {
  const area = d.width * d.height;
  return Math.min(2, Math.sqrt(MAX_PNG_PIXELS / Math.max(1, area)));
}

/** The report's files as bytes, by file name (no disk access: the editor writes them itself). */
export function reportFiles(result: ProbeResult, view: ViewModel): Map<string, Buffer> {
  const layers = flowLayers(result);
  const chart = flowChart({
    layers,
    metric: 'paramRms',
    width: Math.max(720, Math.min(4000, 200 + layers.length * 6)),
    height: 360,
    title: `${result.model}: parameter-gradient RMS per layer`,
  }).drawing;
  const graph = graphOverlay(view, layers, 'actRms');
  const files = new Map<string, Buffer>();
  files.set(REPORT_FILES.json, Buffer.from(probeJson(result) + '\n'));
  files.set(REPORT_FILES.csv, Buffer.from(layersCsv(layers)));
  files.set(
    REPORT_FILES.markdown,
    Buffer.from(
      reportMarkdown(result, layers, { chart: REPORT_FILES.chartSvg, graph: REPORT_FILES.graphSvg }),
    ),
  );
  files.set(REPORT_FILES.chartSvg, Buffer.from(toSvg(chart)));
  files.set(REPORT_FILES.chartPng, toPng(chart, pngScale(chart)));
  files.set(REPORT_FILES.graphSvg, Buffer.from(toSvg(graph)));
  files.set(REPORT_FILES.graphPng, toPng(graph, pngScale(graph)));
  return files;
}

/** What a write error means to the user, for the one sentence that reports it. */
function writeProblem(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC') return 'the disk is full';
  if (code === 'EDQUOT') return 'the disk quota is used up';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EROFS') return 'the file system is read-only';
  return describeError(e);
}

/**
 * Writes the report into `dir` (created if needed); returns the paths written. All or nothing:
 * each file is written beside its final name first and renamed into place once every one is
 * complete, so that a full disk or a failed write leaves no half-written report and keeps the
 * files of an earlier report as they were.
 */
export async function writeReport(dir: string, result: ProbeResult, view: ViewModel): Promise<string[]> {
  const files = reportFiles(result, view);
  const staged: string[] = [];
  try {
    await fs.promises.mkdir(dir, { recursive: true });
    const tag = `.skipscope-${process.pid}-${Date.now()}.partial`;
    for (const [name, bytes] of files) {
      const p = path.join(dir, name + tag);
      staged.push(p);
      await fs.promises.writeFile(p, bytes);
    }
    const out: string[] = [];
    for (const p of staged) {
      const final = p.slice(0, p.lastIndexOf('.skipscope-'));
      await fs.promises.rename(p, final);
      out.push(final);
    }
    return out;
  } catch (e) {
    await Promise.all(staged.map((p) => fs.promises.rm(p, { force: true }).catch(() => undefined)));
    throw new ModelError(
      `${dir}: cannot write the gradient report there: ${writeProblem(e)}; nothing was written. Free some space or choose another folder.`,
      dir,
    );
  }
}
