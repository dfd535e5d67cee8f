/**
 * Opening a model for every feature: read it (runtime/model), then infer shapes and count
 * parameters and FLOPs. The readers know no analysis; this is where the two meet.
 */
import type { Model } from '../model/ir';
import { readModelBytes, readModelFile } from '../model/open';
import { inferShapes } from './shapes';
import { computeCost } from './cost';

/** Infers shapes and counts parameters and FLOPs of a model just read (in place); returns it. */
export function analyseModel(model: Model): Model {
  inferShapes(model.graph, model.format);
  computeCost(model);
  return model;
}

/** Opens the model at `file` (ONNX, TF.js layers or TF.js graph). Throws ModelError for bad input. */
export async function openModel(file: string): Promise<Model> {
  return openModelSync(file);
}

/** Synchronous openModel, for the CLI, benchmarks and tests. */
export function openModelSync(file: string): Model {
  return analyseModel(readModelFile(file));
}

/** Opens a model from bytes in memory (tests, the mutation test). `file` names it in messages and locates side files. */
export function openModelBytes(bytes: Buffer, file: string): Model {
  return analyseModel(readModelBytes(bytes, file));
}
