import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';

/**
 * A build folder's C client makes with the folder's own Makefile (-Wall -Wextra -Werror), silently; in a copy,
 * so the build folder stays as the build wrote it. With `keep`, the made copy's folder is returned.
 */
export function expectCClientMakes(buildDir: string, keep = false): string {
  const copy = mkdtempSync(join(tmpdir(), 'hwgen-c-make-'));
  cpSync(join(buildDir, 'c'), copy, { recursive: true });
  const make = spawnSync('make', ['-s', '-C', copy], { encoding: 'utf8' });
  expect(make.stderr).toBe('');
  expect(make.status).toBe(0);
  if (!keep) rmSync(copy, { recursive: true, force: true });
  return copy;
}
