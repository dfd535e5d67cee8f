/**
 * `skipscope probe`: JSON keys of the contract, the readable table, and usage errors; and, as a
 * real process, clean JSON on stdout while native code writes to descriptor 1 (as Dawn does) on
 * the webgpu backend, and an exit without help once the GPU is given back.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { probeCommand } from '../../../runtime/cli/probeCommand';
import { UsageError } from '../../../runtime/cli/args';
import { isModelError } from '../../../runtime/errors';

const root = path.resolve(__dirname, '../../..');
const sample = path.join(root, 'samples/sample.onnx');

async function capture(args: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => lines.push(a.join(' '));
  try {
    const code = await probeCommand.run(args);
    return { code, out: lines.join('\n') };
  } finally {
    console.log = log;
  }
}

describe('skipscope probe', () => {
  it('prints the JSON contract', async () => {
    const { code, out } = await capture([
      sample,
      '--json',
      '--batch',
      '2',
      '--batches',
      '2',
      '--backend',
      'wasm',
    ]);
    assert.equal(code, 0);
    const r = JSON.parse(out);
    for (const k of ['params', 'activations', 'merges', 'timing', 'backend', 'loss', 'summary'])
      assert.ok(k in r, k);
    const p = r.params[0];
    for (const k of ['name', 'shape', 'weightL2', 'ratio']) assert.ok(k in p, k);
    for (const k of ['l2', 'rms', 'maxAbs', 'meanAbs']) assert.equal(typeof p.grad[k], 'number', k);
    assert.equal(typeof r.timing.msPerBatch, 'number');
    assert.equal(typeof r.timing.firstBatchMs, 'number');
    assert.equal(typeof r.timing.steadyMedianMs, 'number');
    assert.equal(r.backend.name, 'wasm');
    assert.equal(r.batchSize, 2);
    assert.equal(r.loss.values.length, 2);
  });

  it('prints a readable gradient-flow table', async () => {
    const { out } = await capture([sample, '--batch', '2', '--batches', '1', '--backend', 'wasm']);
    assert.match(out, /^Gradient flow of sample\.onnx: mean-square loss/);
    assert.match(out, /parameter\s+used by\s+shape\s+grad L2/);
    assert.match(out, /fc\.weight\s+\/fc\/Gemm\s+\[10×16\]/);
    // Exporter-generated names are explained by the node that uses them.
    assert.match(out, /onnx::Conv_\d+\s+\/stem\/stem\.0\/Conv\s+\[8×3×3×3\]/);
    assert.match(out, /merge\s+skip from\s+skip RMS\s+branch RMS/);
    assert.match(out, /probes: [\d.]+ ms for its one batch \(set-up included\) on \d+ threads?\.$/);
  });

  it('runs on the threads --threads asks for, and reports the first batch apart', async () => {
    const { out } = await capture([sample, '--json', '--batch', '2', '--batches', '1', '--threads', '3']);
    const r = JSON.parse(out);
    assert.equal(r.backend.threads, 3);
    assert.equal(r.timing.steadyMedianMs, undefined);
    assert.equal(r.timing.firstBatchMs, r.timing.msPerBatch);
    const table = await capture([sample, '--batch', '2', '--batches', '3', '--threads', '1']);
    assert.match(table.out, /[\d.]+ ms per batch \(median of 2; the first took [\d.]+ ms\) on 1 thread\./);
  });

  it('ends its process when done: the kernel threads do not keep it alive', function () {
    this.timeout(120000);
    const r = spawnSync(
      process.execPath,
      [
        '-r',
        'tsx/cjs',
        path.join(root, 'runtime/cli.ts'),
        'probe',
        sample,
        '--json',
        '--batches',
        '1',
        '--threads',
        '2',
      ],
      { cwd: root, encoding: 'utf8', timeout: 100000 },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).backend.threads, 2);
  });

  it('rejects bad options with a UsageError and bad files with a ModelError', async () => {
    await assert.rejects(
      capture([sample, '--loss', 'hinge']),
      (e: unknown) => e instanceof UsageError && /--loss/.test(e.message),
    );
    await assert.rejects(capture([sample, '--batch', '0']), UsageError);
    await assert.rejects(
      capture([sample, '--threads', 'many']),
      (e: unknown) => e instanceof UsageError && /--threads/.test(e.message),
    );
    await assert.rejects(capture([sample, '--input', 'x.txt']), UsageError);
    await assert.rejects(
      capture([path.join(root, 'test/fixtures/grads/tiny_unsupported.onnx')]),
      (e: unknown) => isModelError(e) && /TopK/.test(e.message),
    );
  });

  it('prints clean JSON from a webgpu run while native code writes to stdout, then exits', function () {
    this.timeout(300_000);
    // Writes to descriptor 1 behind Node's back once the command runs, as Dawn does.
    const noise = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'skipscope-noise-')), 'noise.js');
    fs.writeFileSync(
      noise,
      `const fs = require('fs');
setTimeout(() => { fs.writeSync(1, 'validation:\\nnative noise\\n'); setInterval(() => fs.writeSync(1, 'noise\\n'), 50).unref(); }, 0);`,
    );
    const args = ['probe', sample, '--backend', 'webgpu', '--batch', '2', '--batches', '1', '--json'];
    // Into a file, as `skipscope probe … --json > out.json` does.
    const outFile = path.join(path.dirname(noise), 'out.json');
    const outFd = fs.openSync(outFile, 'w');
    const errFile = path.join(path.dirname(noise), 'err.txt');
    const errFd = fs.openSync(errFile, 'w');
    const r = spawnSync(
      process.execPath,
      ['-r', 'tsx/cjs', '-r', noise, path.join(root, 'runtime/cli.ts'), ...args],
      {
        cwd: root,
        encoding: 'utf8',
        stdio: ['ignore', outFd, errFd],
        timeout: 240_000, // a process kept alive by the GPU would hang here
      },
    );
    fs.closeSync(outFd);
    fs.closeSync(errFd);
    const stdout = fs.readFileSync(outFile, 'utf8');
    const stderr = fs.readFileSync(errFile, 'utf8');
    if (r.status === 1 && /no usable GPU adapter/.test(stderr) && !process.env.CI) {
      this.test!.title += ` (skipped: ${stderr.trim().split('\n').pop()})`;
      this.skip();
    }
    assert.equal(r.status, 0, stderr);
    const json = JSON.parse(stdout);
    assert.equal(json.backend.name, 'webgpu');
    assert.equal(typeof json.backend.adapter.hardware, 'boolean');
    assert.ok(json.timing.firstBatchMs > 0);
    assert.match(stderr, /native noise/);
  });

  it('names webgpu among the backends it accepts', async () => {
    await assert.rejects(
      probeCommand.run([sample, '--backend', 'gpu']),
      (e: unknown) => e instanceof UsageError && /auto, tensorflow, webgpu, wasm, cpu/.test(e.message),
    );
  });
});
