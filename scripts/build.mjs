// One esbuild script for every bundle: extension host (node), sidecar + CLI (node), webview (browser).
import * as esbuild from 'esbuild';
import { cpSync, mkdirSync, existsSync, chmodSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hostTarget, stageDawn } from './stageDawn.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

const common = {
  bundle: true,
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
  absWorkingDir: root,
};
// Native TensorFlow packages are optional: loaded at run time from a user folder, never bundled.
const nodeExternals = ['vscode', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'onnxruntime-node'];

const builds = [
  {
    ...common,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: nodeExternals,
    entryPoints: { extension: 'extension/extension.ts' },
    outdir: dist,
  },
  {
    ...common,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: nodeExternals,
    entryPoints: { sidecar: 'runtime/sidecar.ts', cli: 'runtime/cli.ts' },
    outdir: dist,
    banner: { js: '#!/usr/bin/env node' },
  },
  {
    ...common,
    platform: 'browser',
    format: 'iife',
    target: 'chrome120',
    entryPoints: { webview: 'webview/main.ts', layoutWorker: 'webview/layout/worker.ts' },
    outdir: dist,
    loader: { '.css': 'css' },
  },
];

mkdirSync(dist, { recursive: true });
// The WASM backend loads its .wasm binaries from next to the bundle.
const wasmDir = join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
for (const f of [
  'tfjs-backend-wasm.wasm',
  'tfjs-backend-wasm-simd.wasm',
  'tfjs-backend-wasm-threaded-simd.wasm',
]) {
  if (existsSync(join(wasmDir, f))) cpSync(join(wasmDir, f), join(dist, f));
}
// The WebGPU backend's native binary for the package's platform (this machine's unless
// scripts/package.mjs names another; `universal` has none).
const dawnTarget = process.env.SKIPSCOPE_DAWN_TARGET || hostTarget();
try {
  stageDawn(dawnTarget, dist);
} catch (e) {
  // A platform Dawn has no binary for still builds: its probes run on WebAssembly.
  console.warn(`build: no WebGPU binary staged (${e.message})`);
}
const codicons = join(root, 'node_modules/@vscode/codicons/dist');
for (const f of ['codicon.css', 'codicon.ttf']) cpSync(join(codicons, f), join(dist, f));

const existing = builds.filter((b) => Object.values(b.entryPoints).every((p) => existsSync(join(root, p))));
if (watch) {
  for (const b of existing) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(existing.map((b) => esbuild.build(b)));
  if (existsSync(join(dist, 'cli.js'))) chmodSync(join(dist, 'cli.js'), 0o755);
}
