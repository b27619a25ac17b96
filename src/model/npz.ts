/**
 * numpy .npz archives (np.savez, np.savez_compressed): a zip of .npy files. fflate extracts the entries; since it
 * neither checks CRCs nor bounds its allocations, every entry is first checked against its central-directory record
 * (sizes, limits) and its extracted bytes are then checked against the recorded size and CRC-32.
 */
import { crc32 } from 'node:zlib';
import { unzipSync, zipSync, type UnzipFileInfo, type Zippable } from 'fflate';
import { HwgenError } from '../errors.js';
import type { NdArray } from './ndarray.js';
import { checkNdArray, encodeNpy, parseNpy } from './npy.js';

/** Total uncompressed bytes an archive may declare. */
const MAX_TOTAL_BYTES = 4 * 1024 ** 3;
/** deflate cannot expand more than ~1032:1; a larger declared ratio is a corrupt header or a zip bomb. */
const MAX_DEFLATE_RATIO = 1032;
/** Central-directory record and end-of-central-directory sizes (APPNOTE 4.3.12, 4.3.16). */
const CDR_SIZE = 46;
const EOCD_SIZE = 22;
const MAX_COMMENT = 0xffff;

interface DirEntry {
  name: string;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
}

/** Reads every array of an .npz archive in archive order; names lose their `.npy` suffix. */
export function parseNpz(buf: Uint8Array, where: string): { name: string; array: NdArray }[] {
  const dir = readDirectory(buf, where);
  checkEntries(dir, where);
  const files = extract(buf, dir, where);
  return dir.map((e) => {
    const data = files[e.name];
    const at = `${where}: array '${e.name}'`;
    if (!(data instanceof Uint8Array) || data.length !== e.size) {
      throw new HwgenError(`${at}: extracted ${data?.length ?? 0} bytes but the archive declares ${e.size}; the archive is truncated or corrupted`);
    }
    if (crc32(data) !== e.crc) throw new HwgenError(`${at}: CRC-32 mismatch; the archive is corrupted`);
    return { name: e.name.slice(0, -'.npy'.length), array: parseNpy(data, `${where} (array '${e.name}')`) };
  });
}

/** Writes arrays as np.savez (stored) or np.savez_compressed (deflate) would, with fixed timestamps. */
export function encodeNpz(entries: { name: string; array: NdArray }[], opts: { compress?: boolean } = {}): Uint8Array {
  const files: Zippable = {};
  // fflate stores a Date's local-time fields, so the fixed timestamp is built in the current time zone.
  const mtime = new Date(1980, 0, 1, 0, 0, 0);
  const seen = new Set<string>();
  let total = 0;
  for (const { name, array } of entries) {
    if (name === '' || seen.has(name)) throw new HwgenError(`encodeNpz: array name '${name}' is empty or repeated`);
    seen.add(name);
    checkNdArray(array, `encodeNpz: array '${name}'`);
    const npy = encodeNpy(array);
    total += npy.length;
    files[`${name}.npy`] = [npy, { level: opts.compress ? 6 : 0, mtime }];
  }
  // fflate writes no zip64 records, so the archive must stay below the 32-bit limits.
  if (total >= 0xffff0000 || entries.length > 0xffff) {
    throw new HwgenError(`encodeNpz: ${entries.length} arrays of ${total} bytes exceed what a non-zip64 archive can hold`);
  }
  return zipSync(files);
}

/** The central directory, parsed only far enough to check what fflate returns. */
function readDirectory(buf: Uint8Array, where: string): DirEntry[] {
  const eocd = findEocd(buf, where);
  let count = u16(buf, eocd + 10);
  let offset = u32(buf, eocd + 16);
  const locator = eocd - 20;
  // Like fflate: zip64 only when both the locator and the record it points to are there.
  const z = locator >= 0 && u32(buf, locator) === 0x07064b50 ? u64(buf, locator + 8) : -1;
  if (z >= 0 && z + 56 <= buf.length && u32(buf, z) === 0x06064b50) {
    count = u64(buf, z + 32);
    offset = u64(buf, z + 48);
  }
  if (count * CDR_SIZE > buf.length) corrupt(where, `the directory claims ${count} entries, more than the file can hold`);
  const entries: DirEntry[] = [];
  for (let i = 0; i < count; i++) {
    const { entry, next } = readDirRecord(buf, offset, where);
    entries.push(entry);
    offset = next;
  }
  return entries;
}

function findEocd(buf: Uint8Array, where: string): number {
  // The record is the last thing in the file, followed only by an archive comment of up to 64 KiB.
  for (let e = buf.length - EOCD_SIZE; e >= 0 && buf.length - e <= EOCD_SIZE + MAX_COMMENT; e--) {
    if (u32(buf, e) === 0x06054b50) return e;
  }
  return corrupt(where, 'no end-of-central-directory record (not a zip archive, or truncated)');
}

