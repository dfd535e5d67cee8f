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
  analyzeWithQuickPicks,
  chooseFolderInDialog,
  clearNotifications,
  closeAllEditors,
  extensionLog,
  getPage,
  hoverNode,
  inPage,
  openFileWithQuickOpen,
  screenshot,
  startCommand,
  statusBarTexts,
  waitFor,
  waitForNotification,
  workspacePath,
} from './harness';
import type { ProbeResult } from '../../runtime/probe/probeTypes';
import { flowLayers, metricSpread, metricValue } from '../../runtime/view/flowLayers';

const root = join(__dirname, '../..');
const RESNET = 'fixtures/onnx/probe/resnet18.onnx';
const PLAIN = 'fixtures/onnx/probe/plain_deep.onnx';
const GRU = 'fixtures/grads/rnn_gru_bidir.onnx';

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
      const shown = await inPage<{ node: string; value?: number; spread: number }[]>(
        frame,
        'window.skipscopeView.flow.shownValues()',
      );
      assert.deepEqual(
        shown.map((s) => s.node),
        expected.map((l) => l.node),
        'layers in topological order',
      );
      shown.forEach((s, i) => {
        close(s.value ?? 0, metricValue(expected[i], metric) ?? 0, `${metric} of ${s.node}`);
        // The whiskers: the spread over the two batches (the dead fraction's too).
        const spread = metricSpread(expected[i], metric);
        assert.ok(Math.abs(s.spread - spread) <= 1e-4 * spread + 1e-12, `${metric} spread of ${s.node}`);
      });
      if (metric === 'dead')
        assert.ok(
          shown.some((s) => s.spread > 0),
          'some dead fraction varies by batch',
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
    // The README shows the editor alone (chart beside the graph overlay), refreshed only on request
    // so that a test run leaves the tracked file alone.
    // Zoomed out around that merge, so that the overlay shows a few blocks of coloured nodes.
    await inPage(
      frame,
      `new Promise((done) => { const c = window.skipscopeView.canvas; const { width, height } = c.size(); c.zoomAt(width / 2, height / 2, 0.6); requestAnimationFrame(() => requestAnimationFrame(done)); })`,
    );
    const editor = await screenshot('workbench-compare-editor', '.part.editor');
    if (process.env.SKIPSCOPE_UPDATE_SCREENSHOT === '1')
      fs.copyFileSync(editor, join(root, 'media/screenshot-workbench.png'));
  });

  it('Cancel stops a long run within a second, and the next run still works', async () => {
    await openModel(RESNET);
    await clearNotifications();
    await analyzeWithQuickPicks({ batch: 32, batches: 500 });
    await waitForNotification(/batch [2-9]\d* of 500 on wasm/, { timeoutMs: 120_000 });
    const page = getPage();
    const toast = page.locator('.notification-toast', { hasText: 'Gradient flow of resnet18.onnx' });
    const logBefore = extensionLog().length;
    const before = await inPage<number>(await activeWebviewFrame(), 'window.skipscopeView.flow.runs.length');
    await toast.locator('.monaco-button', { hasText: 'Cancel' }).click();
    // A new run at once: it waits until the cancelled one has stopped (its sidecar may restart), then works.
    await analyzeWithQuickPicks();
    await chartWithRuns(before + 1);
    // The extension logs when the cancelled run stopped: answered between batches, or its sidecar exited.
    const stopped = await waitFor(
      () => /cancelled: stopped (\d+) ms after Cancel/.exec(extensionLog().slice(logBefore)) ?? undefined,
      { message: 'the log line that says when the cancelled run stopped' },
    );
    assert.ok(Number(stopped[1]) < 1000, `the cancelled run stopped ${stopped[1]} ms after Cancel`);
    // Run Again reuses the choices just made (remembered per model).
    await startCommand('Skipscope: Run Gradient Probe Again');
    await chartWithRuns(before + 2);
  });

  it('Export Gradient Report writes files that parse', async () => {
    const dir = workspacePath('report-out');
    fs.mkdirSync(dir, { recursive: true });
    await startCommand('Skipscope: Export Gradient Report');
    await chooseFolderInDialog(dir);
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

  it('Cut this skip from the skip list and from a merge’s hover card: each cut run is compared with the intact one', async () => {
    const frame = await openModel(RESNET);
    await chartWithRuns(1);
    const conv1 = (r: ProbeResult) => r.params.find((p) => p.node === '/conv1/Conv')!.grad.rms;
    const intact = conv1(cliProbe(workspacePath(RESNET)));

    /** Waits for the compare view of the intact run (A) with the run that cut `merge` (B); checks conv1. */
    const comparedWithCut = async (merge: string) => {
      const f = await waitFor(
        async () => {
          const fr = await activeWebviewFrame({ timeoutMs: 2000 });
          const cut = await inPage<string[] | null>(
            fr,
            `(() => { const f = window.skipscopeView.flow; const r = f.runs.find((x) => x.run.id === f.b); return r ? r.run.cut : null; })()`,
          );
          return cut && cut.length === 1 && cut[0] === merge ? fr : undefined;
        },
        { timeoutMs: 120_000, message: `a compare view with the run that cut ${merge}` },
      );
      const shown = await inPage<{ node: string; value?: number; compare?: number }[]>(
        f,
        'window.skipscopeView.flow.shownValues()',
      );
      const first = shown.find((s) => s.node === '/conv1/Conv')!;
      close(first.value, intact, `intact conv1 (A) beside the cut of ${merge}`);
      close(
        first.compare,
        conv1(cliProbe(workspacePath(RESNET), ['--cut', merge])),
        `conv1 with ${merge} cut (B)`,
      );
      assert.ok(
        Math.abs(first.compare! - first.value!) > 0.01 * first.value!,
        `cutting ${merge} changes conv1`,
      );
    };

    // The skip list: each row has an inline "cut" action (shown on hover and keyboard focus).
    const row = frame.locator('#skip-list li', {
      has: frame.locator('.skip-row[aria-label*="to /layer1/layer1.1/Add,"]'),
    });
    await row.hover();
    await row.locator('.skip-cut').click();
    await comparedWithCut('/layer1/layer1.1/Add');

    // The hover card of a merge: it stays open while the pointer moves from the node onto it, across
    // the graph, and its action cuts the merge's skip. A conv's card has no such action.
    const conv = await hoverNode(frame, '/layer3/layer3.1/conv1/Conv');
    assert.equal(await conv.locator('#card-cut-skip').count(), 0, 'a conv offers no cut');
    const merge = '/layer3/layer3.1/Add';
    const card = await hoverNode(frame, merge);
    const action = card.locator('#card-cut-skip');
    assert.equal((await action.innerText()).trim(), 'Cut this skip');
    const box = (await action.boundingBox())!;
    await getPage().mouse.move(box.x + box.width / 2, box.y + box.height / 2, { steps: 12 });
    assert.ok(await action.isVisible(), 'the card is still open when the pointer reaches its action');
    await getPage().mouse.down();
    await getPage().mouse.up();
    await comparedWithCut(merge);
    await screenshot('workbench-cut-one-skip');
  });

  it('palette run on a bidirectional GRU: its hover card shows the gradient through time of each direction, as the CLI measures it', async () => {
    await openModel(GRU);
    await clearNotifications();
    await analyzeWithQuickPicks();
    const frame = await chartWithRuns(1);
    const cli = cliProbe(workspacePath(GRU));
    const node = cli.timesteps![0].node;
    const card = await hoverNode(frame, node);
    const rows = await card
      .locator('tr')
      .evaluateAll((trs) =>
        trs.map((tr) => [
          tr.querySelector('th')?.textContent ?? '',
          tr.querySelector('td')?.textContent ?? '',
        ]),
      );
    for (const direction of ['forward', 'reverse'] as const) {
      const row = rows.find(([k]) => k === `grad through time (${direction})`);
      assert.ok(row, `no ${direction} row in ${JSON.stringify(rows)}`);
      const t = cli.timesteps!.find((x) => x.node === node && x.direction === direction)!;
      // As many steps as the CLI measures, and a sparkline cell per step.
      assert.match(row[1], new RegExp(`at the last of ${t.l2.length} steps → \\S+ at the first`));
      assert.match(row[1], new RegExp(`[▁-█ ]{${t.l2.length}}$`));
    }
    await screenshot('workbench-gru-time', '.part.editor');
  });
});
