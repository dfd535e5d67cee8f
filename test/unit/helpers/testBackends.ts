/**
 * The probe backends every fixture test runs on: each gradient and forward fixture is checked on
 * each of these (the WebGPU backend joins this list where a test adapter exists).
 */
export const testBackends = ['wasm', 'cpu'] as const;
