/**
 * A minimal protobuf wire-format walker over a ByteSource, for the ONNX reader.
 *
 * Hand-written instead of a generated decoder so that big `bytes` fields (raw tensor data) are
 * skipped by offset and never copied, and so that every length and count is checked against the
 * enclosing message before it is trusted (corrupt files must not allocate or loop without bound).
 */
import type { ByteSource } from '../byteSource';

/** A malformed protobuf; the ONNX reader turns it into a ModelError naming the file. */
export class WireError extends Error {}

/** Wire types that ONNX uses. */
export const VARINT = 0;
export const I64 = 1;
export const LEN = 2;
export const I32 = 5;

/** Iterates the fields of one message in [start, end). */
export class FieldReader {
  /** Field number of the current field. */
  num = 0;
  /** Wire type of the current field. */
  wt = 0;
  /** For LEN fields: payload start and end (absolute offsets); for others, the value's start. */
  vstart = 0;
  vend = 0;
  /** Decoded value of a VARINT field (two's complement int64 as a number, exact up to 2^53). */
  value = 0;
  private pos: number;

  constructor(
    readonly src: ByteSource,
    start: number,
    readonly end: number,
  ) {
    if (start < 0 || end > src.size || start > end)
      throw new WireError('a message runs past the end of the file');
    this.pos = start;
  }

  /** Advances to the next field; false at the end of the message. */
  next(): boolean {
    if (this.pos >= this.end) return false;
    const src = this.src;
    src.ensure(this.pos, Math.min(24, this.end - this.pos));
    const tag = readVarint(src, this, this.pos, this.end);
    const wt = tag % 8;
    const num = Math.floor(tag / 8);
    if (num < 1 || num > 0x1fffffff) throw new WireError(`invalid field number ${num}`);
    this.num = num;
    this.wt = wt;
    let p = this.at;
    switch (wt) {
      case VARINT:
        this.vstart = p;
        this.value = readVarint(src, this, p, this.end);
        p = this.at;
        break;
      case I64:
        this.vstart = p;
        p += 8;
        break;
      case LEN: {
        const len = readVarint(src, this, p, this.end);
        p = this.at;
        if (len < 0 || p + len > this.end)
          throw new WireError(`a field of ${len} bytes runs past the end of its message`);
        this.vstart = p;
        p += len;
        break;
      }
      case I32:
        this.vstart = p;
        p += 4;
        break;
      default:
        throw new WireError(`unsupported wire type ${wt}`);
    }
    if (p > this.end) throw new WireError('a field runs past the end of its message');
    this.vend = p;
    this.pos = p;
    return true;
  }

  /** Scratch: position after the last varint read by readVarint. */
  at = 0;

  /** The current LEN field as a UTF-8 string. */
  string(): string {
    const n = this.vend - this.vstart;
    if (n === 0) return '';
    this.src.ensure(this.vstart, n);
    const o = this.vstart - this.src.base;
    return this.src.buf.toString('utf8', o, o + n);
  }

  /** The current I32 field as a float. */
  float(): number {
    this.src.ensure(this.vstart, 4);
    return this.src.buf.readFloatLE(this.vstart - this.src.base);
  }

  /** The current I64 field as a double. */
  double(): number {
    this.src.ensure(this.vstart, 8);
    return this.src.buf.readDoubleLE(this.vstart - this.src.base);
  }

  /** Appends the integers of a repeated int field (packed LEN or a single VARINT) to `out`. */
  ints(out: number[]): void {
    if (this.wt === VARINT) {
      out.push(this.value);
      return;
    }
    if (this.wt !== LEN) throw new WireError('an integer list has the wrong wire type');
    const n = this.vend - this.vstart;
    this.src.ensure(this.vstart, n);
    let p = this.vstart;
    const holder = { at: 0 };
    while (p < this.vend) {
      out.push(readVarint(this.src, holder, p, this.vend));
      p = holder.at;
    }
  }

  /** Appends the floats of a repeated float field (packed LEN or a single I32) to `out`. */
  floats(out: number[]): void {
    if (this.wt === I32) {
      out.push(this.float());
      return;
    }
    if (this.wt !== LEN) throw new WireError('a float list has the wrong wire type');
    const n = this.vend - this.vstart;
    if (n % 4 !== 0) throw new WireError('a packed float list has a length that is not a multiple of 4');
    this.src.ensure(this.vstart, n);
    const o = this.vstart - this.src.base;
    for (let i = 0; i < n; i += 4) out.push(this.src.buf.readFloatLE(o + i));
  }

  /** Checks the wire type of the current field. */
  expect(wt: number, what: string): void {
    if (this.wt !== wt) throw new WireError(`${what} has wire type ${this.wt}, expected ${wt}`);
  }
}

/**
 * Decodes a varint at absolute `pos` (already ensured in the window) as a two's complement int64,
 * stores the next position in `holder.at` and returns the value as a number.
 */
export function readVarint(src: ByteSource, holder: { at: number }, pos: number, end: number): number {
  const buf = src.buf;
  let o = pos - src.base;
  const lim = Math.min(end, pos + 10) - src.base;
  let lo = 0;
  let hi = 0;
  let b = 0;
  let i = 0;
  for (; i < 4; i++) {
    if (o >= lim) throw new WireError('a varint runs past the end of its message');
    b = buf[o++];
    lo |= (b & 0x7f) << (7 * i);
    if (b < 0x80) {
      holder.at = o + src.base;
      return lo >>> 0;
    }
  }
  if (o >= lim) throw new WireError('a varint runs past the end of its message');
  b = buf[o++];
  lo |= (b & 0x7f) << 28;
  hi = (b & 0x7f) >> 4;
  if (b >= 0x80) {
    for (i = 0; i < 5; i++) {
      if (o >= lim) throw new WireError('a varint is too long or runs past the end of its message');
      b = buf[o++];
      hi |= (b & 0x7f) << (3 + 7 * i);
      if (b < 0x80) break;
    }
    if (b >= 0x80) throw new WireError('a varint is longer than 10 bytes');
  }
  holder.at = o + src.base;
  if (hi & 0x80000000) return -((~hi >>> 0) * 4294967296 + (~lo >>> 0) + 1);
  return (hi >>> 0) * 4294967296 + (lo >>> 0);
}
