/** The one place for files in and out: which outputs checkOutputs refuses, and inputs that are FIFOs or devices. */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expectHwgenError } from '../test/helpers/errors.js';
import { checkOutputs, readFileChecked, writeFileAtomic } from './atomic.js';

const dir = mkdtempSync(join(tmpdir(), 'hwgen-atomic-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const at = (name: string) => join(dir, name);

describe('checkOutputs', () => {
  mkdirSync(at('in'));
  writeFileSync(at('in/data'), 'x');
  writeFileSync(at('m.hwb'), 'm');
  symlinkSync('in', at('in-link'));

  it('refuses an output inside an input folder, through a symlink too, new file or not', () => {
    expectHwgenError(() => checkOutputs([{ path: at('in/data'), flag: '-o' }], [{ path: at('in'), flag: '--data', folder: true }]), /-o .*in\/data is inside --data .*in: writing it would change that input/);
    expectHwgenError(() => checkOutputs([{ path: at('in/new.hwb'), flag: '-o' }], [{ path: at('in-link'), flag: '--build', folder: true }]), /is inside --build .*in-link/);
    expect(() => checkOutputs([{ path: at('out.hwb'), flag: '-o' }], [{ path: at('in'), flag: '--data', folder: true }])).not.toThrow();
    // a sibling whose name starts like the folder's is not inside it
    expect(() => checkOutputs([{ path: at('in2'), flag: '-o' }], [{ path: at('in'), flag: '--data', folder: true }])).not.toThrow();
  });

  it('refuses an output folder that holds an input, or is one', () => {
    expectHwgenError(() => checkOutputs([{ path: at('in'), flag: '-o', folder: true }], [{ path: at('in/data'), flag: '--model' }]), /-o .*in holds --model .*in\/data: the build replaces that folder/);
    expectHwgenError(() => checkOutputs([{ path: dir, flag: '-o', folder: true }], [{ path: at('m.hwb'), flag: '--model' }]), /holds --model/);
    expect(() => checkOutputs([{ path: at('new'), flag: '-o', folder: true }], [{ path: at('m.hwb'), flag: '--model' }])).not.toThrow();
  });
});

describe('readFileChecked on FIFOs and devices', () => {
  it('reads a FIFO to its end when a process writes it, and refuses one nobody writes at once', async () => {
    execFileSync('mkfifo', [at('pipe')]);
    const t0 = performance.now();
    expectHwgenError(() => readFileChecked(at('pipe'), 'bundle'), /cannot read bundle .*pipe: it is a FIFO and no process is writing it; start the writer first/);
    expect(performance.now() - t0).toBeLessThan(5000);
    writeFileSync(at('payload'), Buffer.alloc(300_000, 7));
    const writer = spawn('dd', [`if=${at('payload')}`, `of=${at('pipe')}`, 'status=none']);
    const done = new Promise((resolve) => writer.on('exit', resolve));
    const got = readFileChecked(at('pipe'), 'bundle');
    expect(await done).toBe(0);
    expect(Buffer.from(got).equals(Buffer.alloc(300_000, 7))).toBe(true);
  });

  it('reads /dev/null as an empty file', () => {
    expect(readFileChecked('/dev/null').length).toBe(0);
  });
});

describe('writeFileAtomic where no file can be made', () => {
  it('/proc and /sys: says so, not that the folder is missing', () => {
    expectHwgenError(() => writeFileAtomic('/proc/hwgen-x', new Uint8Array(1), 'report'), /^cannot write report \/proc\/hwgen-x: \/proc does not let a file be made there; choose another output path$/);
    expectHwgenError(() => writeFileAtomic('/sys/hwgen-x', new Uint8Array(1), 'report'), /^cannot write report \/sys\/hwgen-x: (permission denied|operation not permitted)/);
    expectHwgenError(() => writeFileAtomic(at('no/x'), new Uint8Array(1), 'report'), /directory .*no does not exist; create it/);
  });
});
