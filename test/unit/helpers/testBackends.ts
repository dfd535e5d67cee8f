/** The probe backends every gradient fixture is checked on (append a backend here to cover it). */
import type { BackendName } from '../../../runtime/probe/probeTypes';

/** Backends the every-backend tests run on, in order. */
export const testBackends: BackendName[] = ['wasm', 'cpu'];
