/**
 * Shape arithmetic stays on the CPU under WebGPU. Under Node a GPU buffer can only be read back
 * asynchronously (TF.js's synchronous path needs an OffscreenCanvas), but the probe's executors
 * read small integer tensors synchronously in the middle of a pass (Reshape targets, Pad pads,
 * Gather indices, Shape → Gather → Concat chains). So, on the webgpu backend:
 * - a small tensor keeps its CPU copy when it is uploaded (TF.js drops it);
 * - any kernel whose inputs all have CPU copies and are small runs on the CPU backend's kernel
 *   and leaves its output on the CPU (TF.js does so for some kernels only; Select, which Gather's
 *   negative-index fix-up runs, is not one of them);
 * - a kernel TF.js's WebGPU backend lacks runs on the CPU when its inputs are there, and
 *   otherwise fails with a sentence saying so;
 * - reading a GPU-only tensor synchronously fails with a HostReadError, which the executor turns
 *   into a sentence naming the node.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Tensors up to this many elements keep a CPU copy and run their kernels on the CPU (TF.js's own handoff size). */
export const HOST_ELEMENTS = 1024;

/** A synchronous read of data that lives only on the GPU. */
export class HostReadError extends Error {
  constructor(shape: number[]) {
    super(
      `a tensor of shape [${shape}] computed on the GPU was needed on the CPU in the middle of a pass, which the webgpu backend cannot do (run this model on the wasm backend)`,
    );
    this.name = 'HostReadError';
  }
}

/** One entry of the WebGPU backend's tensor map. */
interface GpuTensorData {
  values: ArrayLike<number> | null;
  dtype: tf.DataType;
  shape: number[];
  resource: unknown;
}

/** The parts of TF.js's WebGPUBackend used here. */
interface WebgpuBackendLike {
  tensorMap: { get(id: tf.DataId): GpuTensorData | undefined };
  uploadToGPU(id: tf.DataId): void;
  readSync(id: tf.DataId): ArrayLike<number>;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: ArrayLike<number>): tf.TensorInfo;
}

/** The parts of TF.js's CPU backend used here. */
interface CpuBackendLike {
  write(values: ArrayLike<number>, shape: number[], dtype: tf.DataType): tf.DataId;
  readSync(id: tf.DataId): ArrayLike<number>;
  disposeData(id: tf.DataId, force?: boolean): boolean;
}

const patched = new WeakSet<object>();

/** Patches a WebGPU backend instance: small tensors keep their CPU copy; GPU-only sync reads fail clearly. */
export function installHostValues(backend: tf.KernelBackend): void {
  const b = backend as unknown as WebgpuBackendLike;
  if (patched.has(b)) return;
  patched.add(b);
  const upload = b.uploadToGPU.bind(b);
  b.uploadToGPU = (id) => {
    const d = b.tensorMap.get(id);
    const keep = d && d.resource == null && d.values != null && small(d.shape) ? d.values : null;
    upload(id);
    if (keep && d) d.values = keep; // tensors are immutable: the copy stays true
  };
  const readSync = b.readSync.bind(b);
  b.readSync = (id) => {
    const d = b.tensorMap.get(id);
    if (d && d.values == null && d.dtype !== 'string' && d.dtype !== 'complex64')
      throw new HostReadError(d.shape);
    return readSync(id);
  };
}

function small(shape: number[]): boolean {
  return tf.util.sizeFromShape(shape) <= HOST_ELEMENTS;
}

/** True when `t` has a CPU copy on the WebGPU backend `b` and is small. */
function onHost(b: WebgpuBackendLike, t: tf.TensorInfo): boolean {
  const d = b.tensorMap.get(t.dataId);
  return !!d && d.values != null && small(t.shape) && t.dtype !== 'string' && t.dtype !== 'complex64';
}

/**
 * Runs the CPU backend's kernel on CPU copies of `inputs` and returns its outputs as CPU-resident
 * tensors of the WebGPU backend.
 */
