/**
 * A Python 3 with numpy and onnx, which the reader tests use to write and check real files. Missing Python is an
 * error, never a skip: the tests must not pass without having compared against the real libraries.
 */
import { execFileSync } from 'node:child_process';

const PROBE = 'import numpy, onnx';
let found: string | undefined;

function works(python: string): boolean {
  try {
    execFileSync(python, ['-c', PROBE], { stdio: 'ignore', timeout: 60_000 });
    return true;
  } catch {
    return false;
  }
}

/** The Python to use: $HWGEN_PYTHON if set (and it must work), else /usr/bin/python3, else python3 on PATH. */
export function pythonPath(): string {
  if (found) return found;
  const env = process.env.HWGEN_PYTHON;
  if (env) {
    if (!works(env)) throw new Error(`HWGEN_PYTHON=${env} cannot run '${PROBE}'; point it at a python3 with numpy and onnx`);
    return (found = env);
  }
  for (const candidate of ['/usr/bin/python3', 'python3']) {
    if (works(candidate)) return (found = candidate);
  }
  throw new Error(
    `No Python 3 with numpy and onnx found (tried /usr/bin/python3 and python3 on PATH). ` +
      `Install Debian's python3-numpy and python3-onnx (apt-get install python3-numpy python3-onnx), ` +
      `or set HWGEN_PYTHON to a python3 that can '${PROBE}'.`,
  );
}

/** Runs `code` with `args` as sys.argv[1:]; returns stdout, or throws with Python's stderr. */
export function runPython(code: string, args: string[] = []): string {
  try {
    return execFileSync(pythonPath(), ['-c', code, ...args], {
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`python failed: ${err.stderr || err.message}`);
  }
}
