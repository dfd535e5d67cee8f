/**
 * Bad input from a table (readers.table.json): every case throws ModelError with one sentence
 * that names the file and says what is wrong.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openModel } from '../../../runtime/analysis/openModel';
import { ModelError } from '../../../runtime/errors';

interface Case {
  name: string;
  recipe: 'bytes' | 'truncate' | 'flip' | 'copyDir' | 'dir' | 'missing';
  error: string;
  file?: string;
  text?: string;
  from?: string;
  keep?: number;
  at?: number;
  mask?: number;
  remove?: string;
  truncateFile?: string;
  keepBytes?: number;
}

const root = path.resolve(__dirname, '../../..');
const table = JSON.parse(fs.readFileSync(path.join(__dirname, 'readers.table.json'), 'utf8')) as {
  cases: Case[];
};

/** Makes the case's input under `dir`; returns the path to open, or null when its source fixture is absent. */
function make(c: Case, dir: string): string | null {
  const src = c.from ? path.join(root, c.from) : '';
  if (c.from && !fs.existsSync(src)) return null;
  switch (c.recipe) {
    case 'bytes': {
      const f = path.join(dir, c.file ?? 'model');
      fs.writeFileSync(f, c.text ?? '');
      return f;
    }
    case 'truncate': {
      const b = fs.readFileSync(src);
      const f = path.join(dir, path.basename(src));
      fs.writeFileSync(f, b.subarray(0, (c.keep ?? 0) < 0 ? b.length + (c.keep ?? 0) : c.keep));
      return f;
    }
    case 'flip': {
      const b = Buffer.from(fs.readFileSync(src));
      b[c.at ?? 0] ^= c.mask ?? 0xff;
      const f = path.join(dir, path.basename(src));
      fs.writeFileSync(f, b);
      return f;
    }
    case 'copyDir': {
      const from = path.dirname(src);
      for (const e of fs.readdirSync(from)) fs.copyFileSync(path.join(from, e), path.join(dir, e));
      if (c.remove) fs.rmSync(path.join(dir, c.remove));
      if (c.truncateFile) fs.truncateSync(path.join(dir, c.truncateFile), c.keepBytes ?? 0);
      return path.join(dir, path.basename(src));
    }
    case 'dir':
      return dir;
    case 'missing':
      return path.join(dir, c.file ?? 'missing');
  }
}

describe('model readers: bad input table (readers.table.json)', () => {
  for (const c of table.cases) {
    it(`${c.name} → "${c.error}"`, async function () {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skipscope-bad-'));
      try {
        const file = make(c, dir);
        if (!file) this.skip();
        await assert.rejects(openModel(file), (e: unknown) => {
          assert.ok(e instanceof ModelError, `not a ModelError: ${String(e)}`);
          assert.ok(e.message.startsWith(`${file}:`), `names the file: ${e.message}`);
          assert.match(e.message, new RegExp(c.error));
          assert.ok(!e.message.includes('\n    at '), 'no stack in the message');
          return true;
        });
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
