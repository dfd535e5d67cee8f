// Bundles test/electron/suite/*.ts into out/electron/ as plain CommonJS, the form an extension host
// loads: the runner (index.js) and one file per test module. Shared by test/electron/run.mjs
// (@vscode/test-electron) and test/e2e/apiSuite.mjs (the same suite in code-server).
import * as esbuild from 'esbuild';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** Builds the suite and returns the path of its entry point (index.js). */
export async function bundleSuite(root) {
  const suiteDir = join(root, 'test/electron/suite');
  const outDir = join(root, 'out/electron');
  rmSync(outDir, { recursive: true, force: true });
  await esbuild.build({
    entryPoints: readdirSync(suiteDir)
      .filter((f) => f.endsWith('.ts'))
      .map((f) => join(suiteDir, f)),
    outdir: outDir,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    sourcemap: 'inline',
    external: ['vscode', 'mocha'],
    logLevel: 'warning',
  });
  // The build service is a child process that would otherwise live until this process exits.
  await esbuild.stop();
  return join(outDir, 'index.js');
}
