/**
 * The numpy .npy format (versions 1.0, 2.0, 3.0): https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 * Reading accepts what np.save writes for plain numeric and bool dtypes; writing reproduces np.save byte for byte.
 */
import { HwgenError } from '../errors.js';
import { sizeOf, type DType, type NdArray, type NumericArray } from './ndarray.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
/** Far above any header numpy writes for a supported dtype; bounds parsing work on corrupted files. */
const MAX_HEADER_BYTES = 1 << 16;
/** numpy 2 allows 64 dimensions. */
const MAX_DIMS = 64;
/** np.save pads the header so the data starts at a multiple of this. */
const ARRAY_ALIGN = 64;
/** numpy leaves room to grow the first axis to this many digits (numpy/lib/format.py GROWTH_AXIS_MAX_DIGITS). */
const GROWTH_AXIS_MAX_DIGITS = 21;

export const SUPPORTED_DTYPES =
  "float32 ('<f4'), float64 ('<f8'), int8/16/32/64 ('|i1', '<i2', '<i4', '<i8'), " +
  "uint8/16/32/64 ('|u1', '<u2', '<u4', '<u8') and bool ('|b1'), little- or big-endian ('>')";

const ITEM_SIZE: Record<DType, number> = { f4: 4, f8: 8, i1: 1, i2: 2, i4: 4, i8: 8, u1: 1, u2: 2, u4: 4, u8: 8, b1: 1 };

/** Bytes per element of a dtype. */
export function itemSize(dtype: DType): number {
  return ITEM_SIZE[dtype];
}

/** Reads one .npy file; `where` (a path, or a path and entry name) goes into every error message. */
export function parseNpy(buf: Uint8Array, where: string): NdArray {
  const { header, dataStart } = readPreamble(buf, where);
  const { dtype, bigEndian, fortran, shape } = parseHeader(header, buf[6], where);
  const count = checkedCount(shape, buf.length, where, 'shape');
  const need = count * ITEM_SIZE[dtype];
  const have = buf.length - dataStart;
  if (have !== need) {
    const what = have < need ? 'the file is truncated' : 'the file has extra bytes after the data';
    throw new HwgenError(
      `${where}: ${what}: shape (${shape.join(', ')}) of dtype ${dtype} needs ${need} data bytes after the ` +
        `${dataStart}-byte header, but ${have} are present; re-save the array with np.save`,
    );
  }
  let bytes = buf.subarray(dataStart);
  if (bigEndian && ITEM_SIZE[dtype] > 1) bytes = byteSwapped(bytes, ITEM_SIZE[dtype]);
  if (fortran && shape.length > 1) bytes = fortranToC(bytes, shape, ITEM_SIZE[dtype]);
  return { dtype, shape, data: typedFromLittleEndian(bytes, dtype) };
}

