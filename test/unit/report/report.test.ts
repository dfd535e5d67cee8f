/**
 * The gradient report (`skipscope probe --report DIR`, "Export Gradient Report"): every file is
 * written and reads back — probe.json valid against the committed JSON schema, one CSV row per
 * layer with the probe's numbers, SVGs that parse as XML, PNGs that decode with the chart's
 * colours in them — and the CLI writes the same set headless.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Ajv from 'ajv';
import { PNG } from 'pngjs';
import * as sax from 'sax';
import { openModel } from '../../../runtime/analysis/openModel';
import { runProbe } from '../../../runtime/probe/runProbe';
import { initBackend } from '../../../runtime/probe/backend';
import { flowLayers } from '../../../runtime/view/flowLayers';
import { REPORT_FILES, writeReport } from '../../../runtime/report/writeReport';
import { reportGraph } from '../../../runtime/report/reportGraph';
import { CSV_COLUMNS } from '../../../runtime/report/layersCsv';
import { rasterize } from '../../../runtime/report/raster';
import type { ProbeResult } from '../../../runtime/probe/probeTypes';

const root = path.resolve(__dirname, '../../..');
const schema = JSON.parse(fs.readFileSync(path.join(root, 'runtime/report/probeReport.schema.json'), 'utf8'));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'skipscope-report-'));

/** Parses `xml` strictly; returns the element names in order (throws on malformed XML). */
function parseXml(xml: string): string[] {
  const names: string[] = [];
  const parser = sax.parser(true);
  parser.onerror = (e) => {
    throw e;
  };
  parser.onopentag = (t) => names.push(t.name);
  parser.write(xml).close();
  return names;
}

/** Splits one CSV line (RFC 4180 quoting). */
function csvCells(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

function checkReport(dir: string, r: ProbeResult): void {
  for (const f of Object.values(REPORT_FILES))
    assert.ok(fs.statSync(path.join(dir, f)).size > 0, `${f} written`);
  const json = JSON.parse(fs.readFileSync(path.join(dir, REPORT_FILES.json), 'utf8')) as ProbeResult;
  const validate = new Ajv({ allErrors: true }).compile(schema);
  assert.ok(validate(json), JSON.stringify(validate.errors));
  assert.deepEqual(
    json.params.map((p) => p.name),
    r.params.map((p) => p.name),
  );
  const lines = fs.readFileSync(path.join(dir, REPORT_FILES.csv), 'utf8').trimEnd().split('\r\n');
  const layers = flowLayers(r);
  assert.deepEqual(csvCells(lines[0]), CSV_COLUMNS);
  assert.equal(lines.length - 1, layers.length, 'one CSV row per layer');
  assert.equal(layers.length, new Set(r.activations.map((a) => a.node)).size);
  const conv = r.params[0];
  const row = lines
    .slice(1)
    .map(csvCells)
    .find((c) => c[1] === conv.node)!;
  assert.equal(Number(row[CSV_COLUMNS.indexOf('param_grad_rms')]), conv.grad.rms);
  assert.equal(Number(row[CSV_COLUMNS.indexOf('grad_weight_ratio')]), conv.ratio);
  for (const f of [REPORT_FILES.chartSvg, REPORT_FILES.graphSvg]) {
    const names = parseXml(fs.readFileSync(path.join(dir, f), 'utf8'));
    assert.equal(names[0], 'svg');
    assert.ok(names.filter((n) => n === 'rect').length > 10, `${f} has bars or boxes`);
  }
  for (const f of [REPORT_FILES.chartPng, REPORT_FILES.graphPng]) {
    const png = PNG.sync.read(fs.readFileSync(path.join(dir, f)));
    assert.ok(png.width > 300 && png.height > 200, `${f}: ${png.width}×${png.height}`);
    let coloured = 0;
    for (let i = 0; i < png.data.length; i += 4) {
      const [r8, g8, b8] = [png.data[i], png.data[i + 1], png.data[i + 2]];
      if (Math.max(r8, g8, b8) - Math.min(r8, g8, b8) > 40) coloured++;
    }
    assert.ok(coloured > 500, `${f} holds the coloured bars/fills (${coloured} pixels)`);
  }
  const md = fs.readFileSync(path.join(dir, REPORT_FILES.markdown), 'utf8');
  for (const h of ['## Settings', '## Summary', '## Diagnosis', '## Layers']) assert.ok(md.includes(h), h);
  assert.ok(md.includes(`(${REPORT_FILES.chartSvg})`));
}

describe('gradient reports', () => {
  let result: ProbeResult;
  const model = path.join(root, 'test/fixtures/onnx/probe/resnet18.onnx');

  before(async () => {
    await initBackend('wasm');
    result = await runProbe(await openModel(model), {
      source: { kind: 'synthetic', seed: 0 },
      batchSize: 2,
      batches: 2,
      loss: 'mean-square',
      backend: 'wasm',
    });
  });

  it('writes JSON (valid against the schema), CSV, Markdown, SVG and PNG that read back', async () => {
    const dir = path.join(tmp, 'api');
    const files = await writeReport(dir, result, reportGraph(await openModel(model)));
    assert.equal(files.length, Object.keys(REPORT_FILES).length);
    checkReport(dir, result);
  });

  it('the schema rejects a result without its params', () => {
    const validate = new Ajv().compile(schema);
    const bad = { ...result, params: undefined };
    assert.equal(validate(JSON.parse(JSON.stringify(bad))), false);
  });

  it('the rasteriser draws text glyphs and the shapes where the drawing puts them', () => {
    const cv = rasterize({
      width: 60,
      height: 30,
      background: '#ffffff',
      shapes: [
        { kind: 'rect', x: 0, y: 0, w: 10, h: 10, fill: '#ff0000' },
        { kind: 'text', x: 20, y: 20, text: 'Hi', size: 14, fill: '#000000' },
      ],
    });
    const at = (x: number, y: number) => Array.from(cv.data.slice((y * 60 + x) * 4, (y * 60 + x) * 4 + 3));
    assert.deepEqual(at(5, 5), [255, 0, 0]);
    assert.deepEqual(at(50, 25), [255, 255, 255]);
    let ink = 0;
    for (let y = 8; y < 24; y++) for (let x = 20; x < 38; x++) if (at(x, y)[0] < 128) ink++;
    assert.ok(ink > 15, `glyph pixels: ${ink}`);
  });

  it('skipscope probe --report DIR writes the same set headless, with the cut merges in the JSON', function () {
    this.timeout(120_000);
    const cli = path.join(root, 'dist/cli.js');
    if (!fs.existsSync(cli)) this.skip(); // needs npm run build
    const dir = path.join(tmp, 'cli');
    const out = execFileSync(
      process.execPath,
      [
        cli,
        'probe',
        model,
        '--batch',
        '2',
        '--batches',
        '2',
        '--backend',
        'wasm',
        '--cut',
        '/layer1/layer1.0/Add',
        '--report',
        dir,
        '--json',
      ],
      { encoding: 'utf8' },
    );
    const printed = JSON.parse(out) as ProbeResult;
    assert.deepEqual(printed.cut, ['/layer1/layer1.0/Add']);
    checkReport(dir, printed);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, REPORT_FILES.json), 'utf8')).cut, printed.cut);
  });
});
