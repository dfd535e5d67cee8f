/**
 * The .vsix holds what runs and nothing else: checked on `vsce ls`, the file list `vsce package`
 * uses, against the paths package.json refers to.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '../../..');

interface Manifest {
  main: string;
  icon: string;
  contributes: {
    grammars?: { path: string }[];
    languages?: { configuration?: string }[];
  };
}

describe('.vsix contents (.vscodeignore)', () => {
  let files: Set<string>;
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Manifest;

  before(function () {
    this.timeout(120_000);
    assert.ok(existsSync(join(root, 'dist/extension.js')), 'dist/ is built (npm run build)');
    const out = execFileSync(
      process.execPath,
      [join(root, 'node_modules/@vscode/vsce/vsce'), 'ls', '--no-dependencies'],
      {
        cwd: root,
        encoding: 'utf8',
      },
    );
    files = new Set(
      out
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean),
    );
  });

  it('includes every file package.json points at', () => {
    const norm = (p: string) => p.replace(/^\.\//, '');
    const wanted = [
      manifest.main,
      manifest.icon,
      ...(manifest.contributes.grammars ?? []).map((g) => g.path),
      ...(manifest.contributes.languages ?? []).flatMap((l) => (l.configuration ? [l.configuration] : [])),
    ].map(norm);
    for (const f of wanted) assert.ok(files.has(f), `${f} is packaged`);
  });

  it('includes the sidecar, the webview bundles, the WASM binaries and the codicons', () => {
    for (const f of ['dist/sidecar.js', 'dist/webview.js', 'dist/codicon.css', 'dist/codicon.ttf']) {
      assert.ok(files.has(f), `${f} is packaged`);
    }
    const wasm = [...files].filter((f) => /^dist\/tfjs-backend-wasm.*\.wasm$/.test(f));
    assert.equal(wasm.length, 3, `the three WASM binaries are packaged (found ${wasm.join(', ')})`);
    for (const f of ['README.md', 'LICENSE', 'CHANGELOG.md', 'package.json']) assert.ok(files.has(f), f);
  });

  it('leaves out sources, tests, source maps, samples and dependencies', () => {
    const unwanted = [...files].filter(
      (f) =>
        f.endsWith('.map') ||
        f.endsWith('.ts') ||
        /^(node_modules|test|samples|scripts|runtime|extension|webview|bench|\.e2e-cache|out)\//.test(f) ||
        f === 'dist/cli.js',
    );
    assert.deepEqual(unwanted, []);
  });
});
