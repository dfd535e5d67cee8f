/**
 * A shared TF.js WASM heap, so that the probe's kernel threads can work on tensors where they lie.
 * tfjs-backend-wasm 4.22 runs its single-threaded build under Node, whose memory is an ordinary
 * one (a 4 GiB maximum, not shared). Marking that memory shared in the binary changes nothing the
 * module does — plain loads and stores work alike on shared memory, and the Emscripten glue grows
 * and re-views it the same way — but lets worker threads instantiate the kernels on it. The
 * alternative, kernels on a shared memory of their own with every operand copied in and every
 * result copied out, costs a copy per kernel call that the threads would have to win back
 * (README, "Kernel threads").
 */

/** Reads the LEB128 unsigned integer at `p`; returns it and the offset past it. */
function leb(b: Uint8Array, p: number): [number, number] {
  let v = 0;
  let shift = 0;
  for (;;) {
    const x = b[p++];
    v += (x & 0x7f) * 2 ** shift;
    shift += 7;
    if (!(x & 0x80)) return [v, p];
  }
}

/** Offset of the flags byte of a memory's limits at `p`, and the offset past the limits. */
function limits(b: Uint8Array, p: number): [number, number] {
  const flags = b[p];
  let q = leb(b, p + 1)[1];
  if (flags & 1) q = leb(b, q)[1];
  return [p, q];
}

/**
 * The offset of the flags byte of the module's first memory (defined or imported), or undefined
 * when it has none. Flags 1 mean "has a maximum", 3 "has a maximum, shared".
 */
export function memoryFlagsOffset(bytes: Uint8Array): number | undefined {
  const magic = [0x00, 0x61, 0x73, 0x6d];
  if (bytes.length < 8 || magic.some((m, i) => bytes[i] !== m)) return undefined;
  let p = 8;
  while (p < bytes.length) {
    const id = bytes[p];
    const [size, body] = leb(bytes, p + 1);
    const end = body + size;
    if (id === 5) {
      const [count, q] = leb(bytes, body);
      return count > 0 ? q : undefined;
    }
    if (id === 2) {
      let [count, q] = leb(bytes, body);
      for (; count > 0; count--) {
        for (let name = 0; name < 2; name++) {
          const [len, r] = leb(bytes, q);
          q = r + len;
        }
        const kind = bytes[q++];
        if (kind === 2) return q;
        if (kind === 0) q = leb(bytes, q)[1];
        else if (kind === 1) q = limits(bytes, q + 1)[1];
        else if (kind === 3) q += 2;
        else if (kind === 4) q = leb(bytes, q + 1)[1];
        else return undefined;
      }
    }
    p = end;
  }
  return undefined;
}

/** A copy of `bytes` whose memory is shared, or undefined when its memory has no maximum (or it has none). */
export function withSharedMemory(bytes: Uint8Array): Uint8Array<ArrayBuffer> | undefined {
  const at = memoryFlagsOffset(bytes);
  if (at === undefined || bytes[at] !== 1) return undefined;
  const copy = new Uint8Array(bytes);
  copy[at] = 3;
  return copy;
}

/** Whether this engine can make shared WebAssembly memories (threads, SharedArrayBuffer). */
export function sharedMemoryAvailable(): boolean {
  try {
    return (
      new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }).buffer instanceof SharedArrayBuffer
    );
  } catch {
    return false;
  }
}

/**
 * Runs `start` (the backend's initialisation) with WebAssembly.instantiate marking the memory of
 * each module compiled from bytes shared (an unchanged module where that cannot be done); the
 * original function is back when `start` settles.
 */
export async function instantiatingShared<T>(start: () => Promise<T>): Promise<T> {
  if (!sharedMemoryAvailable()) return start();
  const original = WebAssembly.instantiate;
  const patched = (source: unknown, imports?: WebAssembly.Imports): Promise<unknown> => {
    if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) {
      const view =
        source instanceof ArrayBuffer
          ? new Uint8Array(source)
          : new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
      const shared = withSharedMemory(view);
      if (shared) return original(shared, imports);
    }
    return (original as (s: unknown, i?: WebAssembly.Imports) => Promise<unknown>)(source, imports);
  };
  (WebAssembly as { instantiate: unknown }).instantiate = patched;
  try {
    return await start();
  } finally {
    WebAssembly.instantiate = original;
  }
}

/** Whether `memory` is shared (its buffer a SharedArrayBuffer). */
export function isShared(memory: WebAssembly.Memory): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
}
