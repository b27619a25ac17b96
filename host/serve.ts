import { createServer, type AddressInfo, type Socket } from 'node:net';
import { LinkError } from './link.js';
import type { Transport } from './transport.js';

export interface Served {
  /** Where it listens, as a device URL for the driver: `tcp:127.0.0.1:7700`. */
  url: string;
  /** Resolves when the device goes away (the served link then closes), with why. */
  ended: Promise<Error>;
  close(): Promise<void>;
}

/**
 * Serves a device's byte link on a TCP socket, one client at a time: the bytes pass untouched both ways, so the
 * client speaks the link protocol to the board itself (its frames, CRCs and retries), and the board keeps its
 * memories between clients as a board on a cable does. A second client while one is attached is turned away
 * (its connection closed at once): two drivers numbering requests on one link would take each other's replies.
 */
export async function serveLink(device: Transport, listen: { host: string; port: number }): Promise<Served> {
  let client: Socket | undefined;
  let endedWith: (e: Error) => void = () => {};
  const ended = new Promise<Error>((r) => (endedWith = r));
  const server = createServer({ noDelay: true }, (socket) => {
    if (client) {
      socket.destroy();
      return;
    }
    client = socket;
    socket.on('data', (b: Buffer) => {
      device.write(new Uint8Array(b.buffer, b.byteOffset, b.byteLength)).catch((e: Error) => stop(e));
    });
    const detach = () => {
      if (client === socket) client = undefined;
    };
    socket.on('close', detach);
    socket.on('error', detach);
  });
  // Bytes from the board with no client attached (late replies of one that left) have no one to go to.
  device.onData((bytes) => client?.write(bytes));
  const stop = (e: Error) => {
    client?.destroy();
    server.close();
    endedWith(e);
  };
  device.onClose(stop);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new LinkError(
          e.code === 'EADDRINUSE'
            ? `${listen.host}:${listen.port} is in use by another program; choose another port`
            : `cannot listen on ${listen.host}:${listen.port} (${e.message})`,
          2,
        ),
      ),
    );
    server.listen(listen.port, listen.host, () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  return {
    url: `tcp:${address.includes(':') ? `[${address}]` : address}:${port}`,
    ended,
    close: async () => {
      client?.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      await device.close();
    },
  };
}
