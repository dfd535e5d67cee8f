// `npm run test:electron`: the extension tests in test/electron/suite/ inside a downloaded VS Code
// (@vscode/test-electron), on the oldest supported release and on stable. Needs a built dist/ and
// access to update.code.visualstudio.com, so it is not part of `npm test`.
// VSCODE_VERSIONS=1.90.0,stable (comma-separated) picks the releases. Without a download, the same
// suite runs in code-server's extension host as part of `npm run test:e2e` (test/e2e/apiSuite.mjs).
import { runTests } from '@vscode/test-electron';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleSuite } from './bundleSuite.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

if (!existsSync(join(root, 'dist/extension.js'))) {
  console.error('test:electron: dist/extension.js is missing; run "npm run build" first.');
  process.exit(1);
}

const extensionTestsPath = await bundleSuite(root);

const versions = (process.env.VSCODE_VERSIONS ?? '1.90.0,stable').split(',').map((v) => v.trim());
let failed = 0;
for (const version of versions) {
  // A fresh workspace holding the sample model, so that tests may open (and never change) it.
  const workspace = mkdtempSync(join(tmpdir(), 'skipscope-electron-'));
  cpSync(join(root, 'samples'), join(workspace, 'samples'), { recursive: true });
  try {
    console.log(`test:electron: VS Code ${version}`);
    await runTests({
      version,
      extensionDevelopmentPath: root,
      extensionTestsPath,
      launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust', '--skip-welcome'],
    });
  } catch (e) {
    failed++;
    console.error(`test:electron: VS Code ${version} failed: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    rmSync(workspace, { recursive: true, force: true });
  }
}
console.log(`test:electron: ${versions.length - failed} of ${versions.length} VS Code releases passed.`);
process.exit(failed ? 1 : 0);
