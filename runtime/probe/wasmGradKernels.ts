/**
 * Gradient kernels the WASM backend lacks (or has only slow ones of), registered from the
 * composite functions of convGrad.ts. Filled in below.
 */
let registered = false;

/** Registers the WASM gradient kernels once. */
export function registerWasmGradKernels(): void {
  if (registered) return;
  registered = true;
}
