/**
 * ONNX TensorProto → a lazy TensorData. Only offsets are recorded while parsing; bytes are read
 * from the model file (or its external data file) when `read()` is called.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelError } from '../../errors';
import { sideFilePath } from '../sideFile';
import type { DType, TensorData, TensorValues } from '../ir';
import { ByteSource, readFully } from '../byteSource';
import { decodeBytes, dtypeSize, elementCount } from '../tensorValues';
import { FieldReader, I32, I64, LEN, VARINT, WireError, readVarint } from './wire';

/** Where the model's bytes come from, for lazy reads after parsing. */
export interface OnnxFileRef {
  /** Absolute path of the .onnx file (used in messages and to find external data). */
  file: string;
  /** The bytes, when the model was opened from memory rather than from disk. */
  memory?: Buffer;
}

/** ONNX TensorProto.DataType → IR dtype. */
export function onnxDType(code: number): DType {
  return ONNX_DTYPES[code] ?? 'unknown';
}

const ONNX_DTYPES: Record<number, DType> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
  14: 'complex64',
  15: 'complex128',
  16: 'bfloat16',
};

/** Raw data up to this size is kept in memory at parse time. */
const SMALL_TENSOR_BYTES = 1024;

type Storage =
  | { kind: 'none' }
  | { kind: 'raw'; pos: number; len: number; bytes?: Buffer }
  | { kind: 'field'; field: number; wt: number; pos: number; len: number }
  | { kind: 'strings'; values: string[] }
  | { kind: 'external'; location: string; offset: number; length: number | null };

/** A tensor stored in an ONNX file, read on demand. */
export class OnnxTensor implements TensorData {
  constructor(
    readonly name: string,
    readonly dtype: DType,
    readonly shape: number[],
    readonly count: number,
    private readonly storage: Storage,
    private readonly ref: OnnxFileRef,
  ) {}

  /** For display: where the bytes live. */
  get location(): string {
    const s = this.storage;
    if (s.kind === 'external') return `external:${s.location}@${s.offset}`;
    return 'inline';
  }

  /** True when the values live in an external data file. */
  get external(): boolean {
    return this.storage.kind === 'external';
  }

  read(): TensorValues {
    try {
      return this.readValues();
    } catch (e) {
      if (e instanceof WireError || e instanceof RangeError) {
        throw new ModelError(
          `${this.ref.file}: the data of tensor '${this.name}' is corrupt (${e.message}).`,
          this.ref.file,
        );
      }
      throw e;
    }
  }

  private readValues(): TensorValues {
    const s = this.storage;
    const file = this.ref.file;
    const size = dtypeSize(this.dtype);
    switch (s.kind) {
      case 'none':
        if (this.count === 0)
          return decodeBytes(new Uint8Array(0), this.dtype === 'string' ? 'uint8' : this.dtype, 0);
        throw new ModelError(`${file}: tensor '${this.name}' has no data.`, file);
      case 'strings':
        return s.values;
      case 'raw': {
        if (size === 0)
          throw new ModelError(
            `${file}: tensor '${this.name}' has raw data of an unsupported type (${this.dtype}).`,
            file,
          );
        return decodeBytes(s.bytes ?? this.bytes(s.pos, this.count * size), this.dtype, this.count);
      }
      case 'field':
        return this.readField(s.field, s.wt, this.bytes(s.pos, s.len));
      case 'external':
        return this.readExternal(s.location, s.offset, s.length);
    }
  }

  private bytes(pos: number, len: number): Uint8Array {
    if (this.ref.memory) return this.ref.memory.subarray(pos, pos + len);
    // Read straight into an exact, unpooled buffer that becomes the typed array (no second copy).
    const out = new Uint8Array(len);
    const fd = fs.openSync(this.ref.file, 'r');
    let got: number;
    try {
      got = readFully(fd, out, pos);
    } finally {
      fs.closeSync(fd);
    }
    if (got < len)
      throw new ModelError(
        `${this.ref.file}: the file is shorter than tensor '${this.name}' needs.`,
        this.ref.file,
      );
    return out;
  }

