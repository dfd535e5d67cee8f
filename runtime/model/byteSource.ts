/**
 * Random access to a model file's bytes without holding the whole file in memory.
 *
 * Readers walk big files through a small sliding window (one `fs.readSync` per window), so a
 * 100 MB ONNX file is parsed while its weights stay on disk; weight bytes are read later, and only
 * when a tensor's values are asked for.
 */
import * as fs from 'node:fs';

/** Window size for sequential walks: big enough that small messages are one read. */
const WINDOW = 1 << 20;

/** A file (or an in-memory buffer) read through a window. */
export class ByteSource {
  /** The current window's bytes; valid for [base, base + buf.length). */
  buf: Buffer;
  /** File offset of buf[0]. */
  base = 0;
  /** Total size in bytes. */
  readonly size: number;
  private readonly fd: number | null;
  private readonly spare: Buffer | null;

  private constructor(size: number, fd: number | null, whole: Buffer | null) {
    this.size = size;
    this.fd = fd;
    this.buf = whole ?? Buffer.alloc(0);
    this.spare = whole ? null : Buffer.allocUnsafe(Math.min(WINDOW, Math.max(size, 1)));
  }

  /** A source over an open file descriptor (the caller closes it after parsing). */
  static fromFd(fd: number, size: number): ByteSource {
    return new ByteSource(size, fd, null);
  }

  /** A source over bytes already in memory (tests, embedded models). */
  static fromBuffer(b: Buffer): ByteSource {
    return new ByteSource(b.length, null, b);
  }

  /** Makes [pos, pos+len) addressable as buf[pos - base]; the caller has checked it is inside the source. */
  ensure(pos: number, len: number): void {
    if (pos >= this.base && pos + len <= this.base + this.buf.length) return;
    if (this.fd === null) throw new RangeError('outside buffer');
    const n = Math.min(Math.max(len, WINDOW), this.size - pos);
    // Reuse one window buffer; a region larger than it gets its own (rare: a big nested message).
    const target = n <= (this.spare as Buffer).length ? (this.spare as Buffer) : Buffer.allocUnsafe(n);
    let got = 0;
    while (got < n) {
      const r = fs.readSync(this.fd, target, got, n - got, pos + got);
      if (r <= 0) break;
      got += r;
    }
    this.buf = target.subarray(0, got);
    this.base = pos;
    if (got < len) throw new RangeError('short read');
  }

  /** A copy of [pos, pos+len): safe to keep after the window moves. */
  copy(pos: number, len: number): Buffer {
    if (len > WINDOW && this.fd !== null) {
      const out = Buffer.allocUnsafe(len);
      readFully(this.fd, out, pos);
      return out;
    }
    this.ensure(pos, len);
    return Buffer.from(this.buf.subarray(pos - this.base, pos - this.base + len));
  }
}

/** Reads exactly out.length bytes at `pos` from `fd`; returns how many were actually there. */
export function readFully(fd: number, out: Buffer | Uint8Array, pos: number): number {
  let got = 0;
  while (got < out.length) {
    const r = fs.readSync(fd, out, got, out.length - got, pos + got);
    if (r <= 0) break;
    got += r;
  }
  return got;
}
