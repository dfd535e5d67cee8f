/**
 * Run by highHeap.test.ts in a process of its own: grows the TF.js WASM heap past 2 GiB, then
 * runs the probe's kernels on buffers above that line, on one thread and on two. Prints JSON.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../runtime/probe/backend';
import {
  kernelThreadsOf,
  setKernelThreads,
  wasmKernels,
  type EmscriptenHeap,
} from '../../../runtime/probe/wasm/wasmKernels';
import { heapMalloc, withScratch } from '../../../runtime/probe/wasm/heap';
import { values } from './heapBuffers';

(async () => {
  await initBackend('wasm', { threads: 1 });
  const heap = (tf.backend() as unknown as { wasm: EmscriptenHeap }).wasm;
  const k = wasmKernels(heap);
  // Fills the first 2 GiB (untouched: the pages cost nothing until written).
  const filler = heapMalloc(heap, 2 ** 31 + (64 << 20));
  // 24 MB: the statistics go to the threads even while the workers sleep (kernelTasks.ts).
  const n = 6 << 20;
  const p = heapMalloc(heap, 4 * n);
  const v = values(n, 0.3);
  new Float32Array(heap.asm.memory.buffer, p, n).set(v);
  let sumSq = 0;
  for (const x of v) sumSq += x * x;
  const one = k.gradStats(p, n)[0];
  await setKernelThreads(heap, 2);
  const two = k.gradStats(p, n)[0];
  const jobs = kernelThreadsOf(heap)!.stats.jobs;
  const scratch = withScratch(heap, (alloc) => alloc(1 << 20));
  console.log(JSON.stringify({ filler, p, one, two, jobs, sumSq, scratch }));
  process.exit(0);
})().catch((e) => {
  console.log(JSON.stringify({ error: String(e) }));
  process.exit(1);
});
