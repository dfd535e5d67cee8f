/**
 * The gradient-flow workbench in a real VS Code (code-server): run setup from the command palette
 * with its quick picks on a ResNet fixture and on a deep plain CNN; the chart and the graph
 * overlay show the CLI's JSON numbers for the same inputs; the plain model is diagnosed with
 * vanishing gradient and the residual one is not; cutting every skip of the ResNet lowers the
 * early layers' gradient in the compare view; Cancel stops a long run within a second; the
 * exported report's files exist and parse; the chart works from the keyboard with labels.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import { PNG } from 'pngjs';
import * as sax from 'sax';
import type { Frame } from 'playwright-core';
import {
  activeWebviewFrame,
  clearNotifications,
  closeAllEditors,
  getPage,
  openFileWithQuickOpen,
  readNotifications,
  screenshot,
  statusBarTexts,
  waitFor,
  waitForNotification,
  workspacePath,
} from './harness';
import type { ProbeResult } from '../../runtime/probe/probeTypes';
import { flowLayers, metricValue } from '../../runtime/view/flowLayers';

const root = join(__dirname, '../..');
const RESNET = 'fixtures/onnx/probe/resnet18.onnx';
const PLAIN = 'fixtures/onnx/probe/plain_deep.onnx';

async function inPage<T>(frame: Frame, expr: string): Promise<T> {
  return frame.evaluate(expr) as Promise<T>;
}

/** The CLI's probe of `file` with the settings the quick picks choose below. */
function cliProbe(file: string, extra: string[] = []): ProbeResult {
  const out = execFileSync(
    process.execPath,
    [
      join(root, 'dist/cli.js'),
      'probe',
      file,
      '--batch',
      '2',
      '--batches',
      '2',
      '--loss',
      'mean-square',
      '--backend',
      'wasm',
      '--json',
      ...extra,
    ],
    { encoding: 'utf8' },
  );
  return JSON.parse(out) as ProbeResult;
}

/** Opens the palette and starts `title` without waiting for the quick input to close (it asks questions). */
async function startCommand(title: string): Promise<void> {
  const page = getPage();
  const input = page.locator('.quick-input-widget .quick-input-box input');
  const rows = page.locator('.quick-input-list .monaco-list-row');
  await waitFor(
    async () => {
      if (await input.isVisible()) await page.keyboard.press('Escape');
      await page.keyboard.press('Control+Shift+P');
      await input.waitFor({ state: 'visible', timeout: 2000 });
      await input.fill(`>${title}`);
      const index = await waitFor(
        async () => {
          const labels = await rows.evaluateAll((els) =>
            els.map((e) => (e.querySelector('.label-name')?.textContent ?? '').trim()),
          );
          const i = labels.indexOf(title);
          return i >= 0 ? i : undefined;
        },
        { timeoutMs: 2000 },
      );
      await rows.nth(index).click({ timeout: 2000 });
      return true;
    },
    { message: `command "${title}"` },
  );
}

/** Answers the quick input whose title contains `step` with `text` (a pick is filtered to it, then Enter). */
async function answer(step: string, text: string): Promise<void> {
  const page = getPage();
  const title = page.locator('.quick-input-widget .quick-input-title');
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await waitFor(async () => (await title.isVisible()) && ((await title.textContent()) ?? '').includes(step), {
    message: `the quick input "${step}"`,
  });
  await input.fill(text);
  // A pick list filters as we type: wait for the row before accepting.
  await waitFor(async () => {
    const rows = await page.locator('.quick-input-list .monaco-list-row').count();
    const box = await page.locator('.quick-input-list').isVisible();
    return !box || rows > 0;
  });
  await page.keyboard.press('Enter');
}

/** Runs Analyze Gradient Flow on the active model: synthetic, batch 2, 2 batches, mean-square, wasm. */
async function analyzeWithQuickPicks(batch = '2', batches = '2'): Promise<void> {
  await startCommand('Skipscope: Analyze Gradient Flow');
  await answer('(1/5)', 'Synthetic');
  await answer('(2/5)', batch);
  await answer('(3/5)', batches);
  await answer('(4/5)', 'mean-square');
  await answer('(5/5)', 'wasm');
}

async function openModel(rel: string): Promise<Frame> {
  await closeAllEditors();
  await openFileWithQuickOpen(rel);
  await waitFor(
    async () => {
      const frame = await activeWebviewFrame({ timeoutMs: 2000 });
      return frame.evaluate(() => document.getElementById('outline')?.dataset.state === 'ready');
    },
    { timeoutMs: 60_000, message: 'the graph outline to be ready' },
  );
  return activeWebviewFrame();
}

/** Waits until the chart shows `runs` runs and returns the frame. */
async function chartWithRuns(runs: number): Promise<Frame> {
  return waitFor(
    async () => {
      const frame = await activeWebviewFrame({ timeoutMs: 2000 });
      const n = await inPage<number>(frame, 'window.skipscopeView?.flow.runs.length ?? 0');
      return n >= runs ? frame : undefined;
    },
    { timeoutMs: 120_000, message: `${runs} probe run(s) in the chart` },
  );
}

