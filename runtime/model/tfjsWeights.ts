/**
 * TF.js weightsManifest: shard layout, lazy per-weight reads, and dequantisation of
 * uint8/uint16 (affine: q × scale + min) and float16 weights. Shared by the layers and graph readers.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelError } from '../errors';
import { sideFilePath } from './sideFile';
import type { DType, TensorData, TensorValues } from './ir';
import { readFully } from './byteSource';
import { decodeBytes, elementCount, halfToFloat } from './tensorValues';

/** One manifest entry as the reader keeps it. */
export interface ManifestWeight {
  name: string;
  tensor: TensorData;
}

interface Shard {
  file: string;
  size: number;
}

const STORED_SIZE: Record<string, number> = {
  float32: 4,
  int32: 4,
  bool: 1,
  uint8: 1,
  uint16: 2,
  float16: 2,
  complex64: 8,
  int8: 1,
  int16: 2,
};

/**
 * Parses `weightsManifest`, checks that every shard exists and is long enough (ModelError naming
 * the shard otherwise) and returns lazy tensors in manifest order. Nothing is read yet.
 */
export function readManifest(manifest: unknown, modelFile: string, displayFile: string): ManifestWeight[] {
  if (manifest === undefined || manifest === null) return [];
  if (!Array.isArray(manifest))
    throw new ModelError(`${displayFile}: weightsManifest is not a list.`, displayFile);
  const dir = path.dirname(modelFile);
  const out: ManifestWeight[] = [];
  for (const group of manifest as unknown[]) {
    const g = group as { paths?: unknown; weights?: unknown };
    if (!g || !Array.isArray(g.paths) || !Array.isArray(g.weights)) {
      throw new ModelError(`${displayFile}: a weightsManifest group lacks paths or weights.`, displayFile);
    }
    const shards: Shard[] = [];
    for (const p of g.paths) {
      if (typeof p !== 'string' || p === '')
        throw new ModelError(`${displayFile}: a weight shard path is not a string.`, displayFile);
      const file = sideFilePath(dir, p);
      if (file === null)
        throw new ModelError(
          `${displayFile}: weight shard '${p}' lies outside the model's folder; refusing to read it.`,
          displayFile,
        );
      let size: number;
      try {
        const st = fs.statSync(file);
        if (!st.isFile()) throw new Error('not a file');
        size = st.size;
      } catch {
        throw new ModelError(`${displayFile}: weight shard '${p}' is missing.`, displayFile);
      }
      shards.push({ file, size });
    }
    let offset = 0;
    for (const w of g.weights as unknown[]) {
      const e = w as {
        name?: unknown;
        shape?: unknown;
        dtype?: unknown;
        quantization?: { dtype?: unknown; scale?: unknown; min?: unknown };
      };
      if (
        !e ||
        typeof e.name !== 'string' ||
        !Array.isArray(e.shape) ||
        !e.shape.every((d) => typeof d === 'number')
      ) {
        throw new ModelError(`${displayFile}: a weightsManifest entry lacks a name or shape.`, displayFile);
      }
      const shape = e.shape as number[];
      const count = elementCount(shape);
      if (count < 0)
        throw new ModelError(
          `${displayFile}: weight '${e.name}' has dimensions that overflow (${shape.join('×')}).`,
          displayFile,
        );
      const dtype = String(e.dtype ?? 'float32');
      const q = e.quantization;
      const storedDtype = q && typeof q.dtype === 'string' ? q.dtype : dtype;
      const size = STORED_SIZE[storedDtype];
      if (size === undefined)
        throw new ModelError(
          `${displayFile}: weight '${e.name}' has unsupported dtype '${storedDtype}'.`,
          displayFile,
        );
      const bytes = count * size;
      const tensor = new ShardTensor(
        e.name,
        dtype as DType,
        shape,
        count,
        shards,
        offset,
        bytes,
        q ? { dtype: storedDtype, scale: Number(q.scale ?? 1), min: Number(q.min ?? 0) } : null,
        displayFile,
      );
      out.push({ name: e.name, tensor });
      offset += bytes;
    }
    const total = shards.reduce((a, s) => a + s.size, 0);
    if (total < offset) {
      // TF.js writes equal-size shards but the last: a smaller one before it is the truncated one.
      const short = shards.find((sh, i) => i < shards.length - 1 && sh.size < shards[0].size);
      const last = short ?? shards[shards.length - 1];
      throw new ModelError(
        `${displayFile}: weight shard '${last ? path.basename(last.file) : '?'}' is too short (the group's shards hold ${total} bytes, the manifest needs ${offset}).`,
        displayFile,
      );
    }
  }
  return out;
}

/** A weight stored in one group's concatenated shards. */
class ShardTensor implements TensorData {
  constructor(
    readonly name: string,
    readonly dtype: DType,
    readonly shape: number[],
    private readonly count: number,
    private readonly shards: Shard[],
    private readonly offset: number,
    private readonly bytes: number,
    private readonly quant: { dtype: string; scale: number; min: number } | null,
    private readonly displayFile: string,
  ) {}

  get location(): string {
    let start = 0;
    for (const s of this.shards) {
      if (this.offset < start + s.size) return `shard:${path.basename(s.file)}@${this.offset - start}`;
      start += s.size;
    }
    return 'shard';
  }

  read(): TensorValues {
    const raw = this.readBytes();
    const q = this.quant;
    if (!q)
      return decodeBytes(
        raw,
        this.dtype === 'bool' ? 'bool' : this.dtype,
        this.dtype === 'complex64' ? this.count * 2 : this.count,
      );
    const out = new Float32Array(this.count);
    if (q.dtype === 'float16') {
      const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      for (let i = 0; i < this.count; i++) out[i] = halfToFloat(dv.getUint16(2 * i, true));
    } else if (q.dtype === 'uint8') {
      for (let i = 0; i < this.count; i++) out[i] = raw[i] * q.scale + q.min;
    } else {
      const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      for (let i = 0; i < this.count; i++) out[i] = dv.getUint16(2 * i, true) * q.scale + q.min;
    }
    if (this.dtype === 'int32') return Int32Array.from(out, (x) => Math.round(x));
    return out;
  }

  /** Reads this weight's bytes, which may straddle shard files. */
  private readBytes(): Uint8Array {
    const out = new Uint8Array(this.bytes);
    let start = 0;
    let done = 0;
    for (const s of this.shards) {
      const end = start + s.size;
      const from = this.offset + done;
      if (done < this.bytes && from < end) {
        const n = Math.min(end - from, this.bytes - done);
        let fd: number;
        try {
          fd = fs.openSync(s.file, 'r');
        } catch {
          throw new ModelError(
            `${this.displayFile}: weight shard '${path.basename(s.file)}' is missing.`,
            this.displayFile,
          );
        }
        try {
          const got = readFully(fd, out.subarray(done, done + n), from - start);
          if (got < n)
            throw new ModelError(
              `${this.displayFile}: weight shard '${path.basename(s.file)}' is too short for weight '${this.name}'.`,
              this.displayFile,
            );
        } finally {
          fs.closeSync(fd);
        }
        done += n;
      }
      start = end;
    }
    if (done < this.bytes)
      throw new ModelError(
        `${this.displayFile}: the weight shards are too short for weight '${this.name}'.`,
        this.displayFile,
      );
    return out;
  }
}
