import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AnyEngine } from '../engines/engine.js';
import { encodeLoadImage, loadImage } from '../engines/load-image.js';
import type { AnyBundle } from '../model/types.js';
import { PACKAGE_ROOT } from '../paths.js';
import { commandsCHeader } from '../protocol/emit.js';
import { linkCHeader } from '../protocol/emit-link.js';
import type { ShellConfig } from '../shell/config.js';

/** The C client's hand-written files, copied into every build folder beside the generated headers. */
export const C_CLIENT_SOURCES = ['hwgen_client.h', 'hwgen_client.c', 'hwgen-client.c', 'hwgen_dma.h', 'hwgen_dma.c', 'hwgen-bridge.c', 'Makefile'] as const;

/** The load image every build folder carries for the model it was built for. */
export const MODEL_IMAGE = 'model.img';

/**
 * What every build folder gets for the host, whatever the target: `c/` (the C client library, `hwgen-client`,
 * its Makefile, and the generated `hwgen_link.h` and `hwgen_commands.h`) and `model.img`, the load image of the
 * build's model, so a host in C loads and runs it without reading a bundle (docs/load-image.md).
 */
export function writeHostFiles(dir: string, engine: AnyEngine, bundle: AnyBundle, config: object, shell: ShellConfig): void {
  const c = join(dir, 'c');
  mkdirSync(c);
  writeFileSync(join(c, 'hwgen_link.h'), linkCHeader());
  writeFileSync(join(c, 'hwgen_commands.h'), commandsCHeader());
  for (const f of C_CLIENT_SOURCES) writeFileSync(join(c, f), readFileSync(join(PACKAGE_ROOT, 'c', f)));
  writeFileSync(join(dir, MODEL_IMAGE), encodeLoadImage(loadImage(engine, bundle, config, shell.maxPayloadWords)));
  appendFileSync(join(dir, 'README.md'), README_C);
}

/** The section every build folder's README ends with. */
const README_C = `
## From C, on any POSIX host

\`c/\` is a small C client for this build: the link protocol (frames, CRC-32, sequence numbers, resends) in
\`hwgen_client.c\`, the generated \`hwgen_link.h\` and \`hwgen_commands.h\`, and a program, \`hwgen-client\`.
\`${MODEL_IMAGE}\` is the load image of the model this folder was built for: the frames that load it, the
checksums that prove it, and where each input and output value travels, so C never reads a bundle.

    make -C c                                   # plain cc, no other dependency
    c/hwgen-client DEVICE info                  # DEVICE: a serial port, a path that carries the link, or fd:R,W
    c/hwgen-client DEVICE load ${MODEL_IMAGE}
    c/hwgen-client -m ${MODEL_IMAGE} DEVICE run images.u8 scores.i32

\`run\` reads inputs back to back, one byte per value (8-bit pixels, taken as p / 255; \`-i\` takes the engine's
int32 values instead), and writes each input's outputs as little-endian int32. \`-b BAUD\`, \`-t TIMEOUT_MS\`
and \`-r TRIES\` set the link. docs/load-image.md in the hwgen package describes the image. \`make\` also builds
\`hwgen-bridge\`, the Zynq DMA build's board-side server of the link (it runs only on such a board).
`;
