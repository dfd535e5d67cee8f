/**
 * TF.js graph models (model.json with format graph-model and a GraphDef topology).
 */
import { ModelError } from '../../errors';
import type { Model } from '../ir';

/** Reads a parsed TF.js graph model.json. */
export function readTfjsGraph(_json: Record<string, unknown>, _abs: string, file: string): Model {
  throw new ModelError(`${file}: TF.js graph models are not supported yet.`, file);
}
