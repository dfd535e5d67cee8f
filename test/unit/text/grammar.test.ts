/**
 * Runs the onnx-text TextMate grammar tests with vscode-tmgrammar-test: the scope assertions in
 * test/grammar/*.test.onnxtxt and the snapshots of real printed models in test/grammar/snap/.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '../../..');
const grammar = 'syntaxes/onnx-text.tmLanguage.json';

function run(script: string, args: string[]): { status: number | null; output: string } {
  const r = spawnSync(
    process.execPath,
    [join(root, 'node_modules/vscode-tmgrammar-test/dist', script), ...args],
    {
      cwd: root,
      encoding: 'utf8',
    },
  );
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('onnx-text grammar', () => {
  it('gives every asserted token its scope', () => {
    const r = run('unit.js', ['-c', '-g', grammar, 'test/grammar/*.test.onnxtxt']);
    assert.equal(r.status, 0, r.output);
  });

  it('tokenizes printed models exactly as the snapshots record', () => {
    const r = run('snapshot.js', ['-g', grammar, '-s', 'source.onnx-text', 'test/grammar/snap/*.onnxtxt']);
    assert.equal(r.status, 0, r.output);
  });
});
