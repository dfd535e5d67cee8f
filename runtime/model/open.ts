/**
 * Opens a model file with the reader that matches its content.
 */
import type { Model } from './ir';
import { ModelError } from '../errors';

/** Reads the model at `file` (ONNX, TF.js layers or TF.js graph). Throws ModelError for bad input. */
export async function openModel(file: string): Promise<Model> {
  throw new ModelError(`${file}: no model reader is available yet.`, file);
}
