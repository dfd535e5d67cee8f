// The system packages `npm test` needs, checked first and installed when missing (Debian/Ubuntu,
// as root or through passwordless sudo, non-interactively). Where they cannot be installed, it stops
// before any test runs with one sentence naming the command to run. `--check` only checks.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

/** True when `cmd` is an executable on PATH. */
function onPath(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** True when every library is in a multiarch library folder (/usr/lib/<triplet>/). */
function libs(names) {
  const dirs = ['/usr/lib', '/lib'].flatMap((base) => {
    try {
      return readdirSync(base)
        .filter((d) => d.endsWith('-linux-gnu'))
        .map((d) => `${base}/${d}`);
    } catch {
      return [];
    }
  });
  return names.every((n) => dirs.some((d) => existsSync(`${d}/${n}`)));
}

/** True when Debian's python3 imports the given modules. */
function pythonHas(modules) {
  return spawnSync('/usr/bin/python3', ['-c', `import ${modules}`], { stdio: 'ignore' }).status === 0;
}

/**
 * What the tests need, why, and the Debian packages that provide it. `present` must be cheap: it
 * runs on every `npm test`.
 */
const requirements = [
  {
    why: 'Chromium drives the end-to-end suite',
    apt: ['chromium'],
    present: () => existsSync('/usr/bin/chromium'),
  },
  {
    why: 'code-server needs rg, which @vscode/ripgrep would download from GitHub',
    apt: ['ripgrep'],
    present: () => onPath('rg'),
  },
  {
    why: "code-server's native modules build against Kerberos headers with pkg-config, g++ and make",
    apt: ['libkrb5-dev', 'pkg-config', 'g++', 'make'],
    present: () =>
      existsSync('/usr/include/gssapi/gssapi.h') && onPath('pkg-config') && onPath('g++') && onPath('make'),
  },
  {
    why: "the webgpu backend's tests run on a software GPU: Dawn's OpenGL backend on Mesa's llvmpipe through EGL (Dawn opens libEGL.so)",
    apt: ['libegl1', 'libegl-dev', 'libegl-mesa0', 'libgl1-mesa-dri'],
    present: () => libs(['libEGL.so', 'libEGL_mesa.so.0', 'dri/swrast_dri.so']),
  },
  {
    why: 'the ONNX reader tests generate their edge-case models with the onnx Python library',
    apt: ['python3', 'python3-onnx', 'python3-numpy'],
    present: () => pythonHas('onnx, numpy'),
  },
];

/** Runs a command with inherited output; returns its exit status. */
function run(cmd, args) {
  const r = spawnSync(cmd, args, {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  return r.status ?? 1;
}

const missing = requirements.filter((r) => !r.present());
if (missing.length === 0) process.exit(0);

const packages = [...new Set(missing.flatMap((r) => r.apt))];
const reasons = missing.map((r) => r.why).join('; ');
const command = `sudo apt-get update && sudo apt-get install -y ${packages.join(' ')}`;
const fail = (why) => {
  console.error(`provision: npm test needs ${packages.join(', ')} (${reasons}) and ${why}; run: ${command}`);
  process.exit(1);
};

if (process.argv.includes('--check')) fail('they are not installed');
if (!onPath('apt-get')) fail('this system has no apt-get to install them with');
const root = process.getuid?.() === 0;
const sudo = root ? [] : ['sudo', '-n'];
if (!root && (!onPath('sudo') || run('sudo', ['-n', 'true']) !== 0))
  fail('installing them needs root (no passwordless sudo here)');

console.log(`provision: installing ${packages.join(' ')} (${reasons})`);
const apt = (args) => (root ? run('apt-get', args) : run(sudo[0], [...sudo.slice(1), 'apt-get', ...args]));
if (apt(['update', '-q']) !== 0 || apt(['install', '-y', '-q', ...packages]) !== 0)
  fail('apt-get could not install them');
const still = requirements.filter((r) => !r.present());
if (still.length) fail(`they are still missing after apt-get (${still.map((r) => r.why).join('; ')})`);
console.log('provision: done');
