/**
 * A probe result as JSON text (the CLI's --json and reports): the contract of probeTypes.ts, with
 * NaN and ±Infinity written by name (runtime/protocol/nonFiniteJson.ts).
 */
import { nonFiniteReplacer } from '../protocol/nonFiniteJson';
import type { ProbeResult } from './probeTypes';

/** `r` as indented JSON text. */
export function probeJson(r: ProbeResult): string {
  return JSON.stringify(r, nonFiniteReplacer, 2);
}
