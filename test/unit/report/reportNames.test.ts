/**
 * Names are shown, not interpreted, in everything made from the markup-name model
 * (scripts/makeMarkupNames.ts): the exported report (Markdown, SVG), the hover Markdown, the
 * ONNX text view; and a report that cannot be written (a full disk) leaves nothing half-written.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as sax from 'sax';
import { openModel } from '../../../runtime/analysis/openModel';
import { analyzeSkips } from '../../../runtime/analysis/analyzeSkips';
import { initBackend } from '../../../runtime/probe/backend';
import { runProbe } from '../../../runtime/probe/runProbe';
import type { ProbeResult } from '../../../runtime/probe/probeTypes';
import { reportGraph } from '../../../runtime/report/reportGraph';
import { REPORT_FILES, writeReport } from '../../../runtime/report/writeReport';
import { printOnnxModel } from '../../../runtime/text/onnxPrinter';
import { symbolMarkdown } from '../../../runtime/text/nameHover';
import { buildViewModel } from '../../../runtime/view/buildViewModel';
import { CARD_NAME_MAX, visibleName } from '../../../runtime/view/displayName';
import { nodeCard, nodeCardMarkdown } from '../../../runtime/view/nodeCard';
import { MARKUP_NAMES, markupNamesModel } from '../../../scripts/makeMarkupNames';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'skipscope-names-'));
const file = path.join(tmp, 'markup-names.onnx');
fs.writeFileSync(file, markupNamesModel());

/** Characters that must never reach a document raw: bidi controls and C0 controls but LF/CR/tab. */
// eslint-disable-next-line no-control-regex -- control characters are what this looks for
const RAW_HIDDEN = /[\u202a-\u202e\u2066-\u2069\u200e\u200f\u0000-\u0008\u000b\u000c\u000e-\u001f]/;

/**
 * Whether Markdown `md` holds a construct that a name could have started: a link or image, an
 * HTML tag, emphasis. Escaped characters (`\[`) are dropped before looking.
 */
function markdownConstructs(md: string): string[] {
  // The report's own pictures are the only links it may hold.
  const bare = md.replace(/\\[!-/:-@[-`{-~]/g, '').replace(/!\[[^\]\n]*\]\((chart|graph)\.svg\)/g, '');
  const found: string[] = [];
  if (/\]\(/.test(bare)) found.push('link');
  if (/<[a-z]/i.test(bare)) found.push('html');
  if (/command:/.test(bare) && /\]\(command:/.test(bare)) found.push('command link');
  if (/\*\*bold\*\*/.test(bare)) found.push('emphasis');
  return found;
}

/** Parses `xml` strictly (throws on malformed XML, e.g. a control character in text). */
function parseXml(xml: string): void {
  const parser = sax.parser(true);
  parser.onerror = (e) => {
    throw e;
  };
  parser.write(xml).close();
}

describe('names shown as text (markup-name model)', () => {
  let result: ProbeResult;

  before(async () => {
    await initBackend('cpu');
    result = await runProbe(await openModel(file), {
      source: { kind: 'synthetic', seed: 0 },
      batchSize: 1,
      batches: 1,
      loss: 'mean-square',
      backend: 'cpu',
    });
  });

  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('the report shows every name as text: escaped Markdown, valid SVG, bidi made visible', async () => {
    const dir = path.join(tmp, 'report');
    await writeReport(dir, result, reportGraph(await openModel(file)));
    const md = fs.readFileSync(path.join(dir, REPORT_FILES.markdown), 'utf8');
    assert.deepEqual(markdownConstructs(md), []);
    assert.doesNotMatch(md, RAW_HIDDEN);
    // The merge row names the bidi merge visibly, and the unescaped text gives its name back.
    const unescaped = md.replace(/\\([!-/:-@[-`{-~])/g, '$1');
    assert.ok(unescaped.includes(visibleName(MARKUP_NAMES.bidi)), 'the merge by its visible name');
    assert.ok(unescaped.includes(MARKUP_NAMES.link), 'the link name as literal text');
    assert.ok(unescaped.includes(MARKUP_NAMES.html), 'the HTML name as literal text');
    assert.ok(md.length < 40_000, `the 100,000-character name is shortened (${md.length} chars)`);
    for (const svg of [REPORT_FILES.graphSvg, REPORT_FILES.chartSvg]) {
      const text = fs.readFileSync(path.join(dir, svg), 'utf8');
      parseXml(text);
      assert.doesNotMatch(text, RAW_HIDDEN, svg);
      assert.doesNotMatch(text, /<img/, svg);
    }
  });

  it('hover Markdown (node cards, tensor cards) escapes every name', async () => {
    const model = await openModel(file);
    const view = buildViewModel(model, analyzeSkips(model));
    for (const name of Object.values(MARKUP_NAMES)) {
      const md =
        nodeCardMarkdown(view, name) ??
        symbolMarkdown({ model, view }, name, 'tensor') ??
        assert.fail(`no card for ${visibleName(name).slice(0, 40)}`);
      assert.deepEqual(markdownConstructs(md), [], visibleName(name).slice(0, 40));
      assert.doesNotMatch(md, RAW_HIDDEN);
      assert.ok(md.length < 4 * CARD_NAME_MAX + 2000, 'long names are shortened');
    }
    const long = nodeCard(view, MARKUP_NAMES.long)!;
    assert.equal(long.rows[0][1].length, CARD_NAME_MAX);
    assert.equal(long.fullName, visibleName(MARKUP_NAMES.long), 'the whole name, for the tooltip');
  });

  it('the ONNX text view prints control and bidi characters as escapes and indexes the names', () => {
    const printed = printOnnxModel(markupNamesModel());
    assert.doesNotMatch(printed.text, RAW_HIDDEN);
    assert.ok(printed.text.includes('"add\\u202Egnp.exe"'));
    assert.ok(printed.text.includes('"ctrl\\u0000\\u0007\\u000A\\u0009name"'));
    assert.ok(printed.text.includes(`"${MARKUP_NAMES.link}"`));
    const names = new Set(printed.index.symbols.map((s) => s.name));
    for (const n of [MARKUP_NAMES.bidi, MARKUP_NAMES.control, MARKUP_NAMES.link, MARKUP_NAMES.html])
      assert.ok(names.has(n), `symbol ${visibleName(n)}`);
  });
});

