/**
 * Extension tests through the VS Code API: activation, contributed commands, and the custom editor
 * opened with vscode.openWith.
 */
import { strict as assert } from 'node:assert';
import * as vscode from 'vscode';

const EXTENSION_ID = 'skipscope.skipscope';
const VIEW_TYPE = 'skipscope.modelEditor';

/** The contributed command ids, read from the manifest so that the test follows package.json. */
function contributedCommands(ext: vscode.Extension<unknown>): string[] {
  const manifest = ext.packageJSON as { contributes?: { commands?: { command: string }[] } };
  return (manifest.contributes?.commands ?? []).map((c) => c.command);
}

/** Polls `fn` until it is true (VS Code opens editors asynchronously). */
async function until(fn: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}.`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('Skipscope extension (VS Code API)', () => {
  it('activates', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, `${EXTENSION_ID} is installed`);
    await ext.activate();
    assert.equal(ext.isActive, true);
  });

  it('registers every contributed command', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
    await ext.activate();
    const registered = new Set(await vscode.commands.getCommands(true));
    const contributed = contributedCommands(ext);
    assert.ok(contributed.includes('skipscope.showRuntimeInfo'));
    for (const id of contributed) assert.ok(registered.has(id), `${id} is registered`);
  });

  it('runs Show Runtime Info', async () => {
    await vscode.commands.executeCommand('skipscope.showRuntimeInfo');
  });

  it('opens samples/sample.onnx in the Skipscope editor with vscode.openWith', async () => {
    const folder = vscode.workspace.workspaceFolders?.[0];
    assert.ok(folder, 'the test workspace is open');
    const uri = vscode.Uri.joinPath(folder.uri, 'samples', 'sample.onnx');
    await vscode.commands.executeCommand('vscode.openWith', uri, VIEW_TYPE);
    const activeInput = () => vscode.window.tabGroups.activeTabGroup.activeTab?.input;
    await until(() => activeInput() instanceof vscode.TabInputCustom, 'the custom editor tab');
    const input = activeInput() as vscode.TabInputCustom;
    assert.equal(input.viewType, VIEW_TYPE);
    assert.equal(input.uri.toString(), uri.toString());
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });
});
