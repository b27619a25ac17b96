import type { AnyEngine, PartHints, RamShape } from '../engines/engine.js';
import { banner, clog2, hwFile, renderTemplate } from '../gen/render.js';
import { CRC32_POLY, FRAME, FRAME_MAGIC, IDENTITY_FIELDS, LINK_VERSION, NAK, NO_LAST_SEQ, STATUS_FIELDS, identityWords } from '../protocol/link.js';
import { HWGEN_VERSION } from '../paths.js';
import { shellHash, validateShellConfig, type ShellConfig } from './config.js';

/** The shell's top module: every target instantiates it (docs/shell.md). */
export const SHELL_TOP = 'hwgen_shell';

/** How the receiver tells the shell a frame ended (shell_rx's ev_kind). */
const EVENT = { OK: 0, BAD_CRC: 1, TOO_LONG: 2, TIMEOUT: 3 } as const;
/** Where the sender takes a reply's payload words from (shell_tx's src). */
const SOURCE = { NONE: 0, NAK: 1, IDENTITY: 2, STATUS: 3, RBUF: 4 } as const;

/** The STATUS words (docs/protocol.md) as shell signals, by field name. */
const STATUS_EXPR: Record<(typeof STATUS_FIELDS)[number], string> = {
  busy: "{31'd0, exec_busy}",
  lastSeq: `stored_valid ? {24'd0, last_seq} : 32'h${hex32(NO_LAST_SEQ)}`,
  framesOk: 'frames_ok',
  framesBad: 'frames_bad',
  cyclesBusy: 'cycles_busy',
};

function hex32(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}
const hex8 = (n: number) => n.toString(16).padStart(2, '0');

/** One byte of the link's CRC-32, as shell_crc32 computes it (the register before the final inversion). */
export function crc32Step(crc: number, byte: number): number {
  let r = (crc ^ byte) >>> 0;
  for (let i = 0; i < 8; i++) r = r & 1 ? ((r >>> 1) ^ CRC32_POLY) >>> 0 : r >>> 1;
  return r;
}

/** The engine's config fields by name, in the engine's own order (its validator's), whatever order the object has. */
function configFieldsInOrder(engine: AnyEngine, engineConfig: object): [string, number][] {
  return Object.entries(engine.validateConfig({ ...engineConfig }, 'engine config')) as [string, number][];
}

/** Address bits of the frame and reply buffers: a frame's payload words. */
const frameAddressBits = (shell: ShellConfig) => clog2(shell.maxPayloadWords);

/** The shell's memories by shape (hwgen_shell.v: the frame buffer and the reply buffer), for resource estimates. */
export function shellResourceShape(shell: ShellConfig): RamShape[] {
  const depth = 2 ** frameAddressBits(shell);
  return ['frame_buffer', 'reply_buffer'].map((name): RamShape => ({ name, width: 32, depth, copies: 1, ports: 'sdp' }));
}

/** The identity words IDENTIFY answers with, for an engine build inside a shell. */
export function shellIdentity(engine: AnyEngine, engineConfig: object, shell: ShellConfig): Uint32Array {
  const config = configFieldsInOrder(engine, engineConfig).map(([, v]) => v);
  return identityWords({
    linkVersion: LINK_VERSION,
    hwgenVersion: HWGEN_VERSION,
    configHash: engine.configHash(engineConfig),
    engine: engine.name,
    clockHz: shell.clockHz,
    maxPayloadWords: shell.maxPayloadWords,
    config,
  });
}

function context(engine: AnyEngine, engineConfig: object, shell: ShellConfig) {
  const hash = shellHash(engine.configHash(engineConfig), shell);
  const id = shellIdentity(engine, engineConfig, shell);
  const magicCrc = [0, 8, 16, 24].reduce((c, s) => crc32Step(c, (FRAME_MAGIC >>> s) & 0xff), 0xffffffff);
  const gapW = clog2(shell.idleTimeoutCycles);
  const configNames = configFieldsInOrder(engine, engineConfig).map(([k]) => `${engine.name} ${k}`);
  return {
    banner: banner(hash),
    engineTop: engine.top,
    engineTitle: engine.title,
    AW: frameAddressBits(shell),
    MAX_WORDS: shell.maxPayloadWords,
    MAGIC: hex32(FRAME_MAGIC),
    CRC_POLY: hex32(CRC32_POLY),
    CRC_AFTER_MAGIC: hex32(magicCrc),
    GAP_W: gapW,
    GAP_LAST: shell.idleTimeoutCycles - 1,
    ...Object.fromEntries(Object.entries(FRAME).map(([k, v]) => [`T_${k}`, hex8(v)])),
    ...Object.fromEntries(Object.entries(NAK).map(([k, v]) => [`NAK_${k}`, hex8(v)])),
    ...Object.fromEntries(Object.entries(EVENT).map(([k, v]) => [`EV_${k}`, v])),
    ...Object.fromEntries(Object.entries(SOURCE).map(([k, v]) => [`SRC_${k}`, v])),
    IDENTITY_WORDS: id.length,
    STATUS_WORDS: STATUS_FIELDS.length,
    identity: Array.from(id, (w, index) => ({ index, word: hex32(w), name: [...IDENTITY_FIELDS, ...configNames][index] })),
    status: STATUS_FIELDS.map((name, index) => ({ index, name, expr: STATUS_EXPR[name] })),
  };
}

/** The shell's own Verilog files, by name, in a fixed order (the engine's come from the engine). */
export function renderShellOnly(engine: AnyEngine, engineConfig: object, shellRaw: Partial<ShellConfig> = {}): Map<string, string> {
  const shell = validateShellConfig(shellRaw, 'shell config');
  const ctx = context(engine, engineConfig, shell);
  return new Map([
    ['hwgen_shell.v', renderTemplate('shell/hwgen_shell.v.hbs', ctx)],
    ['shell_rx.v', renderTemplate('shell/shell_rx.v.hbs', ctx)],
    ['shell_exec.v', renderTemplate('shell/shell_exec.v.hbs', ctx)],
    ['shell_tx.v', renderTemplate('shell/shell_tx.v.hbs', ctx)],
    ['shell_crc32.v', renderTemplate('shell/shell_crc32.v.hbs', ctx)],
    ['hwgen_sdp_ram.v', `${ctx.banner}\n${hwFile('hwgen_sdp_ram.v')}`],
  ]);
}

/** Every Verilog file of a shell around an engine build: the shell's, then the engine's. Top: SHELL_TOP. */
export function renderShell(engine: AnyEngine, engineConfig: object, shellRaw: Partial<ShellConfig> = {}, part?: PartHints): Map<string, string> {
  return new Map([...renderShellOnly(engine, engineConfig, shellRaw), ...engine.render(engineConfig, part)]);
}
