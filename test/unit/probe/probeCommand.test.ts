/**
 * `skipscope probe`: JSON keys of the contract, the readable table, and usage errors.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
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
});
