import {
  closeSync, constants, fsyncSync, lstatSync, openSync, readFileSync, readlinkSync, readSync, realpathSync, renameSync, statSync, unlinkSync, writeSync,
  type Stats,
} from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { randomBytes } from 'node:crypto';
import { HwgenError } from './errors.js';

/**
 * Everything hwgen does to an output path, in one place. A regular file is replaced atomically; a symlink is
 * followed (its target is written, the link stays); a character device (/dev/null, /dev/stdout) or a FIFO is
 * written through, never replaced; anything else is refused.
 */

/** An output or input path named by the flag or argument the user gave it with. */
export interface NamedPath {
  /** Undefined when the option was not given: nothing to check. */
  path: string | undefined;
  /** How the user named it: "-o", "--trace", "the bundle", ... */
  flag: string;
  /**
   * A folder rather than a file: an input folder (a `--build` DIR, the data folder, a `sim:` board in use) no
   * output may be written into, or an output folder (`hwgen build -o`) that must hold no input.
   */
  folder?: boolean;
}

/**
 * The one rule every command checks before any work: each output can be written and destroys no input. An output
 * is not empty, its directory exists, it is not the same file as an input (compared by identity, so symlinks and
 * hard links count) nor as another output, not a file inside an input folder, and an output folder holds no
 * input. A device or FIFO is never replaced (writeFileAtomic writes through it). Inputs that do not exist are
 * skipped: reading them fails later with its own message.
 */
export function checkOutputs(outputs: NamedPath[], inputs: NamedPath[]): void {
  const seen: { out: NamedPath; real: string }[] = [];
  const ins = inputs.flatMap((i) => (i.path === undefined ? [] : [{ ...i, where: whereIs(i.path) }]));
  for (const out of outputs) {
    if (out.path === undefined) continue;
    const target = out.folder ? folderTarget(out.path, out.flag) : outputTarget(out.path, out.flag);
    for (const prev of seen) {
      if (prev.real === target.real || (out.folder && inside(prev.real, target.real))) {
        throw new HwgenError(`${out.flag} ${out.path} and ${prev.out.flag} ${prev.out.path} are the same file; give each output its own path`, 2);
      }
    }
    seen.push({ out, real: target.real });
    for (const input of ins) {
      const s = input.where?.stats;
      const destroys = `${out.flag} ${out.path}`;
      if (s && target.stats && s.dev === target.stats.dev && s.ino === target.stats.ino) {
        throw new HwgenError(`${destroys} is ${input.flag} ${input.path}: writing it would destroy the input; choose another output path`, 2);
      }
      if (input.where && input.folder && inside(target.real, input.where.real)) {
        throw new HwgenError(`${destroys} is inside ${input.flag} ${input.path}: writing it would change that input; choose an output path outside it`, 2);
      }
      if (input.where && out.folder && inside(input.where.real, target.real)) {
        throw new HwgenError(`${destroys} holds ${input.flag} ${input.path}: the build replaces that folder and would destroy the input; choose another output folder or move the input out`, 2);
      }
    }
  }
}

