/**
 * TF.js layers models (model.json with a Keras modelTopology).
 */
import { ModelError } from '../../errors';
import type { Model } from '../ir';

/** Reads a parsed TF.js layers model.json. */
export function readTfjsLayers(_json: Record<string, unknown>, _abs: string, file: string): Model {
  throw new ModelError(`${file}: TF.js layers models are not supported yet.`, file);
}
