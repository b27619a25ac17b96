import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, mkdirSync, mkdtempSync, promises as fsp, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Transport } from '../transport.js';
import { FRAME } from '../../src/protocol/link.js';
import { ShellDouble } from '../../test/helpers/link-doubles.js';
import { Link } from '../link.js';
import { linkDefaults, linkFlags, openTransport } from '../open.js';
import { openDevice } from '../index.js';
import { HwgenError } from '../../src/errors.js';
import { Device } from '../device.js';
import { MEM, OP, addressWord, header } from '../../src/protocol/command-set.js';
import type { Command } from '../../src/protocol/command-words.js';
import { simDevice } from '../sim-device.js';
import { compressModel } from '../../src/compress/compress.js';
import { DEFAULT_NUMERIC } from '../../src/model/types.js';
import { gaussianMatrix, rng } from '../../test/helpers/random.js';

const echo = (p: Uint32Array) => Uint32Array.from(p, (w) => (w ^ 0xffffffff) >>> 0);
const children: ChildProcess[] = [];
afterAll(() => children.forEach((c) => c.kill()));

async function exchange(t: Transport, n: number): Promise<void> {
  const link = new Link(t, { timeoutMs: 2000 });
  for (let k = 0; k < n; k++) {
    const p = Uint32Array.from({ length: 1 + k * 20 }, (_, i) => (i * 2654435761 + k) >>> 0);
    expect(await link.request(FRAME.COMMAND, p)).toEqual(echo(p));
  }
  await link.close();
}

