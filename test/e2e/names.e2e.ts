/**
 * Names are shown, not interpreted (E2E): the markup-name model (scripts/makeMarkupNames.ts,
 * written into the workspace here) opens in the model editor and its names — HTML, Markdown links
 * to command URIs, emphasis, bidi overrides, control characters, a 100,000-character name — show as
 * literal text in the graph labels, the outline, the skip list, the hover card, the ONNX text view
 * and its Markdown hovers; no element, handler, link or command comes from a name.
 */
import { strict as assert } from 'node:assert';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import type { Dialog, Frame } from 'playwright-core';
import { CARD_NAME_MAX, NAME_MAX, visibleName } from '../../runtime/view/displayName';
import { MARKUP_NAMES, markupNamesModel } from '../../scripts/makeMarkupNames';
import {
  activeWebviewFrame,
  closeAllEditors,
  getPage,
  goToPosition,
  hoverNode,
  hoverText,
  inPage,
  openFileFromExplorer,
  runCommand,
  screenshot,
  waitFor,
  workspacePath,
} from './harness';

/** Characters that must never be shown raw: bidi controls and C0 controls. */
// eslint-disable-next-line no-control-regex -- control characters are what this looks for
const RAW_HIDDEN = /[\u202a-\u202e\u2066-\u2069\u200e\u200f\u0000-\u001f]/;

/** Waits until the graph outline says the graph is drawn. */
async function graphReady(): Promise<Frame> {
  return waitFor(
    async () => {
      const frame = await activeWebviewFrame({ timeoutMs: 2000 });
      const state = await frame.evaluate(() => document.getElementById('outline')?.dataset.state);
      return state === 'ready' ? frame : undefined;
    },
    { timeoutMs: 60_000, message: 'the graph to be drawn' },
  );
}

/** Hovers node `name` in the graph; returns the card's text, its name cell and that cell's title. */
async function hoverCardOf(
  frame: Frame,
  name: string,
): Promise<{ text: string; cell: string; title: string }> {
  const card = await hoverNode(frame, name);
  const cell = card.locator('td').first();
  return {
    text: await card.innerText(),
    cell: (await cell.textContent()) ?? '',
    title: (await cell.getAttribute('title')) ?? '',
  };
}

