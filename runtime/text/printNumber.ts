/**
 * Numbers as ONNX's printer writes them: C++ `std::to_chars` with no format, i.e. the shortest
 * digits that round-trip through the value's own type, in fixed or scientific notation,
 * whichever is shorter (fixed on a tie), with at least two exponent digits (`1e-05`).
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Rounds to the nearest float32 (Math.fround, without the call overhead in hot loops). */
function toFloat32(x: number): number {
  f32[0] = x;
  return f32[0];
}

/** Lays out `value`'s shortest digits `digits` (no dot, no sign), decimal exponent `exp` (d.ddd × 10^exp). */
function layout(value: number, digits: string, exp: number): string {
  const negative = value < 0;
  const n = digits.length;
  const sign = negative ? '-' : '';
  value = Math.abs(value);
  const absExp = Math.abs(exp);
  const sci =
    (n > 1 ? `${digits[0]}.${digits.slice(1)}` : digits) +
    (exp < 0 ? 'e-' : 'e+') +
    (absExp < 10 ? `0${absExp}` : String(absExp));
  let fixed: string;
  if (exp >= 0) {
    // printf("%.0f") writes an integral value's exact digits (2^30 is 1073741824, not 1073741800).
    fixed = n <= exp + 1 ? BigInt(value).toString() : `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
  } else {
    fixed = `0.${'0'.repeat(-exp - 1)}${digits}`;
  }
  return sign + (fixed.length <= sci.length ? fixed : sci);
}

/** Splits JavaScript's `toExponential` output ("-1.2345e-7") into digits and exponent. */
function splitExponential(s: string): [string, number] {
  const e = s.indexOf('e');
  const mantissa = s.slice(s[0] === '-' ? 1 : 0, e);
  return [mantissa.replace('.', ''), Number(s.slice(e + 1))];
}

function special(x: number): string | undefined {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  return undefined;
}

/** Digits "d1d2…dn" with the last digit moved by `delta` (±1), carrying; exponent adjusted on overflow. */
function bumpLast(digits: string, exp: number, delta: number): [string, number] {
  const n = BigInt(digits) + BigInt(delta);
  let d = n.toString();
  if (d.length > digits.length) return [d.slice(0, -1), exp + 1];
  if (d.length < digits.length) {
    d += '9';
    exp -= 1;
  }
  return [d, exp];
}

function roundTrips32(digits: string, exp: number, a: number): boolean {
  return toFloat32(Number(`${digits}e${exp - digits.length + 1}`)) === a;
}

/** True when `a` lies exactly halfway between two decimals of `fractionDigits` (JS rounds such ties up). */
function isTie(a: number, fractionDigits: number): boolean {
  const next = a.toExponential(fractionDigits + 1);
  if (next[next.indexOf('e') - 1] !== '5') return false;
  const long = a.toExponential(Math.min(100, fractionDigits + 40));
  return /^0*$/.test(long.slice(fractionDigits + 3, long.indexOf('e')));
}

/**
 * True when `a` may lie exactly halfway between two decimals of at most 9 digits. Such a value
 * has at most 10 significant digits, so at most 14 binary fraction digits (m / 2^k with odd m
 * has at least 0.7·k of them): anything finer cannot be a tie, which spares the exact check.
 */
function mayTie(a: number): boolean {
  return Number.isInteger(a * 16384);
}

/** A float32 value (given as the JS number it widens to) as `to_chars(float)` writes it. */
export function formatFloat32(value: number): string {
  // A double that is not a float32 (a caller's literal) prints as the float32 it rounds to.
  const x = toFloat32(value);
  const s = special(x);
  if (s !== undefined) return s;
  const a = Math.abs(x);
  f32[0] = a;
  if ((u32[0] & 0x7fffff) === 0) return formatPowerOfTwo32(x, a);
  // The shortest precision whose nearest decimal reads back as the same float32. Reading back
  // is monotonic in the precision (more digits are never farther), so a binary search finds it.
  let lo = 1;
  let hi = 9;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (toFloat32(Number(a.toExponential(mid - 1))) === a) hi = mid;
    else lo = mid + 1;
  }
  let [digits, exp] = splitExponential(a.toExponential(lo - 1));
  // Two nearest decimals equally close: to_chars takes the even one, JavaScript the larger.
  if (Number(digits[digits.length - 1]) % 2 === 1 && mayTie(a) && isTie(a, lo - 1)) {
    const [d2, e2] = bumpLast(digits, exp, -1);
    if (roundTrips32(d2, e2, a)) [digits, exp] = [d2, e2];
  }
  return layout(x, digits, exp);
}

/** Powers of two read back over a lopsided interval (wider above), so the nearest decimal may not. */
function formatPowerOfTwo32(x: number, a: number): string {
  for (let p = 1; p < 9; p++) {
    const [digits, exp] = splitExponential(a.toExponential(p - 1));
    if (roundTrips32(digits, exp, a)) return layout(x, digits, exp);
    const [d2, e2] = bumpLast(digits, exp, 1);
    if (roundTrips32(d2, e2, a)) return layout(x, d2, e2);
  }
  const [digits, exp] = splitExponential(a.toExponential(8));
  return layout(x, digits, exp);
}

/** A float64 value as `to_chars(double)` writes it. */
export function formatFloat64(x: number): string {
  const s = special(x);
  if (s !== undefined) return s;
  // toExponential() without an argument already gives the shortest round-trip digits.
  const [digits, exp] = splitExponential(Math.abs(x).toExponential());
  return layout(x, digits, exp);
}
