/**
 * A byte link to a board, whatever carries it (serial port, XDMA character devices, the simulator's pipes):
 * bytes out, bytes in, close. The link protocol (host/link.ts) runs over any of them.
 */
export interface Transport {
  /** For messages: "serial:/dev/ttyUSB1", "sim:build/". */
  readonly name: string;
  /** Hands bytes to the link; resolves once they are on their way. */
  write(bytes: Uint8Array): Promise<void>;
  /** Receives every chunk of bytes that arrives, in order. */
  onData(fn: (bytes: Uint8Array) => void): void;
  /** Called once when the far end goes away or the transport fails; not after close(). */
  onClose(fn: (err: Error) => void): void;
  /** Releases the device; pending reads end. */
  close(): Promise<void>;
}
