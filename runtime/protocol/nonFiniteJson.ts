/**
 * NaN and ±Infinity in JSON. JSON has no such numbers (JSON.stringify writes null, which reads as
 * "no value"), so wherever probe statistics cross a JSON boundary — the CLI's --json, the sidecar
 * protocol, the webview's messages — a non-finite statistic travels as its name: "NaN",
 * "Infinity" or "-Infinity", which JavaScript's Number() and Python's float() read back. Only the
 * statistics' own keys are revived, so a node that happens to be called "NaN" keeps its name.
 */

/** How JSON carries a number that is not finite. */
export type NonFiniteName = 'NaN' | 'Infinity' | '-Infinity';

/** `T` as it travels: every number may be the name of a non-finite value. */
export type JsonSafe<T> = T extends number
  ? number | NonFiniteName
  : T extends (infer U)[]
    ? JsonSafe<U>[]
    : T extends object
      ? { [K in keyof T]: JsonSafe<T[K]> }
      : T;

/**
 * Keys whose values (or array elements) are statistics in the probe result, the gradient overlay
 * and its chart layers and diagnosis (a test poisons every number of both and reads them back).
 */
const STAT_KEYS = new Set([
  'l2',
  'rms',
  'maxAbs',
  'meanAbs',
  'l2Spread',
  'weightL2',
  'ratio',
  'rmsSpread',
  'l2PerSample',
  'zeroFraction',
  'zeroFractionSpread',
  'skipRms',
  'branchRms',
  'skipShare',
  'factor',
  'values',
  'msPerBatch',
  'firstBatchMs',
  'steadyMedianMs',
  'totalMs',
  'firstBatchMs',
  'setupMs',
  'paramL2',
  'paramRatio',
  'paramRatioSpread',
  'actRms',
  'actSpread',
  'paramRms',
  'paramSpread',
  'ratioSpread',
  'dead',
  'deadSpread',
  'value',
]);

const NAMES: Record<NonFiniteName, number> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity };

/** `value` with every non-finite number replaced by its name. */
export function jsonSafe<T>(value: T): JsonSafe<T> {
  return JSON.parse(JSON.stringify(value, nonFiniteReplacer)) as JsonSafe<T>;
}

/** A JSON.stringify replacer that writes non-finite numbers by name. */
export function nonFiniteReplacer(_key: string, v: unknown): unknown {
  return typeof v === 'number' && !Number.isFinite(v) ? String(v) : v;
}

/** The inverse of jsonSafe: the statistics' names back to numbers. */
export function reviveNonFinite<T>(value: JsonSafe<T>): T {
  return revive(value, false) as T;
}

function revive(v: unknown, stat: boolean): unknown {
  if (stat && typeof v === 'string' && v in NAMES) return NAMES[v as NonFiniteName];
  if (Array.isArray(v)) return v.map((x) => revive(x, stat));
  if (v && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, revive(x, STAT_KEYS.has(k))]));
  return v;
}
