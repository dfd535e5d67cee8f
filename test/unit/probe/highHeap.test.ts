/**
 * The probe's kernels on a heap grown past 2 GiB (the WASM heap may reach 4 GiB): the module's
 * malloc returns such addresses as negative numbers, which the probe must read unsigned
 * (wasm/heap.ts's heapMalloc). In a process of its own (test/unit/helpers/highHeapChild.ts), so
 * that the other tests keep a small heap.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const root = path.resolve(__dirname, '../../..');

describe('a WASM heap past 2 GiB', () => {
  it('allocations above 2 GiB read unsigned, and the statistics kernels run on them (1 and 2 threads)', function () {
    this.timeout(120000);
    const r = spawnSync(
      process.execPath,
      ['-r', 'tsx/cjs', path.join(root, 'test/unit/helpers/highHeapChild.ts')],
      {
        cwd: root,
        encoding: 'utf8',
        timeout: 110000,
      },
    );
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
    assert.ok(out.filler > 0, 'the heap grew past 2 GiB');
    assert.ok(out.p >= 2 ** 31, `the buffer lies above 2 GiB (${out.p})`);
    assert.ok(out.scratch >= 2 ** 31, `scratch from withScratch lies above 2 GiB (${out.scratch})`);
    assert.ok(Math.abs(out.one - out.sumSq) <= 1e-9 * out.sumSq, `${out.one} vs ${out.sumSq}`);
    assert.equal(out.two, out.one);
    assert.ok(out.jobs > 0, 'the two-thread call ran on the threads');
  });
});
