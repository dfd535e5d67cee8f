// code-server for the end-to-end suite: a cached install (keyed by version) and a fresh, isolated
// instance per run. Each install step works around something this offline-but-for-npm network lacks.
import { spawn, execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The code-server release the suite runs on: 4.99.4 is VS Code 1.99, the last that runs on Node 20. */
export const CODE_SERVER_VERSION = '4.99.4';

/** The ripgrep release @vscode/ripgrep 1.15.x looks for in its download cache. */
const RIPGREP_ASSET = 'ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz';

/** Runs a command, streaming its output, and throws if it fails. */
function sh(cmd, args, opts) {
  execFileSync(cmd, args, { stdio: 'inherit', ...opts });
}

/**
 * Puts a tar.gz of the system `rg` where every @vscode/ripgrep install step looks before it tries
 * GitHub (which this network cannot reach). The cache folder name carries the package version, so
 * one is made for each version found in the install.
 */
function seedRipgrepCache(ripgrepVersions) {
  const rg = ['/usr/bin/rg', '/usr/local/bin/rg'].find((p) => existsSync(p));
  if (!rg) throw new Error('ripgrep is not installed (apt-get install -y ripgrep): code-server needs it.');
  const staging = mkdtempSync(join(tmpdir(), 'skipscope-rg-'));
  cpSync(rg, join(staging, 'rg'));
  for (const v of ripgrepVersions) {
    const dir = join(tmpdir(), `vscode-ripgrep-cache-${v}`);
    mkdirSync(dir, { recursive: true });
    const tarball = join(dir, RIPGREP_ASSET);
    if (!existsSync(tarball)) sh('tar', ['-czf', tarball, '-C', staging, 'rg']);
  }
  rmSync(staging, { recursive: true, force: true });
}

/** Versions of every @vscode/ripgrep copy under `dir` (code-server nests several). */
function ripgrepVersionsUnder(dir) {
  const out = execFileSync(
    'find',
    [dir, '-path', '*/@vscode/ripgrep/package.json', '-not', '-path', '*/test/*'],
    {
      encoding: 'utf8',
    },
  );
  const versions = new Set(['1.15.11']);
  for (const f of out.split('\n').filter(Boolean)) versions.add(JSON.parse(readFileSync(f, 'utf8')).version);
  return [...versions];
}

/**
 * Returns the code-server binary, installing it under `cacheRoot/code-server-VERSION` first when
 * that folder has no completion marker. The install happens in a private staging folder that is
 * renamed into place once complete, so an interrupted or concurrent install never leaves a
 * half-installed cache behind.
 */
export function ensureCodeServer(cacheRoot) {
  const dir = join(cacheRoot, `code-server-${CODE_SERVER_VERSION}`);
  const MARKER = '.install-complete';
  const ENTRY = 'node_modules/code-server/out/node/entry.js';
  const bin = join(dir, ENTRY);
  if (existsSync(join(dir, MARKER)) && existsSync(bin)) return { bin, installed: false, seconds: 0 };

  const started = performance.now();
  const staging = `${dir}.partial-${process.pid}`;
  console.log(
    `e2e: installing code-server ${CODE_SERVER_VERSION} into ${dir} (first run only, a few minutes)`,
  );
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  try {
    writeFileSync(
      join(staging, 'package.json'),
      JSON.stringify({ name: 'skipscope-e2e-code-server', private: true }) + '\n',
    );
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    // Scripts are held back so that the ripgrep cache can be seeded before any of them runs.
    sh(
      npm,
      ['install', `code-server@${CODE_SERVER_VERSION}`, '--ignore-scripts', '--no-audit', '--no-fund'],
      {
        cwd: staging,
      },
    );
    seedRipgrepCache(ripgrepVersionsUnder(staging));
    // node-pty's install step calls `npx node-gyp` (yes: no prompt); argon2 builds from source.
    sh(npm, ['rebuild'], {
      cwd: staging,
      env: { ...process.env, npm_config_yes: 'true', npm_config_unsafe_perm: 'true' },
    });
    if (!existsSync(join(staging, ENTRY)))
      throw new Error(`code-server install finished but ${ENTRY} is missing.`);
    const seconds = (performance.now() - started) / 1000;
    writeFileSync(join(staging, MARKER), `${CODE_SERVER_VERSION} installed in ${seconds.toFixed(0)} s\n`);
    // Another run may have finished first: keep a complete install, replace an incomplete one.
    if (existsSync(join(dir, MARKER))) rmSync(staging, { recursive: true, force: true });
    else {
      rmSync(dir, { recursive: true, force: true });
      renameSync(staging, dir);
    }
    console.log(`e2e: code-server installed in ${seconds.toFixed(0)} s`);
    return { bin, installed: true, seconds };
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
}

/** A free TCP port on the loopback interface. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves with the HTTP status of GET url, or undefined when nothing answers. */
function probe(url) {
  return new Promise((resolve) => {
    const req = get(url, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', () => resolve(undefined));
    req.setTimeout(2000, () => req.destroy());
  });
}

/** Polls `url` until it answers 200, the process exits, or `timeoutMs` passes. */
export async function waitForHttp(url, child, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let delay = 50;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`code-server exited with code ${child.exitCode} before listening.`);
    if ((await probe(url)) === 200) return;
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 500);
  }
  throw new Error(`code-server did not answer on ${url} within ${timeoutMs / 1000} s.`);
}

