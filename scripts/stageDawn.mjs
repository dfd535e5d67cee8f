// Puts one platform's Dawn binary (the `webgpu` npm package's dawn.node, and on Windows the DLLs
// beside it) into dist/dawn/<dawn platform>/, where the sidecar looks for it, so that a
// platform-specific .vsix carries its own binary and no other. Targets are vsce's:
// linux-x64, linux-arm64, darwin-x64, darwin-arm64, win32-x64, win32-arm64; `universal` stages
// none (that package runs probes on WebAssembly).
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** vsce's target for this machine. */
export function hostTarget() {
  return `${process.platform}-${process.arch}`;
}

/** The folder of node_modules/webgpu/dist that serves a vsce target (macOS has one universal binary). */
export function dawnFolder(target) {
  const [platform] = target.split('-');
  return platform === 'darwin' ? 'darwin-universal' : target;
}

export const TARGETS = ['linux-x64', 'linux-arm64', 'darwin-x64', 'darwin-arm64', 'win32-x64', 'win32-arm64'];

/**
 * Stages `target`'s binary into `dist` (replacing whatever was staged) and returns the staged
 * files, relative to `dist`. Throws when the target is unknown or its binary is missing.
 */
export function stageDawn(target, dist = join(root, 'dist')) {
  const out = join(dist, 'dawn');
  rmSync(out, { recursive: true, force: true });
  if (target === 'universal') return [];
  if (!TARGETS.includes(target))
    throw new Error(`unknown target ${target} (one of ${TARGETS.join(', ')}, universal)`);
  const folder = dawnFolder(target);
  const src = join(root, 'node_modules/webgpu/dist', folder);
  if (!existsSync(join(src, 'dawn.node')))
    throw new Error(`no dawn.node for ${target} in ${src} (npm ci installs it)`);
  const dst = join(out, folder);
  mkdirSync(dst, { recursive: true });
  // dawn.node, and on Windows the shader compilers it loads from beside it with their licences.
  const files = readdirSync(src).filter((f) => f === 'dawn.node' || /\.(dll|txt|TXT)$/.test(f));
  for (const f of files) cpSync(join(src, f), join(dst, f));
  cpSync(join(root, 'node_modules/webgpu/LICENSE.md'), join(out, 'LICENSE-dawn.md'));
  return [...files.map((f) => `dawn/${folder}/${f}`), 'dawn/LICENSE-dawn.md'];
}
