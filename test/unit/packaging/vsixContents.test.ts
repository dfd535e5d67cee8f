/**
 * The .vsix holds what runs and nothing else: checked on `vsce ls`, the file list `vsce package`
 * uses, against the paths package.json refers to; and each platform's package stages that
 * platform's Dawn binary (the WebGPU backend) alone, the Windows ones with their DLLs, the
 * universal one none.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

  it("packages this machine's Dawn binary and no other platform's", () => {
    const dawn = [...files].filter((f) => f.startsWith('dist/dawn/'));
    const host = process.platform === 'darwin' ? 'darwin-universal' : `${process.platform}-${process.arch}`;
    assert.ok(
      files.has(`dist/dawn/${host}/dawn.node`),
      `dist/dawn/${host}/dawn.node is packaged (${dawn.join(', ')})`,
    );
    assert.ok(files.has('dist/dawn/LICENSE-dawn.md'), "Dawn's licence is packaged");
    assert.deepEqual(
      dawn.filter((f) => !f.startsWith(`dist/dawn/${host}/`) && f !== 'dist/dawn/LICENSE-dawn.md'),
      [],
    );
  });
});

describe('platform packages (scripts/stageDawn.mjs)', () => {
  type Stage = {
    stageDawn(target: string, dist: string): string[];
    TARGETS: string[];
  };
  let stage: Stage;
  before(async () => {
    stage = (await import(join(root, 'scripts/stageDawn.mjs'))) as Stage;
  });

  it('stages each target with only its own binary, and the DLLs only on Windows', () => {
    for (const target of stage.TARGETS) {
      const dist = mkdtempSync(join(tmpdir(), 'skipscope-dawn-'));
      const staged = stage.stageDawn(target, dist);
      const folder = target.startsWith('darwin') ? 'darwin-universal' : target;
      assert.deepEqual(readdirSync(join(dist, 'dawn')).sort(), ['LICENSE-dawn.md', folder].sort(), target);
      const files = readdirSync(join(dist, 'dawn', folder)).sort();
      if (target.startsWith('win32')) {
        assert.ok(
          files.includes('dawn.node') &&
            files.includes('d3dcompiler_47.dll') &&
            files.includes('dxcompiler.dll'),
          `${target}: ${files}`,
        );
        assert.ok(
          files.some((f) => /LICENSE/i.test(f)),
          `${target}: the DLL licence`,
        );
      } else assert.deepEqual(files, ['dawn.node'], target);
      assert.equal(staged.length, files.length + 1);
    }
  });

  it('stages nothing for the universal package, and refuses an unknown target', () => {
    const dist = mkdtempSync(join(tmpdir(), 'skipscope-dawn-'));
    stage.stageDawn('linux-x64', dist);
    assert.deepEqual(stage.stageDawn('universal', dist), []);
    assert.equal(existsSync(join(dist, 'dawn')), false);
    assert.throws(() => stage.stageDawn('beos-x64', dist), /unknown target beos-x64/);
  });
});