const close = (a: number | undefined, b: number | undefined, what: string) =>
  assert.ok(
    a !== undefined && b !== undefined && Math.abs(a - b) <= 1e-4 * Math.abs(b),
    `${what}: shown ${a}, CLI ${b}`,
  );

describe('gradient-flow workbench (code-server)', function () {
  this.timeout(300_000);

  it('palette run on a ResNet: the chart and the overlay show the CLI numbers; not diagnosed vanishing', async () => {
    await openModel(RESNET);
    await clearNotifications();
    await analyzeWithQuickPicks();
    const frame = await chartWithRuns(1);
    const expected = flowLayers(cliProbe(workspacePath(RESNET)));
    for (const metric of ['paramRms', 'actRms', 'ratio', 'dead'] as const) {
      await frame.locator('#flow-metric').selectOption(metric);
      const shown = await inPage<{ node: string; value?: number }[]>(
        frame,
        'window.skipscopeView.flow.shownValues()',
      );
      assert.deepEqual(
        shown.map((s) => s.node),
        expected.map((l) => l.node),
        'layers in topological order',
      );
      shown.forEach((s, i) =>
        close(s.value ?? 0, metricValue(expected[i], metric) ?? 0, `${metric} of ${s.node}`),
      );
      const overlay = await inPage<Record<string, { value?: number; fill?: string }>>(
        frame,
        'window.skipscopeView.overlayValues()',
      );
      const conv = expected.find((l) => l.learned)!;
      close(overlay[conv.node].value, metricValue(conv, metric), `overlay ${metric} of ${conv.node}`);
      assert.match(overlay[conv.node].fill ?? '', /^#[0-9a-f]{6}$/, 'the node is filled by the colour scale');
    }
    await frame.locator('#flow-metric').selectOption('paramRms');
    const legend = await frame.locator('#overlay-legend').getAttribute('aria-label');
    assert.match(
      legend ?? '',
      /^Node colours: Parameter-gradient RMS \(log\), from 1e-\d+ to 1e-\d+; grey: no value\.$/,
    );
    const diagnosis = await frame.locator('#diagnosis-text').innerText();
    assert.match(diagnosis, /^No vanishing or exploding stretch: across 21 learned layers/);
    assert.equal(await frame.locator('.finding[data-kind="vanishing"]').count(), 0);
    assert.ok(
      (await statusBarTexts()).some((t) =>
        /^wasm( ×\d+)? · [\d.]+ ms\/batch · \d/.test(t.replace(/^\S*pulse\S*\s*/, '')),
      ),
      'status bar names the backend, its threads and the steady time per batch',
    );
    await screenshot('workbench-resnet');
  });

  it('the chart is usable by keyboard, with screen-reader labels, and linked to the graph', async () => {
    const frame = await activeWebviewFrame();
    const chart = frame.locator('#flow-chart');
    assert.equal(await chart.getAttribute('role'), 'application');
    assert.match((await chart.getAttribute('aria-label')) ?? '', /arrows move between layers/);
    await chart.focus();
    await getPage().keyboard.press('End');
    await getPage().keyboard.press('ArrowLeft');
    const status = await frame.locator('#chart-status').innerText();
    const layers = await inPage<{ node: string; value?: number }[]>(
      frame,
      'window.skipscopeView.flow.shownValues()',
    );
    const target = layers[layers.length - 2];
    assert.ok(
      status.startsWith(
        `Layer ${layers.length - 1} of ${layers.length}: ${target.node}, Parameter-gradient RMS`,
      ),
      status,
    );
    await getPage().keyboard.press('Enter');
    await waitFor(
      async () => (await frame.locator('#outline').getAttribute('data-selected')) === target.node,
      {
        message: `the graph to select ${target.node}`,
      },
    );
  });

  it('palette run on a deep plain CNN: diagnosed vanishing, and the finding focuses its nodes', async () => {
    await openModel(PLAIN);
    await analyzeWithQuickPicks();
    const frame = await chartWithRuns(1);
    const expected = cliProbe(workspacePath(PLAIN));
    const text = await frame.locator('#diagnosis-text').innerText();
    assert.equal(text, expected.diagnosis!.text);
    assert.match(text, /^Gradient vanishes from \/fc\/Gemm back to \/stem\/Conv/);
    await frame.locator('.finding[data-kind="vanishing"] button').click();
    await waitFor(
      async () => (await frame.locator('#outline').getAttribute('data-selected')) === '/fc/Gemm',
      {
        message: 'the finding to focus /fc/Gemm',
      },
    );
    await screenshot('workbench-plain');
  });

  it('cutting every skip of the ResNet lowers the early layers’ gradient in the compare view', async () => {
    await openModel(RESNET);
    await analyzeWithQuickPicks();
    await chartWithRuns(1);
    await startCommand('Skipscope: Cut Skips and Compare…');
    const page = getPage();
    await page.locator('.quick-input-widget .quick-input-box input').fill('All skips');
    await waitFor(async () => (await page.locator('.quick-input-list .monaco-list-row').count()) === 1);
    await page.locator('.quick-input-widget .quick-input-check-all').click();
    await page.keyboard.press('Enter');
    const frame = await waitFor(
      async () => {
        const f = await activeWebviewFrame({ timeoutMs: 2000 });
        return (await f.locator('#flow-chart').getAttribute('data-compare')) === 'true' ? f : undefined;
      },
      { timeoutMs: 120_000, message: 'the compare view' },
    );
    const shown = await inPage<{ node: string; value?: number; compare?: number }[]>(
      frame,
      'window.skipscopeView.flow.shownValues()',
    );
    const first = shown.find((s) => s.node === '/conv1/Conv')!;
    assert.ok(
      first.compare! < first.value! / 100,
      `conv1 param-grad RMS: cut ${first.compare}, intact ${first.value}`,
    );
    const cut = cliProbe(workspacePath(RESNET), ['--cut', 'all']);
    close(first.compare, cut.params.find((p) => p.node === '/conv1/Conv')!.grad.rms, 'cut run conv1');
    // Colour the graph by the ratio B / A: the stem is far below 1 (blue side of the scale).
    await frame.locator('#colour-by').selectOption('ratio');
    const legend = await frame.locator('#overlay-legend').getAttribute('aria-label');
    assert.match(legend ?? '', /^Node colours: Ratio B \/ A of Parameter-gradient RMS/);
    await clearNotifications();
    await inPage(frame, `window.skipscopeView.revealByName('/layer1/layer1.0/Add')`);
    await screenshot('workbench-compare');
  });

  it('Cancel stops a long run within a second, and the next run still works', async () => {
    await openModel(RESNET);
    await clearNotifications();
    await analyzeWithQuickPicks('32', '500');
    await waitForNotification(/batch [2-9]\d* of 500 on wasm/, { timeoutMs: 120_000 });
    const page = getPage();
    const toast = page.locator('.notification-toast', { hasText: 'Gradient flow of resnet18.onnx' });
    const t0 = Date.now();
    await toast.locator('.monaco-button', { hasText: 'Cancel' }).click();
    await waitFor(async () => !(await readNotifications()).some((n) => /of 500 on wasm/.test(n)), {
      timeoutMs: 5000,
      message: 'the progress to go',
    });
    const ms = Date.now() - t0;
    assert.ok(ms < 1500, `cancel took ${ms} ms`);
    // The sidecar (restarted if the pass was in flight) serves the next run.
    const before = await inPage<number>(await activeWebviewFrame(), 'window.skipscopeView.flow.runs.length');
    await analyzeWithQuickPicks();
    await chartWithRuns(before + 1);
    // Run Again reuses the choices just made (remembered per model).
    await startCommand('Skipscope: Run Gradient Probe Again');
    await chartWithRuns(before + 2);
  });

  it('Export Gradient Report writes files that parse', async () => {
    const dir = workspacePath('report-out');
    fs.mkdirSync(dir, { recursive: true });
    await startCommand('Skipscope: Export Gradient Report');
    const page = getPage();
    const input = page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ state: 'visible' });
    await input.fill(`${dir}/`);
    await page.keyboard.press('Enter');
    await waitForNotification(/Wrote the gradient report of resnet18\.onnx \(7 files\)/, {
      timeoutMs: 60_000,
    });
    const schema = JSON.parse(fs.readFileSync(join(root, 'runtime/report/probeReport.schema.json'), 'utf8'));
    const json = JSON.parse(fs.readFileSync(join(dir, 'probe.json'), 'utf8')) as ProbeResult;
    const validate = new Ajv().compile(schema);
    assert.ok(validate(json), JSON.stringify(validate.errors));
    const csv = fs.readFileSync(join(dir, 'layers.csv'), 'utf8').trimEnd().split('\r\n');
    assert.equal(csv.length - 1, flowLayers(json).length, 'one CSV row per layer');
    for (const f of ['chart.svg', 'graph.svg']) {
      const p = sax.parser(true);
      let first = '';
      p.onopentag = (t) => (first ||= t.name);
      p.write(fs.readFileSync(join(dir, f), 'utf8')).close();
      assert.equal(first, 'svg');
    }
    for (const f of ['chart.png', 'graph.png']) {
      const png = PNG.sync.read(fs.readFileSync(join(dir, f)));
      assert.ok(png.width > 300 && png.height > 200, f);
    }
    assert.match(fs.readFileSync(join(dir, 'report.md'), 'utf8'), /^# Gradient flow of resnet18\.onnx/);
  });
});
