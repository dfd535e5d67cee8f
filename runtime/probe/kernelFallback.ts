/**
 * Kernels a backend lacks, borrowed one op at a time from the CPU backend: every kernel that
 * tfjs-backend-cpu registers and the chosen backend does not (on WASM: UnsortedSegmentSum before
 * Skipscope's own, Einsum, the FFT family, …) is registered on that backend as a kernel that copies
 * its inputs to the CPU backend, runs the CPU kernel there and copies the outputs back. The op is
 * slower than a native kernel would be, but it runs and gives the CPU backend's numbers; everything
 * else stays on the chosen backend.
 */
import * as tf from '@tensorflow/tfjs-core';

/** The generic KernelBackend surface the copies use (every backend has it). */
interface BackendIo {
  readSync(dataId: tf.DataId): ArrayLike<number> | Uint8Array[];
  write(values: ArrayLike<number> | Uint8Array[], shape: number[], dtype: tf.DataType): tf.DataId;
  disposeData(dataId: tf.DataId, force?: boolean): boolean;
}

/** Kernels borrowed so far, per backend. */
const borrowed = new Map<string, Set<string>>();

/** The kernels of `backendName` that run on the CPU backend (registered by registerKernelFallbacks). */
export function fallbackKernels(backendName: string): string[] {
  return [...(borrowed.get(backendName) ?? [])].sort();
}

/** A kernel of `backendName` that runs the CPU backend's `cpuKernel` on copies of its inputs. */
function viaCpu(cpuKernel: tf.KernelConfig): tf.KernelFunc {
  return ({ inputs, attrs, backend }) => {
    const own = backend as unknown as BackendIo;
    const cpu = tf.engine().findBackend('cpu') as unknown as BackendIo | null;
    if (!cpu) throw new Error(`the CPU backend that runs ${cpuKernel.kernelName} here is not available`);
    const temps: tf.DataId[] = [];
    // Kernels of a variable number of inputs (Einsum, AddN, Concat) receive them as an array.
    const cpuInputs = (Array.isArray(inputs) ? [] : {}) as Record<string, tf.TensorInfo>;
    for (const [name, t] of Object.entries(inputs)) {
      if (!t) continue;
      const dataId = cpu.write(own.readSync(t.dataId), t.shape, t.dtype);
      temps.push(dataId);
      cpuInputs[name] = { dataId, shape: t.shape, dtype: t.dtype };
    }
    try {
      const out = cpuKernel.kernelFunc({
        inputs: cpuInputs,
        attrs,
        backend: cpu as unknown as tf.KernelBackend,
      });
      const back = (o: tf.TensorInfo): tf.TensorInfo => {
        temps.push(o.dataId);
        return {
          dataId: own.write(cpu.readSync(o.dataId), o.shape, o.dtype),
          shape: o.shape,
          dtype: o.dtype,
        };
      };
      return Array.isArray(out) ? out.map(back) : back(out);
    } finally {
      for (const id of temps) cpu.disposeData(id, true);
    }
  };
}

/**
 * Registers, on `backendName`, a CPU-backed kernel for every kernel the CPU backend has and that
 * backend lacks (once per kernel). Returns the names registered by this call.
 */
export function registerKernelFallbacks(backendName: string): string[] {
  if (backendName === 'cpu') return [];
  const have = new Set(tf.getKernelsForBackend(backendName).map((k) => k.kernelName));
  const mine = borrowed.get(backendName) ?? new Set<string>();
  borrowed.set(backendName, mine);
  const added: string[] = [];
  for (const k of tf.getKernelsForBackend('cpu')) {
    if (have.has(k.kernelName)) continue;
    tf.registerKernel({ kernelName: k.kernelName, backendName, kernelFunc: viaCpu(k) });
    mine.add(k.kernelName);
    added.push(k.kernelName);
  }
  return added;
}
