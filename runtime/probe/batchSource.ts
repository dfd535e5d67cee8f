/**
 * Where probe batches come from: seeded synthetic noise shaped from the model inputs, .npy files
 * per input, or an image folder. Produces graph feeds per batch, checked against the model.
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { Dim, Model, Value } from '../model/ir';
import { ModelError } from '../errors';
import type { ProbeOptions } from './probeTypes';
import { readNpy, type NpyArray } from './npy';
import { integers, normals } from './random';
import { defaultNorm, listImages, loadImageBatch } from './images';
import { describeFill, integerFill, type IntegerFill } from './integerInputs';

/** A plan of batches; `feeds(i)` builds batch i (the caller disposes its tensors). */
export interface BatchPlan {
  count: number;
  batchSize: number;
  /** One line saying where the data comes from. */
  describe: string;
  feeds(i: number): Record<string, tf.Tensor>;
}

const FLOATS = new Set(['float32', 'float16', 'bfloat16', 'float64']);

/** The graph inputs that need data (initializers listed as inputs excluded). */
export function feedInputs(model: Model): Value[] {
  return model.graph.inputs.map((n) => model.graph.values.get(n)!).filter((v) => v && !v.initializer);
}

/**
 * Resolves an input's shape at `batch`: the first symbolic dim is the batch (axis 0, or axis 1 of
 * a sequence-first [T, batch, …] input), others come from `dims`.
 */
export function resolveShape(
  model: Model,
  v: Value,
  batch: number,
  dims: Record<string, number> = {},
): number[] {
  if (!v.shape)
    throw new ModelError(
      `${model.file}: input "${v.name}" has no known shape; feed it from a .npy file.`,
      model.file,
    );
  const batchAxis = v.shape.findIndex((d) => !(typeof d === 'number' && d > 0));
  return v.shape.map((d: Dim, i) => {
    if (typeof d === 'number' && d > 0) return d;
    if (typeof d === 'string' && dims[d] !== undefined) return dims[d];
    if (i === batchAxis) return batch;
    throw new ModelError(
      `${model.file}: input "${v.name}" has ${d === null ? 'an unknown' : `the symbolic`} dimension ${d ?? ''} at axis ${i}; give its size (e.g. dims ${typeof d === 'string' ? d : `axis${i}`}=64).`,
      model.file,
    );
  });
}

function syntheticPlan(model: Model, opts: ProbeOptions): BatchPlan {
  const inputs = feedInputs(model);
  const seed = (opts.source.kind === 'synthetic' ? opts.source.seed : undefined) ?? opts.seed ?? 0;
  const shapes = inputs.map((v) => resolveShape(model, v, opts.batchSize, opts.dims));
  // A fully fixed first input fixes the batch size; else the batch is its first symbolic dim.
  const batchAxis = inputs[0]?.shape?.findIndex((d) => !(typeof d === 'number' && d > 0)) ?? -1;
  const batchSize = shapes[0]?.[Math.max(batchAxis, 0)] ?? opts.batchSize;
  // Integer inputs: token ids within their embedding tables, masks of ones (integerInputs.ts).
  const fills = new Map<string, IntegerFill>();
  for (const v of inputs)
    if (!FLOATS.has(v.dtype) && v.dtype !== 'unknown' && v.dtype !== 'bool')
      fills.set(v.name, integerFill(model, v.name, opts.dims?.vocab ?? 2));
  const ints = [...fills].map(([name, f]) => describeFill(name, f));
  // Sequence lengths: the length of the sequence they describe (a graph input's, or inferred).
  const steps = new Map<string, number>();
  for (const [name, f] of fills) {
    if (f.kind !== 'lengths') continue;
    const k = inputs.findIndex((v) => v.name === f.of);
    const d = k >= 0 ? shapes[k][f.axis] : model.graph.values.get(f.of)?.shape?.[f.axis];
    const n = typeof d === 'number' ? d : typeof d === 'string' ? opts.dims?.[d] : undefined;
    if (!n)
      throw new ModelError(
        `${model.file}: input "${name}" holds the sequence lengths of "${f.of}", whose length is unknown; give it (dims ${typeof d === 'string' ? d : 'NAME'}=SIZE) or feed "${name}" from a .npy file.`,
        model.file,
      );
    steps.set(name, n);
  }
  return {
    count: opts.batches,
    batchSize,
    describe: `synthetic normal noise (seed ${seed})${ints.length ? `; ${ints.join('; ')}` : ''}`,
    feeds: (b) => {
      const out: Record<string, tf.Tensor> = {};
      inputs.forEach((v, k) => {
        const n = shapes[k].reduce((a, c) => a * c, 1);
        const s = seed * 1000003 + b * 7919 + k;
        const fill = fills.get(v.name);
        if (FLOATS.has(v.dtype) || v.dtype === 'unknown')
          out[v.name] = tf.tensor(normals(n, s), shapes[k], 'float32');
        else if (v.dtype === 'bool') out[v.name] = tf.tensor(integers(n, 2, s), shapes[k], 'bool');
        else if (fill?.kind === 'ones') out[v.name] = tf.ones(shapes[k], 'int32');
        else if (fill?.kind === 'lengths') out[v.name] = tf.fill(shapes[k], steps.get(v.name)!, 'int32');
        else out[v.name] = tf.tensor(integers(n, fill?.below ?? 2, s), shapes[k], 'int32');
      });
      return out;
    },
  };
}

