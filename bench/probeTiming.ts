/**
 * Timing helpers of the probe benchmarks (bench/probe.ts, bench/probeTfjs.ts, bench/zoo.ts,
 * bench/settingsAB.ts, bench/gemmReplay.ts): medians, timers wrapped around every WASM kernel of
 * TF.js and of the probe's own, inputs repeated so that a probe of several batches runs the same
 * batch each time, and a model set up for bare probe passes.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openModel } from '../runtime/analysis/openModel';
import { Executor } from '../runtime/probe/executor';
import { gradPass } from '../runtime/probe/gradPass';
import { makeLoss } from '../runtime/probe/losses';
import { readNpy } from '../runtime/probe/npy';
import { wasmKernels, type EmscriptenHeap } from '../runtime/probe/wasm/wasmKernels';

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** One kernel's inclusive time over the timed stretch. */
export interface KernelTime {
  name: string;
  ms: number;
  calls: number;
}

/**
 * Wraps every WASM kernel with a timer (inclusive of kernels it calls) until `stop`, which puts
 * the kernels back and returns the `top` most expensive.
 */
export function timeKernels(): { stop(top: number): KernelTime[] } {
  const totals = new Map<string, { ms: number; calls: number }>();
  const originals = tf.getKernelsForBackend('wasm');
  for (const k of originals) {
    tf.unregisterKernel(k.kernelName, 'wasm');
    tf.registerKernel({
      ...k,
      kernelFunc: (a) => {
        const t0 = performance.now();
        const out = k.kernelFunc(a);
        const e = totals.get(k.kernelName) ?? { ms: 0, calls: 0 };
        e.ms += performance.now() - t0;
        e.calls++;
        totals.set(k.kernelName, e);
        return out;
      },
    });
  }
  return {
    stop(top) {
      for (const k of originals) {
        tf.unregisterKernel(k.kernelName, 'wasm');
        tf.registerKernel(k);
      }
      return [...totals]
        .sort((p, q) => q[1].ms - p[1].ms)
        .slice(0, top)
        .map(([name, v]) => ({ name, ms: Math.round(v.ms * 10) / 10, calls: v.calls }));
    },
  };
}

/**
 * Wraps the probe's own WASM kernels (the methods of wasmKernels on the current heap: SGEMM,
 * Winograd transforms, tap copies, statistics…) with wall-clock timers until `stop`, which puts
 * them back and returns each one's time. Their sum against a pass's time is the share that the
 * kernel threads can speed up (the statistics kernels only from taskSettings.minStatsBytes read).
 */
export function timeOwnKernels(): { stop(): KernelTime[] } {
  const heap = (tf.backend() as unknown as { wasm: EmscriptenHeap }).wasm;
  const kernels = wasmKernels(heap);
  const totals = new Map<string, { ms: number; calls: number }>();
  const originals: [Record<string, unknown>, string, (...a: unknown[]) => unknown][] = [];
  let depth = 0;
  // The queued forms too ('later.…': posting a call, and `later.settle`, the calling thread's
  // wait for the queue and its share of what was left in it).
  const objects: [Record<string, unknown>, string][] = [
    [kernels as unknown as Record<string, unknown>, ''],
    [kernels.later as unknown as Record<string, unknown>, 'later.'],
  ];
  for (const [k, prefix] of objects)
    for (const [key, f] of Object.entries(k)) {
      if (typeof f !== 'function') continue;
      const fn = f as (...a: unknown[]) => unknown;
      const name = prefix + key;
      originals.push([k, key, fn]);
      k[key] = (...a: unknown[]) => {
        // Only the outermost call counts (a queued form on one thread runs the immediate one).
        if (depth > 0) return fn(...a);
        const t0 = performance.now();
        depth++;
        try {
          return fn(...a);
        } finally {
          depth--;
          const e = totals.get(name) ?? { ms: 0, calls: 0 };
          e.ms += performance.now() - t0;
          e.calls++;
          totals.set(name, e);
        }
      };
    }
  return {
    stop() {
      for (const [k, key, fn] of originals) k[key] = fn;
      return [...totals]
        .sort((p, q) => q[1].ms - p[1].ms)
        .map(([name, v]) => ({ name, ms: Math.round(v.ms * 10) / 10, calls: v.calls }));
    },
  };
}

/**
 * The .npy `file` with its samples repeated `times` times (written beside it), so that a probe of
 * `times` batches runs the same batch each time.
 */
export function repeatedInput(file: string, times: number): string {
  if (times === 1) return file;
  const a = readNpy(file);
  // Integers (token ids) are read as int32 and written so; the probe reads int64 files as int32 too.
  const data =
    a.dtype === 'float32' ? new Float32Array(a.data.length * times) : new Int32Array(a.data.length * times);
  for (let i = 0; i < times; i++) data.set(a.data, i * a.data.length);
  const shape = [a.shape[0] * times, ...a.shape.slice(1)];
  const descr = a.dtype === 'float32' ? '<f4' : '<i4';
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')},), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const out = file.replace(/\.npy$/, `.x${times}.npy`);
  fs.writeFileSync(out, Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(data.buffer)]));
  return out;
}

/** The value after `name` among the command-line arguments, if it is there. */
export function argValue(name: string): string | undefined {
  const args = process.argv.slice(2);
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/**
 * A model set up for bare probe passes (forward and backward with every probe attached, no skip
 * cut: bench/probe.ts's `withProbesNoSkipsMs`) on the current backend: `modelFile` (.onnx) and
 * its input beside it (.input.npy, as bench/probe.ts and bench/make_zoo.py write them).
 */
export async function barePasses(modelFile: string): Promise<{ ex: Executor; pass: () => Promise<unknown> }> {
  const inputFile = modelFile.replace(/\.onnx$/, '.input.npy');
  if (!fs.existsSync(modelFile) || !fs.existsSync(inputFile))
    throw new Error(
      `${modelFile} or its input ${path.basename(inputFile)} is missing: run npx tsx bench/probe.ts once (or /usr/bin/python3 bench/make_zoo.py export for the zoo)`,
    );
  const model = await openModel(modelFile);
  const ex = new Executor(model);
  const a = readNpy(inputFile);
  const x = tf.tensor(a.data, a.shape, a.dtype === 'float32' ? 'float32' : 'int32');
  const loss = makeLoss('mean-square', {}, model.file);
  const feeds = { [model.graph.inputs[0]]: x };
  return { ex, pass: () => gradPass(ex, feeds, loss, []) };
}
