/**
 * The compiled kernel modules (kernelsWasm.ts), one per build and kind of memory, compiled once
 * per process: the main thread's instances and the kernel threads' share them. The relaxed-SIMD
 * build (fused multiply-add) runs where the engine has relaxed SIMD — Electron's V8 ships it,
 * Node 20 has it behind a V8 flag that is switched on here before compiling — and the plain
 * SIMD128 build elsewhere. For a shared heap the module's memory import is marked shared.
 */
import * as v8 from 'node:v8';
import { KERNELS_FMA, KERNELS_SIMD } from './kernelsWasm';
import { withSharedMemory } from './sharedHeap';

/** The two builds of the kernels. */
export type KernelBuild = 'fma' | 'simd';

let relaxedFlagSet = false;
const compiled = new Map<string, WebAssembly.Module | null>();

/** The kernel module of `build` for a shared or an ordinary heap, or undefined where this engine cannot compile it. */
export function kernelModule(build: KernelBuild, shared: boolean): WebAssembly.Module | undefined {
  const key = `${build}:${shared}`;
  if (!compiled.has(key)) {
    let bytes: Uint8Array<ArrayBuffer> | undefined = new Uint8Array(
      Buffer.from(build === 'fma' ? KERNELS_FMA : KERNELS_SIMD, 'base64'),
    );
    if (build === 'fma' && !relaxedFlagSet) {
      relaxedFlagSet = true;
      // Node 20's V8 (11.3) has relaxed SIMD behind this flag; later engines ship it. The flag only
      // adds instructions to the validator and compiler, so it cannot change what other code does.
      try {
        v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
      } catch {
        // not a V8 that takes flags: validation below decides
      }
    }
    if (shared) bytes = withSharedMemory(bytes);
    compiled.set(key, bytes && WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null);
  }
  return compiled.get(key) ?? undefined;
}