/**
 * Prepares a fresh instance: an extensions dir holding only this extension (a symlink named
 * publisher.name-version to `extensionDir`; none when `extensionDir` is null, see installVsix), a
 * user-data dir with quiet settings, and a copy of `workspaceSources` (name → folder) as the
 * workspace. Returns the paths.
 */
export function prepareInstance(extensionDir, manifest, workspaceSources) {
  const base = mkdtempSync(join(tmpdir(), 'skipscope-e2e-'));
  const extensions = join(base, 'extensions');
  const userData = join(base, 'user-data');
  const workspace = join(base, 'workspace');
  mkdirSync(extensions, { recursive: true });
  mkdirSync(join(userData, 'User'), { recursive: true });
  mkdirSync(workspace, { recursive: true });
  if (extensionDir) {
    const name = `${manifest.publisher}.${manifest.name}-${manifest.version}`;
    symlinkSync(extensionDir, join(extensions, name), 'dir');
  }
  const settings = {
    'workbench.startupEditor': 'none',
    'security.workspace.trust.enabled': false,
    'workbench.tips.enabled': false,
    'telemetry.telemetryLevel': 'off',
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'update.mode': 'none',
    'window.restoreWindows': 'none',
    'workbench.enableExperiments': false,
    // Sticky folder headers would lie over the rows that tests click in a scrolled Explorer.
    'workbench.tree.enableStickyScroll': false,
  };
  writeFileSync(join(userData, 'User/settings.json'), JSON.stringify(settings, null, 2));
  // An explicit config file: ~/.config/code-server/config.yaml must not leak into the run.
  writeFileSync(join(base, 'config.yaml'), 'disable-telemetry: true\n');
  for (const [name, src] of Object.entries(workspaceSources)) {
    if (existsSync(src)) cpSync(src, join(workspace, name), { recursive: true });
  }
  return { base, extensions, userData, workspace };
}

/** Installs a packaged .vsix into the instance's extensions dir, as a user would. */
export function installVsix(bin, instance, vsix) {
  sh(process.execPath, [
    bin,
    '--extensions-dir',
    instance.extensions,
    '--user-data-dir',
    instance.userData,
    '--install-extension',
    vsix,
  ]);
}

/**
 * Starts code-server on `port` for `instance`; its output goes to `onOutput`, and `env` is added to
 * its environment (which its extension hosts inherit).
 */
export function startCodeServer(bin, port, instance, onOutput, env = {}) {
  const args = [
    bin,
    '--config',
    join(instance.base, 'config.yaml'),
    '--auth',
    'none',
    '--bind-addr',
    `127.0.0.1:${port}`,
    '--extensions-dir',
    instance.extensions,
    '--user-data-dir',
    instance.userData,
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
    instance.workspace,
  ];
  // Its own process group, so that stopping it also stops the extension hosts it spawned.
  const child = spawn(process.execPath, args, {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  child.stdout.on('data', onOutput);
  child.stderr.on('data', onOutput);
  return child;
}

/** Stops code-server and everything it started; resolves when the main process has exited. */
export function stopCodeServer(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const kill = (sig) => {
      try {
        process.kill(-child.pid, sig);
      } catch {
        /* already gone */
      }
    };
    const force = setTimeout(() => kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(force);
      kill('SIGKILL'); // stragglers in the group (extension host, sidecar)
      resolve();
    });
    kill('SIGTERM');
  });
}
