/**
 * Faults (E2E): the sidecar killed (SIGKILL, by pid) in the middle of a gradient probe — the
 * editor says so with Run Again, the graph stays, and a new probe works in a new sidecar; and a
 * model file that changes on disk while its graph is open — truncated (the graph stays under a
 * notice that says why), rewritten with another valid model (the graph reloads with it), deleted
 * (said over the graph); and a report exported onto a full disk (a 64 KiB tmpfs, where the test
 * runs as root) — said in one sentence with Choose Another Folder, nothing half-written.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import {
  activeWebviewFrame,
  analyzeWithQuickPicks,
  chooseFolderInDialog,
  clearNotifications,
  closeAllEditors,
  extensionLog,
  getPage,
  inPage,
  openFileFromExplorer,
  openFileWithQuickOpen,
  ourSidecars,
  readNotifications,
  screenshot,
  startCommand,
  waitFor,
  waitForNotification,
  workspacePath,
} from './harness';

/** Kills `pid` (SIGKILL); one that has ended already is fine. */
function endProcess(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone already */
  }
}

/**
 * Freezes the sidecar `pid` (SIGSTOP: it cannot answer), does `ask`, waits until the extension logs
 * the request (`logged`), then kills the sidecar: the request is in flight when it dies, every
 * time. The sidecar is never left frozen, whatever happens.
 */
async function killWhileAsked(pid: number, ask: () => Promise<unknown>, logged: RegExp, message: string) {
  process.kill(pid, 'SIGSTOP');
  try {
    const logBefore = extensionLog().length;
    await ask();
    await waitFor(() => logged.test(extensionLog().slice(logBefore)), { message });
  } finally {
    endProcess(pid);
  }
}

/** The outline's data attributes once the graph is drawn. */
async function outline(): Promise<Record<string, string>> {
  return waitFor(
    async () => {
      const frame = await activeWebviewFrame({ timeoutMs: 2000 });
      const data = await frame.evaluate(() => ({ ...(document.getElementById('outline')?.dataset ?? {}) }));
      return data.state === 'ready' ? (data as Record<string, string>) : undefined;
    },
    { timeoutMs: 60_000, message: 'the graph outline to be ready' },
  );
}

/** The text of the notice over the graph, once one shows (undefined `match`: once none shows). */
async function notice(match?: RegExp): Promise<string> {
  return waitFor(
    async () => {
      const frame = await activeWebviewFrame({ timeoutMs: 2000 });
      const text = await frame.evaluate(() => document.getElementById('file-notice-message')?.textContent);
      if (!match) return text ? undefined : '';
      return text && match.test(text) ? text : undefined;
    },
    { timeoutMs: 30_000, message: match ? `a notice over the graph matching ${String(match)}` : 'no notice' },
  );
}

