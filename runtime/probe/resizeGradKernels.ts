/**
 * A correct ResizeNearestNeighborGrad for the CPU and WASM backends (nearest upsampling in TF.js
 * layers and graph models). tfjs-backend-cpu 4.22's reads dy at the image's batch offset instead
 * of dy's own, so every sample after the first gets a wrong gradient, and both its and
 * tfjs-backend-wasm's ignore half-pixel centres. This one routes each dy element to the source
 * pixel the forward kernel copied it from.
 */
import * as tf from '@tensorflow/tfjs-core';

/** The parts of the CPU backend the kernel uses. */
interface CpuLike {
  data: { get(id: object): { values: ArrayLike<number> } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
}
/** The parts of the WASM backend the kernel uses. */
interface WasmLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

const registered = new Set<string>();

/** The source index of output position `i` of a nearest resize, exactly as the CPU forward kernel picks it. */
export function nearestSource(
  i: number,
  inSize: number,
  outSize: number,
  alignCorners: boolean,
  halfPixel: boolean,
): number {
  const effIn = alignCorners && outSize > 1 ? inSize - 1 : inSize;
  const effOut = alignCorners && outSize > 1 ? outSize - 1 : outSize;
  const ratio = effIn / effOut;
  const src = halfPixel ? ratio * (i + 0.5) : ratio * i;
  const k = Math.min(inSize - 1, alignCorners ? Math.round(src) : Math.floor(src));
  return halfPixel ? Math.max(0, k) : k;
}

/** dx of a nearest resize from dy (NHWC), added into `out` (zeros). */
function route(
  g: ArrayLike<number>,
  out: Float32Array,
  images: number[],
  dy: number[],
  alignCorners: boolean,
  half: boolean,
): void {
  const [batch, xh, xw, depth] = images;
  const [, yh, yw] = dy;
  const rows = Int32Array.from({ length: yh }, (_, r) => nearestSource(r, xh, yh, alignCorners, half));
  const cols = Int32Array.from({ length: yw }, (_, c) => nearestSource(c, xw, yw, alignCorners, half));
  for (let b = 0; b < batch; b++)
    for (let r = 0; r < yh; r++)
      for (let c = 0; c < yw; c++) {
        const from = ((b * yh + r) * yw + c) * depth;
        const to = ((b * xh + rows[r]) * xw + cols[c]) * depth;
        for (let d = 0; d < depth; d++) out[to + d] += g[from + d];
      }
}

/** Registers the kernel on `backendName` ('cpu' or 'wasm'), once, in place of the backend's own. */
export function registerResizeGradKernel(backendName: 'cpu' | 'wasm'): void {
  if (registered.has(backendName)) return;
  registered.add(backendName);
  const original = tf.getKernel('ResizeNearestNeighborGrad', backendName);
  if (original) tf.unregisterKernel('ResizeNearestNeighborGrad', backendName);
  tf.registerKernel({
    kernelName: 'ResizeNearestNeighborGrad',
    backendName,
    setupFunc: original?.setupFunc,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { images, dy } = inputs as { images: tf.TensorInfo; dy: tf.TensorInfo };
      // The gradient gets the forward op's attributes: route through the very same pixels.
      const { alignCorners, halfPixelCenters } = attrs as unknown as {
        alignCorners: boolean;
        halfPixelCenters?: boolean;
      };
      if (backendName === 'cpu') {
        const cpu = backend as unknown as CpuLike;
        const out = new Float32Array(images.shape.reduce((a, b) => a * b, 1));
        route(cpu.data.get(dy.dataId).values, out, images.shape, dy.shape, alignCorners, !!halfPixelCenters);
        return cpu.makeTensorInfo(images.shape, 'float32', out);
      }
      const wasm = backend as unknown as WasmLike;
      const result = wasm.makeOutput(images.shape, 'float32');
      const out = wasm.typedArrayFromHeap(result) as Float32Array;
      out.fill(0);
      route(wasm.typedArrayFromHeap(dy), out, images.shape, dy.shape, alignCorners, !!halfPixelCenters);
      return result;
    },
  });
}
