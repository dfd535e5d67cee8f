/**
 * The probe backends every gradient fixture is checked on (append a backend here to cover it):
 * wasm and cpu everywhere, and webgpu on whatever adapter Dawn finds here — in CI a software one
 * (Mesa's llvmpipe through Dawn's OpenGL backend, which `npm test` provisions). A webgpu test
 * skips, saying why, only when no adapter can start on this machine; under CI (CI set) it fails
 * instead, so the path cannot go untested.
 */
import { initBackend, releaseBackends } from '../../../runtime/probe/backend';
import type { BackendName } from '../../../runtime/probe/probeTypes';

/** Backends the every-backend tests run on, in order (tensorflow needs a user install and has its own test). */
export const testBackends: BackendName[] = ['wasm', 'cpu', 'webgpu'];

/** Why webgpu could not start here, once known. */
let webgpuMissing: string | undefined;

/**
 * Makes `name` the current backend for the test or hook of `ctx`; skips it (naming the reason)
 * when webgpu has no adapter here and this is not CI.
 */
export async function useBackend(ctx: Mocha.Context, name: BackendName): Promise<void> {
  if (name === 'webgpu' && webgpuMissing && !process.env.CI) return skip(ctx, webgpuMissing);
  try {
    await initBackend(name);
  } catch (e) {
    if (name !== 'webgpu' || process.env.CI) throw e;
    webgpuMissing = e instanceof Error ? e.message : String(e);
    skip(ctx, webgpuMissing);
  }
}

function skip(ctx: Mocha.Context, why: string): never {
  const t = ctx.currentTest ?? ctx.test;
  if (t) t.title += ` (skipped: ${why})`;
  ctx.skip();
}

// Dawn keeps the process alive while its GPU object is referenced: give it back when mocha is done.
after(() => releaseBackends());
