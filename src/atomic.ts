import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import { HwgenError } from './errors.js';

/**
 * Writes a file so that readers see either the old file or the whole new one, never a half-written one:
 * a temporary file in the same directory, fsync, then rename over the target. On failure nothing is left.
 * `what` names the file in messages ("bundle", "export", ...).
 */
export function writeFileAtomic(path: string, data: Uint8Array, what = 'file'): void {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', 0o644);
    for (let o = 0; o < data.length; ) o += writeSync(fd, data, o, data.length - o);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== undefined) ignore(() => closeSync(fd as number));
    ignore(() => unlinkSync(tmp));
    throw fileError('write', path, e, what);
  }
}

/** Reads a whole file, or throws a HwgenError saying which path and what to do. */
export function readFileChecked(path: string, what = 'file'): Uint8Array {
  try {
    const buf = readFileSync(path);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (e) {
    throw fileError('read', path, e, what);
  }
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
    ENOENT: op === 'read' ? 'no such file; check the path' : `directory ${dir} does not exist; create it or choose another output path`,
    EACCES: op === 'read' ? 'permission denied' : `permission denied (is ${dir} writable?); choose another output path`,
    EPERM: 'operation not permitted; check permissions or choose another path',
    EISDIR: 'it is a directory; give a file path',
    ENOTDIR: 'a component of the path is not a directory',
    EROFS: 'read-only file system; choose another output path',
    ENOSPC: 'no space left on device',
  };
  const why = (code && reason[code]) ?? (e as Error).message ?? String(e);
  return new HwgenError(`cannot ${op} ${what} ${path}: ${why}`);
}
