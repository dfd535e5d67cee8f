/**
 * The probe backends that gradient tests run on, in one list so that a new backend joins them all.
 */
import type { BackendName } from '../../../runtime/probe/probeTypes';

/** Backends every gradient test iterates. */
export const TEST_BACKENDS: BackendName[] = ['wasm', 'cpu'];
