/**
 * Estimates the memory a probe pass needs from the graph's value shapes and refuses (or warns)
 * before a batch is run that cannot fit: the WASM heap stops at 4 GiB, the machine at its free
 * memory, and on a GPU every tensor must fit one buffer binding (WebGPU's
 * maxStorageBufferBindingSize and maxBufferSize: a larger one is silently dropped).
 */
import * as os from 'node:os';
import type { Model } from '../model/ir';
import { ModelError } from '../errors';
import type { AdapterDescription, BackendName } from './probeTypes';
import { volumeSettings } from './convGrad3d';

/** Bytes per float32 element times what a pass keeps per activation: the value, its gradient, saved copies. */
const PER_ACTIVATION = 4 * 3;
/** Parameter, gradient and statistics scratch. */
const PER_PARAM = 4 * 3;
const WASM_HEAP = 4 * 1024 ** 3;

/** The element count of a value shape at `batch`, symbolic dims from `dims` (else 1; the first is the batch). */
function elementsAt(batch: number, dims: Record<string, number>) {
  return (shape: (number | string | null)[]) => {
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
}

/** Estimated bytes of one forward + backward pass at `batch`. */
export function estimatePassBytes(model: Model, batch: number, dims: Record<string, number> = {}): number {
  const elements = elementsAt(batch, dims);
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

/** The largest single tensor of a pass at `batch` (an activation, its gradient or a weight). */
export function largestTensor(
  model: Model,
  batch: number,
  dims: Record<string, number> = {},
): { name: string; shape: (number | string | null)[]; bytes: number; perSample: boolean } | undefined {
  const elements = elementsAt(batch, dims);
  let best: ReturnType<typeof largestTensor>;
  for (const [name, v] of model.graph.values) {
    const shape = v.initializer ? v.initializer.shape : v.shape;
    if (!shape) continue;
    const bytes = 4 * elements(shape);
    if (!best || bytes > best.bytes) best = { name, shape, bytes, perSample: !v.initializer && !v.constant };
  }
  return best;
}

/** "the largest tensor is … (node …), " — what asked for the memory. */
function largestText(model: Model, batch: number, dims?: Record<string, number>): string {
  const t = largestTensor(model, batch, dims);
  if (!t) return '';
  const v = model.graph.values.get(t.name);
  const node = v?.producer !== undefined ? model.graph.nodes[v.producer] : undefined;
  const what = node
    ? `output "${t.name}" of node "${node.name}" (${node.op})`
    : v?.initializer
      ? `weight "${t.name}"`
      : `input "${t.name}"`;
  return `the largest tensor is the ${what} of shape [${t.shape.join(', ')}] (${gib(t.bytes)}); `;
}

const mib = (b: number) => `${(b / 1024 ** 2).toFixed(0)} MiB`;

/**
 * Refuses a GPU pass whose largest tensor cannot be one WebGPU buffer binding, saying which
 * tensor, the numbers, and the batch size that fits.
 */
function checkGpuBuffers(
  model: Model,
  batch: number,
  adapter: AdapterDescription,
  dims?: Record<string, number>,
): void {
  const t = largestTensor(model, batch, dims);
  const limit = Math.min(adapter.limits.maxStorageBufferBindingSize, adapter.limits.maxBufferSize);
  if (!t || t.bytes <= limit) return;
  const which =
    adapter.limits.maxStorageBufferBindingSize <= adapter.limits.maxBufferSize
      ? 'maxStorageBufferBindingSize'
      : 'maxBufferSize';
  const fits = t.perSample ? Math.floor((limit / t.bytes) * batch) : 0;
  const change =
    fits >= 1
      ? `lower the batch size to ${fits} or less, or the input size`
      : t.perSample
        ? 'lower the input size'
        : 'this weight cannot be one GPU buffer';
  throw new ModelError(
    `${model.file}: at batch ${batch} tensor "${t.name}" (shape [${t.shape}]) needs ${mib(t.bytes)}, more than the ${mib(limit)} one GPU buffer may hold on ${adapter.device || 'this adapter'} (${which}); ${change}, or run on the wasm backend.`,
    model.file,
  );
}

/**
 * Throws ModelError when the pass cannot fit; returns a warning line when it is close. On the
 * webgpu backend (give its adapter) the largest tensor is also checked against the buffer limits.
 */
export function checkMemory(
  model: Model,
  batch: number,
  backend: BackendName,
  dims?: Record<string, number>,
  adapter?: AdapterDescription,
): string | undefined {
  if (backend === 'webgpu' && adapter) {
    checkGpuBuffers(model, batch, adapter, dims);
    // WebGPU does not tell how much memory the device has: a software adapter uses the
    // machine's, and a GPU's own shortage is caught when it happens (gpuGuard.ts).
    if (adapter.hardware) return undefined;
  }
  const need = estimatePassBytes(model, batch, dims);
  const limit = memoryLimit(backend);
  if (need > limit) {
    throw new ModelError(
      `${model.file}: a probe pass at batch ${batch} needs about ${gib(need)}, more than the ${gib(limit)} available to the ${backend} backend; ${largestText(model, batch, dims)}${batch > 1 ? 'lower the batch size' : 'this model cannot be probed here'}.`,
      model.file,
    );
  }
  if (need > limit / 2)
    return `batch ${batch} needs about ${gib(need)} of the ${gib(limit)} available; a larger batch may not fit.`;
  return undefined;
}