describe('transports (a protocol double at the far end; the shell RTL comes with the sim transport)', () => {
  it('serial: the serialport package over a socat pty pair, and a second open of a locked port is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hwgen-pty-'));
    const [a, b] = [join(dir, 'host'), join(dir, 'board')];
    expect(spawnSync('socat', ['-V']).status, "socat is missing: install Debian's 'socat' package").toBe(0);
    const socat = spawn('socat', [`pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], { stdio: 'ignore' });
    children.push(socat);
    for (let i = 0; i < 100 && !(existsSync(a) && existsSync(b)); i++) await new Promise((r) => setTimeout(r, 20));
    const board = await openTransport(`serial:${b}?baud=3000000`);
    new ShellDouble(board, echo);
    const host = await openTransport(`serial:${a}`);
    await expect(openTransport(`serial:${a}`)).rejects.toThrow(/cannot open the port .*no other program holds it/);
    await exchange(host, 12);
    await board.close();
  });

  it('xdma: frames through files shaped like the XDMA devices (named pipes), reads on their own thread', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hwgen-xdma-'));
    const prefix = join(dir, 'xdma0');
    for (const f of ['_h2c_0', '_c2h_0']) expect(spawnSync('mkfifo', [prefix + f]).status).toBe(0);
    // The far end: reads what the host writes to h2c, answers into c2h.
    const far: Transport = {
      name: 'far',
      write: (bytes) => new Promise((resolve, reject) => toHost.write(bytes, (e) => (e ? reject(e) : resolve()))),
      onData: (fn) => fromHost.on('data', (b) => fn(new Uint8Array(b as Buffer))),
      onClose: () => {},
      close: async () => {},
    };
    const toHost = createWriteStream(prefix + '_c2h_0');
    const fromHost = createReadStream(prefix + '_h2c_0');
    new ShellDouble(far, echo);
    const host = await openTransport(`xdma:${prefix}`);
    await exchange(host, 12);
    toHost.end();
    fromHost.destroy();
  });

  it('tcp: frames through a real socket to a far end listening on loopback; one connection after another', async () => {
    const server = createServer((socket) => {
      const far: Transport = {
        name: 'far',
        write: (bytes) => new Promise((resolve, reject) => socket.write(bytes, (e) => (e ? reject(e) : resolve()))),
        onData: (fn) => socket.on('data', (b) => fn(new Uint8Array(b))),
        onClose: () => {},
        close: async () => void socket.end(),
      };
      new ShellDouble(far, echo);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      await exchange(await openTransport(`tcp:127.0.0.1:${port}`), 12);
      await exchange(await openTransport(`tcp:localhost:${port}`), 3);
    } finally {
      server.close();
    }
  });

  it('tcp: a far end that hangs up is reported as a closed link, not a timeout', async () => {
    const server = createServer((socket) => socket.once('data', () => socket.destroy()));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      const link = new Link(await openTransport(`tcp:127.0.0.1:${port}`), { timeoutMs: 60_000 });
      await expect(link.request(FRAME.IDENTIFY)).rejects.toThrow(/tcp:127\.0\.0\.1:\d+: the link closed \(the far end closed the connection\)/);
      await link.close();
    } finally {
      server.close();
    }
  });

  it('refuses an unknown scheme, a missing device, a bad address and a bad baud rate with what to do', async () => {
    await expect(openTransport('usb:1.2.3.4')).rejects.toThrow(/device 'usb:1.2.3.4': expected serial:PATH or xdma:PATH or sim:DIR or tcp:HOST:PORT/);
    for (const bad of ['tcp:1.2.3.4', 'tcp:host:0', 'tcp:host:65536', 'tcp::7700', 'tcp:[zz]:7700']) {
      await expect(openTransport(bad)).rejects.toThrow(/expected HOST:PORT with a port from 1 to 65535/);
    }
    // A port nothing listens on: found by binding one and closing it.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const free = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    await expect(openTransport(`tcp:127.0.0.1:${free}`)).rejects.toThrow(/nothing listens on 127\.0\.0\.1 port \d+; start the bridge/);
    await expect(openTransport('tcp:no-such-host.invalid:7700')).rejects.toThrow(/the host name 'no-such-host\.invalid' does not resolve/);
    await expect(openTransport('serial:/dev/no-such-tty')).rejects.toThrow(/cannot open the port/);
    await expect(openTransport('xdma:/dev/no-such-xdma')).rejects.toThrow(/no such device: is the XDMA driver loaded/);
    await expect(openTransport('serial:/dev/null?baud=fast')).rejects.toThrow(/baud=fast: give a whole number/);
  });

  it("refuses a parameter the device does not take, or one given twice, and checks the link's tries and timeout", async () => {
    await expect(openTransport('sim:out/sim?baud=9600')).rejects.toThrow(/device 'sim:out\/sim\?baud=9600': a sim: device takes no 'baud' parameter \(it takes tries, timeout\); leave it out/);
    await expect(openTransport('xdma:/dev/xdma0?speed=1')).rejects.toThrow(/an? xdma: device takes no 'speed' parameter/);
    await expect(openTransport('serial:/dev/null?baud=9600&baud=300')).rejects.toThrow(/'baud' is given more than once/);
    expect(linkDefaults('serial:/dev/ttyUSB0?baud=9600&tries=12&timeout=250')).toEqual({ tries: 12, timeoutMs: 250 });
    expect(linkDefaults('sim:out/sim?tries=3')).toEqual({ timeoutMs: 3000, tries: 3 });
    expect(linkDefaults('sim:out/sim?timeout=900')).toEqual({ timeoutMs: 900 });
    for (const bad of ['tries=0', 'tries=2.5', 'tries=', 'timeout=-1', 'timeout=fast', 'timeout=600001']) {
      expect(() => linkDefaults(`serial:/dev/ttyUSB0?${bad}`)).toThrow(new RegExp(`${bad.replace('.', '\\.')}: give a whole number of (tries per request|milliseconds to wait for a reply before resending) from 1 to`));
    }
    expect(linkFlags({ tries: 7, timeout: 40 })).toEqual({ tries: 7, timeoutMs: 40 });
    expect(() => linkFlags({ tries: 'many' })).toThrow(/--tries many: give a whole number of tries per request from 1 to 1000/);
    expect(() => linkFlags({ timeout: 0 })).toThrow(/--timeout 0: give a whole number of milliseconds/);
  });

  describe('a sim: folder whose model is not a board says so within seconds (its exit status at once)', () => {
    const folder = (name: string, make: (model: string) => void) => {
      const d = join(mkdtempSync(join(tmpdir(), 'hwgen-badsim-')), name);
      mkdirSync(d);
      make(join(d, 'model'));
      return d;
    };
    const script = (text: string) => (model: string) => writeFileSync(model, `#!/bin/sh\n${text}\n`, { mode: 0o755 });
    const cases: [string, (model: string) => void, RegExp, number][] = [
      ['echoes what it gets', script('exec cat'), /sent a IDENTIFY request back: it echoes what it receives .*not an hwgen board/, 1000],
      ['prints garbage', script('while :; do echo garbage; sleep 0.05; done'), /the link is dead: no frame came back for 7\.\d s \(\d+ bytes of something else\)/, 10_000],
      ['is a truncated executable', (m) => writeFileSync(m, readFileSync(process.execPath).subarray(0, 4096), { mode: 0o755 }), /cannot start .*model|the simulator exited/, 1000],
      ['exits 3', script('exit 3'), /the simulator exited \(code 3\)/, 1000],
      ['says nothing', script('exec sleep 60'), /the link is dead: nothing came back for 7\.\d s/, 10_000],
    ];
    for (const [name, make, message, ms] of cases) {
      it(`a model that ${name}`, async () => {
        const d = folder('board', make);
        const t0 = performance.now();
        const err = await (async () => {
          const dev = await openDevice(`sim:${d}`);
          try {
            await dev.info();
          } finally {
            await dev.close();
          }
        })().catch((e: unknown) => e);
        expect(err).toBeInstanceOf(HwgenError);
        expect((err as Error).message).toMatch(message);
        expect(performance.now() - t0).toBeLessThan(ms + 2500); // the close waits up to 2 s for a model that ignores its input closing
      }, 20_000);
    }
  });
});

