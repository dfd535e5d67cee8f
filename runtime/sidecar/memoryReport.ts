/**
 * runtime/memory: the sidecar's resident memory and the TF.js tensors alive, read without starting
 * a backend, optionally after a full garbage collection so that a leak check compares like with like.
 */
import * as fs from 'node:fs';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import * as tf from '@tensorflow/tfjs-core';
import type { RuntimeMemory } from '../protocol/sidecarProtocol';
import { currentBackend } from '../probe/backend';

let collect: (() => void) | undefined;

/** V8's full collection, enabled on first use (the sidecar is not started with --expose-gc). */
function fullGc(): void {
  if (!collect) {
    v8.setFlagsFromString('--expose-gc');
    collect = vm.runInNewContext('gc') as () => void;
  }
  collect();
}

function threadCount(): number {
  try {
    return fs.readdirSync('/proc/self/task').length;
  } catch {
    return 0;
  }
}

/** The figures of RuntimeMemory; `models` is the number of open handles. */
export function memoryReport(models: number, gc = false): RuntimeMemory {
  if (gc) fullGc();
  const mem = process.memoryUsage();
  // The engine's own counters: tf.memory() would start a backend when none runs yet.
  const state = tf.engine().state;
  return {
    rss: mem.rss,
    heapUsed: mem.heapUsed,
    external: mem.external,
    numTensors: state.numTensors,
    numBytes: state.numBytes,
    backend: currentBackend()?.name,
    models,
    threads: threadCount(),
  };
}
