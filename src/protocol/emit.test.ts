import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../paths.js';
import { MEM, OP, STATUS, XNOR_LAYER_FIELDS, header } from './command-set.js';
import { commandsCHeader, commandsMarkdown } from './emit.js';

describe('generated command-set documents', () => {
  it('docs/commands.md is what npm run docs writes now', () => {
    expect(readFileSync(join(PACKAGE_ROOT, 'docs', 'commands.md'), 'utf8')).toBe(commandsMarkdown());
  });

  it('the C header compiles and agrees with the TypeScript definition', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hwgen-h-'));
    try {
      writeFileSync(join(dir, 'hwgen_commands.h'), commandsCHeader());
      writeFileSync(
        join(dir, 'main.c'),
        `#include <stdio.h>\n#include "hwgen_commands.h"\nint main(void) { printf("%u %u %u %u %u\\n", HWGEN_OP_WRITE, HWGEN_MEM_SPMAT, HWGEN_STATUS_BAD_MEM, HWGEN_HEADER(HWGEN_OP_READ, HWGEN_MEM_ACT, 300), HWGEN_XNOR_LAYER_POOL_ROW_STEP); return 0; }\n`,
      );
      execFileSync('gcc', ['-Wall', '-Werror', '-o', join(dir, 'main'), join(dir, 'main.c')], { cwd: dir });
      const out = execFileSync(join(dir, 'main'), { encoding: 'utf8' }).trim().split(' ').map(Number);
      expect(out).toEqual([OP.WRITE, MEM.SPMAT, STATUS.BAD_MEM, header(OP.READ, MEM.ACT, 300), XNOR_LAYER_FIELDS.indexOf('poolRowStep')]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
