import { CRC32_POLY, FRAME, FRAME_MAGIC, FRAME_OVERHEAD_WORDS, IDENTITY_FIELDS, LINK_VERSION, MAX_PAYLOAD_WORDS, NAK, NAK_MEANING, NO_LAST_SEQ, STATUS_FIELDS } from './link.js';

/** docs/protocol.md, written from src/protocol/link.ts: every number on the page comes from there. */
export function linkMarkdown(): string {
  const hex = (n: number, w = 2) => `0x${n.toString(16).padStart(w, '0')}`;
  const table = (rec: Record<string, number>) => Object.entries(rec).map(([k, v]) => `| \`${k}\` | ${hex(v)} |`).join('\n');
  return `# The link protocol

Generated from \`src/protocol/link.ts\` by \`npm run docs\`; do not edit by hand. Version ${LINK_VERSION}.

The host and the shell on a board (every target has the same shell around its engine) exchange **frames**
over any byte link: a UART, an AXI-Stream from a DMA or PCIe, the simulator's pipe. Every request the host
sends is answered by exactly one reply. The engines' command words (docs/commands.md) travel inside frames.

## Frames

A frame, in both directions, is a whole number of 32-bit little-endian words, so an AXI-Stream carries it
in 32-bit beats; the frame's own length, never TLAST, marks its end.

| word | holds |
|---|---|
| 0 | magic \`${hex(FRAME_MAGIC, 8)}\` (the bytes \`HWLK\`): a receiver finds the next frame after garbage by it |
| 1 | \`type[7:0]\`, \`seq[15:8]\`, \`words[31:16]\`: the frame type, its sequence number, the payload length in words |
| 2 .. words+1 | the payload |
| words+2 | CRC-32 (the zlib/Ethernet polynomial ${hex(CRC32_POLY, 8)}, reflected, init and final XOR 0xFFFFFFFF) of every byte before it, magic included |

A frame is ${FRAME_OVERHEAD_WORDS} words plus its payload; the header allows ${MAX_PAYLOAD_WORDS} payload words, and each build
accepts at most its own \`maxPayloadWords\` (IDENTIFY tells it), the size of its frame and reply buffers.

## Types

| type | code |
|---|---|
${table(FRAME)}

| request | payload | ACK payload |
|---|---|---|
| \`IDENTIFY\` | none | the identity: ${IDENTITY_FIELDS.map((f) => `\`${f}\``).join(', ')}, then \`configWords\` words of the engine's config fields in the engine's order |
| \`COMMAND\` | engine command words (docs/commands.md), one or more whole commands | the engine's answers to them, in order |
| \`STATUS\` | none | ${STATUS_FIELDS.map((f) => `\`${f}\``).join(', ')}; answered even while a COMMAND executes |
| \`RESET\` | none | none; aborts a COMMAND in progress (a RUN over garbage descriptors can take 2^36 cycles), which is answered NAK \`ABORTED\` before the RESET's ACK; the memories keep what they hold |

STATUS's words: \`busy\` is 1 while a COMMAND executes or its reply is being sent; \`lastSeq\` is the sequence
number whose reply the shell keeps (${hex(NO_LAST_SEQ, 8)} when it keeps none: after power-up, and from the start of
each COMMAND until its ACK); \`framesOk\` counts frames whose CRC matched, \`framesBad\` frames refused as
\`BAD_CRC\` or \`TOO_LONG\` and frames given up after an idle gap; \`cyclesBusy\` counts clock cycles spent
executing COMMANDs. The counters wrap at 2^32 and start at 0 at power-up; RESET keeps them.

A NAK's payload is one word, the reason:

| reason | code | |
|---|---|---|
${Object.entries(NAK).map(([k, v]) => `| \`${k}\` | ${hex(v)} | ${NAK_MEANING[k as keyof typeof NAK]} |`).join('\n')}

## Rules

- **Nothing of a damaged frame is executed.** The receiver checks the CRC of the whole frame before the first
  command word reaches the engine. A damaged frame whose header was readable is answered with NAK \`BAD_CRC\`
  (same seq); one whose header was not is not answered, and the host's timeout covers it.
- **Resynchronization.** After a length beyond \`maxPayloadWords\` the receiver resumes its search for the
  magic at the byte after the frame's magic. The host's receiver (\`FrameParser\`) does the same after a bad
  CRC, so a damaged length cannot swallow the replies after it; the shell, which keeps a payload as words and
  not as bytes, resumes after the damaged frame's CRC word instead, so a damaged length can swallow requests
  sent right after it, and the host's timeout resends them. A frame cut short (the link goes quiet before its
  end) is given up after an idle gap (the shell's \`idleTimeoutCycles\`), and the search resumes with the
  bytes that follow.
- **Sequence numbers.** The host numbers its requests 0, 1, 2, … modulo 256. The shell keeps the sequence
  number and the reply of the last COMMAND it executed: a COMMAND with the same sequence number is answered
  again from the stored reply and not executed twice, so a retransmission after a lost reply never changes the
  result. IDENTIFY, STATUS and RESET change nothing and are always executed.
- **Retransmission.** The host resends a request after a NAK or a timeout, with the same sequence number,
  a bounded number of times with growing waits. Frames that only write (WRITE commands of a bundle's image)
  may be in flight several at a time: repeating a write is harmless. A frame with a RUN waits for the replies
  before it, so the shell's one stored reply is enough to make its retransmission safe. The shell executes one
  COMMAND at a time and queues one more: a COMMAND's header that arrives while the one before is still being
  fed to the engine is held (the link's flow control, at most the shell's idle timeout, then \`BUSY\`), and a
  resend of the COMMAND still executing is refused with \`BUSY\`, never queued, so it cannot run twice.
- **Replies fit the reply buffer.** The host keeps each COMMAND's answers within \`maxPayloadWords\` (it splits
  long reads over several frames). A COMMAND whose answers overflow the reply buffer anyway is answered with
  NAK \`REPLY_TOO_LONG\`. It, \`INCOMPLETE\` and \`ABORTED\` are the NAKs after which some of the frame's
  commands may have executed; the shell keeps no reply for such a COMMAND, so resending it executes it again.
- **Whole commands.** A COMMAND's payload holds whole engine commands. One that ends inside a command (a
  WRITE short of its items) would leave the engine waiting for words that never come: the shell resets the
  engine's decoder (the memories keep what they hold) and answers NAK \`INCOMPLETE\`; the commands before
  the cut, and the items of the cut WRITE that arrived, were executed.
`;
}