  private readExternal(location: string, offset: number, length: number | null): TensorValues {
    const file = this.ref.file;
    const dir = path.dirname(file);
    // As onnx's checker requires: data lives beside the model, never elsewhere on the disk.
    const dataFile = sideFilePath(dir, location);
    if (dataFile === null) {
      throw new ModelError(
        `${file}: tensor '${this.name}' points its data outside the model's folder ('${location}'); refusing to read it.`,
        file,
      );
    }
    const need = this.count * dtypeSize(this.dtype);
    if (need === 0 && this.count > 0) {
      throw new ModelError(
        `${file}: tensor '${this.name}' has external data of an unsupported type (${this.dtype}).`,
        file,
      );
    }
    let fd: number;
    try {
      fd = fs.openSync(dataFile, 'r');
    } catch {
      throw new ModelError(
        `${file}: tensor '${this.name}' keeps its data in '${location}', which is missing next to the model.`,
        file,
      );
    }
    try {
      if (!fs.fstatSync(fd).isFile())
        throw new ModelError(
          `${file}: tensor '${this.name}' keeps its data in '${location}', which is not a file.`,
          file,
        );
      if (length !== null && length < need) {
        throw new ModelError(
          `${file}: tensor '${this.name}' has ${length} bytes of external data but its shape needs ${need}.`,
          file,
        );
      }
      const out = new Uint8Array(need);
      const got = readFully(fd, out, offset);
      if (got < need) {
        throw new ModelError(
          `${file}: external data file '${location}' is too short for tensor '${this.name}' (needs ${need} bytes at offset ${offset}).`,
          file,
        );
      }
      return decodeBytes(out, this.dtype, this.count);
    } finally {
      fs.closeSync(fd);
    }
  }

