/**
 * The `webgpu` probe backend: TF.js's WebGPU backend (@tensorflow/tfjs-backend-webgpu) on a
 * device of the adapter gpuAdapter.ts found, registered by Skipscope itself (TF.js's own
 * registration would ask navigator.gpu for an adapter without the options Dawn needs). One device
 * per process, kept until released; a lost device is noticed and replaced on the next run.
 */
import * as tf from '@tensorflow/tfjs-core';
import { describeError } from '../../errors';
import { loadDawn, type GpuDevice, type GpuError } from './dawn';
import {
  adapterLabel,
  findAdapter,
  forgetAdapters,
  type AdapterDescription,
  type FoundAdapter,
} from './gpuAdapter';
import { installHostValues, registerHostForwarding } from './hostValues';
import { registerGpuKernels } from './gpuKernels';
import { registerResizeGradKernel } from '../resizeGradKernels';

/** The device in use and what happened to it. */
interface GpuState {
  device: GpuDevice;
  found: FoundAdapter;
  /** Errors no error scope caught (uncapturederror events), oldest first, until a run reads them. */
  uncaptured: GpuError[];
  /** Why the device was lost, once it was. */
  lost?: string;
  releasing: boolean;
  /** Milliseconds spent finding the adapter and creating the device. */
  startMs: number;
}

let state: GpuState | undefined;
const releaseHooks = new Set<() => void>();

/** Runs `hook` before the device goes (released or lost): the place to free tensors that live on it. */
export function beforeWebgpuRelease(hook: () => void): void {
  releaseHooks.add(hook);
}

/** The outcome of starting the backend: the adapter it runs on, or why it cannot run. */
export type WebgpuStart =
  { adapter: AdapterDescription; startMs: number } | { adapter?: undefined; why: string };

/** Makes Dawn's navigator.gpu and its GPU* constants visible where TF.js looks for them. */
function exposeGpu(found: FoundAdapter): void {
  const g = globalThis as Record<string, unknown>;
  for (const [k, v] of Object.entries(loadDawn().globals)) if (!(k in g)) g[k] = v;
  const nav = g.navigator as Record<string, unknown> | undefined;
  try {
    if (!nav) throw new Error('no navigator');
    Object.defineProperty(nav, 'gpu', { value: found.gpu, configurable: true, writable: true });
  } catch {
    // Node 21+ has a navigator of its own; where it refuses a new property, shadow it.
    Object.defineProperty(globalThis, 'navigator', {
      value: { ...(nav ?? {}), gpu: found.gpu },
      configurable: true,
      writable: true,
    });
  }
}

/** The first line of a WebGPU error message, which names the problem (the rest is a call trace). */
export function firstLine(message: string): string {
  return (
    message
      .split('\n')
      .find((l) => l.trim())
      ?.trim() ?? message
  );
}

async function createDevice(found: FoundAdapter): Promise<GpuDevice> {
  const l = found.adapter.limits;
  // Ask for the adapter's own limits: the defaults (128 MiB bindings, 256 MiB buffers) are far
  // below what a GPU offers, and TF.js sizes its shaders from the device's limits.
  return found.adapter.requestDevice({
    requiredLimits: {
      maxBufferSize: l.maxBufferSize,
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      // TF.js binds one storage buffer per kernel input (AddN of many gradients).
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
    },
  });
}

/**
 * Starts (or reuses) the webgpu backend and makes it TF.js's current backend. `allowSoftware`
 * is false for `auto`: then only a hardware adapter is taken.
 */
export async function startWebgpu(allowSoftware: boolean): Promise<WebgpuStart> {
  if (state?.lost) releaseWebgpu();
  if (state) {
    if (!state.found.description.hardware && !allowSoftware)
      return { why: `the adapter is a software one (${adapterLabel(state.found.description)})` };
    if (tf.getBackend() !== 'webgpu' && !(await tf.setBackend('webgpu')))
      return { why: 'TF.js could not switch back to the WebGPU backend' };
    return { adapter: state.found.description, startMs: 0 };
  }
  const t0 = performance.now();
  const search = await findAdapter(allowSoftware);
  if (!search.found) return { why: search.why };
  const found = search.found;
  let device: GpuDevice;
  try {
    device = await createDevice(found);
  } catch (e) {
    forgetAdapters();
    return { why: `${adapterLabel(found.description)} gave no device (${describeError(e)})` };
  }
  const s: GpuState = { device, found, uncaptured: [], releasing: false, startMs: 0 };
  device.onuncapturederror = (e) => s.uncaptured.push(e.error);
  void device.lost.then((info) => {
    if (!s.releasing) s.lost = `${info.reason}: ${firstLine(info.message)}`;
  });
  exposeGpu(found);
  // Loaded here, not at startup: a session that never uses the GPU never evaluates it.
  const { WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu');
  registerGpuKernels();
  registerHostForwarding();
  registerResizeGradKernel('cpu'); // small host-side tensors run the CPU's kernels: the corrected one
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  // Priority 0: never TF.js's own pick; Skipscope always names its backend.
  tf.registerBackend('webgpu', () => new WebGPUBackend(device as never, found.adapter.info as never), 0);
  state = s;
  let ok = false;
  // In a scope: an error here is a failed start, not a line Dawn prints on stdout.
  device.pushErrorScope('validation');
  try {
    ok = await tf.setBackend('webgpu');
  } catch (e) {
    await device.popErrorScope().catch(() => null);
    releaseWebgpu();
    return {
      why: `TF.js's WebGPU backend did not start on ${adapterLabel(found.description)} (${describeError(e)})`,
    };
  }
  const scoped = await device.popErrorScope().catch(() => null);
  if (scoped) {
    releaseWebgpu();
    return {
      why: `TF.js's WebGPU backend did not start on ${adapterLabel(found.description)} (${firstLine(scoped.message)})`,
    };
  }
  // setBackend answers false (without throwing) when the backend's factory failed.
  if (!ok) {
    releaseWebgpu();
    return { why: `TF.js's WebGPU backend did not start on ${adapterLabel(found.description)}` };
  }
  installHostValues(tf.backend());
  s.startMs = performance.now() - t0;
  return { adapter: found.description, startMs: s.startMs };
}

/** The device of the running webgpu backend, if there is one. */
export function webgpuDevice(): GpuDevice | undefined {
  return state?.device;
}

/** Why the device was lost, if it was. */
export function webgpuLost(): string | undefined {
  return state?.lost;
}

/** Takes the errors that reached uncapturederror since the last call. */
export function takeUncapturedErrors(): GpuError[] {
  return state ? state.uncaptured.splice(0) : [];
}

/** The adapter of the running (or last found) device, if any. */
export function webgpuAdapter(): AdapterDescription | undefined {
  return state?.found.description;
}

/**
 * Frees the device and every reference to Dawn's instance, so that the process can exit (Dawn
 * keeps a process alive while its GPU object is referenced). Safe to call when nothing runs.
 */
export function releaseWebgpu(): void {
  const s = state;
  state = undefined;
  if (s) {
    s.releasing = true;
    for (const hook of releaseHooks) hook();
    // Also unsets it as the current backend; the next initBackend picks one again.
    if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
    try {
      s.device.destroy();
    } catch {
      // already destroyed
    }
  }
  forgetAdapters();
  const nav = (globalThis as Record<string, unknown>).navigator as Record<string, unknown> | undefined;
  if (nav && 'gpu' in nav) {
    try {
      delete nav.gpu;
    } catch {
      // a read-only navigator: leave it
    }
  }
}
