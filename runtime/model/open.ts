/**
 * Reads a model file with the reader that matches its content (not only its name) into the IR,
 * with constants marked. Shapes and cost come a layer above (runtime/analysis/openModel.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Model } from './ir';
import { ModelError } from '../errors';
import { ByteSource } from './byteSource';
import { readOnnx } from './onnx/onnxReader';
import { readTfjsLayers } from './tfjsLayers/layersReader';
import { readTfjsGraph } from './tfjsGraph/graphModelReader';
import { finishModel } from './finishModel';

/** JSON model files above this size are refused rather than parsed (weights live in shards). */
const MAX_JSON_BYTES = 512 * 1024 * 1024;

/** Reads the model at `file` (ONNX, TF.js layers or TF.js graph). Throws ModelError for bad input. */
export function readModelFile(file: string): Model {
  const abs = path.resolve(file);
  let st: fs.Stats;
  try {
    st = fs.statSync(abs);
  } catch {
    throw new ModelError(`${file}: no such file.`, file);
  }
  if (st.isDirectory())
    throw new ModelError(
      `${file}: is a directory, not a model file (open its model.json or .onnx file).`,
      file,
    );
  if (st.size === 0) throw new ModelError(`${file}: the file is empty.`, file);
  let fd: number;
  try {
    fd = fs.openSync(abs, 'r');
  } catch (e) {
    throw new ModelError(`${file}: cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'}).`, file);
  }
  try {
    const src = ByteSource.fromFd(fd, st.size);
    src.ensure(0, Math.min(st.size, 64));
    if (looksLikeJson(src.buf)) {
      if (st.size > MAX_JSON_BYTES)
        throw new ModelError(`${file}: the JSON file is too large to be a TF.js model topology.`, file);
      const text = fs.readFileSync(fd, 'utf8');
      return finishModel(readJsonModel(text, abs, file));
    }
    return finishModel(readOnnx(src, { file: abs }));
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads a model from bytes in memory (tests, the mutation test). `file` names it in messages and locates side files. */
export function readModelBytes(bytes: Buffer, file: string): Model {
  const abs = path.resolve(file);
  if (bytes.length === 0) throw new ModelError(`${file}: the file is empty.`, file);
  if (looksLikeJson(bytes)) return finishModel(readJsonModel(bytes.toString('utf8'), abs, file));
  return finishModel(readOnnx(ByteSource.fromBuffer(bytes), { file: abs, memory: bytes }));
}

function looksLikeJson(head: Buffer): boolean {
  let i = 0;
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) i = 3; // UTF-8 BOM
  while (i < head.length && (head[i] === 0x20 || head[i] === 0x0a || head[i] === 0x0d || head[i] === 0x09))
    i++;
  return head[i] === 0x7b || head[i] === 0x5b; // '{' or '['
}

function readJsonModel(text: string, abs: string, file: string): Model {
  let json: unknown;
  try {
    json = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (e) {
    throw new ModelError(`${file}: not valid JSON (${(e as Error).message}).`, file);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ModelError(
      `${file}: is JSON but not a TF.js model (expected an object with modelTopology).`,
      file,
    );
  }
  const o = json as Record<string, unknown>;
  const topo = o.modelTopology as Record<string, unknown> | undefined;
  if (typeof topo !== 'object' || topo === null) {
    throw new ModelError(`${file}: is JSON but not a TF.js model (no modelTopology).`, file);
  }
  if (o.format === 'graph-model' || Array.isArray(topo.node)) return readTfjsGraph(o, abs, file);
  if (o.format === 'layers-model' || 'class_name' in topo || 'model_config' in topo || 'config' in topo)
    return readTfjsLayers(o, abs, file);
  throw new ModelError(
    `${file}: is JSON with a modelTopology that is neither a TF.js layers nor a graph model.`,
    file,
  );
}
