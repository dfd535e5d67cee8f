/**
 * The structured adversarial corpus (issue 16): protobuf-valid ONNX files and TF.js model.json
 * folders that lie about their content, each in its own folder, written at test time (the largest
 * are 100k-node graphs and megabyte names, which are cheaper to make than to store).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CorpusCase } from './corpusCase';
import { onnxCases } from './onnxCases';
import { tfjsCases } from './tfjsCases';

export type { CaseKind, CorpusCase } from './corpusCase';

/** Every case, ONNX first. */
export function corpusCases(): CorpusCase[] {
  return [...onnxCases(), ...tfjsCases()];
}

/** A written case: the case and the path of its model file. */
export interface WrittenCase {
  case: CorpusCase;
  dir: string;
  file: string;
}

/** Writes every case (or those named in `only`) under `root`, one folder each; returns them in order. */
export function writeCorpus(root: string, only?: string[]): WrittenCase[] {
  fs.mkdirSync(root, { recursive: true });
  const out: WrittenCase[] = [];
  for (const c of corpusCases()) {
    if (only && !only.includes(c.name)) continue;
    const dir = path.join(root, c.name);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir);
    c.write(dir);
    out.push({ case: c, dir, file: path.join(dir, c.file) });
  }
  return out;
}
