/**
 * Turns what goes wrong on the GPU into a clear end of the run. WebGPU reports validation errors,
 * out-of-memory and internal errors asynchronously and never throws: a dropped kernel leaves
 * zeros or garbage behind, and the run would report wrong numbers. So each batch runs inside
 * error scopes (which also keep Dawn from printing the errors on stdout), errors that escaped
 * every scope are collected from uncapturederror, and a lost device is noticed; any of these
 * ends the run with a ModelError that says what happened and what to change. The sidecar goes on;
 * the next run gets a fresh device if this one was lost.
 */
import { ModelError } from '../../errors';
import type { GpuError } from './dawn';
import { firstLine, takeUncapturedErrors, webgpuDevice, webgpuLost } from './webgpuBackend';

/** Where in a run the GPU work happened, for the message. */
export interface GuardContext {
  file: string;
  /** e.g. "batch 2 of 4". */
  step: string;
  batchSize: number;
}

const SCOPES = ['internal', 'out-of-memory', 'validation'] as const;

function sentence(ctx: GuardContext, kind: string, detail: string): ModelError {
  const where = `${ctx.file}: ${ctx.step}`;
  if (kind === 'out-of-memory')
    return new ModelError(
      `${where} ran out of GPU memory at batch size ${ctx.batchSize} (${detail}); lower the batch size or the input size, or run on the wasm backend.`,
      ctx.file,
    );
  if (kind === 'lost')
    return new ModelError(
      `${where} stopped: the GPU device was lost (${detail}); the next run starts a new device, or run on the wasm backend.`,
      ctx.file,
    );
  return new ModelError(
    `${where} stopped: the GPU reported a${kind === 'internal' ? 'n internal' : ' validation'} error (${detail}), so its numbers would be wrong; run this model on the wasm backend.`,
    ctx.file,
  );
}

function kindOf(e: GpuError, fallback: string): string {
  const n = e.constructor?.name ?? '';
  if (/OutOfMemory/i.test(n)) return 'out-of-memory';
  if (/Internal/i.test(n)) return 'internal';
  if (/Validation/i.test(n)) return 'validation';
  return fallback;
}

/**
 * Runs `body` (GPU work and the reads that finish it) inside error scopes when the webgpu
 * backend runs; elsewhere it just runs it. Throws the ModelError above when the GPU complained.
 */
export async function guardGpu<T>(ctx: GuardContext, body: () => Promise<T>): Promise<T> {
  const device = webgpuDevice();
  if (!device) return body();
  takeUncapturedErrors(); // anything older belongs to an earlier run
  for (const s of SCOPES) device.pushErrorScope(s);
  let result: T | undefined;
  let thrown: unknown;
  try {
    result = await body();
  } catch (e) {
    thrown = e;
  }
  const found: { kind: string; detail: string }[] = [];
  // Popped in reverse order of pushing: validation, out-of-memory, internal.
  for (const scope of [...SCOPES].reverse()) {
    try {
      const e = await device.popErrorScope();
      if (e) found.push({ kind: kindOf(e, scope), detail: firstLine(e.message) });
    } catch {
      break; // a lost device has no scopes left
    }
  }
  for (const e of takeUncapturedErrors())
    found.push({ kind: kindOf(e, 'validation'), detail: firstLine(e.message) });
  const lost = webgpuLost();
  if (lost) throw sentence(ctx, 'lost', lost);
  const first = found.find((f) => f.kind === 'out-of-memory') ?? found[0];
  if (first) throw sentence(ctx, first.kind, first.detail);
  if (thrown !== undefined) throw thrown;
  return result as T;
}