/** Checks a .npy array against the model input it feeds (rank, known dims, dtype). */
function checkNpy(model: Model, v: Value, a: NpyArray, file: string): void {
  const want = v.shape;
  if (want && want.length !== a.shape.length)
    throw new ModelError(
      `${file}: shape [${a.shape}] has rank ${a.shape.length} but input "${v.name}" of ${path.basename(model.file)} has rank ${want.length} ([${want.map((d) => d ?? '?')}]).`,
      file,
    );
  want?.forEach((d, i) => {
    if (i > 0 && typeof d === 'number' && d > 0 && a.shape[i] !== d)
      throw new ModelError(
        `${file}: shape [${a.shape}] does not match input "${v.name}" [${want.map((x) => x ?? '?')}] at axis ${i} (${a.shape[i]} vs ${d}).`,
        file,
      );
  });
  const isFloat = FLOATS.has(v.dtype) || v.dtype === 'unknown';
  if (isFloat !== (a.dtype === 'float32'))
    throw new ModelError(`${file}: holds ${a.fileDtype} values but input "${v.name}" is ${v.dtype}.`, file);
}

function npyPlan(model: Model, opts: ProbeOptions, files: Record<string, string>): BatchPlan {
  const inputs = feedInputs(model);
  const arrays = new Map<string, NpyArray>();
  for (const [key, file] of Object.entries(files)) {
    const name = key === '' || key === '*' ? inputs[0]?.name : key;
    const v = inputs.find((i) => i.name === name);
    if (!v)
      throw new ModelError(
        `${file}: the model has no input named "${key}" (inputs: ${inputs.map((i) => i.name).join(', ')}).`,
        file,
      );
    const a = readNpy(file);
    checkNpy(model, v, a, file);
    arrays.set(v.name, a);
  }
  const missing = inputs.filter((v) => !arrays.has(v.name));
  if (missing.length)
    throw new ModelError(
      `${model.file}: no .npy file was given for input "${missing[0].name}" (use --input ${missing[0].name}=FILE.npy).`,
      model.file,
    );
  const rows = [...arrays.values()].map((a) => a.shape[0] ?? 1);
  if (new Set(rows).size > 1)
    throw new ModelError(
      `${model.file}: the .npy inputs hold different numbers of samples (${rows.join(', ')}).`,
      model.file,
    );
  const total = rows[0];
  const batchSize = Math.min(opts.batchSize, total);
  const count = Math.max(1, Math.min(opts.batches, Math.floor(total / batchSize)));
  return {
    count,
    batchSize,
    describe: `${Object.values(files)
      .map((f) => path.basename(f))
      .join(', ')} (${total} samples)`,
    feeds: (b) => {
      const out: Record<string, tf.Tensor> = {};
      for (const [name, a] of arrays) {
        const per = a.shape.slice(1).reduce((x, y) => x * y, 1);
        const data = a.data.subarray(b * batchSize * per, (b + 1) * batchSize * per);
        out[name] = tf.tensor(data, [batchSize, ...a.shape.slice(1)], a.dtype);
      }
      return out;
    },
  };
}

function imagePlan(
  model: Model,
  opts: ProbeOptions,
  src: Extract<ProbeOptions['source'], { kind: 'images' }>,
): BatchPlan {
  const inputs = feedInputs(model);
  if (inputs.length !== 1)
    throw new ModelError(
      `${model.file}: image folders feed models with one input; this one has ${inputs.length}.`,
      model.file,
    );
  const v = inputs[0];
  const shape = v.shape;
  if (!shape || shape.length !== 4)
    throw new ModelError(`${model.file}: input "${v.name}" is not an image batch (N, C, H, W).`, model.file);
  const c = typeof shape[1] === 'number' ? shape[1] : 3;
  const h = src.size?.[0] ?? (typeof shape[2] === 'number' ? shape[2] : opts.dims?.height);
  const w = src.size?.[1] ?? (typeof shape[3] === 'number' ? shape[3] : opts.dims?.width);
  if (!h || !w)
    throw new ModelError(
      `${model.file}: input "${v.name}" has symbolic height/width; give the image size.`,
      model.file,
    );
  const files = listImages(src.folder);
  const batchSize = Math.min(opts.batchSize, files.length);
  const count = Math.max(1, Math.min(opts.batches, Math.floor(files.length / batchSize)));
  const norm = src.mean && src.std ? { mean: src.mean, std: src.std } : defaultNorm(c);
  return {
    count,
    batchSize,
    describe: `${files.length} images from ${src.folder} at ${h}×${w}`,
    feeds: (b) => ({
      [v.name]: loadImageBatch(files.slice(b * batchSize, (b + 1) * batchSize), c, h, w, norm),
    }),
  };
}

/** Plans the batches for `opts` on `model`. */
export function planBatches(model: Model, opts: ProbeOptions): BatchPlan {
  if (opts.batchSize < 1 || opts.batches < 1)
    throw new ModelError('batch size and number of batches must be at least 1.');
  switch (opts.source.kind) {
    case 'synthetic':
      return syntheticPlan(model, opts);
    case 'npy':
      return npyPlan(model, opts, opts.source.files);
    case 'images':
      return imagePlan(model, opts, opts.source);
  }
}