  private readField(field: number, wt: number, bytes: Uint8Array): TensorValues {
    const src = ByteSource.fromBuffer(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    const nums: number[] = [];
    if (field === 4 || field === 10) {
      const w = field === 4 ? 4 : 8;
      const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const n = Math.floor(bytes.byteLength / w);
      if (wt === LEN || wt === (w === 4 ? I32 : I64))
        for (let i = 0; i < n; i++)
          nums.push(w === 4 ? dv.getFloat32(i * 4, true) : dv.getFloat64(i * 8, true));
    } else {
      const holder = { at: 0 };
      let p = 0;
      while (p < bytes.byteLength) {
        nums.push(readVarint(src, holder, p, bytes.byteLength));
        p = holder.at;
      }
    }
    return fromNumbers(nums, this.dtype, this.count, field);
  }
}

/** Builds the typed array for values that came from the typed repeated fields. */
function fromNumbers(nums: number[], dtype: DType, count: number, field: number): TensorValues {
  const n = Math.min(nums.length, Math.max(count, 0));
  switch (dtype) {
    case 'float32':
    case 'complex64':
      return Float32Array.from(nums.slice(0, dtype === 'complex64' ? 2 * n : n));
    case 'float64':
    case 'complex128':
      return Float64Array.from(nums.slice(0, dtype === 'complex128' ? 2 * n : n));
    case 'float16':
    case 'bfloat16': {
      // int32_data carries the 16-bit patterns.
      const u = new Uint16Array(nums.slice(0, n));
      return decodeBytes(new Uint8Array(u.buffer), dtype, n);
    }
    case 'int8':
      return Int8Array.from(nums.slice(0, n));
    case 'uint8':
    case 'bool':
      return Uint8Array.from(nums.slice(0, n));
    case 'int16':
      return Int16Array.from(nums.slice(0, n));
    case 'uint16':
      return Uint16Array.from(nums.slice(0, n));
    case 'int32':
      return Int32Array.from(nums.slice(0, n));
    case 'uint32':
      return Uint32Array.from(nums.slice(0, n));
    case 'int64':
      return BigInt64Array.from(nums.slice(0, n).map((x) => BigInt(Math.trunc(x))));
    case 'uint64':
      return BigUint64Array.from(nums.slice(0, n).map((x) => BigInt.asUintN(64, BigInt(Math.trunc(x)))));
    default:
      void field;
      return Float64Array.from(nums.slice(0, n));
  }
}

/** Parses a TensorProto in [start, end) of `src`. Throws WireError/ModelError for bad input. */
export function parseTensor(src: ByteSource, start: number, end: number, ref: OnnxFileRef): OnnxTensor {
  const f = new FieldReader(src, start, end);
  const dims: number[] = [];
  let dtypeCode = 0;
  let name = '';
  let storage: Storage = { kind: 'none' };
  let strings: string[] | null = null;
  const ext: Record<string, string> = {};
  let location = 0;
  while (f.next()) {
    switch (f.num) {
      case 1:
        f.ints(dims);
        break;
      case 2:
        f.expect(VARINT, 'data_type');
        dtypeCode = f.value;
        break;
      case 8:
        f.expect(LEN, 'name');
        name = f.string();
        break;
      case 9:
        f.expect(LEN, 'raw_data');
        storage = { kind: 'raw', pos: f.vstart, len: f.vend - f.vstart };
        break;
      case 4:
      case 5:
      case 7:
      case 10:
      case 11:
        // Packed typed data: recorded by offset like raw_data. (Unpacked repeats are not written by any exporter.)
        if (f.wt === LEN)
          storage = { kind: 'field', field: f.num, wt: f.wt, pos: f.vstart, len: f.vend - f.vstart };
        break;
      case 6:
        f.expect(LEN, 'string_data');
        (strings ??= []).push(f.string());
        break;
      case 13: {
        f.expect(LEN, 'external_data');
        const [k, v] = parseEntry(src, f.vstart, f.vend);
        ext[k] = v;
        break;
      }
      case 14:
        location = f.value;
        break;
      default:
        break;
    }
  }
  const dtype = onnxDType(dtypeCode);
  const count = elementCount(dims);
  if (count < 0)
    throw new ModelError(
      `${ref.file}: tensor '${name}' has dimensions that overflow (${dims.join('×')}).`,
      ref.file,
    );
  if (strings) storage = { kind: 'strings', values: strings };
  if (location === 1 || ext.location !== undefined) {
    if (!ext.location)
      throw new ModelError(
        `${ref.file}: tensor '${name}' is marked external but names no data file.`,
        ref.file,
      );
    const offset = ext.offset !== undefined ? Number(ext.offset) : 0;
    const length = ext.length !== undefined ? Number(ext.length) : null;
    if (
      !Number.isSafeInteger(offset) ||
      offset < 0 ||
      (length !== null && (!Number.isSafeInteger(length) || length < 0))
    ) {
      throw new ModelError(
        `${ref.file}: tensor '${name}' has an invalid external data offset or length.`,
        ref.file,
      );
    }
    storage = { kind: 'external', location: ext.location, offset, length };
  } else if (storage.kind === 'raw') {
    const need = count * dtypeSize(dtype);
    if (dtypeSize(dtype) > 0 && storage.len < need) {
      throw new ModelError(
        `${ref.file}: tensor '${name}' has ${storage.len} bytes of data but its shape ${dtype}[${dims.join(',')}] needs ${need}.`,
        ref.file,
      );
    }
    // Small tensors (shape constants, biases) are copied now, while the window holds them: shape
    // inference reads many of them, and one syscall each would cost more than the copy.
    if (!ref.memory && storage.len <= SMALL_TENSOR_BYTES) storage.bytes = src.copy(storage.pos, storage.len);
  }
  return new OnnxTensor(name, dtype, dims.slice(), count, storage, ref);
}

/** Parses a StringStringEntryProto. */
export function parseEntry(src: ByteSource, start: number, end: number): [string, string] {
  const f = new FieldReader(src, start, end);
  let k = '';
  let v = '';
  while (f.next()) {
    if (f.wt !== LEN) continue;
    if (f.num === 1) k = f.string();
    else if (f.num === 2) v = f.string();
  }
  return [k, v];
}

export { WireError };