/** Encodes an array as numpy's np.save would (version 1.0, or 2.0 for a header over 64 KiB; C order, little-endian). */
export function encodeNpy(a: NdArray): Uint8Array {
  checkNdArray(a);
  const descr = `${ITEM_SIZE[a.dtype] === 1 ? '|' : '<'}${a.dtype}`;
  const shape = a.shape.length === 1 ? `(${a.shape[0]},)` : `(${a.shape.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  if (a.shape.length > 0) dict += ' '.repeat(Math.max(0, GROWTH_AXIS_MAX_DIGITS - String(a.shape[0]).length));
  const header = wrapHeader(dict);
  let data = new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength);
  if (a.dtype === 'b1') data = Uint8Array.from(data, (v) => (v === 0 ? 0 : 1));
  const out = new Uint8Array(header.length + data.length);
  out.set(header);
  out.set(data, header.length);
  return out;
}

/** A typed array over little-endian element bytes; views `bytes` when aligned, copies otherwise. Bools become 0/1. */
export function typedFromLittleEndian(bytes: Uint8Array, dtype: DType): NumericArray {
  const n = bytes.length / ITEM_SIZE[dtype];
  if (dtype === 'b1') return Uint8Array.from(bytes, (v) => (v === 0 ? 0 : 1));
  // new Uint8Array(x) copies to offset 0; Buffer#slice would only make another view.
  const src = bytes.byteOffset % ITEM_SIZE[dtype] === 0 ? bytes : new Uint8Array(bytes);
  const { buffer, byteOffset } = src;
  switch (dtype) {
    case 'f4': return new Float32Array(buffer, byteOffset, n);
    case 'f8': return new Float64Array(buffer, byteOffset, n);
    case 'i1': return new Int8Array(buffer, byteOffset, n);
    case 'i2': return new Int16Array(buffer, byteOffset, n);
    case 'i4': return new Int32Array(buffer, byteOffset, n);
    case 'i8': return new BigInt64Array(buffer, byteOffset, n);
    case 'u1': return new Uint8Array(buffer, byteOffset, n);
    case 'u2': return new Uint16Array(buffer, byteOffset, n);
    case 'u4': return new Uint32Array(buffer, byteOffset, n);
    case 'u8': return new BigUint64Array(buffer, byteOffset, n);
  }
}

/**
 * Element count of a shape, checked against `available` bytes before anything is allocated, so a corrupted
 * shape cannot cause a huge allocation. Throws unless every dimension is a safe non-negative integer.
 */
export function checkedCount(shape: readonly number[], available: number, where: string, what: string): number {
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new HwgenError(`${where}: ${what} has an invalid dimension ${d}`);
  }
  if (shape.includes(0)) return 0;
  let count = 1;
  for (const d of shape) {
    count *= d;
    if (count > available) {
      throw new HwgenError(
        `${where}: ${what} (${shape.join(', ')}) needs more elements than the ${available} bytes of the file can hold; the file is corrupted`,
      );
    }
  }
  return count;
}

function readPreamble(buf: Uint8Array, where: string): { header: string; dataStart: number } {
  if (buf.length < 10 || MAGIC.some((b, i) => buf[i] !== b)) {
    throw new HwgenError(`${where}: not a .npy file (it does not start with "\\x93NUMPY"); save the array with np.save`);
  }
  const major = buf[6];
  const minor = buf[7];
  if (minor !== 0 || major < 1 || major > 3) {
    throw new HwgenError(`${where}: .npy format version ${major}.${minor} is not supported (1.0, 2.0 and 3.0 are)`);
  }
  const lenBytes = major === 1 ? 2 : 4;
  if (buf.length < 8 + lenBytes) throw new HwgenError(`${where}: the file is truncated inside the .npy preamble`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = 8 + lenBytes;
  if (headerLen > MAX_HEADER_BYTES || start + headerLen > buf.length) {
    throw new HwgenError(
      `${where}: the .npy header claims ${headerLen} bytes but ${buf.length - start} follow (limit ${MAX_HEADER_BYTES}); the file is truncated or corrupted`,
    );
  }
  const raw = buf.subarray(start, start + headerLen);
  let header = '';
  if (major < 3) for (const b of raw) header += String.fromCharCode(b); // latin-1
  else {
    try {
      header = new TextDecoder('utf-8', { fatal: true }).decode(raw);
    } catch {
      throw new HwgenError(`${where}: the .npy header is not valid UTF-8; the file is corrupted`);
    }
  }
  return { header, dataStart: start + headerLen };
}

interface Header {
  dtype: DType;
  bigEndian: boolean;
  fortran: boolean;
  shape: number[];
}

function parseHeader(text: string, major: number, where: string): Header {
  const d = new LiteralParser(text, where, major < 3).parseHeaderDict();
  const keys = Object.keys(d);
  const expected = ['descr', 'fortran_order', 'shape'];
  const extra = keys.filter((k) => !expected.includes(k));
  const missing = expected.filter((k) => !keys.includes(k));
  if (extra.length > 0 || missing.length > 0) {
    throw new HwgenError(
      `${where}: the .npy header must have exactly the keys 'descr', 'fortran_order', 'shape'` +
        (extra.length ? `; unexpected: ${extra.map((k) => `'${k}'`).join(', ')}` : '') +
        (missing.length ? `; missing: ${missing.map((k) => `'${k}'`).join(', ')}` : ''),
    );
  }
  const fortran = d.fortran_order;
  if (typeof fortran !== 'boolean') throw new HwgenError(`${where}: header 'fortran_order' must be True or False`);
  const shape = d.shape;
  if (!(shape instanceof PyTuple) || !shape.items.every((x) => typeof x === 'number')) {
    throw new HwgenError(`${where}: header 'shape' must be a tuple of integers such as (3, 4)`);
  }
  if (shape.items.length > MAX_DIMS) throw new HwgenError(`${where}: shape has ${shape.items.length} dimensions (limit ${MAX_DIMS})`);
  return { ...parseDescr(d.descr, where), fortran, shape: shape.items as number[] };
}

function parseDescr(descr: PyValue, where: string): { dtype: DType; bigEndian: boolean } {
  if (typeof descr !== 'string') {
    throw new HwgenError(
      `${where}: structured dtype ${describe(descr)} is not supported; hwgen reads ${SUPPORTED_DTYPES}; save each field as its own array`,
    );
  }
  const m = /^([<>|])(f4|f8|i1|i2|i4|i8|u1|u2|u4|u8|b1)$/.exec(descr);
  if (m && !(m[1] === '|' && ITEM_SIZE[m[2] as DType] > 1)) return { dtype: m[2] as DType, bigEndian: m[1] === '>' };
  throw new HwgenError(
    `${where}: dtype '${descr}'${kindName(descr)} is not supported; hwgen reads ${SUPPORTED_DTYPES}; ` +
      `convert before saving, e.g. np.save(path, a.astype(np.float32))`,
  );
}

/** Why a dtype code is unsupported, for error messages. */
function kindName(descr: string): string {
  const kinds: Record<string, string> = {
    O: 'object', U: 'unicode string', S: 'byte string', a: 'byte string', c: 'complex', V: 'void/structured',
    M: 'datetime', m: 'timedelta',
  };
  const m = /^([<>|=]?)([A-Za-z?])/.exec(descr);
  if (!m) return '';
  if (kinds[m[2]]) return ` (${kinds[m[2]]})`;
  if (m[1] === '' || m[1] === '=') return " (the byte order must be given as '<', '>' or '|')";
  return '';
}

function describe(v: PyValue): string {
  if (v instanceof PyList) return `[${v.items.map(describe).join(', ')}]`;
  if (v instanceof PyTuple) return `(${v.items.map(describe).join(', ')})`;
  if (typeof v === 'string') return `'${v}'`;
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return String(v);
  return '{...}';
}

type PyValue = string | number | boolean | null | PyTuple | PyList | PyDict;
class PyTuple {
  constructor(readonly items: PyValue[]) {}
}
class PyList {
  constructor(readonly items: PyValue[]) {}
}
class PyDict {
  constructor(readonly entries: Map<string, PyValue>) {}
}

/** A strict parser for the Python literal subset np.save writes (numpy itself uses ast.literal_eval). */
class LiteralParser {
  private pos = 0;
  private depth = 0;
  constructor(
    private readonly s: string,
    private readonly where: string,
    /** Python 2 wrote integers as `3L` in 1.0 and 2.0 headers; numpy still reads them. */
    private readonly longSuffix: boolean,
  ) {}

  parseHeaderDict(): Record<string, PyValue> {
    const v = this.value();
    this.skipSpace();
    if (this.pos !== this.s.length) this.fail('unexpected text after the header dictionary');
    if (!(v instanceof PyDict)) this.fail('the header is not a dictionary');
    return Object.fromEntries(v.entries);
  }

  private fail(msg: string): never {
    throw new HwgenError(`${this.where}: cannot parse the .npy header at character ${this.pos} (${msg}); the file is corrupted`);
  }

  private skipSpace(): void {
    while (this.pos < this.s.length && ' \t\n\r\f\v'.includes(this.s[this.pos])) this.pos++;
  }

  private eat(ch: string): boolean {
    this.skipSpace();
    if (this.s[this.pos] !== ch) return false;
    this.pos++;
    return true;
  }

  private value(): PyValue {
    this.skipSpace();
    if (++this.depth > 8) this.fail('nested too deeply');
    const c = this.s[this.pos];
    let v: PyValue;
    if (c === '{') v = this.dict();
    else if (c === '(') v = this.tuple();
    else if (c === '[') v = new PyList(this.sequence('[', ']'));
    else if (c === "'" || c === '"') v = this.string();
    else if (c !== undefined && c >= '0' && c <= '9') v = this.integer();
    else v = this.name();
    this.depth--;
    return v;
  }

  private dict(): PyDict {
    this.pos++;
    const entries = new Map<string, PyValue>();
    for (;;) {
      if (this.eat('}')) break;
      const key = this.value();
      if (typeof key !== 'string') this.fail('dictionary keys must be strings');
      if (entries.has(key)) this.fail(`key '${key}' appears twice`);
      if (!this.eat(':')) this.fail("expected ':'");
      entries.set(key, this.value());
      if (this.eat(',')) continue;
      if (this.eat('}')) break;
      this.fail("expected ',' or '}'");
    }
    return new PyDict(entries);
  }

  /** `(x)` is just x in Python; only a comma makes a tuple. */
  private tuple(): PyValue {
    const start = this.pos;
    const items = this.sequence('(', ')');
    const hadComma = this.s.slice(start, this.pos).includes(',');
    if (items.length === 1 && !hadComma) return items[0];
    return new PyTuple(items);
  }

  private sequence(open: string, close: string): PyValue[] {
    this.pos++;
    const items: PyValue[] = [];
    while (!this.eat(close)) {
      items.push(this.value());
      if (this.eat(',')) continue;
      if (!this.eat(close)) this.fail(`expected ',' or '${close}' after '${open}'`);
      break;
    }
    return items;
  }

  private string(): string {
    const q = this.s[this.pos++];
    const end = this.s.indexOf(q, this.pos);
    if (end < 0) this.fail('unterminated string');
    const v = this.s.slice(this.pos, end);
    if (v.includes('\\') || v.includes('\n')) this.fail('unsupported character in string');
    this.pos = end + 1;
    return v;
  }

  private integer(): number {
    const m = /^[0-9]+/.exec(this.s.slice(this.pos, this.pos + 32));
    const digits = m ? m[0] : '';
    if (digits.length > 16 || (digits.length > 1 && digits[0] === '0')) this.fail(`invalid integer ${digits}`);
    this.pos += digits.length;
    if (this.longSuffix && digits && this.s[this.pos] === 'L') this.pos++;
    const n = Number(digits);
    if (!Number.isSafeInteger(n)) this.fail(`integer ${digits} is too large`);
    return n;
  }

  private name(): boolean | null {
    for (const [word, v] of [['True', true], ['False', false], ['None', null]] as const) {
      if (this.s.startsWith(word, this.pos)) {
        this.pos += word.length;
        return v;
      }
    }
    return this.fail('expected a string, integer, tuple, True, False or None');
  }
}

/** numpy's _wrap_header: magic, version, length, header, space padding to ARRAY_ALIGN and a final newline. */
function wrapHeader(dict: string): Uint8Array {
  for (const major of [1, 2]) {
    const lenBytes = major === 1 ? 2 : 4;
    const hlen = dict.length + 1;
    const padlen = ARRAY_ALIGN - ((MAGIC.length + 2 + lenBytes + hlen) % ARRAY_ALIGN);
    const total = hlen + padlen;
    if (major === 1 && total > 0xffff) continue;
    const out = new Uint8Array(MAGIC.length + 2 + lenBytes + total);
    out.set(MAGIC);
    out[6] = major;
    const view = new DataView(out.buffer);
    if (major === 1) view.setUint16(8, total, true);
    else view.setUint32(8, total, true);
    const text = dict + ' '.repeat(padlen) + '\n';
    for (let i = 0; i < text.length; i++) out[8 + lenBytes + i] = text.charCodeAt(i);
    return out;
  }
  throw new HwgenError('encodeNpy: the header does not fit a .npy file');
}

const ARRAY_TYPE: Record<DType, { name: string; prototype: object }> = {
  f4: Float32Array, f8: Float64Array, i1: Int8Array, i2: Int16Array, i4: Int32Array, i8: BigInt64Array,
  u1: Uint8Array, u2: Uint16Array, u4: Uint32Array, u8: BigUint64Array, b1: Uint8Array,
};

/** Rejects an NdArray whose data does not match its dtype and shape (a bug in the caller). */
export function checkNdArray(a: NdArray, where = 'encodeNpy'): void {
  if (!Object.hasOwn(ITEM_SIZE, a.dtype)) throw new HwgenError(`${where}: unknown dtype '${a.dtype}'`);
  if (a.shape.length > MAX_DIMS || a.shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw new HwgenError(`${where}: invalid shape (${a.shape.join(', ')})`);
  }
  const expected = ARRAY_TYPE[a.dtype];
  if (!Object.prototype.isPrototypeOf.call(expected.prototype, a.data)) {
    throw new HwgenError(`${where}: dtype ${a.dtype} needs a ${expected.name}, got a ${a.data.constructor.name}`);
  }
  if (a.data.length !== sizeOf(a.shape)) {
    throw new HwgenError(`${where}: shape (${a.shape.join(', ')}) has ${sizeOf(a.shape)} elements but the data has ${a.data.length}`);
  }
}

function byteSwapped(bytes: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += size) {
    for (let j = 0; j < size; j++) out[i + j] = bytes[i + size - 1 - j];
  }
  return out;
}

/** Reorders elements from column-major to row-major, `size` bytes each. */
function fortranToC(bytes: Uint8Array, shape: readonly number[], size: number): Uint8Array {
  const n = bytes.length / size;
  const out = new Uint8Array(bytes.length);
  if (n === 0) return out;
  const nd = shape.length;
  const fStride: number[] = [];
  for (let k = 0, s = 1; k < nd; k++) {
    fStride.push(s);
    s *= shape[k];
  }
  const idx = new Array<number>(nd).fill(0);
  let f = 0;
  for (let c = 0; c < n; c++) {
    for (let j = 0; j < size; j++) out[c * size + j] = bytes[f * size + j];
    // Advance the row-major multi-index (last axis fastest), keeping the column-major offset in step.
    for (let k = nd - 1; k >= 0; k--) {
      idx[k]++;
      f += fStride[k];
      if (idx[k] < shape[k]) break;
      f -= fStride[k] * shape[k];
      idx[k] = 0;
    }
  }
  return out;
}
