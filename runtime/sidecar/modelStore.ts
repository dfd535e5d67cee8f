/**
 * Models opened in the sidecar, by handle, so that probes and text views reuse the parsed model.
 */
import type { Model } from '../model/ir';
import { ModelError } from '../errors';

/** Handle → opened model. */
export class ModelStore {
  private readonly models = new Map<number, Model>();
  private next = 1;

  /** Keeps `model` and returns its new handle. */
  add(model: Model): number {
    const handle = this.next++;
    this.models.set(handle, model);
    return handle;
  }

  /** The model for `handle`; throws ModelError when it was closed (or never opened). */
  get(handle: number): Model {
    const m = this.models.get(handle);
    if (!m) throw new ModelError(`model handle ${handle} is not open (it may have been closed).`);
    return m;
  }

  /** The number of models open. */
  get size(): number {
    return this.models.size;
  }

  /** Forgets `handle`'s model; returns it, if it was open. */
  delete(handle: number): Model | undefined {
    const m = this.models.get(handle);
    this.models.delete(handle);
    return m;
  }
}
