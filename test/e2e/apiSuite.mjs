// Runs the VS Code API suite (test/electron/suite/) inside code-server's extension host, so that
// `npm run test:e2e` covers it on machines that cannot download VS Code for @vscode/test-electron.
// The workbench takes the extension and its tests from the `payload` URL parameter (what VS Code's
// own browser integration tests use) and reports the exit code through window.codeAutomationExit.
import { chromium } from 'playwright-core';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { bundleSuite } from '../electron/bundleSuite.mjs';
import { freePort, prepareInstance, startCodeServer, stopCodeServer, waitForHttp } from './codeServer.mjs';

/** Chromium flags for a headless run on a machine without a GPU or a network. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];

/**
 * Runs the suite in a fresh code-server (the extension loaded as a development extension from
 * `root`) and returns { passes, failures, pending } as the suite reported them.
 */
export async function runApiSuite(bin, root, timeoutMs = 180_000) {
  const testsPath = await bundleSuite(root);
  const instance = prepareInstance(null, {}, { samples: join(root, 'samples') });
  const reportFile = join(instance.base, 'api-suite.json');
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const log = [];
  const server = startCodeServer(bin, port, instance, (c) => log.push(c), {
    SKIPSCOPE_TEST_REPORT: reportFile,
  });
  let browser;
  try {
    await waitForHttp(`http://${host}/healthz`, server, 120_000);
    browser = await chromium.launch({
      executablePath: process.env.SKIPSCOPE_E2E_CHROMIUM ?? '/usr/bin/chromium',
      args: CHROMIUM_ARGS,
    });
    const page = await browser.newPage();
    const exited = new Promise(
      (resolve) => void page.exposeFunction('codeAutomationExit', (code) => resolve(code)),
    );
    const remote = (p) => `vscode-remote://${host}${p}`;
    const payload = JSON.stringify([
      ['extensionDevelopmentPath', remote(root)],
      ['extensionTestsPath', remote(testsPath)],
      ['skipWelcome', 'true'],
    ]);
    await page.goto(
      `http://${host}/?folder=${encodeURIComponent(instance.workspace)}&payload=${encodeURIComponent(payload)}`,
    );
    let timer;
    const code = await Promise.race([
      exited,
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`the API suite did not finish within ${timeoutMs / 1000} s.`)),
          timeoutMs,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    if (!existsSync(reportFile)) throw new Error(`the API suite exited with code ${code} without a report.`);
    return JSON.parse(readFileSync(reportFile, 'utf8'));
  } finally {
    await browser?.close();
    await stopCodeServer(server);
    rmSync(instance.base, { recursive: true, force: true });
  }
}