function readDirRecord(buf: Uint8Array, at: number, where: string): { entry: DirEntry; next: number } {
  if (at + CDR_SIZE > buf.length || u32(buf, at) !== 0x02014b50) corrupt(where, `no central-directory record at byte ${at}`);
  const flags = u16(buf, at + 8);
  const nameLen = u16(buf, at + 28);
  const extraLen = u16(buf, at + 30);
  const next = at + CDR_SIZE + nameLen + extraLen + u16(buf, at + 32);
  if (next > buf.length) corrupt(where, `the central-directory record at byte ${at} runs past the end of the file`);
  const nameBytes = buf.subarray(at + CDR_SIZE, at + CDR_SIZE + nameLen);
  if (flags & 1) corrupt(where, 'encrypted entries are not supported');
  let compressedSize = u32(buf, at + 20);
  let size = u32(buf, at + 24);
  // zip64: fields stored as 0xFFFFFFFF are in the 0x0001 extra field, in the order size, compressed size.
  const extra = buf.subarray(at + CDR_SIZE + nameLen, at + CDR_SIZE + nameLen + extraLen);
  const z64 = zip64Extra(extra);
  let local = u32(buf, at + 42);
  let k = 0;
  if (size === 0xffffffff && z64) size = u64(z64, 8 * k++);
  if (compressedSize === 0xffffffff && z64) compressedSize = u64(z64, 8 * k++);
  if (local === 0xffffffff && z64) local = u64(z64, 8 * k++);
  const name = decodeName(nameBytes, (flags & 0x800) !== 0, where);
  checkLocalHeader(buf, local, compressedSize, name, where);
  return { entry: { name, method: u16(buf, at + 10), crc: u32(buf, at + 16), compressedSize, size }, next };
}

/** The entry's local header must be there and its data must lie inside the file. */
function checkLocalHeader(buf: Uint8Array, at: number, compressedSize: number, name: string, where: string): void {
  if (at + 30 > buf.length || u32(buf, at) !== 0x04034b50) corrupt(where, `entry '${name}' has no local header at byte ${at}`);
  const dataStart = at + 30 + u16(buf, at + 26) + u16(buf, at + 28);
  if (dataStart + compressedSize > buf.length) {
    corrupt(where, `entry '${name}' needs ${compressedSize} bytes from byte ${dataStart} but the file ends at ${buf.length} (truncated)`);
  }
}

function zip64Extra(extra: Uint8Array): Uint8Array | undefined {
  for (let p = 0; p + 4 <= extra.length; p += 4 + u16(extra, p + 2)) {
    if (u16(extra, p) === 1) return extra.subarray(p + 4, Math.min(extra.length, p + 4 + u16(extra, p + 2)));
  }
  return undefined;
}

/** Names are UTF-8 when flagged, else (as fflate reads them) latin-1. */
function decodeName(bytes: Uint8Array, utf8: boolean, where: string): string {
  if (!utf8) return String.fromCharCode(...bytes);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return corrupt(where, 'an entry name is not valid UTF-8');
  }
}

/** Rejects archives np.load would not give us plain arrays from, and declared sizes that would exhaust memory. */
function checkEntries(dir: DirEntry[], where: string): void {
  const names = new Set<string>();
  let total = 0;
  for (const e of dir) {
    if (!e.name.endsWith('.npy')) {
      throw new HwgenError(`${where}: entry '${e.name}' is not a .npy array; an .npz must hold only arrays written by np.savez`);
    }
    if (names.has(e.name)) throw new HwgenError(`${where}: entry '${e.name}' appears twice; re-save the archive with np.savez`);
    names.add(e.name);
    if (e.method !== 0 && e.method !== 8) {
      throw new HwgenError(`${where}: entry '${e.name}' uses zip compression method ${e.method}; only stored and deflate (np.savez, np.savez_compressed) are supported`);
    }
    const maxSize = e.method === 0 ? e.compressedSize : e.compressedSize * MAX_DEFLATE_RATIO + 1024;
    total += e.size;
    if (e.size > maxSize || (e.method === 0 && e.size !== e.compressedSize)) {
      corrupt(where, `entry '${e.name}' declares ${e.size} bytes from ${e.compressedSize} compressed, which is impossible`);
    }
    if (total > MAX_TOTAL_BYTES) {
      throw new HwgenError(`${where}: the archive declares more than ${MAX_TOTAL_BYTES} bytes of arrays (limit 4 GiB); it is corrupted or too large`);
    }
  }
}

/** fflate does the zip work; the filter makes sure it sees exactly the checked directory before it allocates. */
function extract(buf: Uint8Array, dir: DirEntry[], where: string): Record<string, Uint8Array> {
  let i = 0;
  const filter = (f: UnzipFileInfo): boolean => {
    const e = dir[i++];
    if (!e || f.name !== e.name || f.originalSize !== e.size || f.size !== e.compressedSize || f.compression !== e.method) {
      corrupt(where, `the central directory is inconsistent at entry ${i}`);
    }
    return true;
  };
  try {
    const files = unzipSync(buf, { filter });
    if (i !== dir.length) corrupt(where, `found ${i} of ${dir.length} entries`);
    return files;
  } catch (err) {
    if (err instanceof HwgenError) throw err;
    return corrupt(where, `cannot unzip (${(err as Error).message})`);
  }
}

function corrupt(where: string, what: string): never {
  throw new HwgenError(`${where}: not a valid .npz archive: ${what}; re-save it with np.savez or np.savez_compressed`);
}

function u16(b: Uint8Array, p: number): number {
  return p + 2 <= b.length ? b[p] | (b[p + 1] << 8) : 0;
}
function u32(b: Uint8Array, p: number): number {
  return p + 4 <= b.length ? (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0 : 0;
}
/** 64-bit values above 2^53 are not exact, but any of them is far beyond every limit checked. */
function u64(b: Uint8Array, p: number): number {
  return u32(b, p) + u32(b, p + 4) * 2 ** 32;
}
