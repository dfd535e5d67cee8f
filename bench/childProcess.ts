/**
 * Benchmarks that time in a fresh process (so that one model's heap and JIT state do not colour the
 * next, and peak RSS is the model's own): the script bundled into one CommonJS file its child runs
 * with `--child FILE RUNS`, and that child run, whose stdout is one JSON object.
 */
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * `script` (the caller's __filename) as a single .cjs file in the temp folder named after `tag`;
 * the file itself when it already is a bundle (copied to a machine without node_modules).
 */
export function bundleSelf(script: string, tag: string): string {
  if (script.endsWith('.cjs')) return script;
  const esbuild = require('esbuild') as typeof import('esbuild');
  const out = path.join(os.tmpdir(), `skipscope-bench-${tag}-${process.pid}.cjs`);
  esbuild.buildSync({
    entryPoints: [script],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    outfile: out,
    logLevel: 'error',
    external: ['@tensorflow/*', 'onnxruntime-node'],
  });
  return out;
}

/** Runs the bundled `script` as `--child file runs` and parses what it prints. */
export function runChild<T>(script: string, file: string, runs: number): T {
  const r = spawnSync(process.execPath, [script, '--child', file, String(runs)], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`child failed for ${file}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}
