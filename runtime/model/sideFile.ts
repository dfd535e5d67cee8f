/**
 * Side files a model names (ONNX external data, TF.js weight shards) must lie in the model's own
 * folder, as onnx's checker requires: never an absolute path, never `..`, never a symlink that
 * leads out of the folder (a model from the internet must not make Skipscope read ~/.ssh).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

function inside(dir: string, file: string): boolean {
  const rel = path.relative(dir, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/**
 * The absolute path of `location` in `dir`, or null when it points outside `dir` by its name or
 * (when it exists) through symlinks. A path that does not exist is returned for the caller to
 * report as missing.
 */
export function sideFilePath(dir: string, location: string): string | null {
  if (path.isAbsolute(location) || location.includes('\0')) return null;
  const file = path.resolve(dir, location);
  if (!inside(dir, file)) return null;
  let real: string;
  try {
    real = fs.realpathSync(file);
  } catch {
    return file; // missing: the caller says so
  }
  let realDir: string;
  try {
    realDir = fs.realpathSync(dir);
  } catch {
    realDir = dir;
  }
  return inside(realDir, real) ? file : null;
}
