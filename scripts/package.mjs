// `npm run package [-- --target T | --universal]`: a .vsix for one platform with that platform's
// Dawn binary (the WebGPU backend), by default this machine's, written to skipscope-<version>.vsix;
// `--target T` writes skipscope-<version>-<T>.vsix, `--universal` (no GPU binary: probes run on
// WebAssembly) skipscope-<version>-universal.vsix. The build (vscode:prepublish) reads the target
// from SKIPSCOPE_DAWN_TARGET.
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hostTarget, TARGETS } from './stageDawn.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const at = args.indexOf('--target');
const target = args.includes('--universal') ? 'universal' : at >= 0 ? args[at + 1] : hostTarget();
if (target !== 'universal' && !TARGETS.includes(target)) {
  console.error(`package: --target must be one of ${TARGETS.join(', ')} (or --universal), got ${target}`);
  process.exit(2);
}
const out =
  at >= 0 || target === 'universal' ? `skipscope-${version}-${target}.vsix` : `skipscope-${version}.vsix`;
const vsce = join(root, 'node_modules/@vscode/vsce/vsce');
const r = spawnSync(
  process.execPath,
  [
    vsce,
    'package',
    '--no-dependencies',
    '--no-rewrite-relative-links',
    ...(target === 'universal' ? [] : ['--target', target]),
    '--out',
    out,
  ],
  { cwd: root, stdio: 'inherit', env: { ...process.env, SKIPSCOPE_DAWN_TARGET: target } },
);
if (r.status !== 0) process.exit(r.status ?? 1);
console.log(`package: ${out} (${target}), ${statSync(join(root, out)).size} bytes`);