/** Whether `path` is `dir` or lies under it (both real paths). */
function inside(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

/** An existing input's real path and identity; undefined when it does not exist. */
function whereIs(path: string): { real: string; stats: Stats } | undefined {
  const stats = statOrUndefined(path);
  if (!stats) return undefined;
  try {
    return { real: realpathSync(path), stats };
  } catch {
    return undefined;
  }
}

/** An output folder's real path (it may not exist yet: then its parent's real path and its name). */
function folderTarget(path: string, flag: string): { real: string; stats?: Stats } {
  if (path === '') throw new HwgenError(`${flag} is empty; give the output folder`, 2);
  const there = whereIs(path);
  if (there) return there;
  try {
    return { real: join(realpathSync(dirname(path)), basename(path)) };
  } catch {
    return { real: resolve(path) };
  }
}

/**
 * Writes a file so that readers see either the old file or the whole new one, never a half-written one:
 * a temporary file in the same directory, fsync, then rename over the target. On failure nothing is left.
 * Devices and FIFOs are written through instead (see above). `what` names the file in messages ("bundle", ...).
 */
export function writeFileAtomic(path: string, data: Uint8Array, what = 'file'): void {
  const target = outputTarget(path, what);
  if (target.stats && !target.stats.isFile()) return writeThrough(target.real, target.stats, data, path, what);
  const tmp = `${target.real}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', 0o644);
    writeAll(fd, data);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, target.real);
  } catch (e) {
    if (fd !== undefined) ignore(() => closeSync(fd as number));
    ignore(() => unlinkSync(tmp));
    throw fileError('write', path, e, what);
  }
}

/** Where writing `path` lands: the path with symlinks resolved, and what is there now (undefined: nothing). */
function outputTarget(path: string, what: string): { real: string; stats?: Stats } {
  if (path === '') throw new HwgenError(`the ${what} path is empty; give a file name`, 2);
  const link = lstatOrUndefined(path);
  if (link?.isSymbolicLink()) {
    let real: string;
    try {
      real = realpathSync(path);
    } catch {
      throw new HwgenError(`cannot write ${what} ${path}: it is a symbolic link to ${readlinkSync(path)}, which does not exist; remove the link or give another path`, 2);
    }
    return checkKind(real, statSync(real), path, what);
  }
  if (link) return checkKind(realpathSync(path), link, path, what);
  let dir: string;
  try {
    dir = realpathSync(dirname(path));
  } catch (e) {
    throw fileError('write', path, e, what);
  }
  if (!statSync(dir).isDirectory()) throw fileError('write', path, Object.assign(new Error(), { code: 'ENOTDIR' }), what);
  return { real: join(dir, basename(path)) };
}

function checkKind(real: string, stats: Stats, path: string, what: string): { real: string; stats: Stats } {
  if (stats.isFile() || stats.isCharacterDevice() || stats.isFIFO()) return { real, stats };
  const kind = stats.isDirectory() ? 'a directory' : stats.isBlockDevice() ? 'a block device' : 'a socket';
  throw new HwgenError(`cannot write ${what} ${path}: it is ${kind}; give a file path`, 2);
}

/** A device or FIFO: write into it as it is. A FIFO nobody reads would block forever, so that is an error. */
function writeThrough(real: string, stats: Stats, data: Uint8Array, path: string, what: string): void {
  let fd: number | undefined;
  try {
    if (stats.isFIFO()) closeSync(openSync(real, constants.O_WRONLY | constants.O_NONBLOCK));
    fd = openSync(real, constants.O_WRONLY);
    writeAll(fd, data);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENXIO') {
      throw new HwgenError(`cannot write ${what} ${path}: it is a FIFO and no process is reading it; start the reader first`);
    }
    throw fileError('write', path, e, what);
  } finally {
    if (fd !== undefined) ignore(() => closeSync(fd as number));
  }
}

function writeAll(fd: number, data: Uint8Array): void {
  for (let o = 0; o < data.length; ) o += writeSync(fd, data, o, data.length - o);
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/**
 * Reads a whole file, or throws a HwgenError saying which path and what to do. A FIFO or device (a pipe from
 * `<(...)`, /dev/stdin) is read to its end, never waited on forever: a FIFO nobody writes is an error, and one
 * that passes MAX_STREAM_BYTES (/dev/zero) too.
 */
export function readFileChecked(path: string, what = 'file'): Uint8Array {
  try {
    const s = statSync(path);
    if (s.isFIFO() || s.isCharacterDevice()) return readStream(path, s.isFIFO(), what);
    const buf = readFileSync(path);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (e) {
    throw fileError('read', path, e, what);
  }
}

/** The most a FIFO or device input may hold: more than any bundle or input file hwgen reads. */
export const MAX_STREAM_BYTES = 1 << 29;

function readStream(path: string, fifo: boolean, what: string): Uint8Array {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const chunks: Buffer[] = [];
  let total = 0;
  let writer = false; // a FIFO with a writer that has sent nothing yet answers EAGAIN; one with none, end of file
  let waited = 0;
  try {
    for (;;) {
      const buf = Buffer.alloc(1 << 16);
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
        writer = true;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
        continue;
      }
      // A writer blocked opening the FIFO gets through only once we opened it: give it a moment before concluding there is none.
      if (n === 0 && fifo && !writer && total === 0 && waited < 200) {
        waited += 5;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
        continue;
      }
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
      total += n;
      if (total > MAX_STREAM_BYTES) throw new HwgenError(`cannot read ${what} ${path}: it is a device or FIFO that gave more than ${MAX_STREAM_BYTES} bytes without ending; give a file`);
    }
  } finally {
    closeSync(fd);
  }
  if (fifo && total === 0 && !writer) throw new HwgenError(`cannot read ${what} ${path}: it is a FIFO and no process is writing it; start the writer first`);
  const all = Buffer.concat(chunks);
  return new Uint8Array(all.buffer, all.byteOffset, all.byteLength);
}

function ignore(fn: () => void): void {
  try {
    fn();
  } catch {
    // cleanup after a failure: the original error is the one to report
  }
}

/** A file-system error as a HwgenError saying which path and what to do. */
export function fileError(op: 'read' | 'write', path: string, e: unknown, what: string): HwgenError {
  if (e instanceof HwgenError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  const dir = dirname(path);
  const reason: Record<string, string> = {
    ENOENT:
      op === 'read'
        ? 'no such file; check the path'
        : statOrUndefined(dir)?.isDirectory()
          ? `${dir} does not let a file be made there; choose another output path`
          : `directory ${dir} does not exist; create it or choose another output path`,
    EACCES: op === 'read' ? 'permission denied' : `permission denied (is ${dir} writable?); choose another output path`,
    EPERM: 'operation not permitted; check permissions or choose another path',
    EISDIR: 'it is a directory; give a file path',
    ENOTDIR: op === 'read' ? 'a component of the path is not a directory' : `${dir} is not a directory; choose another output path`,
    EROFS: 'read-only file system; choose another output path',
    ENOSPC: 'no space left on device',
  };
  const why = (code && reason[code]) ?? (e as Error).message ?? String(e);
  return new HwgenError(`cannot ${op} ${what} ${path}: ${why}`);
}