describe('faults (code-server)', function () {
  this.timeout(240_000);

  after(async () => {
    // Leave the workbench as the next file expects it: no editors or notifications, no test files.
    await closeAllEditors();
    await clearNotifications();
    rmSync(workspacePath('faults'), { recursive: true, force: true });
  });

  it('a sidecar killed during a probe: the editor says so, the graph stays, a new probe works', async () => {
    await closeAllEditors();
    await openFileFromExplorer('fixtures/onnx/resnet18.onnx');
    const before = await outline();
    await clearNotifications();
    const frame = await activeWebviewFrame();
    const runsBefore = await inPage<number>(frame, 'window.skipscopeView.flow.runs.length');
    await analyzeWithQuickPicks({ batch: 32, batches: 500 });
    await waitForNotification(/batch [2-9]\d* of 500 on wasm/, { timeoutMs: 120_000 });
    const [pid, ...others] = ourSidecars();
    assert.ok(pid, 'the sidecar runs');
    assert.deepEqual(others, [], 'one sidecar');
    process.kill(pid, 'SIGKILL');
    const said = await waitForNotification(
      /sidecar stopped \(SIGKILL\) during the gradient probe of resnet18\.onnx/,
      {
        timeoutMs: 30_000,
      },
    );
    assert.match(said, /The graph and earlier runs are kept; Run Again starts a new sidecar\./);
    // The message offers the next step.
    const toast = (await readNotifications()).find((t) => t.includes('during the gradient probe'));
    assert.ok(toast);
    await screenshot('fault-sidecar-killed');
    // One message: the generic "the sidecar stopped" warning is not shown on top of it.
    assert.ok(
      !(await readNotifications()).some((t) => /it will restart on the next action/.test(t)),
      'no second notification for the same crash',
    );
    // The graph is still there, as it was.
    const after = await outline();
    assert.equal(after.nodeCount, before.nodeCount);
    // A new probe works, in a new sidecar.
    await clearNotifications();
    await analyzeWithQuickPicks({ batch: 2, batches: 1 });
    await waitFor(
      async () =>
        (await inPage<number>(await activeWebviewFrame(), 'window.skipscopeView.flow.runs.length')) >
        runsBefore,
      { timeoutMs: 120_000, message: 'the new run in the chart' },
    );
    const now = ourSidecars();
    assert.equal(now.length, 1);
    assert.notEqual(now[0], pid, 'a new sidecar');
    assert.match(extensionLog(), /the sidecar stopped \(SIGKILL\) during the gradient probe/);
  });

  it('a report exported onto a full disk: said with Choose Another Folder, nothing written', async function () {
    // The probe of the first test is the run shown for resnet18.onnx.
    const disk = workspacePath('full-disk');
    mkdirSync(disk, { recursive: true });
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', disk], { stdio: 'ignore' });
    } catch {
      rmSync(disk, { recursive: true, force: true });
      this.skip(); // needs root (mount): runtime/report's unit test covers the same where it can
    }
    try {
      await clearNotifications();
      await startCommand('Skipscope: Export Gradient Report');
      await chooseFolderInDialog(disk);
      const said = await waitForNotification(/cannot write the gradient report there: the disk is full/, {
        timeoutMs: 60_000,
      });
      assert.match(said, /nothing was written\. Free some space or choose another folder\.$/);
      const buttons = await getPage()
        .locator('.notification-toast', { hasText: 'the disk is full' })
        .locator('.monaco-button')
        .allInnerTexts();
      assert.ok(buttons.includes('Choose Another Folder'), `actions: ${buttons.join(', ')}`);
      assert.deepEqual(readdirSync(disk), [], 'no half-written report');
      await screenshot('fault-disk-full');
      // The graph stays.
      assert.ok(Number((await outline()).nodeCount) > 0);
    } finally {
      execFileSync('umount', [disk]);
      rmSync(disk, { recursive: true, force: true });
    }
  });

  it('a sidecar killed while it reads a model: the error view says so, Retry opens it, the other graph stays', async () => {
    // The open graph of the first test (resnet18.onnx) stays open beside.
    await clearNotifications();
    const [pid] = ourSidecars();
    assert.ok(pid, 'the sidecar runs');
    await killWhileAsked(
      pid,
      () => openFileWithQuickOpen('fixtures/onnx/unet.onnx'),
      /reading \S*unet\.onnx/,
      'the extension to ask the sidecar for unet.onnx',
    );
    const message = await waitFor(
      async () => {
        const frame = await activeWebviewFrame({ timeoutMs: 2000 });
        return (
          (await frame.evaluate(() => document.getElementById('error-message')?.textContent)) ?? undefined
        );
      },
      { message: 'the error view' },
    );
    assert.equal(
      message,
      'The Skipscope sidecar stopped (SIGKILL) while it read unet.onnx. Retry starts a new one and reads the file again.',
    );
    await screenshot('fault-sidecar-killed-open');
    assert.ok(
      !(await readNotifications()).some((t) => /it will restart on the next action/.test(t)),
      'said once, in the editor',
    );
    const frame = await activeWebviewFrame();
    await frame.locator('#retry').click();
    assert.ok(Number((await outline()).long) > 0, 'the U-Net drawn, with its long skips');
    assert.notEqual(ourSidecars()[0], pid, 'a new sidecar');
    const tabs = await getPage().locator('.tabs-container .tab .label-name').allInnerTexts();
    assert.ok(tabs.includes('resnet18.onnx'), `the ResNet-18 editor is still open: ${tabs.join(', ')}`);
  });

  it('a sidecar killed while it prints a model as text: said with Print Again, which prints it', async () => {
    await clearNotifications();
    const [pid] = ourSidecars();
    assert.ok(pid, 'the sidecar runs');
    await killWhileAsked(
      pid,
      () => startCommand('Skipscope: Open as ONNX Text'),
      /printing \S*unet\.onnx/,
      'the extension to ask the sidecar to print unet.onnx',
    );
    await waitForNotification(
      'The Skipscope sidecar stopped (SIGKILL) while it printed unet.onnx. Print Again starts a new one.',
    );
    const toast = getPage().locator('.notification-toast', { hasText: 'while it printed unet.onnx' });
    await toast.locator('.monaco-button', { hasText: 'Print Again' }).click();
    const view = getPage().locator('.monaco-editor .view-lines').first();
    await waitFor(async () => (await view.innerText()).includes('ir_version'), {
      timeoutMs: 60_000,
      message: 'the printed text after Print Again',
    });
    await closeAllEditors();
  });

  it('a model file changed on disk: truncated → said over the graph; rewritten → reloaded; deleted → said', async () => {
    mkdirSync(workspacePath('faults'), { recursive: true });
    const rel = 'faults/changing.onnx';
    const file = workspacePath(rel);
    copyFileSync(workspacePath('samples/sample.onnx'), file);
    await closeAllEditors();
    await openFileFromExplorer(rel);
    const first = await outline();

    // Truncated: the graph stays, a notice says the file cannot be read now and why.
    const bytes = readFileSync(file);
    writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length / 3)));
    const truncated = await notice(/changing\.onnx changed on disk and cannot be read now: .+/);
    assert.match(truncated, /The graph shows the version read before\.$/);
    assert.equal((await outline()).nodeCount, first.nodeCount, 'the graph stays');
    await screenshot('fault-file-truncated');

    // Rewritten with another valid model: the graph reloads with the new content, the notice goes.
    copyFileSync(workspacePath('fixtures/onnx/resnet18.onnx'), file);
    const reloaded = await waitFor(
      async () => {
        const o = await outline();
        return o.nodeCount !== first.nodeCount ? o : undefined;
      },
      { timeoutMs: 60_000, message: 'the graph to reload with the rewritten model' },
    );
    assert.ok(Number(reloaded.residual) > 0, 'ResNet-18 has residual merges');
    await notice();

    // Deleted: said over the graph, which stays.
    rmSync(file);
    await notice(/changing\.onnx was deleted from disk\. The graph shows the version read before/);
    assert.equal((await outline()).nodeCount, reloaded.nodeCount);
    await closeAllEditors();
  });
});
