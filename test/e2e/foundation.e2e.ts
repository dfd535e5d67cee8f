/**
 * Foundation E2E tests: the custom editor opens from the Explorer, and a Skipscope command runs
 * from the command palette.
 */
import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import {
  clearNotifications,
  closeAllEditors,
  getPage,
  openFileFromExplorer,
  runCommand,
  screenshot,
  waitForNotification,
  waitForWebviewSelector,
  workspacePath,
} from './harness';

describe('foundation (code-server)', () => {
  it('opens samples/sample.onnx in the Skipscope editor from the Explorer', async () => {
    assert.ok(existsSync(workspacePath('samples/sample.onnx')), 'samples/sample.onnx is committed');
    await closeAllEditors();
    await openFileFromExplorer('samples/sample.onnx');
    const title = await waitForWebviewSelector('h2.file-name', { timeoutMs: 60_000 });
    assert.equal((await title.textContent())?.trim(), 'sample.onnx');
    // The tab belongs to the custom editor, not to the binary-file text editor.
    const tab = getPage().locator('.tabs-container .tab.active');
    assert.match((await tab.getAttribute('aria-label')) ?? '', /sample\.onnx/);
    assert.equal(await getPage().locator('.monaco-editor .view-lines').count(), 0, 'no text editor is shown');
    await screenshot('foundation-sample-editor');
  });

  it('runs "Skipscope: Show Runtime Info" from the command palette', async () => {
    await clearNotifications();
    await runCommand('Skipscope: Show Runtime Info');
    const text = await waitForNotification(/^Skipscope \d+\.\d+\.\d+ on Node /, { timeoutMs: 60_000 });
    assert.match(text, /backends .*wasm/);
    await screenshot('foundation-runtime-info');
  });
});
