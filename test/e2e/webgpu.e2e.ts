/**
 * The webgpu backend in a real VS Code (code-server): "Skipscope: Show Runtime Info" names the
 * adapter (vendor/device, Dawn backend, hardware or software); "Skipscope: Analyze Gradient
 * Flow" with webgpu picked in its run setup (a user's request: in CI the adapter is a software
 * one, which `auto` never takes) runs on it, the overlay legend says webgpu, the status bar names
 * the adapter, and the summary matches the CLI's webgpu run of the same model.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import {
  activeWebviewFrame,
  clearNotifications,
  closeAllEditors,
  getPage,
  openFileFromExplorer,
  runCommand,
  screenshot,
  statusBarTexts,
  waitFor,
  waitForNotification,
  workspacePath,
} from './harness';
import type { ProbeResult } from '../../runtime/probe/probeTypes';

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
    timeoutMs: 60_000,
  });
  await input.fill(text);
  await waitFor(async () => {
    const rows = await page.locator('.quick-input-list .monaco-list-row').count();
    const box = await page.locator('.quick-input-list').isVisible();
    return !box || rows > 0;
  });
  await page.keyboard.press('Enter');
}

describe('webgpu backend (code-server)', function () {
  this.timeout(300_000);

  it('names the GPU adapter in Show Runtime Info and runs a probe on it on request', async () => {
    await closeAllEditors();
    await clearNotifications();
    await runCommand('Skipscope: Show Runtime Info');
    const info = await waitForNotification(/^Skipscope .* backends /, { timeoutMs: 60_000 });
    const gpu = /webgpu \((.+?; (hardware|software))\)/.exec(info);
    assert.ok(gpu, `Show Runtime Info names a WebGPU adapter: ${info}`);
    assert.match(gpu[1], /\((vulkan|metal|d3d12|opengl)/);
    await screenshot('webgpu-runtime-info');

    await clearNotifications();
    await openFileFromExplorer('samples/sample.onnx');
    await waitFor(
      async () => {
        const frame = await activeWebviewFrame({ timeoutMs: 2000 });
        return frame.evaluate(() => document.getElementById('outline')?.dataset.state === 'ready');
      },
      { timeoutMs: 60_000, message: 'the graph outline to be ready' },
    );
    // The run setup lists webgpu among the available backends (with its adapter): pick it.
    await startCommand('Skipscope: Analyze Gradient Flow');
    await answer('(1/5)', 'Synthetic');
    await answer('(2/5)', '4');
    await answer('(3/5)', '2');
    await answer('(4/5)', 'mean-square');
    await answer('(5/5)', 'webgpu');
    const label = await waitFor(
      async () => {
        const t = (await (await activeWebviewFrame()).locator('#gradient-label').innerText()).trim();
        return t || undefined;
      },
      { timeoutMs: 240_000, message: 'the gradient overlay legend' },
    );
    assert.match(label, /^Gradient overlay: .* · webgpu · /);
    const note = await waitForNotification(/^Gradient flow /, { timeoutMs: 60_000 });

    // The same model on the CLI's webgpu run: the same summary.
    const cli = join(__dirname, '../../dist/cli.js');
    const expected = JSON.parse(
      execFileSync(
        process.execPath,
        [
          cli,
          'probe',
          workspacePath('samples/sample.onnx'),
          '--batch',
          '4',
          '--batches',
          '2',
          '--backend',
          'webgpu',
          '--json',
        ],
        { encoding: 'utf8' },
      ),
    ) as ProbeResult;
    assert.equal(expected.backend.name, 'webgpu');
    // The notification is the CLI's summary (plus the run's timing).
    const words = (t: string) => t.replace(/\d+(\.\d+)?×|\d+%/g, '#');
    assert.ok(words(note).startsWith(words(expected.summary.text)), `${note}\nvs ${expected.summary.text}`);
    // The status bar names the backend and the adapter the run used.
    const device = expected.backend.adapter!.device;
    const item = await waitFor(async () => (await statusBarTexts()).find((t) => t.includes('webgpu')), {
      message: 'the probe backend in the status bar',
    });
    assert.ok(item.includes(device.slice(0, 12)), `status bar: ${item}, adapter ${device}`);
    await screenshot('webgpu-probe');
  });
});
