/**
 * The webgpu backend in a real VS Code (code-server): with skipscope.probe.backend set to
 * "webgpu" (a user's request: in CI the adapter is a software one, which `auto` never takes),
 * "Skipscope: Show Runtime Info" names the adapter (vendor/device, Dawn backend, hardware or
 * software), "Skipscope: Analyze Gradient Flow" runs on it, the overlay legend says webgpu, the
 * status bar names the adapter, and the numbers match the CLI's webgpu run of the same model.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  activeWebviewFrame,
  clearNotifications,
  closeAllEditors,
  openFileFromExplorer,
  runCommand,
  screenshot,
  statusBarTexts,
  waitFor,
  waitForNotification,
  workspacePath,
} from './harness';
import type { ProbeResult } from '../../runtime/probe/probeTypes';

/** Workspace settings: code-server applies them as soon as the file changes. */
function setBackend(backend: string | undefined): void {
  const dir = workspacePath('.vscode');
  if (backend === undefined) return rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'settings.json'), JSON.stringify({ 'skipscope.probe.backend': backend }));
}

describe('webgpu backend (code-server)', function () {
  this.timeout(300_000);
  after(() => setBackend(undefined));

  it('names the GPU adapter in Show Runtime Info and runs a probe on it on request', async () => {
    await closeAllEditors();
    await clearNotifications();
    await runCommand('Skipscope: Show Runtime Info');
    const info = await waitForNotification(/^Skipscope .* backends /, { timeoutMs: 60_000 });
    const gpu = /webgpu \((.+?; (hardware|software))\)/.exec(info);
    assert.ok(gpu, `Show Runtime Info names a WebGPU adapter: ${info}`);
    assert.match(gpu[1], /\((vulkan|metal|d3d12|opengl)/);
    await screenshot('webgpu-runtime-info');

    setBackend('webgpu');
    await clearNotifications();
    await openFileFromExplorer('samples/sample.onnx');
    await waitFor(
      async () => {
        const frame = await activeWebviewFrame({ timeoutMs: 2000 });
        return frame.evaluate(() => document.getElementById('outline')?.dataset.state === 'ready');
      },
      { timeoutMs: 60_000, message: 'the graph outline to be ready' },
    );
    // The setting may take a moment to reach the extension: retry until a run says webgpu.
    const label = await waitFor(
      async () => {
        await runCommand('Skipscope: Analyze Gradient Flow');
        return waitFor(
          async () => {
            const t = (await (await activeWebviewFrame()).locator('#gradient-label').innerText()).trim();
            return t || undefined;
          },
          { timeoutMs: 180_000, message: 'the gradient overlay legend' },
        ).then((t) => (t.includes('webgpu') ? t : undefined));
      },
      { timeoutMs: 240_000, message: 'a gradient run on webgpu' },
    );
    assert.match(label, /^Gradient RMS \(bars, log scale\): webgpu, loss mean-square, 2 × 4 samples$/);
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
    assert.equal(
      note.replace(/\d+(\.\d+)?×|\d+%/g, '#'),
      expected.summary.text.replace(/\d+(\.\d+)?×|\d+%/g, '#'),
    );
    // The status bar names the backend and the adapter the run used.
    const device = expected.backend.adapter!.device;
    const item = await waitFor(async () => (await statusBarTexts()).find((t) => t.includes('webgpu')), {
      message: 'the probe backend in the status bar',
    });
    assert.ok(item.includes(device.slice(0, 12)), `status bar: ${item}, adapter ${device}`);
    await screenshot('webgpu-probe');
  });
});
