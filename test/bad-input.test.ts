/**
 * Bad input of every class, fed through the real CLI: a clear message (what, where, what to do), a non-zero exit,
 * no stack trace, no hang, and no file touched but the intended output.
 */
import { createHash } from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, constants, existsSync, lstatSync, openSync, readSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HWGEN_BIN, runHwgen } from './helpers/cli.js';
import { encodeNpz } from '../src/model/npz.js';
import { encodeNpy } from '../src/model/npy.js';
import { CONFIG_LIMITS } from '../src/engines/eie/config.js';
import { XNOR_CONFIG_LIMITS } from '../src/engines/xnor/config.js';
import { rng, gaussianMatrix } from './helpers/random.js';

let dir: string;
const hwgen = (args: string[], env: Record<string, string> = {}) => runHwgen(dir, args, env);
const at = (name: string) => join(dir, name);

/** An .npz of fully-connected layers [name, rows, cols, scale], chained, with random weights. */
function writeNet(file: string, layers: [string, number, number, number][], bias?: Record<string, number[]>): void {
  const r = rng(7);
  const entries = layers.flatMap(([name, rows, cols, scale]) => {
    const w = gaussianMatrix(r, rows * cols, scale);
    const out = [{ name: `${name}.weight`, array: { dtype: 'f4' as const, shape: [rows, cols], data: w } }];
    if (bias?.[name]) out.push({ name: `${name}.bias`, array: { dtype: 'f4' as const, shape: [rows], data: Float32Array.from(bias[name]) } });
    return out;
  });
  writeFileSync(at(file), encodeNpz(entries));
}

/** The hash of every file under dir (symlinks by their target text), to prove nothing else changed. */
function snapshot(): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of readdirSync(dir)) {
    const s = lstatSync(at(name));
    const what = s.isSymbolicLink() ? `link:${readlinkSync(at(name))}` : s.isFile() ? createHash('sha256').update(readFileSync(at(name))).digest('hex') : s.isFIFO() ? 'fifo' : 'dir';
    out.set(name, what);
  }
  return out;
}