describe('names shown as text (code-server)', function () {
  this.timeout(180_000);
  const rel = 'names/markup-names.onnx';
  const dialogs: string[] = [];
  const onDialog = (d: Dialog) => {
    dialogs.push(d.message());
    void d.dismiss();
  };

  before(() => {
    mkdirSync(workspacePath('names'), { recursive: true });
    writeFileSync(workspacePath(rel), markupNamesModel());
    getPage().on('dialog', onDialog);
  });
  after(async () => {
    getPage().off('dialog', onDialog);
    // Leave the workbench as the next file expects it: no editors, no generated model.
    await closeAllEditors();
    rmSync(workspacePath('names'), { recursive: true, force: true });
  });

  it('the graph, outline, skip list and hover card show the names as text', async () => {
    await closeAllEditors();
    await openFileFromExplorer(rel);
    const frame = await graphReady();
    await screenshot('names-graph');

    // Nothing a name holds became an element or a handler.
    const injected = await inPage<string[]>(
      frame,
      `[...document.querySelectorAll('img, [onerror], a[href*="command:"], b')].map((e) => e.outerHTML.slice(0, 120))`,
    );
    assert.deepEqual(injected, [], 'no element comes from a name');

    // Canvas labels: the output's name made visible, every label within the stated length.
    const labels = await inPage<string[]>(
      frame,
      'window.skipscopeView.scene.graph.items.map((i) => i.label)',
    );
    assert.ok(labels.includes(visibleName(MARKUP_NAMES.output)), `labels: ${labels.join(' | ')}`);
    for (const l of labels) {
      assert.doesNotMatch(l, RAW_HIDDEN, l);
      assert.ok(l.length <= NAME_MAX, `label of ${l.length} chars`);
    }

    // The outline (what a screen reader reads) lists each node by its literal name.
    const outline = await inPage<string[]>(
      frame,
      `[...document.querySelectorAll('#outline .outline-nodes button')].map((b) => b.textContent)`,
    );
    assert.ok(outline.includes(`MatMul ${MARKUP_NAMES.html}`), outline.join(' | '));
    assert.ok(outline.includes(`Relu ${MARKUP_NAMES.link}`), outline.join(' | '));
    assert.ok(outline.includes(`Add ${visibleName(MARKUP_NAMES.bidi)}`), outline.join(' | '));
    for (const o of outline) assert.doesNotMatch(o, RAW_HIDDEN);

    // The skip list names the bidi merge with its override made visible.
    const route = await frame.locator('.skip-list .skip-route').first().textContent();
    assert.ok(route?.includes('add\\u202Egnp.exe'), `skip route: ${route}`);

    // Hover cards: the link name as literal text, no link in the card.
    const link = await hoverCardOf(frame, MARKUP_NAMES.link);
    assert.equal(link.cell, MARKUP_NAMES.link);
    assert.equal(await inPage<number>(frame, `document.querySelectorAll('#hover-card a').length`), 0);
    // The 100,000-character name: shortened in the card, whole (visible) in the cell's tooltip.
    const long = await hoverCardOf(frame, MARKUP_NAMES.long);
    assert.equal(long.cell.length, CARD_NAME_MAX);
    assert.ok(long.cell.includes('…'));
    assert.doesNotMatch(long.cell, RAW_HIDDEN);
    assert.equal(long.title, visibleName(MARKUP_NAMES.long));
    await screenshot('names-hover-long');
    const control = await hoverCardOf(frame, MARKUP_NAMES.control);
    assert.equal(control.cell, 'ctrl\\u0000\\u0007\\u000A\\u0009name');
    assert.deepEqual(dialogs, [], 'no alert() ran');
  });

  it('the ONNX text view and its Markdown hovers show the names as text', async () => {
    await runCommand('Skipscope: Open as ONNX Text');
    const page = getPage();
    const view = page.locator('.monaco-editor .view-lines').first();
    const shown = async (what: string) =>
      waitFor(
        async () => {
          // Monaco shows spaces as non-breaking spaces in innerText; compare on ordinary ones.
          const t = (await view.innerText()).replace(/\u00a0/g, ' ');
          return t.includes(what) ? t : undefined;
        },
        { message: `the printed text to show ${what}` },
      );
    const top = await shown(`["${MARKUP_NAMES.link}"] h2 = Relu (h1)`);
    assert.ok(top.includes(`["${MARKUP_NAMES.html}"] h1 = MatMul (x, "**bold**")`), top.slice(0, 2000));
    assert.ok(top.includes('"y\\u202E\\u2066out"'));
    assert.doesNotMatch(top, /[\u202a-\u202e\u2066-\u2069]/);
    // Past the 100,000-character name (word-wrapped over many screens): the bidi-named merge.
    await goToPosition(11, 0);
    const later = await shown('["add\\u202Egnp.exe"] h4 = Add (h3, x)');
    assert.doesNotMatch(later, /[\u202a-\u202e\u2066-\u2069]/);

    // Line 9 (0-based) holds the link-named Relu; the name starts after `   ["`.
    await goToPosition(9, 6);
    await runCommand('Show or Focus Hover');
    const card = await hoverText(/FLOPs/);
    assert.ok(card.includes(MARKUP_NAMES.link), card);
    const links = await page
      .locator('.monaco-hover:not(.hidden) .monaco-hover-content a')
      .evaluateAll((as) => as.map((a) => a.getAttribute('href') ?? a.getAttribute('data-href') ?? ''));
    assert.deepEqual(
      links.filter((h) => h.includes('command:')),
      [],
      'no command link in the hover',
    );
    await screenshot('names-text-hover');
    assert.deepEqual(dialogs, [], 'no alert() ran');
  });
});
