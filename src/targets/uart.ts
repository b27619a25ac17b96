import { HwgenError } from '../errors.js';
import { hwFile } from '../gen/render.js';
import { BAUD_RANGE, DEFAULT_BAUD } from '../protocol/link.js';

/** The UART link's modules (hw/), in the order a build lists them; the top of the three is UART_LINK_TOP. */
export const UART_FILES = ['hwgen_uart_link.v', 'hwgen_uart_rx.v', 'hwgen_uart_tx.v'] as const;
export const UART_LINK_TOP = 'hwgen_uart_link';

/**
 * How far the baud a clock makes (clock / round(clock / baud)) may be from the one asked for. A receiver that
 * samples each bit in its middle stays within the stop bit up to about 5% of mismatch between both ends; 2%
 * leaves the other half for the host's own error.
 */
export const MAX_BAUD_ERROR = 0.02;
/** The receiver's fewest clocks per bit (it waits half a bit after the start edge, past a two-flop synchronizer). */
export const MIN_CLKS_PER_BIT = 4;

/** Refuses a baud rate the driver would not open (BAUD_RANGE), so a build never suggests a URL it refuses. */
export function checkBaud(baud: number): void {
  if (!Number.isInteger(baud) || baud < BAUD_RANGE.min || baud > BAUD_RANGE.max) {
    throw new HwgenError(`--baud ${baud}: give a whole number of bits per second from ${BAUD_RANGE.min} to ${BAUD_RANGE.max} (the driver's range), such as 115200 or ${DEFAULT_BAUD}`, 2);
  }
}

/** The UART's CLKS_PER_BIT for a clock and a baud rate; refuses a baud the clock cannot make closely enough. */
export function clocksPerBit(clockHz: number, baud: number): number {
  checkBaud(baud);
  const n = Math.round(clockHz / baud);
  const mhz = (clockHz / 1e6).toFixed(3);
  if (n < MIN_CLKS_PER_BIT) {
    const most = Math.floor(clockHz / MIN_CLKS_PER_BIT);
    throw new HwgenError(`--baud ${baud} is too fast for the ${mhz} MHz clock: the UART needs at least ${MIN_CLKS_PER_BIT} clocks per bit (at most ${most} baud); choose a lower --baud`, 2);
  }
  const error = Math.abs(clockHz / n - baud) / baud;
  if (error > MAX_BAUD_ERROR) {
    throw new HwgenError(
      `--baud ${baud} is not within ${MAX_BAUD_ERROR * 100}% of what the ${mhz} MHz clock makes (${n} clocks per bit give ${Math.round(clockHz / n)} baud, ${(error * 100).toFixed(1)}% off); choose a baud near ${Math.round(clockHz / n)}${n > MIN_CLKS_PER_BIT ? ` or ${Math.round(clockHz / (n - 1))}` : ''}`,
      2,
    );
  }
  return n;
}

/** The UART link's Verilog files by name, each under the build's banner. */
export function uartFiles(banner: string): Map<string, string> {
  return new Map(UART_FILES.map((name) => [name, `${banner}\n${hwFile(name)}`]));
}
