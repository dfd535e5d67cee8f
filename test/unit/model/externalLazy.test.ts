/**
 * External data is read lazily: a model whose weights sit in a 2.4 GiB (2.56 GB) external data
 * file (sparse, written here with onnx-proto, no Python needed) opens, is analysed and gets its
 * view model while the process reads only the .onnx file itself; a tensor past the 2 GiB mark is
 * then read on demand, its bytes alone. The bytes read are the kernel's count for this process
 * (Linux's /proc/self/io rchar), so nothing in the reader is instrumented.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { onnx } from 'onnx-proto';
import { openModel } from '../../../runtime/analysis/openModel';
import { analyzeSkips } from '../../../runtime/analysis/analyzeSkips';
import { buildViewModel } from '../../../runtime/view/buildViewModel';

const GiB = 1024 ** 3;
/** The big weight: 640 M floats (2.4 GiB); the bias sits after it, past 2^31. */
const ROWS = 64_000;
const COLS = 10_000;
const BIAS_OFFSET = ROWS * COLS * 4;

function readChars(): number | undefined {
  try {
    return Number(/rchar: (\d+)/.exec(fs.readFileSync('/proc/self/io', 'utf8'))![1]);
  } catch {
    return undefined;
  }
}

describe('ONNX external data read lazily', () => {
  let dir = '';
  let file = '';
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skipscope-lazy-'));
    const ext = (offset: number, length: number) => [
      { key: 'location', value: 'weights.bin' },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(length) },
    ];
    const external = onnx.TensorProto.DataLocation.EXTERNAL;
    const model: onnx.IModelProto = {
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      graph: {
        name: 'lazy',
        node: [
          { name: 'matmul', opType: 'MatMul', input: ['x', 'W'], output: ['h'] },
          { name: 'bias', opType: 'Add', input: ['h', 'b'], output: ['y'] },
        ],
        initializer: [
          {
            name: 'W',
            dims: [ROWS, COLS],
            dataType: 1,
            dataLocation: external,
            externalData: ext(0, BIAS_OFFSET),
          },
          {
            name: 'b',
            dims: [COLS],
            dataType: 1,
            dataLocation: external,
            externalData: ext(BIAS_OFFSET, COLS * 4),
          },
        ],
        input: [
          {
            name: 'x',
            type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }, { dimValue: ROWS }] } } },
          },
        ],
        output: [
          {
            name: 'y',
            type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }, { dimValue: COLS }] } } },
          },
        ],
      },
    };
    file = path.join(dir, 'lazy.onnx');
    fs.writeFileSync(file, onnx.ModelProto.encode(model).finish());
    // Sparse: 2.4 GiB of zeros that take no disk space, then the bias 0, 1, 2, … written at its offset.
    const fd = fs.openSync(path.join(dir, 'weights.bin'), 'w');
    fs.ftruncateSync(fd, BIAS_OFFSET);
    fs.writeSync(
      fd,
      new Uint8Array(Float32Array.from({ length: COLS }, (_, i) => i).buffer),
      0,
      COLS * 4,
      BIAS_OFFSET,
    );
    fs.closeSync(fd);
    assert.ok(fs.statSync(path.join(dir, 'weights.bin')).size > 2 * GiB);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('opens, analyses and builds the view model reading only the .onnx file', async function () {
    const before = readChars();
    if (before === undefined) {
      this.test!.title += ' (skipped: no /proc/self/io here to count the bytes read)';
      this.skip();
    }
    const m = await openModel(file);
    buildViewModel(m, analyzeSkips(m));
    const read = readChars()! - before;
    assert.equal(m.totalParams, ROWS * COLS + COLS);
    assert.equal(m.graph.values.get('W')?.initializer?.location, 'external:weights.bin@0');
    // The .onnx file (a few hundred bytes), and what Node reads besides: far below one weight MiB.
    assert.ok(read < 1024 * 1024, `read ${read} bytes while opening`);

    // A tensor past 2 GiB is read on demand: its 40,000 bytes, not the file up to it.
    const before2 = readChars()!;
    const b = m.graph.values.get('b')!.initializer!.read() as Float32Array;
    const read2 = readChars()! - before2;
    assert.equal(b.length, COLS);
    assert.equal(b[1234], 1234);
    assert.ok(read2 >= COLS * 4 && read2 < COLS * 4 + 1024 * 1024, `read ${read2} bytes for the bias`);
  });
});
