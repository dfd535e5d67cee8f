/**
 * Skip ablation ("cut" skips): which merge inputs a probe replaces by zeros of their shape. A cut
 * names merges (or skip ids); each skip input of a named merge is cut at the merge itself — the
 * Add operand, or the Concat part — so that nothing else in the model changes and an intact and
 * a cut run of the same batches compare directly.
 */
import type { Model } from '../model/ir';
import { ModelError } from '../errors';
import { analyzeSkips } from '../analysis/analyzeSkips';

/** One cut merge input: the input slot `input` of merge node `merge` becomes zeros. */
export interface CutInput {
  merge: string;
  input: number;
  /** The skip path (analysis id) this input carries. */
  skip: string;
}

/** The cuts of one run: the merges named in the result's `cut[]`, and their inputs. */
export interface CutPlan {
  merges: string[];
  inputs: CutInput[];
}

/**
 * Resolves `names` (merge node names or skip ids such as "skip3"; "all" for every skip) to the
 * inputs to cut. Throws ModelError naming the model and the first name that is not a merge with
 * a skip input.
 */
export function resolveCuts(model: Model, names: string[] | 'all'): CutPlan {
  const want = names === 'all' ? undefined : names.map((n) => n.trim()).filter(Boolean);
  if (want && want.length === 0) return { merges: [], inputs: [] };
  const { skips } = analyzeSkips(model);
  const chosen =
    want === undefined
      ? skips
      : want.flatMap((name) => {
          const hit = skips.filter((s) => s.merge === name || s.id === name);
          if (hit.length === 0) {
            const some = [...new Set(skips.map((s) => s.merge))].slice(0, 3).map((m) => `"${m}"`);
            throw new ModelError(
              skips.length
                ? `${model.file}: cannot cut "${name}": it is neither a merge with a skip input nor a skip id (merges with skips include ${some.join(', ')}).`
                : `${model.file}: cannot cut "${name}": the model has no skip connections.`,
              model.file,
            );
          }
          return hit;
        });
  const seen = new Set<string>();
  const inputs: CutInput[] = [];
  for (const s of chosen) {
    const key = `${s.merge}\u0000${s.skipInput}`;
    if (seen.has(key)) continue;
    seen.add(key);
    inputs.push({ merge: s.merge, input: s.skipInput, skip: s.id });
  }
  return { merges: [...new Set(inputs.map((c) => c.merge))], inputs };
}
