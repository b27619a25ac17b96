import { constants, promises as fsp } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { LinkError } from '../link.js';
import type { Transport } from '../transport.js';

/**
 * Xilinx XDMA (PCIe) through its character devices: frames go out by writing `<prefix>_h2c_0` and come back
 * by reading `<prefix>_c2h_0`. A read of that device blocks until its whole count arrives or the driver's
 * c2h_timeout passes (10 s by default), unless the file is opened with O_TRUNC (then a read ends at TLAST,
 * which the shell raises at the end of every reply). Reads run on a worker thread of their own, so they never
 * block the event loop or hold Node's thread pool; close() does not wait for a read in progress (the thread is
 * unreferenced and its bytes are dropped). Only one process may open a C2H channel: a second gets EBUSY.
 */
export async function openXdma(prefix: string): Promise<Transport> {
  const name = `xdma:${prefix}`;
  const h2c = `${prefix}_h2c_0`;
  const c2h = `${prefix}_c2h_0`;
  const out = await fsp.open(h2c, constants.O_WRONLY).catch((e: NodeJS.ErrnoException) => {
    throw new LinkError(`${name}: cannot open ${h2c} (${explain(e)})`);
  });
  const worker = new Worker(READER, { eval: true, workerData: { path: c2h } });
  const closers: ((e: Error) => void)[] = [];
  const data: ((b: Uint8Array) => void)[] = [];
  let closing = false;
  await new Promise<void>((resolve, reject) => {
    worker.on('message', (m: { opened?: true; error?: string; code?: string; eof?: true } | Uint8Array) => {
      if (m instanceof Uint8Array) return data.forEach((fn) => fn(m));
      if (m.opened) return resolve();
      const err = new LinkError(`${name}: ${m.eof ? `${c2h} reached its end: the far end went away` : `cannot read ${c2h} (${explain({ message: m.error ?? '', code: m.code } as NodeJS.ErrnoException)})`}`);
      reject(err);
      if (!closing) closers.forEach((fn) => fn(err));
    });
    worker.on('error', (e) => reject(new LinkError(`${name}: the reader failed (${e.message})`)));
  }).catch(async (e) => {
    await out.close();
    void worker.terminate();
    throw e;
  });
  return {
    name,
    write: async (bytes) => {
      await out.write(bytes);
    },
    onData: (fn) => data.push(fn),
    onClose: (fn) => closers.push(fn),
    close: async () => {
      closing = true;
      worker.unref();
      void worker.terminate();
      await out.close();
    },
  };
}

function explain(e: NodeJS.ErrnoException): string {
  if (e.code === 'EBUSY') return 'another process has it open; only one may read a C2H channel';
  if (e.code === 'ENOENT') return 'no such device: is the XDMA driver loaded and the board enumerated? (ls /dev/xdma*)';
  if (e.code === 'EACCES') return 'permission denied: run as a user allowed to open the XDMA devices';
  return e.message;
}

// The reader thread: plain JavaScript so it runs the same from sources and from the built package.
const READER = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
function read() {
let fd;
try {
  fd = fs.openSync(workerData.path, fs.constants.O_RDONLY | fs.constants.O_TRUNC);
} catch (e) {
  parentPort.postMessage({ error: e.message, code: e.code });
  return;
}
parentPort.postMessage({ opened: true });
const buf = Buffer.alloc(1 << 16);
for (;;) {
  let n;
  try {
    n = fs.readSync(fd, buf, 0, buf.length, null);
  } catch (e) {
    if (e.code === 'EAGAIN' || e.code === 'ETIMEDOUT' || e.code === 'EINTR') continue;
    parentPort.postMessage({ error: e.message, code: e.code });
    break;
  }
  if (n === 0) {
    parentPort.postMessage({ eof: true });
    break;
  }
  parentPort.postMessage(new Uint8Array(buf.subarray(0, n)));
}
}
read();
`;
