/**
 * Finds the GPU adapter for the webgpu backend, once per process, and says what it is. `auto`
 * only ever takes a hardware adapter; a software one (llvmpipe, lavapipe, SwiftShader, WARP) is
 * slower than WebAssembly and runs only when asked for by name (CI tests the path on one).
 *
 * Order: Dawn's native backend for the platform (Vulkan on Linux, Metal on macOS, D3D12 on
 * Windows); then, on Linux and only for a named request, Dawn's OpenGL backend on Mesa's
 * llvmpipe (EGL surfaceless, compatibility feature level), which needs no Vulkan driver.
 * SKIPSCOPE_WEBGPU_BACKEND=vulkan|opengl|metal|d3d12|… pins Dawn to one backend.
 */
import * as fs from 'node:fs';
import { describeError } from '../../errors';
import type { AdapterDescription } from '../probeTypes';
import { loadDawn, type Gpu, type GpuAdapter } from './dawn';

/** What Show Runtime Info, the probe JSON and the status bar say about the adapter. */
export type { AdapterDescription };

/** An adapter ready to create a device on, with its description. */
export interface FoundAdapter {
  gpu: Gpu;
  adapter: GpuAdapter;
  featureLevel: 'core' | 'compatibility';
  description: AdapterDescription;
}

/** The outcome of a search: an adapter, or why there is none. */
export type AdapterSearch = { found: FoundAdapter } | { found?: undefined; why: string };

const SOFTWARE = /llvmpipe|lavapipe|softpipe|swiftshader|basic render|\bwarp\b|software/i;

/** True when an adapter's own words say it is a CPU implementation. */
export function isSoftwareAdapter(info: {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}): boolean {
  if (info.isFallbackAdapter) return true;
  return SOFTWARE.test([info.vendor, info.architecture, info.device, info.description].join(' '));
}

/** One line naming an adapter: vendor, architecture, device, driver, hardware or software. */
export function adapterLabel(d: AdapterDescription): string {
  const name = [d.vendor, d.architecture, d.device].filter(Boolean).join(' ') || 'unnamed adapter';
  const driver = d.description && d.description !== d.device ? `, ${d.description}` : '';
  return `${name} (${d.backend}${driver}; ${d.hardware ? 'hardware' : 'software'})`;
}

/**
 * Whether this machine can have a hardware GPU adapter at all, decided without loading Dawn.
 * On Linux every GPU driver (Vulkan included) goes through a DRM render node or NVIDIA's device
 * files (WSL: /dev/dxg); with none of them `auto` skips WebGPU and loses no time. macOS and
 * Windows always have a display adapter to ask.
 */
export function mayHaveHardwareGpu(): boolean {
  if (process.platform !== 'linux') return true;
  try {
    if (fs.readdirSync('/dev/dri').some((f) => f.startsWith('renderD') || f.startsWith('card'))) return true;
  } catch {
    // no /dev/dri
  }
  return fs.existsSync('/dev/nvidia0') || fs.existsSync('/dev/nvidiactl') || fs.existsSync('/dev/dxg');
}

function backendOf(description: string, pinned?: string): string {
  if (pinned) return pinned;
  const m = /\b(vulkan|metal|d3d12|d3d11|opengles|opengl)\b/i.exec(description);
  if (m) return m[1].toLowerCase();
  return process.platform === 'darwin' ? 'metal' : process.platform === 'win32' ? 'd3d12' : 'vulkan';
}

function describe(adapter: GpuAdapter, backend: string): AdapterDescription {
  const i = adapter.info;
  return {
    vendor: i.vendor ?? '',
    architecture: i.architecture ?? '',
    device: i.device ?? '',
    description: i.description ?? '',
    backend,
    hardware: !isSoftwareAdapter(i),
    limits: {
      maxBufferSize: adapter.limits.maxBufferSize,
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
    },
  };
}

function firstLine(s: string): string {
  return s.split('\n')[0];
}

/** One attempt: a Dawn instance with `flags`, then an adapter at `featureLevel`. */
async function attempt(
  flags: string[],
  featureLevel: 'core' | 'compatibility',
  backend?: string,
): Promise<FoundAdapter | string> {
  let gpu: Gpu;
  try {
    gpu = loadDawn().create(flags);
  } catch (e) {
    return describeError(e);
  }
  let adapter;
  try {
    adapter = await gpu.requestAdapter({
      powerPreference: 'high-performance',
      ...(featureLevel === 'compatibility' ? { featureLevel } : {}),
    });
  } catch (e) {
    return firstLine(describeError(e));
  }
  if (!adapter) return `Dawn found no ${backend ?? 'native'} adapter`;
  const probe = describe(adapter, 'unknown');
  const description = { ...probe, backend: backendOf(probe.description, backend) };
  return { gpu, adapter, featureLevel, description };
}

let nativeSearch: Promise<FoundAdapter | string> | undefined;
let softwareSearch: Promise<FoundAdapter | string> | undefined;

/** The platform's own backend (or the pinned one), asked once per process. */
function searchNative(): Promise<FoundAdapter | string> {
  const pinned = process.env.SKIPSCOPE_WEBGPU_BACKEND?.toLowerCase();
  if (pinned === 'opengl' || pinned === 'opengles') return searchOpenGl(pinned);
  return (nativeSearch ??= attempt(pinned ? [`backend=${pinned}`] : [], 'core', pinned));
}

/** Dawn's OpenGL backend on EGL without a display (Mesa's llvmpipe where there is no GPU). */
function searchOpenGl(backend = 'opengl'): Promise<FoundAdapter | string> {
  if (!softwareSearch) {
    // Mesa reads it when Dawn opens the EGL display: no X or Wayland server is needed.
    process.env.EGL_PLATFORM ??= 'surfaceless';
    softwareSearch = attempt([`backend=${backend}`], 'compatibility', backend);
  }
  return softwareSearch;
}

/**
 * Looks for an adapter: a hardware one, or with `allowSoftware` whatever adapter works. Asks
 * Dawn at most once per backend per process (the answer is cached; `forget` drops it after the
 * device was lost).
 */
export async function findAdapter(allowSoftware: boolean): Promise<AdapterSearch> {
  const reasons: string[] = [];
  if (!allowSoftware && !mayHaveHardwareGpu())
    return { why: 'no GPU device node on this machine (/dev/dri, /dev/nvidia*)' };
  const native = await searchNative();
  if (typeof native !== 'string') {
    if (native.description.hardware || allowSoftware) return { found: native };
    reasons.push(`the only adapter is a software one: ${adapterLabel(native.description)}`);
  } else reasons.push(native);
  if (allowSoftware && process.platform === 'linux' && !process.env.SKIPSCOPE_WEBGPU_BACKEND) {
    const gl = await searchOpenGl();
    if (typeof gl !== 'string') return { found: gl };
    reasons.push(`OpenGL: ${gl}`);
  }
  return { why: reasons.join('; ') };
}

/** Drops the cached adapters (a lost device needs a fresh adapter; a used adapter gives no second device). */
export function forgetAdapters(): void {
  nativeSearch = undefined;
  softwareSearch = undefined;
}
