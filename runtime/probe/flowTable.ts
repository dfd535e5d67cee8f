/**
 * The readable gradient-flow report of `skipscope probe`: parameters in graph order with a
 * log-scale bar of their gradient RMS, the skip/branch split at each merge and the summary.
 * NaN and Infinity are printed as such, with how many elements held them and, in the summary,
 * where they began.
 */
import { timingText } from '../view/timingText';
import { displayName } from '../view/displayName';
import { sparkline } from '../view/sparkline';
import type { ProbeResult, TimestepGrad } from './probeTypes';
import { timeDecay } from './gradStats';

const fmt = (v: number) =>
  !Number.isFinite(v)
    ? String(v)
    : v === 0
      ? '0'
      : Math.abs(v) >= 1e4 || Math.abs(v) < 1e-3
        ? v.toExponential(2)
        : v.toPrecision(3);

function pad(s: string, n: number, right = false): string {
  if (s.length >= n) return s;
  return right ? s.padStart(n) : s.padEnd(n);
}

function table(head: string[], cells: string[][], rightFrom: number): string {
  // Names from the model: control and bidi characters shown, long ones shortened (displayName).
  const rows = cells.map((r) => r.map((c) => displayName(c)));
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => pad(c, widths[i], i >= rightFrom))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}

/** Bar of `width` cells for log10(v) between lo and hi. */
function bar(v: number, lo: number, hi: number, width = 16): string {
  if (!Number.isFinite(v)) return '!! NaN/Infinity';
  if (!(v > 0)) return '';
  const f = hi > lo ? (Math.log10(v) - lo) / (hi - lo) : 1;
  return '█'.repeat(Math.max(1, Math.round(f * width)));
}

/** A line per recurrent node and direction: the gradient at its first and last step and their ratio. */
function timestepTable(ts: TimestepGrad[]): string {
  const lines = table(
    ['recurrent node', 'direction', 'steps', 'first step', 'last step', 'first/last'],
    ts.map((g) => {
      const rev = g.direction === 'reverse';
      const first = rev ? g.l2[g.l2.length - 1] : g.l2[0];
      const last = rev ? g.l2[0] : g.l2[g.l2.length - 1];
      return [g.node, g.direction, String(g.l2.length), fmt(first), fmt(last), fmt(timeDecay(g))];
    }),
    2,
  ).split('\n');
  // The sparkline (t = 0 on the left) after the right-aligned numbers, left-aligned.
  return lines
    .map((l, i) => `${l}  ${i === 0 ? '‖∂loss/∂h_t‖ over t (log)' : sparkline(ts[i - 1].l2)}`)
    .join('\n');
}

/** Renders a probe result for a terminal. */
export function renderFlowTable(r: ProbeResult): string {
  const out: string[] = [];
  const lossMean = r.loss.values.reduce((a, b) => a + b, 0) / Math.max(r.loss.values.length, 1);
  out.push(
    `Gradient flow of ${r.model}: ${r.loss.kind} loss ${fmt(lossMean)} over ${r.batches} batch${r.batches === 1 ? '' : 'es'} of ${r.batchSize} ` +
      `on ${r.backend.name} (${r.backend.device}${r.backend.threads ? `, ${r.backend.threads} thread${r.backend.threads === 1 ? '' : 's'}` : ''})`,
  );
  out.push('');
  const logs = r.params
    .map((p) => p.grad.rms)
    .filter((v) => v > 0 && Number.isFinite(v))
    .map(Math.log10);
  const lo = Math.min(...logs) - 0.5;
  const hi = Math.max(...logs);
  out.push(
    table(
      // The node column explains exporter-generated names such as "onnx::Conv_96".
      [
        'parameter',
        'used by',
        'shape',
        'grad L2',
        'grad RMS',
        'max |g|',
        'weight L2',
        'g/w',
        'grad RMS (log)',
      ],
      r.params.map((p) => [
        p.name,
        p.node,
        `[${p.shape.join('×')}]`,
        fmt(p.grad.l2) +
          (r.batches > 1 && p.grad.l2Spread && Number.isFinite(p.grad.l2Spread)
            ? ` ±${fmt(p.grad.l2Spread)}`
            : '') +
          (p.grad.nonFinite ? ` (${p.grad.nonFinite} NaN/Inf)` : ''),
        fmt(p.grad.rms),
        fmt(p.grad.maxAbs),
        fmt(p.weightL2),
        fmt(p.ratio),
        bar(p.grad.rms, lo, hi),
      ]),
      3,
    ).replace(/ +$/gm, ''),
  );
  if (r.inputs?.length) {
    out.push('');
    out.push(
      table(
        ['input', 'grad RMS', 'grad L2 / sample', 'zeros'],
        r.inputs.map((i) => [
          i.input,
          fmt(i.rms),
          fmt(i.l2PerSample ?? NaN),
          `${(i.zeroFraction * 100).toFixed(0)}%`,
        ]),
        1,
      ),
    );
  }
  if (r.merges.length) {
    out.push('');
    out.push(
      table(
        ['merge', 'skip from', 'skip RMS', 'branch RMS', 'skip share'],
        r.merges.map((m) => [
          m.merge,
          m.skip,
          fmt(m.skipRms),
          fmt(m.branchRms),
          Number.isFinite(m.skipShare) ? `${(m.skipShare * 100).toFixed(0)}%` : fmt(m.skipShare),
        ]),
        2,
      ),
    );
  }
  if (r.timesteps?.length) {
    out.push('');
    out.push(
      'Gradient through time: the norm of the gradient at the hidden state of each step (a direction processes its first step first; first/last below 1 means it vanishes on the way back).',
    );
    out.push(timestepTable(r.timesteps));
  }
  const dead = r.activations.filter((a) => a.zeroFraction > 0.5);
  if (dead.length) {
    out.push('');
    out.push(
      `Mostly-zero gradients (dead units): ${dead
        .slice(0, 5)
        .map((a) => `${a.tensor} ${(a.zeroFraction * 100).toFixed(0)}%`)
        .join(', ')}${dead.length > 5 ? ` and ${dead.length - 5} more` : ''}.`,
    );
  }
  out.push('');
  out.push(r.summary.text);
  out.push(`Forward + backward with all probes: ${timingText(r)}.`);
  return out.join('\n');
}
