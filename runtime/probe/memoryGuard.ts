/**
 * Estimates the memory a probe pass needs from the graph's value shapes and refuses (or warns)
 * before a batch is run that cannot fit: the WASM heap stops at 4 GiB, the machine at its free
 * memory.
 */
import * as os from 'node:os';
import type { Model } from '../model/ir';
import { ModelError } from '../errors';
import type { BackendName } from './probeTypes';
import { volumeSettings } from './convGrad3d';

/** Bytes per float32 element times what a pass keeps per activation: the value, its gradient, saved copies. */
const PER_ACTIVATION = 4 * 3;
/** Parameter, gradient and statistics scratch. */
const PER_PARAM = 4 * 3;
const WASM_HEAP = 4 * 1024 ** 3;

/** Estimated bytes of one forward + backward pass at `batch`. */
export function estimatePassBytes(model: Model, batch: number, dims: Record<string, number> = {}): number {
  const elements = (shape: (number | string | null)[]) => {
    let n = 1;
    shape.forEach((d, i) => {
      n *=
        typeof d === 'number'
          ? Math.max(d, 1)
          : typeof d === 'string' && dims[d]
            ? dims[d]
            : i === 0
              ? batch
              : 1;
    });
    return n;
  };
  let acts = 0;
  let params = 0;
  for (const v of model.graph.values.values()) {
    if (!v.shape) continue;
    if (v.initializer) {
      params += v.initializer.shape.reduce((a, b) => a * b, 1);
      continue;
    }
    if (v.constant) continue;
    acts += elements(v.shape);
  }
  // A convolution with a kernel wider than 1×1 keeps its tap matrix (im2col: every output pixel
  // times C/group·kh·kw) until its gradient is taken, or a Winograd transform of similar size.
  let taps = 0;
  for (const node of model.graph.nodes) {
    if (node.op !== 'Conv') continue;
    const w = model.graph.values.get(node.inputs[1])?.initializer?.shape;
    const out = model.graph.values.get(node.outputs[0])?.shape;
    if (!w || !out || w.length < 3) continue;
    const window = w.slice(2).reduce((a, b) => a * b, 1);
    if (window <= 1) continue;
    const t = (elements(out) / Math.max(w[0], 1)) * w[1] * window;
    // A 3-D convolution keeps its tap matrix only up to a size; larger ones are rebuilt in chunks.
    if (w.length !== 5 || t <= volumeSettings.keepTapsFloats) taps += t;
  }
  return acts * PER_ACTIVATION + params * PER_PARAM + taps * 4;
}

/** Memory available to a backend. */
export function memoryLimit(backend: BackendName): number {
  const free = os.freemem() * 0.9;
  return backend === 'wasm' ? Math.min(WASM_HEAP, free) : free;
}

const gib = (b: number) => `${(b / 1024 ** 3).toFixed(2)} GiB`;

/** Throws ModelError when the pass cannot fit; returns a warning line when it is close. */
export function checkMemory(
  model: Model,
  batch: number,
  backend: BackendName,
  dims?: Record<string, number>,
): string | undefined {
  const need = estimatePassBytes(model, batch, dims);
  const limit = memoryLimit(backend);
  if (need > limit) {
    throw new ModelError(
      `${model.file}: a probe pass at batch ${batch} needs about ${gib(need)}, more than the ${gib(limit)} available to the ${backend} backend; lower the batch size.`,
      model.file,
    );
  }
  if (need > limit / 2)
    return `batch ${batch} needs about ${gib(need)} of the ${gib(limit)} available; a larger batch may not fit.`;
  return undefined;
}