describe('names shown as text by the CLI (markup-name model)', () => {
  const cli = (...args: string[]) =>
    execFileSync(
      process.execPath,
      ['-r', 'tsx/cjs', path.resolve(__dirname, '../../../runtime/cli.ts'), ...args],
      {
        encoding: 'utf8',
      },
    );

  it('analyze prints names with their control and bidi characters escaped; --json keeps them exact', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skipscope-names-cli-'));
    try {
      const model = path.join(dir, 'markup-names.onnx');
      fs.writeFileSync(model, markupNamesModel());
      const text = cli('analyze', model);
      assert.doesNotMatch(text, RAW_HIDDEN);
      assert.ok(text.includes('add\\u202Egnp.exe'), text);
      const json = JSON.parse(cli('analyze', model, '--json')) as { skips: { merge: string }[] };
      assert.equal(json.skips[0].merge, MARKUP_NAMES.bidi, 'the JSON escape reads back as the name');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Mounts a tmpfs of `kib` KiB at a new folder (root only); undefined where that is not possible. */
function tinyDisk(kib: number): string | undefined {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skipscope-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${kib}k`, 'tmpfs', dir], { stdio: 'ignore' });
    return dir;
  } catch {
    fs.rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
}

describe('report export on a full disk', () => {
  let disk: string | undefined;
  let result: ProbeResult;

  before(async function () {
    disk = tinyDisk(64);
    if (!disk) this.skip(); // needs root and tmpfs: a full disk is simulated by a 64 KiB one
    await initBackend('cpu');
    const model = path.resolve(__dirname, '../../../samples/sample.onnx');
    result = await runProbe(await openModel(model), {
      source: { kind: 'synthetic', seed: 0 },
      batchSize: 1,
      batches: 1,
      loss: 'mean-square',
      backend: 'cpu',
    });
  });

  after(() => {
    if (!disk) return;
    execFileSync('umount', [disk]);
    fs.rmSync(disk, { recursive: true, force: true });
  });

  it('says the disk is full in one sentence, writes nothing and keeps the earlier report', async () => {
    const model = path.resolve(__dirname, '../../../samples/sample.onnx');
    const earlier = path.join(disk!, REPORT_FILES.markdown);
    fs.writeFileSync(earlier, '# the earlier report\n');
    await assert.rejects(writeReport(disk!, result, reportGraph(await openModel(model))), (e: Error) => {
      assert.match(
        e.message,
        /^.+: cannot write the gradient report there: the disk is full; nothing was written\./,
      );
      assert.doesNotMatch(e.message, /\n|at .*\(/, 'one sentence, no stack');
      return true;
    });
    assert.equal(fs.readFileSync(earlier, 'utf8'), '# the earlier report\n');
    assert.deepEqual(fs.readdirSync(disk!), [REPORT_FILES.markdown], 'no partial files left');
  });
});
