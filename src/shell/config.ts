import { createHash } from 'node:crypto';
import { checkLimits, configFields } from '../gen/config-fields.js';

/**
 * The shell's build parameters (docs/shell.md): the same shell wraps every engine. Validated on load like an
 * engine's config; IDENTIFY tells maxPayloadWords and clockHz to the host.
 */
export interface ShellConfig {
  /** The longest COMMAND payload and reply, in words: the depth of the frame and reply buffers. */
  maxPayloadWords: number;
  /** Cycles without a byte after which a frame in progress is given up (a frame cut short). */
  idleTimeoutCycles: number;
  /** The clock the board runs the shell at, in Hz (IDENTIFY reports it; the shell itself does not depend on it). */
  clockHz: number;
}

/** A small default that fits an iCE40: 256 words is two 4-kbit block RAMs per buffer. */
export const DEFAULT_SHELL: ShellConfig = { maxPayloadWords: 256, idleTimeoutCycles: 1 << 20, clockHz: 100_000_000 };

export const SHELL_LIMITS = {
  // 16384 keeps every count, index and `words + 2` within the header's 16-bit length.
  maxPayloadWords: [4, 16384],
  idleTimeoutCycles: [16, 2 ** 31],
  clockHz: [1, 2 ** 32 - 1],
} as const;

const KEYS: (keyof ShellConfig)[] = ['maxPayloadWords', 'idleTimeoutCycles', 'clockHz'];

/** Checks every field (unknown keys too); missing ones take DEFAULT_SHELL's. */
export function validateShellConfig(raw: unknown, where: string): ShellConfig {
  const given = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? { ...DEFAULT_SHELL, ...raw } : raw;
  const c = configFields(given, KEYS, where) as unknown as ShellConfig;
  checkLimits(c, SHELL_LIMITS, where);
  return c;
}

/** Short hash of the shell's parameters with the engine's config hash: names a shell build. */
export function shellHash(engineHash: string, c: ShellConfig): string {
  return createHash('sha256').update(JSON.stringify(['shell', engineHash, ...KEYS.map((k) => [k, c[k]])])).digest('hex').slice(0, 8);
}
