/**
 * Text view E2E: a model opened as ONNX text is highlighted by the onnx-text grammar, hovering a
 * node name shows the graph's node card, go-to-definition jumps from a tensor's use to the line
 * that produces it, and a layer name in a TF.js model.json open as text has the same card.
 */
import { strict as assert } from 'node:assert';
import { copyFileSync, readFileSync } from 'node:fs';
import { openModelSync } from '../../runtime/analysis/openModel';
import { printModelIr } from '../../runtime/text/irPrinter';
import { printOnnxModel } from '../../runtime/text/onnxPrinter';
import {
  activeTabLabel,
  closeAllEditors,
  getPage,
  goToPosition,
  hoverText,
  openFileFromExplorer,
  openFileWithQuickOpen,
  runCommand,
  screenshot,
  statusBarTexts,
  waitFor,
  waitForWebviewSelector,
  workspacePath,
} from './harness';

describe('text view (code-server)', () => {
  const model = 'samples/sample.onnx';
  // The same printer the sidecar runs tells where the names land in the document.
  const lines = printOnnxModel(readFileSync(workspacePath(model)), { file: model }).text.split('\n');
  const addLine = lines.findIndex((l) => / = Add \(/.test(l));
  const addText = lines[addLine];

  it('opens the model editor as ONNX text, highlighted by the onnx-text grammar', async () => {
    await closeAllEditors();
    await openFileFromExplorer(model);
    await waitForWebviewSelector('text="sample.onnx"', { timeoutMs: 60_000 });
    await runCommand('Skipscope: Open as ONNX Text');
    await waitFor(async () => (await activeTabLabel()) === 'sample.onnx.onnxtxt', {
      message: 'the text tab',
    });
    const page = getPage();
    await waitFor(
      async () =>
        (await page.locator('.monaco-editor .view-lines').first().innerText()).includes('ir_version'),
      { timeoutMs: 60_000, message: 'the printed header' },
    );
    assert.ok((await statusBarTexts()).includes('ONNX Text'), 'the language mode is ONNX Text');
    // The grammar gives the op its scope: ask VS Code's own token inspector at the op name.
    await goToPosition(addLine, addText.indexOf('= Add') + 3);
    await runCommand('Developer: Inspect Editor Tokens and Scopes');
    const inspector = page.locator('.token-inspect-widget');
    const scopes = await waitFor(
      async () => {
        const t = await inspector.innerText();
        return t.includes('onnx-text') ? t : undefined;
      },
      { message: 'the token inspector' },
    );
    assert.match(scopes, /entity\.name\.function\.op\.onnx-text/);
    await screenshot('text-view-tokens');
    await page.keyboard.press('Escape');
    // Highlighted, not plain: the rendered node line carries several distinct token colours.
    const classes = await page
      .locator('.monaco-editor .view-line span span')
      .evaluateAll((els) => [...new Set(els.map((e) => e.className))]);
    assert.ok(classes.length >= 5, `token classes: ${classes.join(' ')}`);
  });

  it('hovering a node name shows its card with the skip role', async () => {
    await goToPosition(addLine, addText.indexOf('[') + 3);
    await runCommand('Show or Focus Hover');
    const text = await hoverText(/FLOPs/);
    assert.match(text, /Add/);
    assert.match(text, /residual skip/i);
    await screenshot('text-view-hover');
    await getPage().keyboard.press('Escape');
  });

  it('go to definition jumps from a tensor use to the line that produces it', async () => {
    const use = /= Add \("([^"]+)"/.exec(addText)?.[1];
    assert.ok(use);
    const defLine = lines.findIndex((l) => l.includes(`] "${use}" = `));
    assert.ok(defLine >= 0 && defLine < addLine);
    await goToPosition(addLine, addText.indexOf(`"${use}"`) + 2);
    await getPage().keyboard.press('F12');
    await waitFor(async () => (await statusBarTexts()).some((t) => t.startsWith(`Ln ${defLine + 1},`)), {
      message: `the cursor on line ${defLine + 1}`,
    });
  });

  it('peeks every reference of a tensor: where it is made and each node that reads it', async () => {
    const use = /= Add \("[^"]+", "([^"]+)"/.exec(addText)?.[1];
    assert.ok(use, 'the Add reads a second tensor');
    // Every quoted occurrence in the text: its definition, each reader, its value_info annotation.
    const expected = lines.join('\n').split(`"${use}"`).length - 1;
    assert.ok(expected >= 3);
    await goToPosition(addLine, addText.lastIndexOf(`"${use}"`) + 2);
    await getPage().keyboard.press('Shift+F12');
    const title = getPage().locator('.peekview-widget .peekview-title');
    const text = await waitFor(
      async () => {
        const t = (await title.allInnerTexts()).join(' ');
        return /References \(\d+\)|\d+ references?/.test(t) ? t : undefined;
      },
      { message: 'the references peek' },
    );
    // Its definition, each reader, and its value_info annotation when the graph has one.
    const m = /References \((\d+)\)|(\d+) references?/.exec(text)!;
    assert.equal(Number(m[1] ?? m[2]), expected, text);
    await screenshot('text-view-references');
    await getPage().keyboard.press('Escape');
  });

  it('prints the model again when its file changes on disk', async () => {
    const copy = workspacePath('samples/rewritten.onnx');
    copyFileSync(workspacePath(model), copy);
    await closeAllEditors();
    // The Explorer, not Quick Open: a file created a moment ago may not be in its index yet.
    await openFileFromExplorer('samples/rewritten.onnx');
    await waitForWebviewSelector('text="rewritten.onnx"', { timeoutMs: 60_000 });
    await runCommand('Skipscope: Open as ONNX Text');
    const view = getPage().locator('.monaco-editor .view-lines').first();
    await waitFor(async () => (await view.innerText()).includes('/block1/Add'), {
      message: 'the sample printed',
    });
    // A different model written over the file: the open text follows it.
    copyFileSync(workspacePath('fixtures/onnx/squeezenet.onnx'), copy);
    const squeeze = printOnnxModel(readFileSync(copy), { file: copy }).text.split('\n');
    // A node name the sample does not have, so that seeing it proves the text was printed again.
    const names = squeeze.map((l) => /^ {3}\["([^"]+)"\]/.exec(l)?.[1]).filter((n): n is string => !!n);
    const marker = names.find((n) => !lines.some((l) => l.includes(`"${n}"`)));
    assert.ok(marker, 'a node name only the new model has');
    await waitFor(async () => (await view.innerText()).includes(marker!), {
      timeoutMs: 60_000,
      message: 'the new model printed',
    });
  });

  it('hovering a node name in a TF.js graph model.json shows the same card', async () => {
    const file = 'fixtures/tfjs-graph/blazeface/blazeface.json';
    const json = readFileSync(workspacePath(file), 'utf8').split('\n');
    const nameLine = json.findIndex((l) => /"op"\s*:\s*"_FusedConv2D"/.test(l));
    assert.ok(nameLine >= 0, 'a fused conv node in the fixture');
    const name = /"name"\s*:\s*"([^"]+)"/.exec(json[nameLine])![1];
    await closeAllEditors();
    await openFileWithQuickOpen(file);
    await goToPosition(nameLine, json[nameLine].indexOf(`"${name}"`) + 2);
    // Asked again while it has not come: a hover asked for before the JSON document was ready
    // (the machine busy with the tests before) shows JSON's alone, or nothing, and is not redone.
    let text: string | undefined;
    for (let attempt = 1; !text; attempt++) {
      await runCommand('Show or Focus Hover');
      try {
        text = await hoverText(/FLOPs/, { timeoutMs: 15_000 });
      } catch (e) {
        if (attempt === 4) throw e;
        await getPage().keyboard.press('Escape');
      }
    }
    assert.match(text, /Conv2D/);
    await screenshot('text-view-json-hover');
    await getPage().keyboard.press('Escape');
  });

  it('opens a TF.js layers model.json as ONNX-style text, with node-card hovers', async () => {
    const file = 'fixtures/tfjs-layers/resnet/model.json';
    await closeAllEditors();
    await openFileWithQuickOpen(file);
    await runCommand('Skipscope: Open as ONNX Text');
    await waitFor(async () => (await activeTabLabel()) === 'model.json.onnxtxt', { message: 'the text tab' });
    const view = getPage().locator('.monaco-editor .view-lines').first();
    // Monaco renders spaces as no-break spaces.
    await waitFor(
      async () => (await view.innerText()).replace(/\u00a0/g, ' ').includes('format: "tfjs-layers"'),
      {
        timeoutMs: 60_000,
        message: 'the printed header',
      },
    );
    const text = printModelIr(openModelSync(workspacePath(file))).text.split('\n');
    const addLine = text.findIndex((l) => / = Add /.test(l));
    await goToPosition(addLine, text[addLine].indexOf('[') + 2);
    await runCommand('Show or Focus Hover');
    assert.match(await hoverText(/FLOPs/), /residual skip/i);
    await screenshot('text-view-tfjs');
    await getPage().keyboard.press('Escape');
  });
});
