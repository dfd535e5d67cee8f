/**
 * The adversarial corpus (scripts/adversarial/, issue 16) through every stage a user reaches: the
 * reader, the analysis (openModel + skip analysis), the sidecar's view model with its size limit,
 * the ONNX text printer and the probe (wasm). Each file's outcome per stage is in
 * adversarial.table.json: "ok", or a pattern that the one-sentence ModelError must match. Never an
 * internal error, never a stack trace or a second line, always the file's name first.
 *
 * The probes of the three 100k-node graphs take minutes on the wasm backend, so they run only
 * with SKIPSCOPE_CORPUS_FULL=1 (their reading, analysis, view and text always run).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { corpusCases, writeCorpus, type WrittenCase } from '../../../scripts/adversarial/corpus';
import { readModelFile } from '../../../runtime/model/open';
import { analyseModel, openModel } from '../../../runtime/analysis/openModel';
import { analyzeSkips } from '../../../runtime/analysis/analyzeSkips';
import { buildViewModel } from '../../../runtime/view/buildViewModel';
import { checkViewSize } from '../../../runtime/view/viewLimits';
import { TextService } from '../../../runtime/text/textService';
import { runProbe } from '../../../runtime/probe/runProbe';
import { isModelError } from '../../../runtime/errors';
import type { Model } from '../../../runtime/model/ir';

/** "ok", or a regular expression the error message must match. */
type Outcome = string;
interface Row {
  read: Outcome;
  analyze: Outcome;
  view: Outcome;
  text: Outcome;
  probe: Outcome;
  /** Why the probe runs only in the full run. */
  slow?: string;
}
type Stage = 'read' | 'analyze' | 'view' | 'text' | 'probe';

const table = JSON.parse(fs.readFileSync(path.join(__dirname, 'adversarial.table.json'), 'utf8')) as {
  cases: Record<string, Row>;
};
const FULL = process.env.SKIPSCOPE_CORPUS_FULL === '1';

/** Checks what a stage did against its row: ok, or one clean sentence matching the pattern. */
function expectOutcome(w: WrittenCase, stage: Stage, expected: Outcome, error: unknown): void {
  const where = `${w.case.name} ${stage}`;
  if (expected === 'ok') {
    if (error !== undefined)
      assert.fail(`${where}: expected ok, got ${String((error as Error)?.message ?? error)}`);
    return;
  }
  assert.ok(error !== undefined, `${where}: expected an error matching /${expected}/, got ok`);
  assert.ok(
    isModelError(error),
    `${where}: an internal error, not a ModelError: ${(error as Error)?.stack ?? String(error)}`,
  );
  const m = error.message;
  assert.ok(
    m.startsWith(`${w.file}: `),
    `${where}: the message does not name the file first: ${m.slice(0, 300)}`,
  );
  assert.ok(!m.includes('\n'), `${where}: the message has more than one line: ${m.slice(0, 300)}`);
  assert.ok(
    !/internal error|\bat .*:\d+:\d+/.test(m),
    `${where}: internal error or stack: ${m.slice(0, 300)}`,
  );
  assert.ok(m.endsWith('.'), `${where}: not a sentence: ${m.slice(0, 300)}`);
  assert.ok(m.length < w.file.length + 800, `${where}: the message is ${m.length} characters long`);
  assert.match(m, new RegExp(expected), where);
}

async function attempt(f: () => unknown): Promise<unknown> {
  try {
    await f();
    return undefined;
  } catch (e) {
    return e ?? new Error('thrown undefined');
  }
}

describe('adversarial corpus (scripts/adversarial, adversarial.table.json)', function () {
  this.timeout(FULL ? 1_200_000 : 300_000);
  let root = '';
  let written: WrittenCase[] = [];

  before(function () {
    this.timeout(120_000);
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'skipscope-adversarial-'));
    written = writeCorpus(path.join(root, 'corpus'));
  });
  after(() => {
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('has a table row for every case and a case for every row', () => {
    assert.deepEqual(
      corpusCases()
        .map((c) => c.name)
        .sort(),
      Object.keys(table.cases).sort(),
    );
  });

  for (const c of corpusCases()) {
    const row = table.cases[c.name];
    it(`${c.kind}: ${c.name} (${c.what})`, async function () {
      if (!row) this.skip();
      const w = written.find((x) => x.case.name === c.name)!;
      let read: Model | undefined;
      expectOutcome(w, 'read', row.read, await attempt(() => (read = readModelFile(w.file))));
      let model: Model | undefined;
      // openModel is readModelFile + analyseModel: the model just read is analysed, not read twice.
      expectOutcome(
        w,
        'analyze',
        row.analyze,
        await attempt(async () => {
          const m = read ? analyseModel(read) : await openModel(w.file);
          analyzeSkips(m);
          model = m;
        }),
      );
      expectOutcome(
        w,
        'view',
        row.view,
        await attempt(async () => checkViewSize(buildViewModel(model ?? (await openModel(w.file))), w.file)),
      );
      // A file that changes under the reader does so now: open, its weights not yet read.
      c.afterOpen?.(w.dir);
      expectOutcome(w, 'text', row.text, await attempt(() => new TextService().printed(w.file)));
      if (row.slow && !FULL) return;
      expectOutcome(
        w,
        'probe',
        row.probe,
        await attempt(async () => {
          const m = model ?? (await openModel(w.file));
          const r = await runProbe(m, {
            source: { kind: 'synthetic', seed: 0 },
            batchSize: 1,
            batches: 1,
            loss: 'mean-square',
            backend: 'wasm',
            threads: 1,
          });
          // A probe that succeeds measured something: parameters, node outputs or inputs.
          assert.ok(r.params.length + r.activations.length + (r.inputs?.length ?? 0) > 0, 'measured nothing');
          // Without parameters: the gradients at the node outputs and at the inputs.
          if (r.params.length === 0) {
            assert.ok(r.activations.length > 0, 'no node-output gradients');
            assert.ok((r.inputs?.length ?? 0) > 0, 'no input gradient');
          }
        }),
      );
    });
  }
});
