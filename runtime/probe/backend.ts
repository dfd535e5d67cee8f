/**
 * Picks and initialises the TensorFlow.js backend for probes: native TensorFlow (tfjs-node-gpu,
 * then tfjs-node) when the user installed it in the configured folder, else WebGPU on a hardware
 * adapter (webgpu/), else WebAssembly (shipped), else plain JS. Reports what ran, on which
 * device, with how many threads.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
// A used named import: a bare import of this package is dropped by bundlers (sideEffects).
import { version_cpu } from '@tensorflow/tfjs-backend-cpu';
// tfjs-core alone registers no gradient functions; the union package would.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { ModelError, describeError } from '../errors';
import type { BackendName } from './probeTypes';
import { registerWasmKernels } from './wasmKernelRegistry';
import { registerWasmVolumeKernels } from './wasmVolumeKernels';
import { registerResizeGradKernel } from './resizeGradKernels';
import { registerZeroGradients } from './zeroGradients';
import { registerCpuSegmentSum } from './cpuSegmentSum';
import { registerKernelFallbacks } from './kernelFallback';
import { registerGradientFixes } from './gradientFixes';
import { convSettings } from './ops/nnOps';
import {
  kernelThreadsOf,
  setKernelThreads,
  wasmKernelsIfAvailable,
  type EmscriptenHeap,
} from './wasm/wasmKernels';
import { instantiatingShared } from './wasm/sharedHeap';
import { coreCount } from './wasm/kernelThreads';
import { ThreadTrial } from './wasm/threadTrial';
import { dawnBinaryPath, dawnPlatform } from './webgpu/dawn';
import { adapterLabel, findAdapter, type AdapterDescription } from './webgpu/gpuAdapter';
import {
  beforeWebgpuRelease,
  releaseWebgpu,
  startWebgpu,
  webgpuAdapter,
  webgpuLost,
} from './webgpu/webgpuBackend';

/** Where to look for things the backends load at run time. */
export interface BackendConfig {
  /** Folder holding node_modules/@tensorflow/tfjs-node(-gpu) (the machine-scoped setting). */
  nativePath?: string;
  /** Folder with the tfjs-backend-wasm .wasm binaries (defaults: next to the bundle, else node_modules). */
  wasmDir?: string;
  /** Threads of the WASM kernels (0 or absent: one per core). */
  threads?: number;
}

/** What ran. */
export interface BackendInfo {
  name: BackendName;
  device: string;
  threads: number;
  /**
   * The threads asked for, when the run used one instead: none of its first batch's kernel calls
   * was large enough to share out (wasm/threadTrial.ts).
   */
  threadsAsked?: number;
  /** The GPU adapter (webgpu only). */
  adapter?: AdapterDescription;
}

/** Availability of one backend, for runtime/info. */
export interface BackendAvailability {
  name: BackendName;
  available: boolean;
  detail: string;
}

const NATIVE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'];

/** The native package found under `nativePath`, if any (GPU build first). */
export function findNative(nativePath?: string): { pkg: string; dir: string } | undefined {
  if (!nativePath) return undefined;
  for (const pkg of NATIVE_PACKAGES) {
    const dir = path.join(nativePath, 'node_modules', pkg);
    if (fs.existsSync(path.join(dir, 'package.json'))) return { pkg, dir };
  }
  return undefined;
}

