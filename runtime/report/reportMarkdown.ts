/**
 * The Markdown report: the run's settings, its summary and diagnosis (with thresholds), the
 * pictures, and tables of layers and merges.
 */
import { CARD_NAME_MAX, markdownName, markdownText } from '../view/displayName';
import { timingText } from '../view/timingText';
import type { ProbeResult } from '../probe/probeTypes';
import type { FlowLayer } from '../view/flowLayers';
import { runName } from '../probe/runName';

const fmt = (v: number | undefined) =>
  v === undefined
    ? ''
    : !Number.isFinite(v)
      ? String(v) // NaN, Infinity: said, not left blank
      : v === 0
        ? '0'
        : Math.abs(v) >= 1e4 || Math.abs(v) < 1e-3
          ? v.toExponential(3)
          : v.toPrecision(4);
const pm = (v: number | undefined, s: number | undefined) =>
  v === undefined ? '—' : s ? `${fmt(v)} ± ${fmt(s)}` : fmt(v);
/** Text from the model or run in Markdown: shown, never interpreted (see markdownText). */
const md = (s: string) => markdownText(s);
/** A node or tensor name: also shortened (see markdownName). */
const mdName = (s: string) => markdownName(s, CARD_NAME_MAX);

/** The Markdown text; `pictures` are file names relative to the report (chart, graph). */
export function reportMarkdown(
  r: ProbeResult,
  layers: FlowLayer[],
  pictures: { chart: string; graph: string },
): string {
  const lines: string[] = [];
  const d = r.diagnosis;
  lines.push(`# Gradient flow of ${md(r.model)}`, '');
  lines.push('## Settings', '');
  lines.push('| setting | value |', '|---|---|');
  lines.push(`| run | ${md(runName(r))} |`);
  lines.push(`| batches | ${md(r.source ?? 'synthetic')} |`);
  lines.push(`| batch size × batches | ${r.batchSize} × ${r.batches} |`);
  lines.push(
    `| loss | ${r.loss.kind} (mean ${fmt(r.loss.values.reduce((a, b) => a + b, 0) / Math.max(1, r.loss.values.length))}) |`,
  );
  lines.push(
    `| backend | ${md(r.backend.name)} (${md(r.backend.device)}, ${r.backend.threads} thread${r.backend.threads === 1 ? '' : 's'}) |`,
  );
  lines.push(`| cut skips | ${r.cut?.length ? r.cut.map(mdName).join(', ') : 'none'} |`);
  lines.push(`| time | ${md(timingText(r))} |`, '');
  lines.push('## Summary', '', md(r.summary.text), '');
  if (d) {
    lines.push('## Diagnosis', '', md(d.text), '');
    for (const f of d.findings) lines.push(`- **${f.severity}** (${f.kind}): ${md(f.message)}`);
    if (d.findings.length) lines.push('');
    const t = d.thresholds;
    lines.push(
      `Thresholds: vanishing and exploding at ${t.vanishingFactor}× / ${t.explodingFactor}× change of the per-sample gradient norm; dead at ${t.deadFraction * 100}% exact zeros; a skip carries almost all from ${t.skipAll * 100}% and almost none up to ${t.skipNone * 100}% of the gradient at its fork.`,
      '',
    );
  }
  lines.push(
    '## Pictures',
    '',
    `![Parameter-gradient RMS per layer](${pictures.chart})`,
    '',
    `![Graph coloured by activation-gradient RMS](${pictures.graph})`,
    '',
  );
  lines.push(
    '## Layers',
    '',
    `${layers.length} layers in topological order; values are means ± spread over ${r.batches} batch${r.batches === 1 ? '' : 'es'}.`,
    '',
  );
  lines.push(
    '| # | node | param-grad RMS | activation-grad RMS | grad/weight | dead |',
    '|---:|---|---:|---:|---:|---:|',
  );
  layers.forEach((l, i) =>
    lines.push(
      `| ${i} | ${mdName(l.node)} | ${pm(l.paramRms, l.paramSpread)} | ${pm(l.actRms, l.actSpread)} | ${pm(l.ratio, l.ratioSpread)} | ${(l.dead * 100).toFixed(1)}% |`,
    ),
  );
  lines.push('');
  if (r.merges.length || r.cut?.length) {
    lines.push(
      '## Merges',
      '',
      '| merge | skip from | skip RMS | branch RMS | skip share |',
      '|---|---|---:|---:|---:|',
    );
    for (const m of r.merges)
      lines.push(
        `| ${mdName(m.merge)}${r.cut?.includes(m.merge) ? ' (cut)' : ''} | ${mdName(m.skip)} | ${fmt(m.skipRms)} | ${fmt(m.branchRms)} | ${(m.skipShare * 100).toFixed(1)}% |`,
      );
    lines.push('');
  }
  return lines.join('\n');
}
