/**
 * End-to-end harness: helpers for tests that drive a real VS Code (code-server) in Chromium.
 *
 * `npm run test:e2e` (test/e2e/run.mjs) installs and starts code-server with this extension and a
 * fresh copy of the workspace (samples/ and test/fixtures/ as fixtures/), then runs mocha on
 * test/e2e/**\/*.e2e.ts with this module as a root-hook plugin: Chromium is launched once, the
 * workbench page is shared by every test file (it is ready once the Explorer follows files written to
 * the workspace, so tests may create files), and a failing test leaves a screenshot
 * `test-output/e2e/FAILED-<test title>.png`.
 *
 * Stable API (every helper works on the shared page; timeouts are in milliseconds):
 *   getPage(): Page                               the workbench page (playwright-core)
 *   workspacePath(...parts): string               absolute path inside the workspace copy
 *   openFileFromExplorer('samples/sample.onnx')   clicks each folder, then the file, in the Explorer
 *   openFileWithQuickOpen('fixtures/onnx/x.onnx') opens a file through Ctrl+P (default editor)
 *   activeTabLabel(): Promise<string | undefined> label of the active editor tab
 *   statusBarTexts(): Promise<string[]>           texts of the status bar items
 *   runCommand('Skipscope: Show Runtime Info')    runs a command by its full palette title
 *   startCommand(title)                           starts it, leaving its questions open
 *   answerQuickInput('(2/5)', '4')                answers the quick input whose title has '(2/5)'
 *   analyzeWithQuickPicks({ batch: 4 })           Analyze Gradient Flow with its five questions answered
 *   chooseFolderInDialog('/abs/dir')              picks a folder in VS Code's own folder dialog
 *   closeAllEditors()                             closes every editor (start each test with it)
 *   activeWebviewFrame(): Promise<Frame>          inner frame (#active-frame) of the visible webview
 *   waitForWebviewSelector(sel): Promise<Locator> waits until `sel` is visible in that frame
 *                                                 (playwright selectors: CSS, or 'text="exact"')
 *   goToPosition(line, char)                      moves the text editor's cursor (0-based) by Go to Line
 *   hoverText(re): Promise<string>                the editor hover's text once it matches re
 *   inPage(frame, expr): Promise<T>               evaluates source text `expr` in the webview page
 *   hoverNode(frame, name): Promise<Locator>      hovers a graph node; its hover card once shown
 *   readNotifications(): Promise<string[]>        texts of the notifications on screen
 *   waitForNotification(text | RegExp): Promise<string>   the first notification that matches
 *   clearNotifications()                          dismisses every notification
 *   screenshot(name, sel?): Promise<string>       saves test-output/e2e/<name>.png (cropped to sel), returns its path
 *   extensionLog(): string                        the extension's output-channel log so far
 *   waitFor(fn, { timeoutMs, message })           polls fn until it returns a value other than
 *                                                 undefined/false (no fixed sleeps anywhere)
 *
 * Example:
 *   await closeAllEditors();
 *   await openFileFromExplorer('samples/sample.onnx');
 *   await waitForWebviewSelector('text="sample.onnx"');
 *   assert.equal(await activeTabLabel(), 'sample.onnx');
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Frame, type Locator, type Page } from 'playwright-core';

/** Options shared by the waiting helpers. */
export interface WaitOptions {
  /** Give up after this many milliseconds (default 30 000). */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT = 30_000;
const outputDir = resolve(process.env.SKIPSCOPE_E2E_OUTPUT ?? 'test-output/e2e');
let browser: Browser | undefined;
let sharedPage: Page | undefined;

function requiredEnv(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the E2E suite with "npm run test:e2e".`);
  return v;
}

/** The workbench page shared by every E2E test. */
export function getPage(): Page {
  if (!sharedPage)
    throw new Error('The E2E page is not open: load test/e2e/harness.ts as a mocha --require.');
  return sharedPage;
}

/**
 * The extension's log so far (its "Skipscope" output channel, as VS Code writes it to the
 * user-data folder): lines "YYYY-MM-DD HH:MM:SS.mmm [level] message". Empty before the first line.
 */
export function extensionLog(): string {
  const logs = join(requiredEnv('SKIPSCOPE_E2E_USER_DATA'), 'logs');
  return (existsSync(logs) ? readdirSync(logs) : [])
    .map((session) => join(logs, session, 'exthost1/skipscope.skipscope/Skipscope.log'))
    .filter((f) => existsSync(f))
    .map((f) => readFileSync(f, 'utf8'))
    .join('');
}

/** Absolute path of `parts` inside the workspace folder code-server has open. */
export function workspacePath(...parts: string[]): string {
  return join(requiredEnv('SKIPSCOPE_E2E_WORKSPACE'), ...parts);
}

/**
 * Polls `fn` (every 100 ms) until it returns something other than undefined or false, and returns
 * that. Errors thrown by `fn` count as "not yet"; the last one is reported on timeout.
 */
export async function waitFor<T>(
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  opts: WaitOptions & { message?: string } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? DEFAULT_TIMEOUT);
  let lastError: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message.split('\n')[0]})` : '';
      throw new Error(
        `Timed out after ${opts.timeoutMs ?? DEFAULT_TIMEOUT} ms: ${opts.message ?? 'condition'}${why}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Saves a screenshot to test-output/e2e/<name>.png and returns the path: of the whole workbench, or
 * cropped to the element `selector` picks (e.g. '.part.editor', the editor area).
 */
export async function screenshot(name: string, selector?: string): Promise<string> {
  mkdirSync(outputDir, { recursive: true });
  const file = join(outputDir, `${name.replace(/[^\w.-]+/g, '_')}.png`);
  if (selector) await getPage().locator(selector).first().screenshot({ path: file });
  else await getPage().screenshot({ path: file });
  return file;
}

/**
 * Opens the command palette and starts the command titled `title`, without waiting for the quick
 * input to close: for commands that go on to ask questions (answer them with answerQuickInput).
 */
export async function startCommand(title: string, opts: WaitOptions = {}): Promise<void> {
  const page = getPage();
  const input = page.locator('.quick-input-widget .quick-input-box input');
  const rows = page.locator('.quick-input-list .monaco-list-row');
  // The palette filters once per keystroke: a command contributed by an extension that was still
  // being registered shows up only when the palette is opened again, so each try reopens it.
  await waitFor(
    async () => {
      if (await input.isVisible()) await page.keyboard.press('Escape');
      await page.keyboard.press('Control+Shift+P');
      await input.waitFor({ state: 'visible', timeout: 2000 });
      await input.fill(`>${title}`);
      // Pick the row whose label is exactly the title: a prefix of a longer title must not match.
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
      // By keyboard from the input, which has the focus: the first row is the active one, the
      // arrows move down to the one found. (A click on the row timed out now and then after
      // earlier tests, with the row in plain view.) If the list re-sorted meanwhile, the editor
      // that opens is checked by the caller's next step.
      for (let k = 0; k < index; k++) await input.press('ArrowDown');
      await input.press('Enter');
      return true;
    },
    { timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT, message: `command "${title}" in the command palette` },
  );
}

/** Runs a command from the command palette by its full title, e.g. "Skipscope: Show Runtime Info". */
export async function runCommand(title: string, opts: WaitOptions = {}): Promise<void> {
  await startCommand(title, opts);
  await quickInputClosed(`running "${title}"`, opts.timeoutMs ?? DEFAULT_TIMEOUT);
}

/** The title of the quick input on screen ('' when none). */
async function quickInputTitle(): Promise<string> {
  const title = getPage().locator('.quick-input-widget .quick-input-title');
  return (await title.isVisible()) ? ((await title.textContent()) ?? '').trim() : '';
}

/**
 * Answers the quick input (a pick list or an input box) whose title contains `step` with `text`:
 * the text is typed, a pick list is left to filter down to it, and Enter accepts. Waits until the
 * input has moved on (closed, or shows another title), so calls can follow one another.
 */
export async function answerQuickInput(step: string, text: string, opts: WaitOptions = {}): Promise<void> {
  const page = getPage();
  const input = page.locator('.quick-input-widget .quick-input-box input');
  const list = page.locator('.quick-input-widget .quick-input-list');
  const rows = list.locator('.monaco-list-row');
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT;
  await waitFor(async () => (await quickInputTitle()).includes(step), {
    timeoutMs,
    message: `the quick input "${step}"`,
  });
  const title = await quickInputTitle();
  await input.fill(text);
  // A pick list filters as we type: its first row must be the one named by `text` before Enter.
  await waitFor(
    async () => {
      if (!(await list.isVisible())) return true;
      const first = await rows
        .evaluateAll((els) => {
          const top = els.sort((a, b) => Number(a.dataset.index) - Number(b.dataset.index))[0];
          return (top?.querySelector('.label-name')?.textContent ?? '').trim();
        })
        .catch(() => '');
      return first.toLowerCase().startsWith(text.toLowerCase());
    },
    { timeoutMs, message: `"${text}" to be the first choice of "${title}"` },
  );
  await page.keyboard.press('Enter');
  await waitFor(async () => (await quickInputTitle()) !== title, {
    timeoutMs,
    message: `"${title}" to accept "${text}"`,
  });
}

/**
 * Chooses folder `dir` (absolute) in the folder dialog on screen: VS Code's own quick-input dialog
 * in code-server. Enter on a typed path first navigates into the folder; the dialog accepts it on a
 * later Enter, so the path is (re)typed and Enter pressed until the dialog closes.
 */
export async function chooseFolderInDialog(dir: string, opts: WaitOptions = {}): Promise<void> {
  const page = getPage();
  const input = page.locator('.quick-input-widget .quick-input-box input');
  const target = dir.endsWith('/') ? dir : `${dir}/`;
  await input.waitFor({ state: 'visible', timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT });
  await waitFor(
    async () => {
      if (!(await input.isVisible())) return true;
      if ((await input.inputValue()) !== target) {
        await input.fill(target);
        return false;
      }
      await page.keyboard.press('Enter');
      await input.waitFor({ state: 'hidden', timeout: 2000 });
      return true;
    },
    { timeoutMs: opts.timeoutMs, message: `the folder dialog to accept ${dir}` },
  );
}

/** Settings of a gradient probe as the run setup's quick picks ask for them (see analyzeWithQuickPicks). */
export interface QuickPickRun {
  source?: string;
  batch?: number;
  batches?: number;
  loss?: string;
  backend?: string;
}

/**
 * Runs "Skipscope: Analyze Gradient Flow" on the active model and answers its five questions
 * (defaults: synthetic batches, 2 × 2 samples, mean-square, wasm). Returns once the last is accepted.
 */
export async function analyzeWithQuickPicks(run: QuickPickRun = {}, opts: WaitOptions = {}): Promise<void> {
  // The first question comes once the sidecar has opened the model: allow for a cold start.
  await startCommand('Skipscope: Analyze Gradient Flow', opts);
  await answerQuickInput('(1/5)', run.source ?? 'Synthetic', { timeoutMs: opts.timeoutMs ?? 60_000 });
  await answerQuickInput('(2/5)', String(run.batch ?? 2), opts);
  await answerQuickInput('(3/5)', String(run.batches ?? 2), opts);
  await answerQuickInput('(4/5)', run.loss ?? 'mean-square', opts);
  await answerQuickInput('(5/5)', run.backend ?? 'wasm', opts);
}

/** Waits for the quick input to close; if it stays open, says what it now asks for. */
async function quickInputClosed(after: string, timeout: number): Promise<void> {
  const page = getPage();
  const input = page.locator('.quick-input-widget .quick-input-box input');
  try {
    await input.waitFor({ state: 'hidden', timeout });
  } catch {
    const title =
      (await page
        .locator('.quick-input-widget .quick-input-title')
        .textContent()
        .catch(() => '')) ?? '';
    const value = await input.inputValue().catch(() => '');
    const placeholder = (await input.getAttribute('placeholder').catch(() => '')) ?? '';
    throw new Error(
      `The quick input is still open ${timeout} ms after ${after}: it now shows` +
        ` title "${title.trim()}", value "${value}", placeholder "${placeholder}" (did the command ask for input?)`,
    );
  }
}

/** Closes every open editor. */
export async function closeAllEditors(opts: WaitOptions = {}): Promise<void> {
  await runCommand('View: Close All Editors', opts);
  await waitFor(async () => (await getPage().locator('.tabs-container .tab').count()) === 0, {
    timeoutMs: opts.timeoutMs,
    message: 'all editors to close',
  });
}

/** Quotes a string for a CSS attribute selector. */
function cssString(s: string): string {
  return JSON.stringify(s);
}

/**
 * Finds a visible Explorer row, scrolling the tree when the row is outside the rendered window (the
 * tree is virtualized: rows far from the viewport are not in the DOM).
 */
async function explorerRow(
  level: number,
  name: string,
  timeout: number,
  parentIndex = -1,
): Promise<{ row: Locator; index: number }> {
  const page = getPage();
  const tree = page.locator('.explorer-folders-view');
  const rows = tree.locator(`.monaco-list-row[aria-level="${level}"][aria-label=${cssString(name)}]`);
  let index = -1;
  let direction = 1;
  let lastTop = -1;
  await waitFor(
    async () => {
      // Rows with the same name can sit in several expanded folders, and the virtual list keeps
      // its rows in any DOM order: take the first one listed after the parent folder's row.
      const indices = await rows.evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-index'))));
      const after = indices.filter((i) => i > parentIndex).sort((a, b) => a - b);
      if (after.length) {
        index = after[0];
        const row = tree.locator(`.monaco-list-row[data-index="${index}"][aria-label=${cssString(name)}]`);
        if (await row.isVisible()) return true;
      }
      const box = await tree.boundingBox();
      if (!box) return false;
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      await page.mouse.wheel(0, direction * box.height * 0.6);
      const top = await tree
        .locator('.monaco-scrollable-element')
        .first()
        .evaluate((e) => e.scrollTop);
      if (top === lastTop) direction = -direction; // hit an end: sweep back the other way
      lastTop = top;
      return false;
    },
    { timeoutMs: timeout, message: `Explorer row "${name}" (level ${level})` },
  );
  return {
    row: tree.locator(`.monaco-list-row[data-index="${index}"][aria-label=${cssString(name)}]`),
    index,
  };
}

/**
 * Opens `relPath` (relative to the workspace, "/"-separated) by clicking it in the Explorer,
 * expanding each folder on the way; a single click opens the file's default editor.
 */
export async function openFileFromExplorer(relPath: string, opts: WaitOptions = {}): Promise<void> {
  const page = getPage();
  const timeout = opts.timeoutMs ?? DEFAULT_TIMEOUT;
  const tree = page.locator('.explorer-folders-view');
  if (!(await tree.isVisible())) await runCommand('View: Show Explorer', opts);
  await tree.waitFor({ state: 'visible', timeout });
  const parts = relPath.split('/').filter(Boolean);
  let parentIndex = -1;
  for (let i = 0; i < parts.length; i++) {
    const isFolder = i < parts.length - 1;
    if (!isFolder) {
      await waitFor(
        async () => {
          const { row } = await explorerRow(i + 1, parts[i], 5000, parentIndex);
          await row.click({ timeout: 2000 });
          return true;
        },
        { timeoutMs: timeout, message: `Explorer row ${relPath} to click` },
      );
      break;
    }
    // The tree can change under us (a folder an earlier test made and removed, say), and a row's
    // data-index with it: each try finds the folder's row afresh, clicks it only if it is
    // collapsed, and is done once it is expanded with its first child drawn in the row after it
    // (only then are the row indices below it, which explorerRow matches on, up to date).
    parentIndex = await waitFor(
      async () => {
        const { row, index } = await explorerRow(i + 1, parts[i], 5000, parentIndex);
        const expanded = (await row.getAttribute('aria-expanded', { timeout: 1000 })) === 'true';
        if (!expanded) {
          await row.click({ timeout: 2000 });
          // Give the click time to show before the next try reads the row again (a second click
          // on a row already expanding would collapse it).
          await waitFor(async () => (await row.getAttribute('aria-expanded', { timeout: 500 })) === 'true', {
            timeoutMs: 3000,
          }).catch(() => undefined);
          return undefined;
        }
        const firstChild = tree.locator(`.monaco-list-row[data-index="${index + 1}"][aria-level="${i + 2}"]`);
        return (await firstChild.count()) > 0 ? index : undefined;
      },
      { timeoutMs: timeout, message: `folder ${parts.slice(0, i + 1).join('/')} to expand` },
    );
  }
}

/** Opens `relPath` (relative to the workspace) through Quick Open (Ctrl+P), with its default editor. */
export async function openFileWithQuickOpen(relPath: string, opts: WaitOptions = {}): Promise<void> {
  const page = getPage();
  const timeout = opts.timeoutMs ?? DEFAULT_TIMEOUT;
  const input = page.locator('.quick-input-widget .quick-input-box input');
  const name = relPath.split('/').pop() ?? relPath;
  const rows = page.locator('.quick-input-list .monaco-list-row');
  await waitFor(
    async () => {
      if (await input.isVisible()) await page.keyboard.press('Escape');
      await page.keyboard.press('Control+P');
      await input.waitFor({ state: 'visible', timeout: 2000 });
      await input.fill(relPath);
      // Each row shows the file name and, dimmed, its folder: match both.
      const folder = relPath.includes('/') ? relPath.slice(0, relPath.lastIndexOf('/')) : '';
      const read = () =>
        rows.evaluateAll((els) =>
          els.map((e) => [
            (e.querySelector('.label-name')?.textContent ?? '').trim(),
            (e.querySelector('.label-description')?.textContent ?? '').trim(),
          ]),
        );
      const wanted = ([n, d]: string[]) => n === name && (folder === '' || d.endsWith(folder));
      // The list fills in as results arrive: act on it once two reads 200 ms apart agree.
      const index = await waitFor(
        async () => {
          const first = JSON.stringify(await read());
          await page.waitForTimeout(200);
          const found = await read();
          if (JSON.stringify(found) !== first) return undefined;
          const i = found.findIndex(wanted);
          return i >= 0 ? i : undefined;
        },
        { timeoutMs: 3000 },
      );
      // By keyboard from the input, which has the focus (a click on the row timed out now and then
      // after earlier tests, with the row in plain view): the arrows move to the row found, and
      // Enter opens it only if it is still the focused one; otherwise the whole try starts again.
      for (let k = 0; k < index; k++) await input.press('ArrowDown');
      const focused = await page
        .locator('.quick-input-list .monaco-list-row.focused')
        .evaluateAll((els) =>
          els.map((e) => [
            (e.querySelector('.label-name')?.textContent ?? '').trim(),
            (e.querySelector('.label-description')?.textContent ?? '').trim(),
          ]),
        );
      if (focused.length !== 1 || !wanted(focused[0]))
        throw new Error(`the focused row is ${JSON.stringify(focused)}`);
      await input.press('Enter');
      return true;
    },
    { timeoutMs: timeout, message: `"${relPath}" in Quick Open` },
  );
  await quickInputClosed(`opening "${relPath}"`, timeout);
}

/** The label of the active editor tab (e.g. "sample.onnx"), or undefined when no editor is open. */
export async function activeTabLabel(): Promise<string | undefined> {
  const tab = getPage().locator('.tabs-container .tab.active .label-name').first();
  return (await tab.count()) ? ((await tab.textContent()) ?? '').trim() : undefined;
}

/** Texts of the status bar items, left to right. */
export async function statusBarTexts(): Promise<string[]> {
  const texts = await getPage().locator('.statusbar-item').allInnerTexts();
  return texts.map((t) => t.trim()).filter(Boolean);
}

/** The inner frame (`#active-frame`) of the visible webview, once its document has a body. */
export async function activeWebviewFrame(opts: WaitOptions = {}): Promise<Frame> {
  const page = getPage();
  return waitFor(
    async () => {
      // VS Code nests two iframes: the outer host (iframe.webview) and the page itself (#active-frame).
      for (const outer of await page.locator('iframe.webview.ready').elementHandles()) {
        if (!(await outer.isVisible())) continue;
        const host = await outer.contentFrame();
        const inner = await (await host?.$('iframe#active-frame'))?.contentFrame();
        if (inner && (await inner.$('body'))) return inner;
      }
      return undefined;
    },
    { timeoutMs: opts.timeoutMs, message: 'a visible webview' },
  );
}

/** Waits until `selector` is visible in the active webview and returns a locator for it. */
export async function waitForWebviewSelector(selector: string, opts: WaitOptions = {}): Promise<Locator> {
  return waitFor(
    async () => {
      // The frame is looked up again on each try: VS Code replaces it while the webview loads.
      const frame = await activeWebviewFrame({ timeoutMs: 2000 });
      const loc = frame.locator(selector).first();
      await loc.waitFor({ state: 'visible', timeout: 1000 });
      return loc;
    },
    { timeoutMs: opts.timeoutMs, message: `"${selector}" in the active webview` },
  );
}

/** Puts the cursor at 0-based (line, character) of the active text editor with Go to Line/Column. */
export async function goToPosition(line: number, character: number): Promise<void> {
  const page = getPage();
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await page.locator('.monaco-editor .view-lines').first().click();
  await page.keyboard.press('Control+G');
  await input.waitFor({ state: 'visible' });
  await input.fill(`:${line + 1}:${character + 1}`);
  await page.keyboard.press('Enter');
  await input.waitFor({ state: 'hidden' });
  await waitFor(async () => (await statusBarTexts()).includes(`Ln ${line + 1}, Col ${character + 1}`), {
    message: `the cursor at ${line + 1}:${character + 1}`,
  });
}

/** The text of the editor's hover widget once it shows something matching `match`. */
export async function hoverText(match: RegExp, opts: WaitOptions = {}): Promise<string> {
  const hover = getPage().locator('.monaco-hover:not(.hidden) .monaco-hover-content');
  return waitFor(
    async () => {
      const text = (await hover.allInnerTexts()).join('\n');
      return match.test(text) ? text : undefined;
    },
    { timeoutMs: opts.timeoutMs ?? 60_000, message: `a hover matching ${String(match)}` },
  );
}

/** Runs `expr` in the webview page (as source text: the page has no test helpers). */
export async function inPage<T>(frame: Frame, expr: string): Promise<T> {
  return frame.evaluate(expr) as Promise<T>;
}

/** Hovers the node called `name` in the graph (revealed first) and returns its hover card, once shown. */
export async function hoverNode(frame: Frame, name: string, opts: WaitOptions = {}): Promise<Locator> {
  const n = JSON.stringify(name);
  await inPage(frame, `window.skipscopeView.revealByName(${n})`);
  const point = await waitFor(
    () =>
      inPage<{ x: number; y: number } | null>(frame, `window.skipscopeView.pointOfNode(${n}) ?? null`).then(
        (p) => p ?? undefined,
      ),
    opts,
  );
  await frame.locator('#graph').hover({ position: point });
  // Compared in the page, not by a CSS attribute selector: names may hold control characters and run
  // to 100,000 characters.
  await waitFor(
    () =>
      inPage<boolean>(
        frame,
        `(() => { const c = document.getElementById('hover-card'); return !!c && !c.hidden && c.dataset.node === ${n}; })()`,
      ),
    { ...opts, message: `the hover card of ${name.slice(0, 40)}` },
  );
  return frame.locator('#hover-card');
}

/** Texts of the notifications currently shown (toasts and the notification center). */
export async function readNotifications(): Promise<string[]> {
  const texts = await getPage().locator('.notification-list-item-message').allTextContents();
  return texts.map((t) => t.trim()).filter(Boolean);
}

/** Waits for a notification whose text contains `match` (or matches the RegExp) and returns it. */
export async function waitForNotification(match: string | RegExp, opts: WaitOptions = {}): Promise<string> {
  const hit = (t: string) => (typeof match === 'string' ? t.includes(match) : match.test(t));
  return waitFor(async () => (await readNotifications()).find(hit), {
    timeoutMs: opts.timeoutMs,
    message: `a notification matching ${String(match)}`,
  });
}

/** Dismisses every notification. */
export async function clearNotifications(opts: WaitOptions = {}): Promise<void> {
  if ((await readNotifications()).length === 0) return;
  await runCommand('Notifications: Clear All Notifications', opts);
  await waitFor(async () => (await readNotifications()).length === 0, {
    timeoutMs: opts.timeoutMs,
    message: 'notifications to clear',
  });
}

/** Launches Chromium and opens the workbench; resolves once the Explorer shows the workspace. */
async function openWorkbench(): Promise<void> {
  const url = requiredEnv('SKIPSCOPE_E2E_URL');
  browser = await chromium.launch({
    executablePath: process.env.SKIPSCOPE_E2E_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  sharedPage = await context.newPage();
  await sharedPage.goto(url);
  await sharedPage.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 120_000 });
  await sharedPage
    .locator('.explorer-folders-view .monaco-list-row')
    .first()
    .waitFor({ state: 'visible', timeout: 120_000 });
  await waitForFileWatcher();
}

/**
 * Waits until the Explorer follows the disk: the server starts its file watcher a few seconds
 * after the workbench shows, and a file a test writes before that never appears. Each try writes a
 * probe file under a new name (a delete and re-create of one name would coalesce into a change)
 * until one shows in the Explorer; the probes are removed afterwards.
 */
async function waitForFileWatcher(): Promise<void> {
  const rows = getPage().locator('.explorer-folders-view .monaco-list-row[aria-label^="e2e-watcher-probe-"]');
  const written: string[] = [];
  await waitFor(
    async () => {
      const probe = workspacePath(`e2e-watcher-probe-${written.length}.txt`);
      writeFileSync(probe, 'probe\n');
      written.push(probe);
      await rows.first().waitFor({ state: 'attached', timeout: 1500 });
      return true;
    },
    { timeoutMs: 120_000, message: 'the Explorer to show a file written to the workspace' },
  );
  for (const f of written) rmSync(f, { force: true });
  await waitFor(async () => (await rows.count()) === 0, {
    message: 'the watcher probes to leave the Explorer',
  });
}

/** Mocha root hooks: one browser for the whole run, a screenshot for every failed test. */
export const mochaHooks = {
  async beforeAll(this: Mocha.Context): Promise<void> {
    this.timeout(180_000);
    await openWorkbench();
  },
  async afterEach(this: Mocha.Context): Promise<void> {
    const test = this.currentTest;
    if (test?.state === 'failed' && sharedPage) {
      const file = await screenshot(`FAILED-${test.fullTitle()}`).catch(() => undefined);
      if (file) console.log(`      screenshot: ${file}`);
    }
  },
  async afterAll(): Promise<void> {
    await browser?.close();
    browser = undefined;
    sharedPage = undefined;
  },
};

/** Pids of the processes below `root` (by /proc parent links). */
export function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      // Field 4 of /proc/PID/stat is the parent pid (after the command in parentheses).
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* the process ended meanwhile */
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [c, pp] of parent) {
      if (pp !== p) continue;
      out.push(c);
      walk(c);
    }
  };
  walk(root);
  return out;
}

/**
 * The sidecar of the code-server this test run started: run.mjs (our parent) started both mocha
 * and code-server, so only processes below it are considered.
 */
export function ourSidecars(): number[] {
  return descendants(process.ppid).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('dist/sidecar.js');
    } catch {
      return false;
    }
  });
}
