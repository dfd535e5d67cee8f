/**
 * Gradient probe E2E test in a real VS Code (code-server): "Skipscope: Analyze Gradient Flow" on
 * the sample model, run from the command palette as a user would, draws the overlay in the open
 * editor (legend label, hover card gradient rows, merge skip share) and says the summary in a
 * notification. The numbers shown are checked against the CLI's probe of the same model with the
 * same settings, so a broken probe, protocol or overlay fails the test.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { Frame } from 'playwright-core';
import {
  activeWebviewFrame,
  analyzeWithQuickPicks,
  clearNotifications,
  closeAllEditors,
  hoverNode,
  openFileFromExplorer,
  screenshot,
  statusBarTexts,
  waitFor,
  waitForNotification,
  workspacePath,
} from './harness';
import type { ProbeResult } from '../../runtime/probe/probeTypes';

/** The CLI's probe of `file` with the settings chosen below (synthetic batches, 2 × 4, mean-square). */
function cliProbe(file: string, backend: string): ProbeResult {
  const cli = join(__dirname, '../../dist/cli.js');
  const out = execFileSync(
    process.execPath,
    [
      cli,
      'probe',
      file,
      '--batch',
      '4',
      '--batches',
      '2',
      '--loss',
      'mean-square',
      '--backend',
      backend,
      '--json',
    ],
    { encoding: 'utf8' },
  );
  return JSON.parse(out) as ProbeResult;
}

/** Hovers node `name` in the graph and returns the text of its hover card. */
async function hoverCard(frame: Frame, name: string): Promise<string> {
  return (await hoverNode(frame, name)).innerText();
}

/** The number on the card row `label` (e.g. "grad RMS 1.23e-6"). */
function rowValue(card: string, label: string): number {
  const m = new RegExp(`${label}\\s+(-?[\\d.]+(?:e[-+]?\\d+)?)`).exec(card);
  assert.ok(m, `the card has a "${label}" row:\n${card}`);
  return Number(m[1]);
}

/** |a − b| within `rel` of |b| (the card shows 3 significant digits). */
function close(a: number, b: number, rel: number, what: string): void {
  assert.ok(Math.abs(a - b) <= rel * Math.abs(b), `${what}: shown ${a}, CLI ${b}`);
}

describe('gradient probes (code-server)', function () {
  this.timeout(240_000);

  it('analyzes the gradient flow of samples/sample.onnx from the command palette', async () => {
    await closeAllEditors();
    await openFileFromExplorer('samples/sample.onnx');
    await waitFor(
      async () => {
        const frame = await activeWebviewFrame({ timeoutMs: 2000 });
        return frame.evaluate(() => document.getElementById('outline')?.dataset.state === 'ready');
      },
      { timeoutMs: 60_000, message: 'the graph outline to be ready' },
    );
    await clearNotifications();
    const frame = await activeWebviewFrame();
    assert.equal(await frame.locator('#gradient-label').innerText(), '', 'no overlay before the run');

    // The run setup's questions, answered with the settings' defaults: 2 batches of 4, the best backend.
    await analyzeWithQuickPicks({ batch: 4, batches: 2, backend: 'auto' });

    // The legend names the run that produced the overlay: source, batch size × batches, loss, backend.
    const label = await waitFor(
      async () => {
        const t = (await (await activeWebviewFrame()).locator('#gradient-label').innerText()).trim();
        return t || undefined;
      },
      { timeoutMs: 120_000, message: 'the gradient overlay legend' },
    );
    const m = /^Gradient overlay: synthetic, seed 0 · 4 × 2 · mean-square · ([\w-]+) · intact$/.exec(label);
    assert.ok(m, `legend: ${label}`);
    const backend = m[1];

    // The summary comes as a notification, the same sentence the CLI prints for this model.
    const expected = cliProbe(workspacePath('samples/sample.onnx'), backend);
    const note = await waitForNotification(/^Gradient flow /, { timeoutMs: 60_000 });
    assert.match(note, /across 11 learned layers/);
    assert.match(note, /at the 4 skip forks arrives through the skips/);
    // Then the timing: the steady batch apart from the first (set-up), and the threads that ran.
    const [summary, timing] = note.split(' Probe: ');
    assert.equal(
      summary.replace(/\d+(\.\d+)?×|\d+%/g, '#'),
      expected.summary.text.replace(/\d+(\.\d+)?×|\d+%/g, '#'),
    );
    assert.match(
      timing ?? '',
      /^[\d.]+ ms per batch \(median of 1; the first took [\d.]+ ms\)( on \d+ threads?( \(\d+ asked: no kernel call was large enough to share out\))?)?\.$/,
    );
    // The probe's status bar item names the backend, its threads and the steady time per batch.
    const status = await waitFor(async () => (await statusBarTexts()).find((t) => t.includes('/batch')), {
      message: 'the probe timing in the status bar',
    });
    assert.match(status, new RegExp(`${backend}( ×\\d+)? · [\\d.]+ ms/batch · `));
    await screenshot('probe-sample-overlay');

    // A conv's hover card carries its gradient RMS, dead units and grad/weight from the run.
    const view = await activeWebviewFrame();
    const conv = '/block1/conv1/Conv';
    const convCard = await hoverCard(view, conv);
    const act = expected.activations.find((a) => a.node === conv)!;
    const param = expected.params.find((p) => p.node === conv)!;
    close(rowValue(convCard, 'grad RMS'), act.rms, 0.02, `${conv} grad RMS`);
    close(rowValue(convCard, 'grad/weight'), param.ratio, 0.02, `${conv} grad/weight`);
    assert.ok(act.zeroFraction > 0, 'a conv before a ReLU has dead units');
    close(rowValue(convCard, 'dead units') / 100, act.zeroFraction, 0.02, `${conv} dead units`);

    // Each merge's card tells how much of the gradient took the skip.
    assert.equal(expected.merges.length, 4);
    for (const mg of expected.merges) {
      const card = await hoverCard(view, mg.merge);
      close(rowValue(card, 'skip share') / 100, mg.skipShare, 0.02, `${mg.merge} skip share`);
    }
    await hoverCard(view, '/block2/Add');
    await screenshot('probe-sample-hover');
  });
});
