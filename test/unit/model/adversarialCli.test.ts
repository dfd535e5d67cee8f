/**
 * `skipscope analyze` and `skipscope probe` on a representative part of the adversarial corpus:
 * exit 0 with a result, 1 with one line "skipscope: <file>: …" for a bad model, 2 for bad usage,
 * never 70 ("internal error"). The expected outcome is the corpus table's (adversarial.table.json).
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeCorpus, type WrittenCase } from '../../../scripts/adversarial/corpus';

const root = path.resolve(__dirname, '../../..');
const table = JSON.parse(fs.readFileSync(path.join(__dirname, 'adversarial.table.json'), 'utf8')) as {
  cases: Record<string, { analyze: string; probe: string }>;
};

/** The files and one of each other kind of outcome. */
const CASES = [
  'markup_name_100k',
  'opset_99',
  'init_2p40_16_bytes',
  'reshape_2p40_2p30',
  'cycle',
  'conv_negative_pads',
  'external_etc_passwd',
  'no_parameters',
  'empty_graph',
  'names_megabyte',
  'tfjs_shard_dotdot',
  'tfjs_unknown_layer',
];

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['-r', 'tsx/cjs', path.join(root, 'runtime/cli.ts'), ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function expectExit(w: WrittenCase, r: ReturnType<typeof cli>, expected: string): void {
  const err = r.stderr.trim();
  assert.notEqual(r.status, 70, `internal error: ${err.slice(0, 400)}`);
  assert.ok(!err.includes('internal error'), err.slice(0, 400));
  if (expected === 'ok') {
    assert.equal(r.status, 0, `expected success: ${err.slice(0, 400)}`);
    return;
  }
  assert.equal(r.status, 1, `expected exit 1 (bad model), got ${r.status}: ${err.slice(0, 400)}`);
  const lines = err.split('\n');
  assert.equal(lines.length, 1, `one line on stderr: ${err.slice(0, 400)}`);
  assert.ok(lines[0].startsWith(`skipscope: ${w.file}: `), lines[0].slice(0, 400));
  assert.match(lines[0], new RegExp(expected));
}

describe('skipscope CLI on the adversarial corpus: exit codes', function () {
  this.timeout(600_000);
  let dir = '';
  let written: WrittenCase[] = [];
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skipscope-adversarial-cli-'));
    written = writeCorpus(dir, CASES);
  });
  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const name of CASES) {
    it(`${name}: analyze and probe`, () => {
      const w = written.find((x) => x.case.name === name)!;
      const row = table.cases[name];
      expectExit(w, cli(['analyze', w.file, '--json']), row.analyze);
      const probe = cli(['probe', w.file, '--backend', 'wasm', '--batch', '1', '--batches', '1', '--json']);
      expectExit(w, probe, row.probe);
      if (row.probe === 'ok') {
        const out = JSON.parse(probe.stdout) as {
          params: unknown[];
          activations: unknown[];
          inputs?: unknown[];
        };
        assert.ok(
          out.params.length + out.activations.length + (out.inputs?.length ?? 0) > 0,
          'measured something',
        );
      }
    });
  }

  it('bad usage exits 2, with one line', () => {
    const w = written.find((x) => x.case.name === 'no_parameters')!;
    for (const args of [
      ['analyze'],
      ['probe', w.file, '--batch', '0'],
      ['probe', w.file, '--loss', 'l7'],
      ['frobnicate'],
    ]) {
      const r = cli(args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
  });
});
