/**
 * scripts/provision.mjs, which `npm test` runs first: what it decides for each kind of system, and
 * a real run as an unprivileged user on a PATH without ripgrep, which must stop with the command to run.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '../../..');
const script = path.join(root, 'scripts/provision.mjs');

interface Requirement {
  why: string;
  apt: string[];
  present(): boolean;
}
interface Plan {
  action: 'none' | 'install' | 'fail';
  packages?: string[];
  message?: string;
  sudo?: boolean;
}
type Provision = {
  requirements: Requirement[];
  decide(missing: Requirement[], sys: Record<string, boolean>): Plan;
};

describe('provisioning (scripts/provision.mjs)', () => {
  let p: Provision;
  before(async () => {
    p = (await import(script)) as Provision;
  });
  const rg = (): Requirement => p.requirements.find((r) => r.apt.includes('ripgrep'))!;
  const system = { checkOnly: false, hasApt: true, root: false, sudo: false };

  it('finds everything the tests need on this machine (npm test provisioned it first)', () => {
    const missing = p.requirements.filter((r) => !r.present()).map((r) => r.why);
    assert.deepEqual(missing, []);
    assert.equal(p.decide([], system).action, 'none');
  });

  it('installs with apt-get as root, through sudo -n otherwise', () => {
    const asRoot = p.decide([rg()], { ...system, root: true });
    assert.equal(asRoot.action, 'install');
    assert.deepEqual(asRoot.packages, ['ripgrep']);
    assert.equal(asRoot.sudo, false);
    const viaSudo = p.decide([rg()], { ...system, sudo: true });
    assert.equal(viaSudo.action, 'install');
    assert.equal(viaSudo.sudo, true);
  });

  it('stops with one sentence naming the packages and the command where it cannot install', () => {
    for (const [sys, why] of [
      [{ ...system, checkOnly: true }, /are not installed/],
      [{ ...system, hasApt: false }, /no apt-get/],
      [system, /needs root/],
    ] as const) {
      const plan = p.decide([rg()], sys);
      assert.equal(plan.action, 'fail');
      assert.match(plan.message!, why);
      assert.match(plan.message!, /run: sudo apt-get update && sudo apt-get install -y ripgrep$/);
      assert.equal(plan.message!.split('\n').length, 1);
    }
  });

  it('as a user without root or sudo, exits 1 before anything runs, naming the command', function () {
    if (process.getuid?.() !== 0 || !fs.existsSync('/usr/bin/setpriv')) this.skip();
    // A PATH with a shell and apt-get but no rg (nor sudo): ripgrep is missing and cannot be installed.
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'skipscope-provision-'));
    fs.chmodSync(bin, 0o755);
    for (const tool of ['sh', 'apt-get', 'pkg-config', 'g++', 'make'])
      for (const dir of ['/bin', '/usr/bin'])
        if (fs.existsSync(`${dir}/${tool}`) && !fs.existsSync(path.join(bin, tool)))
          fs.symlinkSync(`${dir}/${tool}`, path.join(bin, tool));
    // The user may not read the checkout (under /root in CI): run a copy (it imports only node:*).
    const copy = path.join(bin, 'provision.mjs');
    fs.copyFileSync(script, copy);
    fs.chmodSync(copy, 0o644);
    try {
      const r = spawnSync(
        '/usr/bin/setpriv',
        ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, copy],
        { encoding: 'utf8', env: { PATH: bin, HOME: '/tmp' } },
      );
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /^provision: npm test needs ripgrep \(.*\) and installing them needs root/);
      assert.match(r.stderr.trim(), /run: sudo apt-get update && sudo apt-get install -y ripgrep$/);
      assert.equal(r.stdout, '');
    } finally {
      fs.rmSync(bin, { recursive: true, force: true });
    }
  });
});