function runOnCpu(
  kernel: tf.KernelConfig,
  args: { inputs: tf.NamedTensorInfoMap; attrs?: tf.NamedAttrMap; backend: unknown },
): tf.TensorInfo | tf.TensorInfo[] {
  const gpu = args.backend as WebgpuBackendLike;
  const cpu = tf.findBackend('cpu') as unknown as CpuBackendLike | null;
  if (!cpu) throw new Error('the CPU backend is not available for shape arithmetic');
  const made: tf.DataId[] = [];
  const copy = (t: tf.TensorInfo | undefined): tf.TensorInfo | undefined => {
    if (!t) return t;
    const id = cpu.write(gpu.tensorMap.get(t.dataId)!.values!, t.shape, t.dtype);
    made.push(id);
    return { dataId: id, shape: t.shape, dtype: t.dtype };
  };
  // Concat, AddN and Pack take an array of inputs, the others a named map.
  const inputs = Array.isArray(args.inputs)
    ? (args.inputs as tf.TensorInfo[]).map(copy)
    : Object.fromEntries(Object.entries(args.inputs).map(([k, t]) => [k, copy(t)]));
  const out = kernel.kernelFunc({
    inputs: inputs as tf.NamedTensorInfoMap,
    attrs: args.attrs ?? {},
    backend: cpu as unknown as tf.KernelBackend,
  });
  const outs = Array.isArray(out) ? out : [out];
  // Read every output before freeing anything: an output may share an input's buffer.
  const results = outs.map((o) => gpu.makeTensorInfo(o.shape, o.dtype, cpu.readSync(o.dataId)));
  for (const o of outs) cpu.disposeData(o.dataId, true);
  for (const id of made) cpu.disposeData(id, true);
  return Array.isArray(out) ? results : results[0];
}

/**
 * Whether a kernel without inputs (Fill, Range, LinSpace: what ConstantOfShape and Range run)
 * makes a small tensor, which then belongs on the CPU like any shape arithmetic.
 */
function madeSmall(name: string, attrs: tf.NamedAttrMap): boolean {
  const a = attrs as Record<string, unknown>;
  let size = Infinity;
  if (name === 'Fill' && Array.isArray(a.shape)) size = tf.util.sizeFromShape(a.shape as number[]);
  else if (name === 'Range') {
    const [start, stop, step] = [a.start, a.stop, a.step].map(Number);
    size = step ? Math.max(0, Math.ceil((stop - start) / step)) : Infinity;
  } else if (name === 'LinSpace') size = Number(a.num);
  return size <= HOST_ELEMENTS;
}

let forwarding = false;

/**
 * Wraps every WebGPU kernel that has a CPU twin so that small CPU-resident inputs are computed on
 * the CPU, and registers the kernels WebGPU lacks as CPU-only ones. Once per process.
 */
export function registerHostForwarding(): void {
  if (forwarding) return;
  forwarding = true;
  const gpuKernels = new Map(tf.getKernelsForBackend('webgpu').map((k) => [k.kernelName, k]));
  for (const cpuKernel of tf.getKernelsForBackend('cpu')) {
    const name = cpuKernel.kernelName;
    const own = gpuKernels.get(name);
    if (own) tf.unregisterKernel(name, 'webgpu');
    tf.registerKernel({
      kernelName: name,
      backendName: 'webgpu',
      setupFunc: own?.setupFunc,
      disposeFunc: own?.disposeFunc,
      kernelFunc: (args) => {
        const b = args.backend as unknown as WebgpuBackendLike;
        const ins = Object.values(args.inputs).filter((t): t is tf.TensorInfo => !!t);
        const host = ins.length > 0 ? ins.every((t) => onHost(b, t)) : madeSmall(name, args.attrs ?? {});
        // Looked up now: Skipscope replaces some CPU kernels (resizeGradKernels.ts) after this.
        if (host) return runOnCpu(tf.getKernel(name, 'cpu') ?? cpuKernel, args);
        if (own) return own.kernelFunc(args);
        throw new Error(
          `TF.js's WebGPU backend has no ${name} kernel, and its input is on the GPU (run this model on the wasm backend)`,
        );
      },
    });
  }
}
