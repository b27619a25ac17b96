/**
 * bench/targets-ice40: what `hwgen build --target ice40` makes of the default models on each iCE40 board — the
 * largest build that fits (nextpnr's packing decides), its logic cells, block RAMs, Fmax and the PLL clock
 * chosen, and images per second at that clock (cycles per image from the engine under Verilator on Fashion-MNIST
 * test images; the UART's bytes per image at the default baud bound it too). Each row is a whole build: minutes.
 * Usage: npm run bench -- targets-ice40 [--boards icebreaker,hx8k-breakout] [--models eie,xnor]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simulate } from '../host/simulate.js';
import { engineFor } from '../src/engines/registry.js';
import { HwgenError } from '../src/errors.js';
import { readAnyBundle } from '../src/model/bundle.js';
import type { AnyBundle } from '../src/model/types.js';
import { DEFAULT_MODELS } from '../src/model/default-models.js';
import { runCommand } from '../src/protocol/command-words.js';
import { DEFAULT_BAUD, FRAME_OVERHEAD_WORDS } from '../src/protocol/link.js';
import { buildTarget, type BuildResult } from '../src/targets/build.js';
import { ICE40_BOARDS, partHints } from '../src/targets/ice40.js';
import { FASHION_MNIST_DIR, loadTestSet } from '../src/train/dataset.js';

/** Fashion-MNIST test images each build runs under Verilator, as bench/targets's throughput section does. */
const IMAGES = 20;

function option(args: string[], name: string, all: string[]): string[] {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1].split(',') : all;
}

/**
 * The largest build of `model` that fits `board`: the one `hwgen build --target ice40` plans (the model's PE
 * count, the part's hints: on the UP5K, sparse words its SPRAMs hold), or the PE count the refusal names.
 */
async function largest(model: string, bundle: AnyBundle, board: string, out: string): Promise<{ result?: BuildResult; why?: string }> {
  const engine = engineFor(bundle);
  let config = engine.plan(bundle, { part: partHints(ICE40_BOARDS[board]) }).config;
  for (;;) {
    try {
      return { result: await buildTarget({ target: 'ice40', model, board, build: { configFile: { raw: config, where: 'bench' } }, out, force: true }) };
    } catch (e) {
      if (!(e instanceof HwgenError)) throw e;
      // yosys's refusal names the largest that fits; the block RAM count's names the most that can.
      const n = /(?:the largest build that fits is|at most) (\d+) PE/.exec(e.message);
      const smaller = n && engine.withPes(bundle, config, Number(n[1]));
      if (!smaller) return { why: e.message };
      config = smaller.config;
    }
  }
}

export async function benchTargetsIce40(args: string[]): Promise<void> {
  const boards = option(args, '--boards', Object.keys(ICE40_BOARDS));
  const models = option(args, '--models', ['eie', 'xnor']) as (keyof typeof DEFAULT_MODELS)[];
  const root = mkdtempSync(join(tmpdir(), 'hwgen-bench-ice40-'));
  const test = loadTestSet(FASHION_MNIST_DIR);
  console.log(`bench/targets-ice40: the default models, the largest build that fits each board (UART at ${DEFAULT_BAUD} baud)`);
  console.log('board           engine  build                      LC            BRAM      DSP  Fmax MHz  clock MHz  cycles/image  images/s (compute, UART)');
  try {
    for (const board of boards) {
      for (const m of models) {
        const model = DEFAULT_MODELS[m];
        const t0 = performance.now();
        const bundle = readAnyBundle(model);
        const engine = engineFor(bundle);
        const got = await largest(model, bundle, board, join(root, `${board}-${m}`));
        const head = `${board.padEnd(15)} ${m.padEnd(6)}`;
        if (!got.result) {
          console.log(`${head}  none fits: ${got.why}`);
          continue;
        }
        const r = got.result;
        const res = r.resources!;
        const inputs = Array.from({ length: IMAGES }, (_, n) => engine.quantizeInput(bundle, test.images.subarray(n * test.pixels, (n + 1) * test.pixels)));
        const sim = simulate(bundle, inputs, { configFile: { raw: r.manifest.config, where: 'the build' } });
        if (!sim.golden.match) throw new Error(`${board} ${m}: the RTL disagrees with the golden model`);
        const cycles = sim.cycles.reduce((a, b) => a + b, 0) / sim.cycles.length;
        // One inference is one COMMAND frame (write the input, RUN, read the output) and its ACK, 10 bits a byte.
        const cfg = r.manifest.config;
        const cmds = [...engine.inputCommands(bundle, inputs[0], cfg), runCommand(bundle.layers.length), ...engine.readCommands(bundle, cfg)];
        const words = cmds.reduce((s, c) => s + c.words.length + 1 + c.respWords, 0) + 2 * FRAME_OVERHEAD_WORDS;
        const bytes = 4 * words;
        const uartPerSecond = DEFAULT_BAUD / 10 / bytes;
        const fmt = (k: string) => (res[k] ? `${res[k].used}/${res[k].available}` : '-');
        console.log(
          `${head}  ${engine.describe(r.manifest.config).padEnd(25)}  ${fmt('LC').padEnd(12)}  ${fmt('BRAM').padEnd(8)}  ${fmt('DSP').padEnd(4)}  ${r.fmaxMHz!.toFixed(1).padStart(8)}  ${(r.clockHz! / 1e6).toFixed(2).padStart(9)}  ${cycles.toFixed(0).padStart(12)}  ${(r.clockHz! / cycles).toFixed(0)}, ${uartPerSecond.toFixed(0)}   (${((performance.now() - t0) / 1000).toFixed(0)} s)`,
        );
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
