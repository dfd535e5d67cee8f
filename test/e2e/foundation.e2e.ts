/**
 * Foundation E2E tests: the custom editor opens from the Explorer, and a Skipscope command runs
 * from the command palette.
 */
import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import {
  activeTabLabel,
  clearNotifications,
  closeAllEditors,
  getPage,
  openFileFromExplorer,
  openFileWithQuickOpen,
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
    // The webview names the file it shows (an element whose whole text is the file name).
    await waitForWebviewSelector('text="sample.onnx"', { timeoutMs: 60_000 });
    assert.equal(await activeTabLabel(), 'sample.onnx');
    // The custom editor, not the text editor that would show the binary file:
    assert.equal(await getPage().locator('.monaco-editor .view-lines').count(), 0, 'no text editor is shown');
    await screenshot('foundation-sample-editor');
  });

  it('opens a model with its Skipscope editor through Quick Open', async () => {
    await closeAllEditors();
    await openFileWithQuickOpen('samples/sample.onnx');
    await waitForWebviewSelector('text="sample.onnx"', { timeoutMs: 60_000 });
    assert.equal(await activeTabLabel(), 'sample.onnx');
  });

  it('runs "Skipscope: Show Runtime Info" from the command palette', async () => {
    await clearNotifications();
    await runCommand('Skipscope: Show Runtime Info');
    const text = await waitForNotification(/^Skipscope \d+\.\d+\.\d+ on Node /, { timeoutMs: 60_000 });
    assert.match(text, /backends .*wasm/);
    assert.match(text, /\d+ cores/);
    await screenshot('foundation-runtime-info');
  });
});
