/**
 * Test buffers on a WASM heap: filled from values (or with NaN, so that an unwritten output
 * shows), read back as bits, and freed together after each test.
 */
import type { EmscriptenHeap } from '../../../runtime/probe/wasm/wasmKernels';
import { heapMalloc } from '../../../runtime/probe/wasm/heap';

/** n smooth, varied floats (phase shifts them), the same on every run. */
export function values(n: number, phase: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + phase) + 0.25 * Math.cos(i * 1.3));
}

/** Buffers on the heap `heap()` returns (read at each call: tests set it in a `before` hook). */
export function heapBuffers(heap: () => EmscriptenHeap): {
  /** A heap buffer holding `v`, or n NaNs. */
  buffer(v: Float32Array | number): number;
  /** The n floats at `p`, as bits. */
  bits(p: number, n: number): Uint32Array;
  /** Frees every buffer made so far (an afterEach hook). */
  freeAll(): void;
} {
  const ptrs: number[] = [];
  return {
    buffer(v) {
      const h = heap();
      const n = typeof v === 'number' ? v : v.length;
      const p = heapMalloc(h, 4 * Math.max(n, 1));
      ptrs.push(p);
      const view = new Float32Array(h.asm.memory.buffer, p, n);
      if (typeof v === 'number') view.fill(Number.NaN);
      else view.set(v);
      return p;
    },
    bits: (p, n) => new Uint32Array(heap().asm.memory.buffer, p, n).slice(),
    freeAll() {
      for (const p of ptrs.splice(0)) heap()._free(p);
    },
  };
}
