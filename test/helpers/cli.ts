import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export const HWGEN_BIN = join(import.meta.dirname, '..', '..', 'bin', 'hwgen.js');

/** Runs the `hwgen` CLI as a user would, in its own process, from directory `cwd` (with `env` added). */
export function runHwgen(cwd: string, args: string[], env: Record<string, string> = {}): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [HWGEN_BIN, ...args], { encoding: 'utf8', cwd, env: { ...process.env, ...env }, timeout: 240_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
