import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../paths.js';
import { MEM, OP, STATUS, XNOR_LAYER_FIELDS, header } from './command-set.js';
import { commandsCHeader, commandsMarkdown } from './emit.js';
import { linkCHeader } from './emit-link.js';
import { FRAME, FRAME_MAGIC, IDENTITY_FIELDS, NAK, STATUS_FIELDS, encodeFrame } from './link.js';

/** Compiles main.c against the given headers with gcc -Wall -Werror -std=c99 -pedantic and returns what it prints. */
function runC(headers: Record<string, string>, main: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'hwgen-h-'));
  try {
    for (const [name, text] of Object.entries(headers)) writeFileSync(join(dir, name), text);
    writeFileSync(join(dir, 'main.c'), main);
    execFileSync('gcc', ['-Wall', '-Wextra', '-Werror', '-std=c99', '-pedantic', '-o', join(dir, 'main'), join(dir, 'main.c')], { cwd: dir });
    return execFileSync(join(dir, 'main'), { encoding: 'utf8' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('generated command-set documents', () => {
  it('docs/commands.md is what npm run docs writes now', () => {
    expect(readFileSync(join(PACKAGE_ROOT, 'docs', 'commands.md'), 'utf8')).toBe(commandsMarkdown());
  });

  it("the link's C header compiles beside the command header, and a C program builds exactly encodeFrame's bytes", () => {
    const payload = Uint32Array.from([header(OP.CHECKSUM, MEM.SPMAT, 300), 0x01000010, 0xdeadbeef]);
    const bytes = encodeFrame({ type: FRAME.COMMAND, seq: 201, payload });
    const main = `#include <stdio.h>
#include "hwgen_commands.h"
#include "hwgen_link.h"
static void put(uint8_t *b, uint32_t w) { int i; for (i = 0; i < 4; i++) b[i] = (uint8_t)(w >> (8 * i)); }
int main(void) {
    uint32_t payload[3] = { HWGEN_HEADER(HWGEN_OP_CHECKSUM, HWGEN_MEM_SPMAT, 300), HWGEN_ADDRESS(1, 0x10), 0xdeadbeefu };
    uint8_t frame[4 * (3 + HWGEN_FRAME_OVERHEAD_WORDS)];
    uint32_t head = HWGEN_FRAME_HEADER(HWGEN_FRAME_COMMAND, 201, 3), crc;
    size_t i, n = 0;
    put(frame + n, HWGEN_FRAME_MAGIC); n += 4;
    put(frame + n, head); n += 4;
    for (i = 0; i < 3; i++) { put(frame + n, payload[i]); n += 4; }
    crc = hwgen_crc32_update(HWGEN_CRC32_INIT, frame, n) ^ HWGEN_CRC32_XOROUT;
    put(frame + n, crc); n += 4;
    for (i = 0; i < n; i++) printf("%02x", frame[i]);
    printf(" %u %u %u %u %u %u %u %u\\n", (unsigned)HWGEN_FRAME_TYPE(head), (unsigned)HWGEN_FRAME_SEQ(head), (unsigned)HWGEN_FRAME_WORDS(head),
        HWGEN_NAK_ABORTED, HWGEN_FRAME_NAK, HWGEN_IDENTITY_CONFIG_WORDS, HWGEN_LINK_STATUS_CYCLES_BUSY, HWGEN_FRAME_MAGIC);
    return 0;
}
`;
    const [hexBytes, ...nums] = runC({ 'hwgen_commands.h': commandsCHeader(), 'hwgen_link.h': linkCHeader() }, main).trim().split(' ');
    expect(hexBytes).toBe(Buffer.from(bytes).toString('hex'));
    expect(nums.map(Number)).toEqual([
      FRAME.COMMAND, 201, 3, NAK.ABORTED, FRAME.NAK, IDENTITY_FIELDS.indexOf('configWords'), STATUS_FIELDS.indexOf('cyclesBusy'), FRAME_MAGIC,
    ]);
  });

  it('the C header compiles and agrees with the TypeScript definition', () => {
    const out = runC(
      { 'hwgen_commands.h': commandsCHeader() },
      `#include <stdio.h>\n#include "hwgen_commands.h"\nint main(void) { printf("%u %u %u %u %u\\n", HWGEN_OP_WRITE, HWGEN_MEM_SPMAT, HWGEN_STATUS_BAD_MEM, HWGEN_HEADER(HWGEN_OP_READ, HWGEN_MEM_ACT, 300), HWGEN_XNOR_LAYER_POOL_ROW_STEP); return 0; }\n`,
    ).trim().split(' ').map(Number);
    expect(out).toEqual([OP.WRITE, MEM.SPMAT, STATUS.BAD_MEM, header(OP.READ, MEM.ACT, 300), XNOR_LAYER_FIELDS.indexOf('poolRowStep')]);
  });
});
