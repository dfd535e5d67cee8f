/**
 * The shared TF.js heap (runtime/probe/wasm/sharedHeap.ts): the memory flag is found and set in a
 * module that defines its memory (TF.js's) and in one that imports it (the kernels'), nothing is
 * changed in a module without one, and the WASM backend really runs on shared memory.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, wasmDirectory } from '../../../runtime/probe/backend';
import { isShared, memoryFlagsOffset, withSharedMemory } from '../../../runtime/probe/wasm/sharedHeap';
import { KERNELS_FMA } from '../../../runtime/probe/wasm/kernelsWasm';
import type { EmscriptenHeap } from '../../../runtime/probe/wasm/wasmKernels';

describe('shared WASM heap', () => {
  it("marks TF.js's own memory (defined in its module) shared, and the module still compiles", () => {
    const bytes = fs.readFileSync(path.join(wasmDirectory()!, 'tfjs-backend-wasm-simd.wasm'));
    const at = memoryFlagsOffset(bytes);
    assert.ok(at !== undefined);
    assert.equal(bytes[at], 1, 'a memory with a maximum, not shared');
    const shared = withSharedMemory(bytes)!;
    assert.equal(shared[at], 3);
    assert.equal(shared.length, bytes.length);
    assert.equal(bytes[at], 1, 'the original is left alone');
    const mod = new WebAssembly.Module(shared);
    assert.ok(WebAssembly.Module.exports(mod).some((e) => e.name === 'memory' && e.kind === 'memory'));
  });

  it("marks the kernels' imported memory shared, so that they instantiate on a shared memory", () => {
    const bytes = new Uint8Array(Buffer.from(KERNELS_FMA, 'base64'));
    const shared = withSharedMemory(bytes)!;
    assert.ok(shared);
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
    const plain = new WebAssembly.Memory({ initial: 1, maximum: 65536 });
    // (The FMA build needs relaxed SIMD: the backend's start switched it on.)
    return initBackend('wasm').then(() => {
      new WebAssembly.Instance(new WebAssembly.Module(shared), { env: { memory } });
      assert.throws(
        () => new WebAssembly.Instance(new WebAssembly.Module(shared), { env: { memory: plain } }),
      );
    });
  });

  it('changes nothing in a module without a memory, or in bytes that are no module', () => {
    const empty = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
    assert.equal(memoryFlagsOffset(empty), undefined);
    assert.equal(withSharedMemory(empty), undefined);
    assert.equal(withSharedMemory(new Uint8Array([1, 2, 3])), undefined);
  });

  it('the WASM backend runs on a shared heap', async () => {
    await initBackend('wasm');
    const heap = (tf.backend() as unknown as { wasm: EmscriptenHeap }).wasm;
    assert.ok(isShared(heap.asm.memory));
    // TF.js works on it as ever, growing it included.
    const big = tf.ones([16, 1024, 1024]);
    assert.equal(tf.sum(big).dataSync()[0], 16 * 1024 * 1024);
    big.dispose();
    assert.ok(isShared(heap.asm.memory));
  });
});