/** Runs hwgen expecting a refusal: exit `code`, stderr matching `message`, no stack trace, and no file changed. */
function refused(args: string[], code: number, message: RegExp, env: Record<string, string> = {}): string {
  const before = snapshot();
  const r = hwgen(args, env);
  expect(r.err).toMatch(message);
  expect(r.err).not.toMatch(/internal error|\n\s+at /);
  expect(r.code).toBe(code);
  expect(snapshot()).toEqual(before);
  return r.err;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hwgen-bad-'));
  writeNet('net.npz', [['fc1', 12, 6, 0.3], ['fc2', 3, 12, 0.3]]);
  writeFileSync(at('x.npy'), encodeNpy({ dtype: 'f4', shape: [2, 6], data: Float32Array.from({ length: 12 }, (_, i) => (i % 3) * 0.25) }));
  expect(hwgen(['compress', 'net.npz', '-o', 'net.hwb', '--pes', '2']).code).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('outputs', () => {
  it('-o /dev/null writes into the device and leaves it a character device', () => {
    expect(statSync('/dev/null').isCharacterDevice()).toBe(true);
    const before = snapshot();
    const r = hwgen(['compress', 'net.npz', '-o', '/dev/null']);
    expect(r.code).toBe(0);
    expect(hwgen(['export', 'net.hwb', '-o', '/dev/null']).code).toBe(0);
    expect(statSync('/dev/null').isCharacterDevice()).toBe(true);
    expect(snapshot()).toEqual(before);
  });

  it('a FIFO is written through to its reader, and refused without a hang when nobody reads it', () => {
    execFileSync('mkfifo', [at('pipe')]);
    refused(['compress', 'net.npz', '-o', 'pipe'], 1, /cannot write bundle pipe: it is a FIFO and no process is reading it; start the reader first/);
    // The reader: this process, opened without blocking; a bundle this small fits the pipe's buffer.
    const fd = openSync(at('pipe'), constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      expect(hwgen(['compress', 'net.npz', '-o', 'pipe']).code).toBe(0);
      const buf = Buffer.alloc(1 << 16);
      const n = readSync(fd, buf);
      expect(hwgen(['compress', 'net.npz', '-o', 'plain.hwb']).code).toBe(0);
      expect(buf.subarray(0, n).equals(readFileSync(at('plain.hwb')))).toBe(true);
    } finally {
      closeSync(fd);
    }
    expect(lstatSync(at('pipe')).isFIFO()).toBe(true);
    rmSync(at('pipe'));
    rmSync(at('plain.hwb'));
  });

  it('a symlink is followed: its target gets the output, the link stays; a dangling link is refused', () => {
    mkdirSync(at('real'));
    writeFileSync(at('real/t.hwb'), 'old');
    symlinkSync('real/t.hwb', at('link.hwb'));
    expect(hwgen(['compress', 'net.npz', '-o', 'link.hwb']).code).toBe(0);
    expect(lstatSync(at('link.hwb')).isSymbolicLink()).toBe(true);
    expect(hwgen(['compress', 'net.npz', '-o', 'plain.hwb']).code).toBe(0);
    expect(readFileSync(at('real/t.hwb')).equals(readFileSync(at('plain.hwb')))).toBe(true);
    expect(readdirSync(at('real'))).toEqual(['t.hwb']); // no temporary file left beside the target
    symlinkSync('nowhere/x.hwb', at('dangling.hwb'));
    refused(['compress', 'net.npz', '-o', 'dangling.hwb'], 2, /cannot write -o dangling\.hwb: it is a symbolic link to nowhere\/x\.hwb, which does not exist; remove the link or give another path/);
  });

  it('an output that is also an input is refused, through a symlink too', () => {
    refused(['compress', 'net.npz', '-o', 'net.npz'], 2, /-o net\.npz is the weights file net\.npz: writing it would destroy the input; choose another output path/);
    symlinkSync('net.npz', at('alias.npz'));
    refused(['compress', 'net.npz', '-o', 'alias.npz'], 2, /-o alias\.npz is the weights file net\.npz/);
    refused(['export', 'net.hwb', '-o', 'net.hwb'], 2, /-o net\.hwb is the bundle net\.hwb/);
    refused(['sim', 'net.hwb', '--input', 'x.npy', '-o', 'net.hwb'], 2, /-o net\.hwb is the bundle net\.hwb/);
    refused(['sim', 'net.hwb', '--input', 'x.npy', '-o', 'x.npy'], 2, /-o x\.npy is --input x\.npy/);
    refused(['sim', 'net.hwb', '--input', 'x.npy', '--trace', 'net.hwb'], 2, /--trace net\.hwb is the bundle net\.hwb/);
    refused(['sim', 'net.hwb', '--input', 'x.npy', '-o', 'y.out', '--trace', 'y.out'], 2, /--trace y\.out and -o y\.out are the same file; give each output its own path/);
  });

  it('--trace into a missing folder and an empty -o say what is wrong', () => {
    refused(['sim', 'net.hwb', '--input', 'x.npy', '--trace', 'nodir/w.fst'], 1, /cannot write --trace nodir\/w\.fst: directory nodir does not exist; create it or choose another output path/);
    refused(['compress', 'net.npz', '-o', ''], 2, /the -o path is empty; give a file name/);
    refused(['sim', 'net.hwb', '--input', 'x.npy', '-o', ''], 2, /the -o path is empty/);
  });
});

describe('layer names', () => {
  it('two names that clean up to the same one are refused at compress time', () => {
    writeNet('dup.npz', [['fc.1', 4, 3, 0.3], ['fc_1', 2, 4, 0.3]]);
    refused(['compress', 'dup.npz', '-o', 'dup.hwb'], 1, /dup\.npz: layers 0 and 1 are both named 'fc_1'; layer names must be unique; .*rename the layers/);
  });

  it('a bundle whose layer is named ../../x is refused by the reader', () => {
    writeNet('evil.npz', [['ab_cd_e', 4, 3, 0.3]]);
    expect(hwgen(['compress', 'evil.npz', '-o', 'evil.hwb', '--pes', '1']).code).toBe(0);
    writeFileSync(at('evil.hwb'), renameInMeta(readFileSync(at('evil.hwb')), 'ab_cd_e', '../../x'));
    refused(['export', 'evil.hwb', '-o', 'evil-out.npz'], 1, /evil\.hwb: layer 0 is named "\.\.\/\.\.\/x"; a layer name is letters, digits and '_'.*; the file is corrupt/);
    refused(['inspect', 'evil.hwb'], 1, /layer 0 is named "\.\.\/\.\.\/x"/);
  });
});

/** A bundle with one name in META replaced by another of the same length, CRCs fixed (META is the first section). */
function renameInMeta(bytes: Buffer, from: string, to: string): Buffer {
  const out = Buffer.from(bytes);
  const at = out.indexOf(`"name":"${from}"`);
  expect(at).toBeGreaterThan(0);
  out.write(`"name":"${to}"`, at);
  const len = out.readUInt32LE(16 + 8);
  out.writeUInt32LE(crc32(out.subarray(16, 16 + 12 + len)), 16 + 12 + len);
  return out;
}

describe('options', () => {
  it('an option given twice is refused by one rule, aliases included', () => {
    refused(['compress', 'net.npz', '-o', 'a.hwb', '--bits', '3', '--bits', '4'], 2, /--bits is given more than once \(3, 4\); give it once/);
    refused(['compress', 'net.npz', '-o', 'a.hwb', '--output', 'b.hwb'], 2, /--output is given more than once \(a\.hwb, b\.hwb\)/);
    refused(['sim', 'net.hwb', '--input', 'x.npy', '--trace', 'a.fst', '--trace', 'b.fst'], 2, /--trace is given more than once \(a\.fst, b\.fst\)/);
    expect(hwgen(['inspect', 'net.hwb', '--json', '--json']).code).toBe(0); // a flag twice is still the one flag
  });

  it('per-layer values: an unknown or repeated layer name is refused', () => {
    refused(['compress', 'net.npz', '-o', 'a.hwb', '--density', 'fc1=0.5,fc2=0.5,fc3=0.5'], 2, /--density: no layer named 'fc3'; the layers are fc1, fc2/);
    refused(['compress', 'net.npz', '-o', 'a.hwb', '--quality', 'fc1=0.5,fc1=0.2,fc2=1'], 2, /--quality fc1=0\.5,fc1=0\.2,fc2=1: layer 'fc1' is given twice; give each layer once/);
  });

  it('options that do nothing in the mode given are refused', () => {
    writeFileSync(at('cfg.json'), '{}');
    const cases: [string[], RegExp][] = [
      [['sim', 'net.hwb', '--input', 'x.npy', '--config', 'cfg.json', '--fifo-depth', '4'], /--fifo-depth has no effect with --config: the config's fifoDepth sets the queue depth; leave it out/],
      [['compress', 'net.npz', '-o', 'a.hwb', '--binary', '--bits', '3'], /--bits has no effect with --binary/],
      [['compress', 'net.npz', '-o', 'a.hwb', '--binary', '--pes', '4'], /--pes has no effect with --binary/],
      [['compress', 'net.npz', '-o', 'a.hwb', '--binary', '--density', '0.5'], /--density has no effect with --binary/],
      [['compress', 'net.npz', '-o', 'a.hwb', '--input-shape', '1,2,3'], /--input-shape has no effect without --binary/],
      [['compress', 'm.onnx', '-o', 'a.hwb', '--relu', 'all'], /--relu has no effect on an ONNX model: its Relu nodes say which layers have one/],
    ];
    for (const [args, message] of cases) refused(args, 2, message);
  });

  it('a setting that prunes every weight, or a codebook that rounds to zero, is an error', () => {
    refused(['compress', 'net.npz', '-o', 'a.hwb', '--quality', '100'], 2, /layer 'fc1': --quality 100 prunes every weight, leaving only the bias; keep more weights/);
    refused(['compress', 'net.npz', '-o', 'a.hwb', '--density', '0.001'], 2, /--density 0\.001 prunes every weight/);
    writeNet('tiny.npz', [['fc1', 4, 3, 1e-9]]);
    refused(['compress', 'tiny.npz', '-o', 'a.hwb'], 2, /layer 'fc1': every shared weight rounds to 0 in fixed point .*scale its weights up, or raise --acc-bits/);
  });

  it('more layers than the layer table holds are refused at compress time, naming the limit', () => {
    const eie = CONFIG_LIMITS.maxLayers[1] + 1;
    writeNet('deep.npz', Array.from({ length: eie }, (_, l): [string, number, number, number] => [`l${l}`, 3, 3, 0.5]));
    refused(['compress', 'deep.npz', '-o', 'a.hwb'], 1, new RegExp(`deep\\.npz: ${eie} layers; the EIE engine holds at most ${eie - 1} \\(maxLayers\\)`));
    const xnor = XNOR_CONFIG_LIMITS.maxLayers[1];
    refused(['compress', 'deep.npz', '-o', 'a.hwb', '--binary'], 1, new RegExp(`${eie} layers; the XNOR units hold at most ${xnor} \\(maxLayers\\)`));
  });
});

describe('numbers', () => {
  it('compress warns on stderr when fixed point saturates against the float network', () => {
    writeNet('loud.npz', [['fc1', 16, 6, 40], ['fc2', 3, 16, 40]]);
    const r = hwgen(['compress', 'loud.npz', '-o', 'loud.hwb', '--json']);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/hwgen: warning: fixed point saturated on 16 random check inputs \(fc1: \d+ output\(s\) clipped; fc2: .*\); .*lower --act-frac or raise --act-bits/);
    const sat = JSON.parse(r.out).fidelity.saturations as { outputs: number }[];
    expect(sat[1].outputs).toBeGreaterThan(0);
    // a quiet network: no warning, and the report says 0
    const q = hwgen(['compress', 'net.npz', '-o', 'quiet.hwb']);
    expect(q.err).toBe('');
    expect(q.out).toMatch(/fixed-point saturations 0/);
  });

  it('a bias too large for the accumulator is refused like a weight, not clipped', () => {
    writeNet('bias.npz', [['fc1', 2, 3, 0.3]], { fc1: [1e12, 0] });
    refused(['compress', 'bias.npz', '-o', 'a.hwb'], 1, /layer 'fc1': bias\[0\] = \d+ does not fit the 32-bit accumulator with \d+ fractional bits \(\|bias\| < \d+\); rescale the layer, raise --acc-bits or lower --act-frac/);
  });

  it('re-compressing exported weights gives the same bundle (already-shared values are kept exactly)', () => {
    expect(hwgen(['compress', 'net.npz', '-o', 'r1.hwb', '--density', '0.6', '--bits', '3', '--pes', '2']).code).toBe(0);
    expect(hwgen(['export', 'r1.hwb', '-o', 'r1.npz']).code).toBe(0);
    expect(hwgen(['compress', 'r1.npz', '-o', 'r2.hwb', '--bits', '3', '--pes', '2']).code).toBe(0);
    expect(hwgen(['export', 'r2.hwb', '-o', 'r2.npz']).code).toBe(0);
    expect(readFileSync(at('r2.npz')).equals(readFileSync(at('r1.npz')))).toBe(true);
  });
});

describe('the model cache', () => {
  it('HWGEN_CACHE empty, at a file, under a file or under /proc: a clear error, no hang', () => {
    writeFileSync(at('afile'), 'x');
    const sim = ['sim', 'net.hwb', '--input', 'x.npy'];
    refused(sim, 1, /HWGEN_CACHE is set but empty; set HWGEN_CACHE to a writable directory/, { HWGEN_CACHE: '' });
    refused(sim, 1, /the model cache .*afile: .*afile is not a directory; set HWGEN_CACHE/, { HWGEN_CACHE: at('afile') });
    refused(sim, 1, /the model cache .*afile\/sub: .*afile is not a directory/, { HWGEN_CACHE: at('afile/sub') });
    refused(sim, 1, /the model cache \/proc\/hwgen-test\/models is not a writable directory/, { HWGEN_CACHE: '/proc/hwgen-test/models' });
  });

  it('a damaged cached model is found and rebuilt', () => {
    const cache = at('cache');
    const sim = ['sim', 'net.hwb', '--input', 'x.npy', '--json'];
    const first = hwgen(sim, { HWGEN_CACHE: cache });
    expect(first.code).toBe(0);
    const entry = readdirSync(cache).filter((n) => !n.startsWith('.'));
    expect(entry).toHaveLength(1);
    truncateSync(join(cache, entry[0], 'model'), 1000);
    const again = hwgen(sim, { HWGEN_CACHE: cache });
    expect(again.err).toBe('');
    expect(again.code).toBe(0);
    expect(JSON.parse(again.out).build.cached).toBe(false);
    expect(JSON.parse(hwgen(sim, { HWGEN_CACHE: cache }).out).build.cached).toBe(true);
  }, 300_000);

  it('a build interrupted by Ctrl-C leaves no .build-* folder', async () => {
    const cache = at('cache-int');
    const child = spawn(process.execPath, [HWGEN_BIN, 'sim', 'net.hwb', '--input', 'x.npy', '--pes', '1'], {
      cwd: dir, env: { ...process.env, HWGEN_CACHE: cache }, detached: true, stdio: 'ignore',
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code, sig) => resolve(code ?? (sig ? -1 : null))));
    const building = () => existsSync(cache) && readdirSync(cache).some((n) => n.startsWith('.build-'));
    for (let t = 0; t < 600 && !building(); t++) await new Promise((r) => setTimeout(r, 50));
    expect(building()).toBe(true);
    await new Promise((r) => setTimeout(r, 500)); // verilator is running
    process.kill(-child.pid!, 'SIGINT'); // what Ctrl-C does: the whole foreground group
    const code = await exited;
    expect(code === 130 || code === 1).toBe(true); // 130 when hwgen's handler runs first, 1 when the failed build ends it first
    expect(readdirSync(cache)).toEqual([]);
  }, 120_000);
});
