/**
 * Mutation test: real fixtures corrupted thousands of ways (truncated, bytes flipped, chunks
 * spliced, varint-like runs of 0xff inserted; seeded) must each either open as a graph or throw
 * ModelError — never another exception, a hang or a crash — within a time bound.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openModelBytes } from '../../../runtime/analysis/openModel';
import { isModelError } from '../../../runtime/errors';
// Seeded, so that a failing corruption reproduces.
import { uniform as rng } from '../../../runtime/probe/random';

const root = path.resolve(__dirname, '../../..');
/** Per-read bound: generous, since CI machines are shared; a hang would blow far past it. */
const MAX_MS = 5000;
const PER_FILE = Number(process.env.SKIPSCOPE_MUTATIONS ?? 800);

type Mutation = (b: Buffer, r: () => number) => Buffer;
const int = (r: () => number, n: number) => Math.floor(r() * n);

const MUTATIONS: Record<string, Mutation> = {
  truncate: (b, r) => b.subarray(0, int(r, b.length)),
  flip: (b, r) => {
    const c = Buffer.from(b);
    const k = 1 + int(r, 8);
    for (let i = 0; i < k; i++) c[int(r, c.length)] ^= 1 << int(r, 8);
    return c;
  },
  randomByte: (b, r) => {
    const c = Buffer.from(b);
    // Bias toward the head, where lengths and counts of the outer messages live.
    const at = r() < 0.5 ? int(r, Math.min(c.length, 512)) : int(r, c.length);
    c[at] = int(r, 256);
    return c;
  },
  splice: (b, r) => {
    const from = int(r, b.length);
    const len = int(r, Math.min(4096, b.length - from));
    const to = int(r, b.length);
    return Buffer.concat([b.subarray(0, to), b.subarray(from, from + len), b.subarray(to)]);
  },
  cut: (b, r) => {
    const from = int(r, b.length);
    return Buffer.concat([b.subarray(0, from), b.subarray(from + 1 + int(r, 64))]);
  },
  bigVarint: (b, r) => {
    const at = int(r, b.length);
    const run = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01].slice(int(r, 9)));
    return Buffer.concat([b.subarray(0, at), run, b.subarray(at + run.length)]);
  },
};

/** Replaces one random value deep inside a JSON document (a structure-aware corruption for model.json files). */
function mutateJson(b: Buffer, r: () => number): Buffer {
  const doc = JSON.parse(b.toString('utf8')) as unknown;
  const odd: unknown[] = [
    null,
    -1,
    0,
    1e300,
    -2147483648,
    2 ** 53,
    'x',
    '',
    [],
    {},
    [[]],
    true,
    [-1, -1],
    ['a', 0, 0],
  ];
  let parent: Record<string, unknown> | unknown[] | null = null;
  let key: string | number = '';
  let cur: unknown = doc;
  for (let depth = 0; depth < 12 && cur && typeof cur === 'object'; depth++) {
    const keys: (string | number)[] = Array.isArray(cur) ? cur.map((_, i) => i) : Object.keys(cur);
    if (keys.length === 0 || (depth > 1 && r() < 0.2)) break;
    parent = cur as Record<string, unknown>;
    key = keys[int(r, keys.length)];
    cur = (parent as Record<string, unknown>)[key as string];
  }
  if (!parent) return b;
  if (r() < 0.15 && !Array.isArray(parent)) delete (parent as Record<string, unknown>)[key as string];
  else (parent as Record<string, unknown>)[key as string] = odd[int(r, odd.length)];
  return Buffer.from(JSON.stringify(doc));
}

function fixtures(): string[] {
  const cands = [
    'samples/sample.onnx',
    'test/fixtures/onnx/transformer.onnx',
    'test/fixtures/onnx/resnet18_functions.onnx',
    'test/fixtures/onnx/resnet18_external.onnx',
    'test/fixtures/onnx/inception.onnx',
    'test/fixtures/tfjs-layers/nested/model.json',
    'test/fixtures/tfjs-layers/resnet_uint8/model.json',
    'test/fixtures/tfjs-layers/shared/model.json',
  ];
  const graphDir = path.join(root, 'test/fixtures/tfjs-graph');
  if (fs.existsSync(graphDir)) {
    for (const d of fs.readdirSync(graphDir)) {
      const sub = path.join(graphDir, d);
      if (!fs.statSync(sub).isDirectory()) continue;
      for (const f of fs.readdirSync(sub))
        if (f.endsWith('.json')) cands.push(path.join('test/fixtures/tfjs-graph', d, f));
    }
  }
  return cands.filter((f) => fs.existsSync(path.join(root, f)));
}

describe('model readers: mutation test', function () {
  this.timeout(120000);
  const files = fixtures();
  for (const [fi, rel] of files.entries()) {
    it(`${rel}: ${PER_FILE} corruptions each open or throw ModelError`, () => {
      const file = path.join(root, rel);
      const original = fs.readFileSync(file);
      const r = rng(0x5eed + fi);
      const names = Object.keys(MUTATIONS);
      let opened = 0;
      let refused = 0;
      for (let i = 0; i < PER_FILE; i++) {
        // JSON models get a structure-aware corruption every other time: byte noise rarely survives JSON.parse.
        const json = rel.endsWith('.json');
        const kind = json && i % 2 === 1 ? 'jsonValue' : names[i % names.length];
        const bytes = kind === 'jsonValue' ? mutateJson(original, r) : MUTATIONS[kind](original, r);
        const t0 = performance.now();
        try {
          const m = openModelBytes(bytes, file);
          assert.ok(Array.isArray(m.graph.nodes));
          opened++;
          // Lazy weight reads of a corrupt file must fail the same way.
          for (const v of m.graph.values.values()) {
            try {
              v.initializer?.read();
            } catch (e) {
              if (!isModelError(e))
                assert.fail(
                  `reading '${v.name}' after mutation #${i} (${kind}) of ${rel} threw ${(e as Error)?.stack ?? String(e)}`,
                );
            }
          }
        } catch (e) {
          if (!isModelError(e))
            assert.fail(`mutation #${i} (${kind}) of ${rel} threw ${(e as Error)?.stack ?? String(e)}`);
          assert.ok(e.message.includes(file), `the message names the file: ${e.message}`);
          refused++;
        }
        const ms = performance.now() - t0;
        assert.ok(ms < MAX_MS, `mutation #${i} (${kind}) of ${rel} took ${ms.toFixed(0)} ms`);
      }
      assert.equal(opened + refused, PER_FILE);
      // Both outcomes occur: the corruptions reach past the first bytes.
      assert.ok(refused > 0, 'some corruptions are refused');
      if (process.env.SKIPSCOPE_MUTATIONS_VERBOSE)
        console.log(`      ${rel}: ${opened} opened, ${refused} refused`);
    });
  }
});
