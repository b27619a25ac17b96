import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { linkLine, linkSummary, progressBar } from './device-options.js';

/** A stream that says it is a terminal, collecting what is written. */
function terminal(isTTY: boolean) {
  const s = Object.assign(new PassThrough(), { isTTY, columns: 100 });
  let text = '';
  s.on('data', (d: Buffer) => (text += d.toString()));
  return { s, text: () => text };
}

describe('the progress bar and the summary of hwgen load / run', () => {
  it('draws a bar on a terminal, in the unit given, and nothing with --json or off a terminal', async () => {
    const tty = terminal(true);
    const bar = progressBar(false, 'loading', 'kB', 1024, tty.s);
    bar.update(0, 64 * 1024);
    bar.update(32 * 1024, 64 * 1024);
    bar.update(64 * 1024, 64 * 1024);
    bar.stop();
    await new Promise((r) => setImmediate(r));
    expect(tty.text()).toMatch(/loading \[[█░]+\] 100% \| 64\/64 kB/);
    for (const [json, isTTY] of [[true, true], [false, false]]) {
      const t = terminal(isTTY);
      const quiet = progressBar(json, 'loading', 'kB', 1024, t.s);
      quiet.update(1, 2);
      quiet.stop();
      await new Promise((r) => setImmediate(r));
      expect(t.text()).toBe('');
    }
  });

  it('counts only what crossed during the step: payload efficiency, throughput, retries, requests', () => {
    const before = { requests: 3, retries: 1, bytesSent: 100, bytesReceived: 40, payloadBytesSent: 64, badReplies: 0, staleReplies: 0 };
    const after = { requests: 13, retries: 3, bytesSent: 100 + 10 * 1036, bytesReceived: 40 + 120, payloadBytesSent: 64 + 10 * 1024, badReplies: 1, staleReplies: 0 };
    const s = linkSummary(before, after, 2);
    expect(s).toEqual({ bytesSent: 10360, bytesReceived: 120, seconds: 2, throughput: 5180, payloadEfficiency: 10240 / 10360, retries: 2, requests: 10 });
    expect(linkLine(s)).toBe('10,360 bytes sent in 10 requests in 2.00 s (5.2 kB/s), payload efficiency 98.8%, 2 retries');
  });
});
