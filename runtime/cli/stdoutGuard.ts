/**
 * Keeps the CLI's output (`--json` above all) clean of what native code prints. Dawn, the WebGPU
 * backend's native binding, writes its messages to file descriptor 1 from C++, past Node's
 * process.stdout. So before a probe may load it, the CLI keeps a private descriptor for its own
 * output and points descriptor 1 at stderr (or /dev/null, where stderr is a socket): Dawn's
 * lines land with the other diagnostics and stdout carries exactly what the command prints.
 * POSIX only (on Windows, output goes as usual); a stdout that is a socket cannot be reopened
 * and is left as it is (the probe's GPU work runs in error scopes, so Dawn has little to say).
 */
import { visibleText } from '../view/displayName';
import * as fs from 'node:fs';

/** Where the command's output goes: console.log until guardStdout() takes fd 1 over. */
let write: (text: string) => void = (text) => console.log(text);

/**
 * Prints a line of the command's result (on the guarded stdout once guardStdout ran). Control,
 * bidi and invisible characters from model names are written as `\uXXXX` (visibleText: newlines
 * and tabs stay), so a name cannot send terminal escape sequences or reorder a line; in `--json`
 * output that is the same JSON string escape, so the document means exactly what it did.
 */
export function print(text: string): void {
  write(visibleText(text));
}

/** Writes all of `text` to `fd`, waiting out a non-blocking pipe that is full. */
function writeAll(fd: number, text: string): void {
  const buf = Buffer.from(text);
  let off = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(fd, buf, off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }
}

let guarded = false;

/**
 * Reopens stdout on a descriptor of its own for print(), then makes descriptor 1 a copy of
 * stderr (close, then open: POSIX gives the lowest free descriptor). Returns false, changing
 * nothing, where that cannot be done (Windows, a stdout that cannot be reopened such as a
 * socket). Call before anything runs that could write to descriptor 1 natively.
 */
export function guardStdout(): boolean {
  if (guarded) return true;
  if (process.platform === 'win32') return false;
  const dir = fs.existsSync('/proc/self/fd') ? '/proc/self/fd' : '/dev/fd';
  let out: number;
  try {
    out = fs.openSync(`${dir}/1`, 'a');
  } catch {
    return false;
  }
  fs.closeSync(1);
  // Descriptor 1 must not stay free: the next file opened would get it. Stderr where it can be
  // reopened (not a socket), else /dev/null.
  for (const target of [`${dir}/2`, '/dev/null']) {
    try {
      const fd = fs.openSync(target, 'a');
      if (fd === 1) break;
      fs.closeSync(fd); // something else took descriptor 1 in between
      break;
    } catch {
      // try the next
    }
  }
  guarded = true;
  write = (text) => writeAll(out, `${text}\n`);
  return true;
}
