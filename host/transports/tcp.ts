import { connect, isIP, type Socket } from 'node:net';
import { LinkError } from '../link.js';
import type { Transport } from '../transport.js';

/** How long a connection may take before the address is reported unreachable. */
export const TCP_CONNECT_TIMEOUT_MS = 5000;

/** `HOST:PORT` or `[IPv6]:PORT` → its parts; a clear error for anything else. Port 0 (any free one) only to listen. */
export function parseHostPort(text: string, what: string, lowestPort = 1): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d+)$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= lowestPort && port <= 65535) || (m[1] !== undefined && isIP(m[1]) !== 6)) {
    throw new LinkError(`${what}: expected HOST:PORT with a port from ${lowestPort} to 65535 (e.g. pynq:7700, 127.0.0.1:7700 or [::1]:7700)`, 2);
  }
  return { host: m[1] ?? m[2], port };
}

/**
 * A link carried by a TCP socket: a board-side bridge (the Zynq DMA build's `hwgen-bridge`), `hwgen serve` in
 * front of any other device, or anything else that serves the link's bytes on a socket. The link protocol needs
 * nothing of TCP but its byte stream; Nagle is off, so a short request is not held back waiting for more.
 */
export async function openTcp(address: string): Promise<Transport> {
  const { host, port } = parseHostPort(address, `device 'tcp:${address}'`);
  const name = `tcp:${address}`;
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = connect({ host, port, noDelay: true, keepAlive: true });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new LinkError(`${name}: no connection within ${TCP_CONNECT_TIMEOUT_MS / 1000} s; check the address, the network and that the bridge runs on the board`));
    }, TCP_CONNECT_TIMEOUT_MS);
    s.once('connect', () => {
      clearTimeout(timer);
      resolve(s);
    });
    s.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new LinkError(`${name}: ${connectProblem(e, host, port)}`));
    });
  });
  let closing = false;
  const closers: ((e: Error) => void)[] = [];
  let gone: Error | undefined;
  const lost = (e: Error) => {
    if (gone) return;
    gone = e;
    if (!closing) closers.forEach((fn) => fn(e));
  };
  socket.on('error', (e) => lost(e));
  socket.on('close', () => lost(new Error('the far end closed the connection')));
  return {
    name,
    write: (bytes) =>
      new Promise((resolve, reject) => {
        if (gone || socket.destroyed) return reject(gone ?? new Error('the connection is closed'));
        socket.write(bytes, (e) => (e ? reject(e) : resolve()));
      }),
    onData: (fn) => socket.on('data', (b: Buffer) => fn(new Uint8Array(b.buffer, b.byteOffset, b.byteLength))),
    onClose: (fn) => closers.push(fn),
    close: () =>
      new Promise<void>((resolve) => {
        closing = true;
        if (socket.destroyed) return resolve();
        socket.once('close', () => resolve());
        socket.end();
        // A far end that never closes its side must not hold the host.
        setTimeout(() => socket.destroy(), 1000).unref();
      }),
  };
}

function connectProblem(e: NodeJS.ErrnoException, host: string, port: number): string {
  switch (e.code) {
    case 'ECONNREFUSED':
      return `nothing listens on ${host} port ${port}; start the bridge on the board (or hwgen serve) and check the port`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `the host name '${host}' does not resolve; check its spelling, or give its IP address`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `${host} cannot be reached (${e.code}); check the network and the board's address`;
    default:
      return `cannot connect to ${host} port ${port} (${e.message})`;
  }
}
