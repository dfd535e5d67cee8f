/**
 * The ReLU gradient on the WASM backend in one kernel (scripts/wasm/reluGrad.mjs): TF.js's
 * gradient for Relu is mul(dy, cast(step(x))), three kernels, three passes over the activation
 * and two temporaries, on the calling thread (in a ResNet-18 probe pass, 51 of its 470 kernel
 * calls). The gradient registered here runs `SkipscopeReluGrad` instead where the backend is WASM
 * and both tensors are float32, with the same products, so the same values; anywhere else it runs
 * TF.js's own gradient.
 */
import * as tf from '@tensorflow/tfjs-core';
import { heapAddress, type WasmBackendHeap } from './heap';
import { wasmKernelsIfAvailable } from './wasmKernels';

/** The kernel's name (Skipscope's own: TF.js has no such kernel). */
export const RELU_GRAD = 'SkipscopeReluGrad';

/** Calls that ran the fused kernel (tests check that the path was taken). */
export const reluGradRuns = { count: 0 };

/** dy · step(x) for float32 dy and x of one shape. */
export function reluGradKernel(args: {
  inputs: { dy: tf.TensorInfo; x: tf.TensorInfo };
  backend: unknown;
}): tf.TensorInfo {
  const { dy, x } = args.inputs;
  const backend = args.backend as WasmBackendHeap & {
    makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
    typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
  };
  const out = backend.makeOutput(x.shape, 'float32');
  const n = tf.util.sizeFromShape(x.shape);
  const kernels = wasmKernelsIfAvailable(backend.wasm);
  reluGradRuns.count++;
  if (kernels) {
    kernels.reluGrad(heapAddress(backend, dy), heapAddress(backend, x), heapAddress(backend, out), n);
    return out;
  }
  // No WebAssembly SIMD in this engine: the same arithmetic in JavaScript.
  const [d, v, o] = [dy, x, out].map((t) => backend.typedArrayFromHeap(t));
  for (let i = 0; i < n; i++) o[i] = d[i] * (Number.isNaN(v[i]) ? NaN : v[i] > 0 ? 1 : 0);
  return out;
}

/** Replaces the Relu gradient with one that runs the kernel above on WASM (TF.js's own elsewhere). */
export function registerReluGrad(): void {
  const own = tf.getGradient('Relu');
  if (!own) return;
  tf.registerGradient({
    ...own,
    gradFunc: (dy, saved, attrs) => {
      const d = dy as tf.Tensor;
      const [x] = saved;
      if (
        tf.getBackend() !== 'wasm' ||
        d.dtype !== 'float32' ||
        x.dtype !== 'float32' ||
        !tf.util.arraysEqual(d.shape, x.shape)
      )
        return own.gradFunc(dy, saved, attrs);
      return { x: () => tf.engine().runKernel(RELU_GRAD, { dy: d, x }) as tf.Tensor };
    },
  });
}
