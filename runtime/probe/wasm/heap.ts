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

/** Allocates `floats` float32 of scratch on the heap and returns its byte address. */
export type Alloc = (floats: number) => number;

/** Runs `f` with heap scratch buffers that are freed when it returns or throws. */
export function withScratch<T>(heap: EmscriptenHeap, f: (alloc: Alloc) => T): T {
  const ptrs: number[] = [];
  try {
    return f((floats) => {
      const p = heap._malloc(4 * floats);
      if (!p) throw new Error(`the WASM heap has no room for ${floats} floats of scratch`);
      ptrs.push(p);
      return p;
    });
  } finally {
    for (const p of ptrs) heap._free(p);
  }
}
