/**
 * The TF.js WASM backend seen as a heap: the byte address of a tensor's data, and scratch buffers
 * that live for one call. Shared by every kernel that works on tensors in place.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { EmscriptenHeap } from './wasmKernels';

/** The part of the TF.js WASM backend the probe's kernels read. */
export interface WasmBackendHeap {
  wasm: EmscriptenHeap;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  dataIdMap: { get(id: tf.DataId): { memoryOffset: number } };
}

/** Byte address of a tensor's data on the WASM heap. */
export function heapAddress(backend: WasmBackendHeap, t: tf.TensorInfo): number {
  return backend.dataIdMap.get(t.dataId).memoryOffset;
}

/**
 * `bytes` from the heap's malloc: the byte address, or 0 when there is no room. Read unsigned: the
 * heap grows to 4 GiB, and the module returns an address past 2 GiB as a negative i32 (TF.js's
 * own allocations do the same).
 */
export function heapMalloc(heap: Pick<EmscriptenHeap, '_malloc'>, bytes: number): number {
  return heap._malloc(bytes) >>> 0;
}

/** Allocates `floats` float32 of scratch on the heap and returns its byte address. */
export type Alloc = (floats: number) => number;

/** Runs `f` with heap scratch buffers that are freed when it returns or throws. */
export function withScratch<T>(heap: EmscriptenHeap, f: (alloc: Alloc) => T): T {
  const ptrs: number[] = [];
  try {
    return f((floats) => {
      const p = heapMalloc(heap, 4 * floats);
      if (!p) throw new Error(`the WASM heap has no room for ${floats} floats of scratch`);
      ptrs.push(p);
      return p;
    });
  } finally {
    for (const p of ptrs) heap._free(p);
  }
}
