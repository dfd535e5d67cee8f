/**
 * The name of a probe run, made of its settings (source, batch size × batches, loss, backend, cut
 * skips), so that runs listed side by side say how they differ.
 */
import type { ProbeResult } from './probeTypes';

/** Short words for the batch source ("synthetic normal noise (seed 0)" → "synthetic, seed 0"). */
function sourceWords(source: string | undefined): string {
  if (!source) return 'synthetic';
  const m = /^synthetic normal noise \(seed (\d+)\)$/.exec(source);
  return m ? `synthetic, seed ${m[1]}` : source;
}

/** "synthetic, seed 0 · 4 × 2 · mean-square · wasm · cut 3 merges". */
export function runName(
  r: Pick<ProbeResult, 'source' | 'batchSize' | 'batches' | 'loss' | 'backend' | 'cut'>,
): string {
  const cut = r.cut?.length
    ? r.cut.length === 1
      ? `cut ${r.cut[0]}`
      : `cut ${r.cut.length} merges`
    : 'intact';
  return [sourceWords(r.source), `${r.batchSize} × ${r.batches}`, r.loss.kind, r.backend.name, cut].join(
    ' · ',
  );
}
