import { gunzipSync } from 'node:zlib';
import { readFileChecked } from '../atomic.js';
import { HwgenError } from '../errors.js';

/**
 * The IDX format of the MNIST family (LeCun's page; Fashion-MNIST uses it as is): a big-endian header of two zero
 * bytes, a type code, the number of dimensions, then one 32-bit size per dimension, then the values row-major
 * in the type's big-endian encoding. Files are often gzipped (`*.gz`); the reader unzips by the gzip magic.
 */
export interface IdxArray {
  /** Sizes of the dimensions, outermost first. */
  dims: number[];
  /** The values: unsigned bytes stay a Uint8Array (pixels, labels), every other type becomes float64. */
  data: Uint8Array | Float64Array;
}

/** Type code → bytes per value and the big-endian reader. */
const TYPES: Record<number, { name: string; size: number; read?: (v: DataView, at: number) => number }> = {
  0x08: { name: 'unsigned byte', size: 1 },
  0x09: { name: 'signed byte', size: 1, read: (v, at) => v.getInt8(at) },
  0x0b: { name: 'short', size: 2, read: (v, at) => v.getInt16(at) },
  0x0c: { name: 'int', size: 4, read: (v, at) => v.getInt32(at) },
  0x0d: { name: 'float', size: 4, read: (v, at) => v.getFloat32(at) },
  0x0e: { name: 'double', size: 8, read: (v, at) => v.getFloat64(at) },
};

/** Reads an IDX file, gzipped or not. */
export function readIdx(path: string): IdxArray {
  return parseIdx(readFileChecked(path, 'IDX file'), path);
}

/** Parses IDX bytes (gzipped or not); `where` names the file in errors. */
export function parseIdx(bytes: Uint8Array, where: string): IdxArray {
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = new Uint8Array(gunzipSync(bytes));
    } catch (e) {
      throw new HwgenError(`${where}: the gzip stream is damaged or truncated (${(e as Error).message}); download the file again`);
    }
  }
  const bad = (what: string) => new HwgenError(`${where}: not a valid IDX file: ${what}`);
  if (bytes.length < 4) throw bad(`only ${bytes.length} bytes, shorter than the 4-byte magic number`);
  if (bytes[0] !== 0 || bytes[1] !== 0) throw bad(`the magic number starts ${hex(bytes[0])} ${hex(bytes[1])}, not 00 00`);
  const type = TYPES[bytes[2]];
  if (!type) throw bad(`unknown type code ${hex(bytes[2])} (IDX knows 08, 09, 0b, 0c, 0d, 0e)`);
  const rank = bytes[3];
  if (rank === 0) throw bad('the number of dimensions is 0');
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) throw bad(`the header needs ${headerBytes} bytes for ${rank} dimension(s), the file has ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = Array.from({ length: rank }, (_, d) => view.getUint32(4 + 4 * d));
  const count = dims.reduce((a, b) => a * b, 1);
  const want = headerBytes + count * type.size;
  if (bytes.length < want) {
    throw bad(`truncated: dimensions ${dims.join(' x ')} of ${type.name} need ${want} bytes, the file has ${bytes.length}`);
  }
  if (bytes.length > want) {
    throw bad(`${bytes.length - want} bytes after the ${dims.join(' x ')} values the header announces`);
  }
  if (!type.read) return { dims, data: bytes.slice(headerBytes) };
  const data = new Float64Array(count);
  for (let i = 0; i < count; i++) data[i] = type.read(view, headerBytes + i * type.size);
  return { dims, data };
}

function hex(b: number): string {
  return b.toString(16).padStart(2, '0');
}
