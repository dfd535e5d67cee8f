/**
 * Entry point the extension host loads for extension tests (@vscode/test-electron, or code-server
 * through test/e2e/apiSuite.mjs): runs every *.test.js bundled next to it with mocha.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Mocha from 'mocha';

/** What the suite writes to $SKIPSCOPE_TEST_REPORT when it is set (read by test/e2e/apiSuite.mjs). */
export interface SuiteReport {
  passes: string[];
  failures: { title: string; message: string }[];
  pending: string[];
}

/** Runs the suite; rejects when a test fails. */
export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', color: true, timeout: 60_000 });
  for (const f of readdirSync(__dirname).filter((n) => n.endsWith('.test.js')))
    mocha.addFile(join(__dirname, f));
  const report: SuiteReport = { passes: [], failures: [], pending: [] };
  return new Promise((resolve, reject) => {
    const runner = mocha.run((failures) => {
      // In code-server the extension host's stdout is not ours to read: results go to a file.
      const file = process.env.SKIPSCOPE_TEST_REPORT;
      if (file) writeFileSync(file, JSON.stringify(report, null, 2));
      if (failures) reject(new Error(`${failures} test(s) failed.`));
      else resolve();
    });
    runner.on('pass', (t) => report.passes.push(t.fullTitle()));
    runner.on('pending', (t) => report.pending.push(t.fullTitle()));
    runner.on('fail', (t, err: unknown) =>
      report.failures.push({
        title: t.fullTitle(),
        message: err instanceof Error ? err.message : String(err),
      }),
    );
  });
}