/** The folder holding tfjs-backend-wasm's .wasm files: next to the bundle, else node_modules. */
export function wasmDirectory(config: BackendConfig = {}): string | undefined {
  const candidates = [
    config.wasmDir,
    typeof __dirname === 'string' ? __dirname : undefined,
    path.join(process.cwd(), 'node_modules/@tensorflow/tfjs-backend-wasm/dist'),
  ];
  try {
    candidates.push(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')) + '/dist');
  } catch {
    // Bundled: there is no node_modules to resolve from.
  }
  return candidates.find((d) => d && fs.existsSync(path.join(d, 'tfjs-backend-wasm-simd.wasm')));
}

/** Which backends could run here (asks Dawn for an adapter once, to name it). */
export async function backendAvailability(config: BackendConfig = {}): Promise<BackendAvailability[]> {
  const native = findNative(config.nativePath);
  const wasm = wasmDirectory(config);
  return [
    {
      name: 'tensorflow',
      available: !!native,
      detail: native
        ? `${native.pkg} in ${config.nativePath}`
        : config.nativePath
          ? `no @tensorflow/tfjs-node(-gpu) under ${config.nativePath}/node_modules`
          : 'not configured (set skipscope.probe.nativeBackendPath to a folder with @tensorflow/tfjs-node or -gpu installed)',
    },
    await webgpuAvailability(),
    {
      name: 'wasm',
      available: !!wasm,
      detail: wasm ? `WebAssembly (SIMD), binaries in ${wasm}` : 'tfjs-backend-wasm binaries not found',
    },
    {
      name: 'cpu',
      available: true,
      detail: `plain JavaScript, tfjs-backend-cpu ${version_cpu} (slow; last resort)`,
    },
  ];
}

/** The webgpu entry of backendAvailability: the adapter it runs (or would run) on, or why none. */
async function webgpuAvailability(): Promise<BackendAvailability> {
  const running = webgpuAdapter();
  const onRequest = (d: AdapterDescription) =>
    d.hardware ? '' : ' — a software adapter: only on request (slower than wasm; auto never picks it)';
  if (running)
    return { name: 'webgpu', available: true, detail: `${adapterLabel(running)}${onRequest(running)}` };
  if (!dawnBinaryPath())
    return {
      name: 'webgpu',
      available: false,
      detail: `this package has no WebGPU binary for ${dawnPlatform()} (install the platform-specific Skipscope package)`,
    };
  const search = await findAdapter(true);
  if (!search.found)
    return { name: 'webgpu', available: false, detail: `no GPU adapter: ${search.why}; ${NO_ADAPTER_HINT}` };
  const d = search.found.description;
  return { name: 'webgpu', available: true, detail: `${adapterLabel(d)}${onRequest(d)}` };
}

/** What a machine needs for the webgpu backend. */
const NO_ADAPTER_HINT =
  'WebGPU needs a GPU driver with Vulkan (Linux, Windows), Metal (macOS) or Direct3D 12 (Windows)';

let current: BackendInfo | undefined;

async function tryNative(config: BackendConfig): Promise<BackendInfo | undefined> {
  const native = findNative(config.nativePath);
  if (!native) return undefined;
  // Load the user's package with its own require so that it finds its own tfjs-core peer;
  // it registers the "tensorflow" backend on the tfjs-core instance it resolves.
  const req = createRequire(path.join(config.nativePath!, 'package.json'));
  const mod = req(native.pkg) as { version?: Record<string, string> };
  void mod;
  if (!(await tf.setBackend('tensorflow'))) return undefined;
  const gpu = native.pkg.endsWith('-gpu');
  return {
    name: 'tensorflow',
    device: gpu ? 'GPU (CUDA via libtensorflow)' : 'CPU (libtensorflow)',
    threads: 0,
  };
}

async function tryWasm(config: BackendConfig): Promise<BackendInfo | undefined> {
  const dir = wasmDirectory(config);
  if (!dir) return undefined;
  setWasmPaths(dir.endsWith('/') ? dir : `${dir}/`);
  registerWasmKernels();
  registerWasmVolumeKernels();
  registerResizeGradKernel('wasm');
  // Emscripten's Node glue installs process handlers that rethrow every uncaught exception and
  // rejection, which would take the sidecar down with any stray error: remove what it added.
  const before = {
    uncaughtException: process.listeners('uncaughtException'),
    unhandledRejection: process.listeners('unhandledRejection'),
  };
  // A shared heap, so that the kernel threads can work on it (wasm/sharedHeap.ts).
  const ok = await instantiatingShared(() => tf.setBackend('wasm'));
  for (const l of process.listeners('uncaughtException'))
    if (!before.uncaughtException.includes(l)) process.removeListener('uncaughtException', l);
  for (const l of process.listeners('unhandledRejection'))
    if (!before.unhandledRejection.includes(l)) process.removeListener('unhandledRejection', l);
  if (!ok) return undefined;
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const own = wasmKernelsIfAvailable(wasmHeap());
  const kernels = own
    ? `, GEMM/Winograd kernels ${own.build === 'fma' ? 'with relaxed-SIMD FMA' : 'in SIMD128'}`
    : '';
  // TF.js's own WASM kernels run on one thread under Node (tfjs issue #3830); threads is set per run.
  return { name: 'wasm', device: `CPU (WebAssembly${simd ? ' SIMD' : ''}${kernels})`, threads: 1 };
}

/** Why webgpu did not start, for the error of a named request. */
let webgpuWhy = '';

async function tryWebgpu(allowSoftware: boolean): Promise<BackendInfo | undefined> {
  if (!dawnBinaryPath()) {
    webgpuWhy = `this package has no WebGPU binary for ${dawnPlatform()} (install the platform-specific Skipscope package)`;
    return undefined;
  }
  const started = await startWebgpu(allowSoftware);
  if (!started.adapter) {
    webgpuWhy = `no usable GPU adapter: ${started.why}; ${NO_ADAPTER_HINT}`;
    return undefined;
  }
  setupMs = started.startMs;
  return {
    name: 'webgpu',
    device: `GPU (WebGPU on ${adapterLabel(started.adapter)})`,
    threads: 0,
    adapter: started.adapter,
  };
}

async function tryCpu(): Promise<BackendInfo | undefined> {
  if (!(await tf.setBackend('cpu'))) return undefined;
  registerResizeGradKernel('cpu');
  return { name: 'cpu', device: `CPU (plain JavaScript, tfjs-backend-cpu ${version_cpu})`, threads: 1 };
}

/** Milliseconds the last backend start took beyond the engine's own (the GPU's adapter and device). */
let setupMs = 0;

/** Counts GPU devices given back: tensors made on an earlier device are dead. */
let generation = 0;
beforeWebgpuRelease(() => generation++);

/**
 * Selects a backend: `auto` tries tensorflow → webgpu (hardware adapters only) → wasm → cpu; a
 * named one must work or a ModelError says why. Idempotent for the same choice.
 */
export async function initBackend(
  want: BackendName | 'auto' = 'auto',
  config: BackendConfig = {},
): Promise<BackendInfo> {
  // Reuse the running backend unless auto could now do better (a native package was configured).
  const better = want === 'auto' && current?.name !== 'tensorflow' && !!findNative(config.nativePath);
  // A lost GPU device is replaced; a software adapter serves named requests only.
  const stale =
    current?.name === 'webgpu' && (!!webgpuLost() || (want === 'auto' && !current.adapter?.hardware));
  setupMs = 0;
  if (
    current &&
    !better &&
    !stale &&
    (want === 'auto' || want === current.name) &&
    tf.getBackend() === current.name
  )
    return withThreads(current, config);
  registerZeroGradients();
  // Also where another backend borrows the CPU kernel (kernelFallback.ts).
  registerCpuSegmentSum();
  registerGradientFixes();
  // TF.js's own console advice ("install our node backend…") is not for Skipscope's users: the
  // backend that ran is reported in the results, and stdout/stderr belong to the CLI and sidecar.
  tf.env().set('PROD', true);
  const order: BackendName[] = want === 'auto' ? ['tensorflow', 'webgpu', 'wasm', 'cpu'] : [want];
  const errors: string[] = [];
  for (const name of order) {
    try {
      const info =
        name === 'tensorflow'
          ? await tryNative(config)
          : name === 'webgpu'
            ? await tryWebgpu(want === 'webgpu')
            : name === 'wasm'
              ? await tryWasm(config)
              : await tryCpu();
      if (info) {
        await tf.ready();
        // Whatever kernel this backend lacks runs on the CPU backend, for that op alone (on
        // webgpu, hostValues.ts has registered every one already, GPU-safe).
        registerKernelFallbacks(name);
        // The composite conv gradients beat WASM's and JS's own; native TensorFlow and WebGPU
        // have real kernels (and WebGPU tensors cannot be walked by the JS loops).
        convSettings.fastGrad = name !== 'tensorflow' && name !== 'webgpu';
        current = info;
        return withThreads(info, config);
      }
      errors.push(`${name}: ${name === 'webgpu' ? webgpuWhy : 'not available'}`);
    } catch (e) {
      errors.push(`${name}: ${describeError(e)}`);
    }
  }
  throw new ModelError(`no probe backend could start (${errors.join('; ')}).`);
}

/**
 * `info` with the threads that will run: the WASM kernel threads, started (without waiting for
 * them: they join as they come up) or resized to `config.threads`.
 */
async function withThreads(info: BackendInfo, config: BackendConfig): Promise<BackendInfo> {
  if (info.name !== 'wasm') return info;
  const threads = await setKernelThreads(wasmHeap(), config.threads || coreCount(), false);
  current = { ...withoutNarrowing(info), threads };
  return current;
}

function wasmHeap(): EmscriptenHeap {
  return (tf.backend() as unknown as { wasm: EmscriptenHeap }).wasm;
}

/** The run's watch on its kernel threads (wasm/threadTrial.ts): WASM only. */
export function threadTrial(info: BackendInfo): ThreadTrial | undefined {
  if (info.name !== 'wasm' || tf.getBackend() !== 'wasm') return undefined;
  return new ThreadTrial(wasmHeap());
}

/**
 * `info` after a run: the threads still available (a kernel thread that failed during it is not
 * counted), or one where `trial` took the run down to one.
 */
export function afterRun(info: BackendInfo, trial?: ThreadTrial): BackendInfo {
  if (info.name !== 'wasm' || tf.getBackend() !== 'wasm') return info;
  const pool = kernelThreadsOf(wasmHeap());
  const threads = pool ? Math.min(info.threads, pool.available) : info.threads;
  const asked = trial?.narrowedFrom;
  current = {
    ...withoutNarrowing(info),
    ...(asked === undefined ? { threads } : { threads: 1, threadsAsked: asked }),
  };
  return current;
}

/** `info` without the last run's narrowing to one thread. */
function withoutNarrowing(info: BackendInfo): BackendInfo {
  const { threadsAsked: _, ...rest } = info;
  return rest;
}

/** Versions of the TF.js packages in use, for runtime/info. */
export function tfVersions(): Record<string, string> {
  return { 'tfjs-core': tf.version_core, 'tfjs-backend-cpu': version_cpu };
}

/** The backend that initBackend chose last, if any. */
export function currentBackend(): BackendInfo | undefined {
  return current;
}

/** Milliseconds the last initBackend spent starting a GPU (adapter and device; 0 when reused or not a GPU). */
export function backendSetupMs(): number {
  return setupMs;
}

/** Changes whenever tensors made on an earlier backend may be dead (a new GPU device). */
export function backendGeneration(): number {
  return generation;
}

/** Runs `hook` before GPU memory goes away (release or lost device): free what lives there. */
export function beforeBackendRelease(hook: () => void): void {
  beforeWebgpuRelease(hook);
}

/**
 * Gives the GPU back so that the process can exit (Dawn keeps it alive while referenced). Call
 * at shutdown of the CLI, the sidecar and test runs; a later initBackend starts again.
 */
export function releaseBackends(): void {
  if (current?.name === 'webgpu') current = undefined;
  releaseWebgpu();
}
