/**
 * Statistics of one weight tensor (min, max, mean, std), computed on demand for the details panel:
 * weights are read only when the user asks, and never sent whole.
 */
import { ModelError } from '../errors';
import type { Model, TensorData } from '../model/ir';

/** The statistics the details panel shows. */
export interface WeightStats {
  name: string;
  dtype: string;
  shape: number[];
  min: number;
  max: number;
  mean: number;
  std: number;
}

function findTensor(model: Model, name: string): TensorData | undefined {
  const v = model.graph.values.get(name);
  if (v?.initializer) return v.initializer;
  // A Constant node's value attribute backs its output.
  if (v?.producer !== undefined) {
    const attr = model.graph.nodes[v.producer].attributes.value;
    if (attr && typeof attr === 'object' && 'read' in attr && typeof attr.read === 'function')
      return attr as TensorData;
  }
  return undefined;
}

/** Statistics of the stored tensor `name`; throws ModelError when there is none or it has no numbers. */
export function tensorStats(model: Model, name: string): WeightStats {
  const t = findTensor(model, name);
  if (!t) throw new ModelError(`${model.file}: no stored tensor named ${name}.`, model.file);
  const values = t.read();
  if (Array.isArray(values))
    throw new ModelError(`${model.file}: tensor ${name} holds strings, not numbers.`, model.file);
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const x = Number(values[i]);
    if (Number.isNaN(x)) continue;
    if (x < min) min = x;
    if (x > max) max = x;
    sum += x;
    n++;
  }
  const mean = n ? sum / n : NaN;
  let sq = 0;
  for (let i = 0; i < values.length; i++) {
    const x = Number(values[i]);
    if (!Number.isNaN(x)) sq += (x - mean) * (x - mean);
  }
  return {
    name,
    dtype: t.dtype,
    shape: t.shape,
    min: n ? min : NaN,
    max: n ? max : NaN,
    mean,
    std: n ? Math.sqrt(sq / n) : NaN,
  };
}
