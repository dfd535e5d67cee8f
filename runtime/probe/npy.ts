/**
 * Reads NumPy .npy files (format 1.0–3.0): float32, float64, int64, int32, uint8, bool in C order.
 */
import * as fs from 'node:fs';
import { ModelError } from '../errors';

/** A decoded array: values as float32 or int32 (int64 narrowed), with its shape. */
export interface NpyArray {
  dtype: 'float32' | 'int32';
  /** The dtype string of the file, e.g. "<f8". */
  fileDtype: string;
  shape: number[];
  data: Float32Array | Int32Array;
}

const MAGIC = '\x93NUMPY';

/** Whether this machine stores numbers little-endian, as .npy files with '<' do. */
const LITTLE_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Parses the bytes of a .npy file; `file` names it in errors. */
export function parseNpy(buf: Buffer, file: string): NpyArray {
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== MAGIC)
    throw new ModelError(`${file}: not a NumPy .npy file (bad magic bytes).`, file);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString(major >= 3 ? 'utf8' : 'latin1', start, start + headerLen);
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined)
    throw new ModelError(`${file}: the .npy header is malformed.`, file);
  if (fortran === 'True')
    throw new ModelError(
      `${file}: the array is in Fortran order; save it in C order (np.ascontiguousarray) and retry.`,
      file,
    );
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const body = buf.subarray(start + headerLen);
  const little = descr[0] !== '>';
  const kind = descr.slice(1);
  const need = (size: number) => {
    if (body.length < count * size)
      throw new ModelError(
        `${file}: the file holds ${Math.floor(body.length / size)} values but its shape [${shape}] needs ${count}.`,
        file,
      );
  };
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  switch (kind) {
    case 'f4': {
      need(4);
      const out = new Float32Array(count);
      // Little-endian (every machine Node runs on): the bytes as they are, in one copy.
      if (little && LITTLE_HOST) new Uint8Array(out.buffer).set(body.subarray(0, count * 4));
      else for (let i = 0; i < count; i++) out[i] = dv.getFloat32(i * 4, little);
      return { dtype: 'float32', fileDtype: descr, shape, data: out };
    }
    case 'f8': {
      need(8);
      const out = new Float32Array(count);
      if (little && LITTLE_HOST) {
        const wide = new Float64Array(count);
        new Uint8Array(wide.buffer).set(body.subarray(0, count * 8));
        out.set(wide);
      } else for (let i = 0; i < count; i++) out[i] = dv.getFloat64(i * 8, little);
      return { dtype: 'float32', fileDtype: descr, shape, data: out };
    }
    case 'i8': {
      need(8);
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        const v = dv.getBigInt64(i * 8, little);
        if (v > 2147483647n || v < -2147483648n)
          throw new ModelError(`${file}: int64 value ${v} at index ${i} does not fit in int32.`, file);
        out[i] = Number(v);
      }
      return { dtype: 'int32', fileDtype: descr, shape, data: out };
    }
    case 'i4': {
      need(4);
      const out = new Int32Array(count);
      if (little && LITTLE_HOST) new Uint8Array(out.buffer).set(body.subarray(0, count * 4));
      else for (let i = 0; i < count; i++) out[i] = dv.getInt32(i * 4, little);
      return { dtype: 'int32', fileDtype: descr, shape, data: out };
    }
    case 'u1':
    case 'b1': {
      need(1);
      return { dtype: 'int32', fileDtype: descr, shape, data: Int32Array.from(body.subarray(0, count)) };
    }
    default:
      throw new ModelError(
        `${file}: .npy dtype ${descr} is not supported (use float32, float64, int64 or int32).`,
        file,
      );
  }
}

/** Reads a .npy file from disk. */
export function readNpy(file: string): NpyArray {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch {
    throw new ModelError(`${file}: cannot read the .npy file (it does not exist or is not readable).`, file);
  }
  return parseNpy(buf, file);
}
