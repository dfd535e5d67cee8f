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
  analyzeWithQuickPicks,
  clearNotifications,
  closeAllEditors,
  openFileWithQuickOpen,
  runCommand,
  screenshot,
  statusBarTexts,
  waitFor,
  waitForNotification,
  workspacePath,
} from './harness';
import type { ProbeResult } from '../../runtime/probe/probeTypes';

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
    await openFileWithQuickOpen('samples/sample.onnx');
    await waitFor(
      async () => {
        const frame = await activeWebviewFrame({ timeoutMs: 2000 });
        return frame.evaluate(() => document.getElementById('outline')?.dataset.state === 'ready');
      },
      { timeoutMs: 60_000, message: 'the graph outline to be ready' },
    );
    // The run setup lists webgpu among the available backends (with its adapter): pick it.
    await analyzeWithQuickPicks({ batch: 4, batches: 2, backend: 'webgpu' });
    // Earlier tests may have left another run's legend: wait for this run's.
    const label = await waitFor(
      async () => {
        const t = (await (await activeWebviewFrame()).locator('#gradient-label').innerText()).trim();
        return / · webgpu · /.test(t) ? t : undefined;
      },
      { timeoutMs: 240_000, message: 'the gradient overlay legend of the webgpu run' },
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
