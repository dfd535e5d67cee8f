// The system packages `npm test` needs, checked first and installed when missing (Debian/Ubuntu,
// as root or through passwordless sudo, non-interactively). Where they cannot be installed, it stops
// before any test runs with one sentence naming the command to run. `--check` only checks.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

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
export const requirements = [
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

/**
 * What to do about the `missing` requirements on a system described by `sys` ({ checkOnly, hasApt,
 * root, sudo }): nothing, install `packages` (with `sudo -n` unless root), or fail with `message`.
 */
export function decide(missing, sys) {
  if (missing.length === 0) return { action: 'none' };
  const packages = [...new Set(missing.flatMap((r) => r.apt))];
  const reasons = missing.map((r) => r.why).join('; ');
  const command = `sudo apt-get update && sudo apt-get install -y ${packages.join(' ')}`;
  const fail = (why) => ({
    action: 'fail',
    packages,
    message: `provision: npm test needs ${packages.join(', ')} (${reasons}) and ${why}; run: ${command}`,
  });
  if (sys.checkOnly) return fail('they are not installed');
  if (!sys.hasApt) return fail('this system has no apt-get to install them with');
  if (!sys.root && !sys.sudo) return fail('installing them needs root (no passwordless sudo here)');
  return { action: 'install', packages, reasons, sudo: !sys.root, fail };
}

/** Runs a command with inherited output; returns its exit status. */
function run(cmd, args) {
  const r = spawnSync(cmd, args, {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  return r.status ?? 1;
}

function main() {
  const missing = requirements.filter((r) => !r.present());
  const root = process.getuid?.() === 0;
  const plan = decide(missing, {
    checkOnly: process.argv.includes('--check'),
    hasApt: missing.length > 0 && onPath('apt-get'),
    root,
    sudo: missing.length > 0 && !root && onPath('sudo') && run('sudo', ['-n', 'true']) === 0,
  });
  if (plan.action === 'none') return 0;
  if (plan.action === 'fail') {
    console.error(plan.message);
    return 1;
  }
  console.log(`provision: installing ${plan.packages.join(' ')} (${plan.reasons})`);
  const apt = (args) => (plan.sudo ? run('sudo', ['-n', 'apt-get', ...args]) : run('apt-get', args));
  if (apt(['update', '-q']) !== 0 || apt(['install', '-y', '-q', ...plan.packages]) !== 0) {
    console.error(plan.fail('apt-get could not install them').message);
    return 1;
  }
  const still = requirements.filter((r) => !r.present());
  if (still.length) {
    console.error(
      decide(still, { checkOnly: true }).message.replace(
        'they are not installed',
        'apt-get did not provide them',
      ),
    );
    return 1;
  }
  console.log('provision: done');
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exit(main());
