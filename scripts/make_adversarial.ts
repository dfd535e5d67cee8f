/**
 * Writes the adversarial corpus (scripts/adversarial/) into a folder, to look at or to feed to the
 * CLI by hand: `npx tsx scripts/make_adversarial.ts OUT_DIR [CASE…]`. The unit test
 * (test/unit/model/adversarial.test.ts) writes its own copy into a temporary folder.
 */
import { writeCorpus } from './adversarial/corpus';

const [out, ...only] = process.argv.slice(2);
if (!out) {
  console.error('usage: npx tsx scripts/make_adversarial.ts OUT_DIR [CASE…]');
  process.exit(2);
}
for (const w of writeCorpus(out, only.length ? only : undefined))
  console.log(`${w.case.kind.padEnd(9)} ${w.case.name.padEnd(28)} ${w.case.what}`);
