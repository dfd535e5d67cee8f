// `npm run test:e2e`: runs test/e2e/**/*.e2e.ts in a real VS Code (code-server driven by Chromium).
// Needs a built dist/ (`npm test` builds first). Extra arguments go to mocha, e.g. `-- --grep editor`.
// The extension is loaded from this folder; SKIPSCOPE_E2E_VSIX=skipscope-0.1.0.vsix tests the package
// instead (installed with code-server --install-extension).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CODE_SERVER_VERSION,
  ensureCodeServer,
  freePort,
  installVsix,
  prepareInstance,
  startCodeServer,
  stopCodeServer,
  waitForHttp,
} from './codeServer.mjs';
import { runApiSuite } from './apiSuite.mjs';
import { RUN_MARKER, endProcessesOfRun } from './processes.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const outputDir = join(root, 'test-output/e2e');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

for (const f of ['extension.js', 'sidecar.js', 'webview.js']) {
  if (!existsSync(join(root, 'dist', f))) {
    console.error(`e2e: dist/${f} is missing; run "npm run build" first (npm test does).`);
    process.exit(1);
  }
}

// Set before anything starts, so that every process of this run inherits it (see processes.mjs).
const runId = `${process.pid}-${Date.now()}`;
process.env[RUN_MARKER] = runId;
const t0 = performance.now();
const seconds = (since) => ((performance.now() - since) / 1000).toFixed(1);
const { bin } = ensureCodeServer(join(root, '.e2e-cache'));

rmSync(outputDir, { recursive: true, force: true });
mkdirSync(outputDir, { recursive: true });
const vsix = process.env.SKIPSCOPE_E2E_VSIX ? resolve(process.env.SKIPSCOPE_E2E_VSIX) : undefined;
const instance = prepareInstance(vsix ? null : root, manifest, {
  samples: join(root, 'samples'),
  fixtures: join(root, 'test/fixtures'),
});
if (vsix) installVsix(bin, instance, vsix);
const port = await freePort();
const url = `http://127.0.0.1:${port}/`;
const serverLog = [];
const tStart = performance.now();
const server = startCodeServer(bin, port, instance, (chunk) => serverLog.push(chunk));

let stopping;
/** Stops code-server once, saves its log, removes the instance folders. */
function cleanup() {
  stopping ??= stopCodeServer(server).then(() => {
    // Another run may have cleared test-output/e2e meanwhile: recreate it rather than fail here.
    mkdirSync(outputDir, { recursive: true });
    writeFileSync(join(outputDir, 'code-server.log'), Buffer.concat(serverLog));
    rmSync(instance.base, { recursive: true, force: true });
  });
  return stopping;
}
let mocha;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    console.error(`e2e: ${sig}: stopping mocha, Chromium and code-server`);
    mocha?.kill('SIGTERM');
    void cleanup()
      .then(() => endProcessesOfRun(runId, 3000))
      .then(() => process.exit(130));
  });
}

let code = 1;
let summary = 'no tests ran';
let apiSummary = 'not run';
try {
  await waitForHttp(`${url}healthz`, server, 120_000);
  console.log(`e2e: code-server ${CODE_SERVER_VERSION} listening on ${url} after ${seconds(tStart)} s`);
  const mochaArgs = [
    join(root, 'node_modules/mocha/bin/mocha.js'),
    '--no-config',
    '--require',
    'tsx/cjs',
    '--require',
    'test/e2e/harness.ts',
    '--timeout',
    '120000',
    '--reporter',
    'spec',
    'test/e2e/**/*.e2e.ts',
    ...(process.env.CI ? ['--forbid-only'] : []), // a stray .only must not pass CI with a subset
    ...process.argv.slice(2),
  ];
  const tTests = performance.now();
  const output = [];
  mocha = spawn(process.execPath, mochaArgs, {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...process.env,
      SKIPSCOPE_E2E_URL: url,
      SKIPSCOPE_E2E_WORKSPACE: instance.workspace,
      SKIPSCOPE_E2E_OUTPUT: outputDir,
    },
  });
  mocha.stdout.on('data', (chunk) => {
    output.push(chunk);
    process.stdout.write(chunk);
  });
  code = await new Promise((resolve) => mocha.on('exit', (c, sig) => resolve(c ?? (sig ? 1 : 0))));
  const text = Buffer.concat(output).toString();
  const count = (word) => Number(text.match(new RegExp(`(\\d+) ${word}`))?.[1] ?? 0);
  summary =
    `${count('passing')} passing, ${count('failing')} failing, ${count('pending')} pending` +
    ` in ${seconds(tTests)} s of tests`;
} catch (e) {
  console.error(`e2e: ${e instanceof Error ? e.message : String(e)}`);
  summary = 'setup failed';
  code = 1;
} finally {
  await cleanup();
}

// The VS Code API suite (test/electron/suite/) in code-server's extension host; skipped when mocha
// options narrow the run (e.g. --grep) or for a packaged .vsix (it loads the extension from source).
if (process.argv.length <= 2 && !vsix) {
  const tApi = performance.now();
  console.log('\n  VS Code API suite (test/electron/suite, in the code-server extension host)');
  try {
    const report = await runApiSuite(bin, root);
    for (const t of report.passes) console.log(`    ✔ ${t}`);
    for (const t of report.pending) console.log(`    - ${t}`);
    for (const f of report.failures) console.log(`    ✗ ${f.title}\n        ${f.message}`);
    apiSummary = `${report.passes.length} passing, ${report.failures.length} failing in ${seconds(tApi)} s`;
    if (report.failures.length || report.passes.length === 0) code = 1;
  } catch (e) {
    console.error(`    ✗ ${e instanceof Error ? e.message : String(e)}`);
    apiSummary = 'failed to run';
    code = 1;
  }
}
// Nothing of this run may outlive it: a straggler is killed, named, and fails the run.
const leftover = await endProcessesOfRun(runId);
if (leftover.length) {
  console.error(`e2e: ${leftover.length} process(es) outlived the run's cleanup and were killed:`);
  for (const p of leftover) console.error(`  ${p.pid} ${p.cmd.slice(0, 160)}`);
  code = 1;
}
console.log(
  `\nE2E summary: UI tests ${summary}; API suite ${apiSummary}; ${seconds(t0)} s in all` +
    ` (code-server ${CODE_SERVER_VERSION}).` +
    `\n  Screenshots and code-server.log: ${outputDir}\n  Result: ${code === 0 ? 'PASS' : 'FAIL'}`,
);
process.exit(code);
