/**
 * One vocabulary for skip counts everywhere (editor header, legend, status bar, CLI): merges by
 * kind, and the paths into them where a merge takes more than one skip — "58 concat merges
 * (535 paths)", "8 residual merges (3 projection)".
 */
import type { SkipAnalysis } from '../analysis/skipTypes';

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The merges with skips of `a` by kind, in words; "no skip merges" when there are none. */
export function mergeCountText(a: Pick<SkipAnalysis, 'counts' | 'skips'>): string {
  const c = a.counts;
  const paths = (kind: string) => a.skips.filter((s) => s.kind === kind).length;
  const part = (n: number, kind: 'residual' | 'concat' | 'long', extra?: string) => {
    if (!n) return undefined;
    const p = paths(kind);
    const notes = [extra, p > n ? plural(p, 'path') : undefined].filter(Boolean);
    return `${plural(n, `${kind} merge`)}${notes.length ? ` (${notes.join(', ')})` : ''}`;
  };
  const parts = [
    part(c.residual, 'residual', c.projection ? `${c.projection} projection` : undefined),
    part(c.concat, 'concat'),
    part(c.long, 'long'),
  ].filter((x): x is string => !!x);
  return parts.length ? parts.join(', ') : 'no skip merges';
}
