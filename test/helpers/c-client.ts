import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'vitest';

/** A build folder's C client makes with the folder's own Makefile (-Wall -Wextra -Werror), silently. */
export function expectCClientMakes(buildDir: string): void {
  const make = spawnSync('make', ['-s', '-C', join(buildDir, 'c')], { encoding: 'utf8' });
  expect(make.stderr).toBe('');
  expect(make.status).toBe(0);
}