/** A small two-layer bundle and the model of the shell and engine it runs on (built once, from the cache after). */
function board() {
  const r = rng(21);
  const layers = [
    { name: 'a', rows: 24, cols: 40, weight: gaussianMatrix(r, 960, 0.3), bias: gaussianMatrix(r, 24, 0.1), relu: true },
    { name: 'b', rows: 8, cols: 24, weight: gaussianMatrix(r, 192, 0.3), relu: false },
  ];
  const { bundle } = compressModel({ source: 't', layers }, { density: 0.4, bits: 4, sparse: { pes: 2, vBits: 4, zBits: 4 }, numeric: DEFAULT_NUMERIC });
  const sim = simDevice(bundle, { shell: { maxPayloadWords: 64 } });
  const inputs = Array.from({ length: 6 }, () => sim.engine.quantizeInput(bundle, Array.from(gaussianMatrix(r, 40, 1))));
  return { bundle, sim, inputs };
}

/** Loads, runs, and checks every output against the golden model of the bundle as the board stores it. */
async function loadAndRun(dev: Device, b: ReturnType<typeof board>): Promise<void> {
  const load = await dev.load(b.bundle);
  expect(load.frames).toBeGreaterThan(3);
  const results = await dev.runBatch(b.inputs);
  expect(results.map((r) => r.output)).toEqual(b.inputs.map((x) => b.sim.engine.forward(b.sim.bundle, x)[1]));
}

describe('the driver on the Verilator model of the shell and engine through the real bridges', () => {
  // The model's build (a minute on a busy machine) counts against the hook's timeout, not a test's.
  let b: ReturnType<typeof board>;
  beforeAll(() => {
    b = board();
  });

  it('serial: serialport on one end of a socat pty pair, the model on the other (socat EXEC), bit-exact', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hwgen-pty-model-'));
    const tty = join(dir, 'tty');
    expect(spawnSync('socat', ['-V']).status, "socat is missing: install Debian's 'socat' package").toBe(0);
    // socat splits the EXEC command line at spaces itself: no shell runs.
    const socat = spawn('socat', [`pty,raw,echo=0,link=${tty}`, `EXEC:${join(b.sim.dir, 'model')} +verilator+rand+reset+2 +verilator+seed+1`], { stdio: 'ignore' });
    children.push(socat);
    for (let i = 0; i < 100 && !existsSync(tty); i++) await new Promise((r) => setTimeout(r, 20));
    const dev = await Device.open(`serial:${tty}?baud=3000000`);
    try {
      await expect(Device.open(`serial:${tty}`)).rejects.toThrow(/cannot open the port .*no other program holds it/);
      expect((await dev.info()).maxPayloadWords).toBe(64);
      await loadAndRun(dev, b);
    } finally {
      await dev.close();
    }
  });

  it("a board that kept the reply of an earlier session's last COMMAND does not answer a new one with it", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hwgen-pty-sessions-'));
    const tty = join(dir, 'tty');
    // ignoreeof: the model lives on between sessions, as a board does.
    children.push(spawn('socat', [`pty,raw,echo=0,link=${tty},ignoreeof`, `EXEC:${join(b.sim.dir, 'model')} +verilator+rand+reset+2`], { stdio: 'ignore' }));
    for (let i = 0; i < 100 && !existsSync(tty); i++) await new Promise((r) => setTimeout(r, 20));
    const spmat = b.sim.engine.memories(b.sim.config).memories.find((m) => m.mem === 'SPMAT')!;
    const words = Math.ceil(spmat.read!.bits / 32);
    // One frame: write an item, read it back. Each session sends one such COMMAND after opening.
    const writeRead = (v: number): Command[] => [
      { op: OP.WRITE, respWords: 0, words: [header(OP.WRITE, MEM.SPMAT, 1), addressWord(0, 0), ...Array.from({ length: words }, () => v)] },
      { op: OP.READ, respWords: words, words: [header(OP.READ, MEM.SPMAT, 1), addressWord(0, 0)] },
    ];
    const mask = Number((1n << BigInt(spmat.read!.bits % 32 || 32)) - 1n) >>> 0;
    for (const v of [0x1111_1111, 0x2222_2222, 0x0303_0303]) {
      const dev = await Device.open(`serial:${tty}`);
      try {
        await dev.info();
        const [, read] = await dev.commands(writeRead(v));
        // Each session reads its own write, not the answer the board kept for the session before (same numbers, same shape).
        expect((read.at(-1)! & mask) >>> 0).toBe((v & mask) >>> 0);
      } finally {
        await dev.close();
      }
    }
  });

  it('xdma: the model reads the h2c named pipe and writes the c2h one, as the XDMA devices carry frames; bit-exact', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hwgen-xdma-model-'));
    const prefix = join(dir, 'xdma0');
    for (const f of ['_h2c_0', '_c2h_0']) expect(spawnSync('mkfifo', [prefix + f]).status).toBe(0);
    // Opening a named pipe waits for its other end: the driver's opens and the model's meet.
    const [dev, h2c, c2h] = await Promise.all([Device.open(`xdma:${prefix}`), fsp.open(prefix + '_h2c_0', 'r'), fsp.open(prefix + '_c2h_0', 'w')]);
    const model = spawn(join(b.sim.dir, 'model'), ['+verilator+rand+reset+2', '+verilator+seed+1'], { stdio: [h2c.fd, c2h.fd, 'ignore'] });
    children.push(model);
    await Promise.all([h2c.close(), c2h.close()]);
    try {
      await loadAndRun(dev, b);
    } finally {
      await dev.close();
    }
  });
});
