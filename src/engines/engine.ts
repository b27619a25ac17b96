import type { Command } from '../protocol/command-words.js';
import type { DecoderSpec } from '../gen/decoder.js';
import type { Saturations } from '../golden/saturation.js';
import type { NdArray } from '../model/ndarray.js';
import type { AnyBundle, ConvShape, EngineName, NumericFormat } from '../model/types.js';

/**
 * What hwgen knows about one kind of engine, in one place: its build config, its Verilog, the command words
 * that load a bundle into it and run it, the golden model of what it computes, and how its bundles export and
 * report. Everything above src/engines asks the registry (src/engines/registry.ts) for the engine a bundle
 * names; a new engine is a folder here plus one line in the registry.
 */
export interface Engine<B extends AnyBundle = AnyBundle, C extends object = object> {
  /** The name a bundle's META gives (`engine`), the registry key. */
  name: B['engine'];
  /** For people: "EIE", "XNOR". */
  title: string;
  /** The top module of the rendered Verilog. */
  top: string;

  // ── the build config ──
  /** The config's fields in their one order: the hash, and the identity a board reports, list them so. */
  configKeys: readonly string[];
  /** Checks a config object read from a file (every key, range and relation). */
  validateConfig(raw: unknown, where: string): C;
  /**
   * The build for a bundle: the given config, or one read from a config file, or one derived from the bundle
   * and the options; and the bundle as that build stores it (the EIE engine re-interleaves it for the build's
   * PEs). Refuses an option the engine has no use for, and a bundle that does not fit the build: the one
   * place where a bundle meets a build.
   */
  plan(bundle: B, opts: BuildOptions<C>): { bundle: B; config: C };
  configHash(c: C): string;
  /** The build's processing elements: EIE PEs, XNOR rows (P). */
  pes(c: C): number;
  /** The most processing elements any build has (the config's limit). */
  maxPes: number;
  /**
   * The same build with n processing elements, planned for the bundle; undefined when the engine cannot build
   * n (an XNOR S must be a multiple of P). Finds the largest build that fits a part; with `part`, what the
   * config chose for the part is chosen again for n (EIE: entries per sparse word).
   */
  withPes(bundle: B, c: C, n: number, part?: PartHints): { bundle: B; config: C } | undefined;
  /** The build in a few words for reports: "16 PEs, queue depth 8". */
  describe(c: C): string;
  /** Every Verilog file of the build, by name, in a fixed order; `part` says what the target's part offers. */
  render(c: C, part?: PartHints): Map<string, string>;
  /**
   * What a resource estimate needs without synthesis (src/targets/estimate.ts): every memory the RTL declares,
   * by shape (block RAMs are counted from them), and the sizes its logic grows with (LUT, FF and DSP are
   * coefficients per term, fitted to yosys).
   */
  resourceShape(c: C, part?: PartHints): ResourceShape;
  /**
   * Clocks one input takes by the engine's cycle model, without simulating (images per second at a clock). EIE:
   * a column broadcast per clock and an entry per PE per clock, with every activation non-zero (sparse inputs run
   * faster); XNOR: a fold per clock.
   */
  cycleModel(bundle: B, c: C): number;

  // ── the command image (docs/commands.md) ──
  /** The build's memories as its command decoder sees them: codes, widths, copies (what CHECKSUM reads back). */
  memories(c: C): DecoderSpec;
  loadCommands(bundle: B, c: C): Command[];
  inputCommands(bundle: B, x: Int32Array, c: C): Command[];
  readCommands(bundle: B, c: C): Command[];
  /** The network's output from the data words of the read commands' answers, concatenated. */
  decodeOutput(bundle: B, c: C, words: Uint32Array): Int32Array;
  /** The words STATS answers with, in order; one compute-cycle count per layer slot follows them. */
  statsFields: readonly string[];
  /** Layer slots of the build (the per-layer cycle counts STATS reports). */
  layerSlots(c: C): number;

  // ── the network ──
  /** Inputs the first layer takes, and its image shape when it is a convolution. */
  input(bundle: B): { length: number; image?: ConvShape };
  /** Values the network's output holds. */
  outputLength(bundle: B): number;
  /** A real-valued input vector in the form the engine takes (fixed point, or sign bits); clipped values counted in `sat`. */
  quantizeInput(bundle: B, x: ArrayLike<number>, sat?: Saturations): Int32Array;
  /** Each layer's output for one input, bit for bit as the hardware computes it; saturations counted per layer in `sat`. */
  forward(bundle: B, x: Int32Array, sat?: Saturations[]): Int32Array[];
  /** The real value of an output integer (scores: fixed point; bits: ±1). */
  outputValue(bundle: B): (q: number) => number;

  // ── files and reports ──
  /** The arrays `hwgen export` writes. */
  exportArrays(bundle: B): { name: string; array: NdArray }[];
  /** The compression report: printed text and the JSON fields. */
  report(bundle: B): { text: string; json: object };
}

/**
 * One memory of the RTL as synthesis sees it: bits per word, words, how many copies (one per PE), and its ports:
 * `sp` one read-write port, `dp` a read-write port and a read port, `sdp` a write port and a read port.
 */
export interface RamShape {
  name: string;
  width: number;
  depth: number;
  copies: number;
  ports: 'sp' | 'dp' | 'sdp';
  /** In the part's huge RAM blocks (PartHints.hugeRam), not block RAM. */
  huge?: boolean;
  /** Read in the clock it is addressed (a counter updated in place): no block RAM holds it, only logic or LUT RAM. */
  asyncRead?: boolean;
}

/** An engine's memories and the sizes its logic grows with (EIE: PEs; XNOR: rows, rows × lanes). */
export interface ResourceShape {
  memories: RamShape[];
  terms: Record<string, number>;
}

/** What a target's part offers that an engine may choose to use; absent: plain block RAM and logic. */
export interface PartHints {
  /**
   * Large single-port RAM blocks (iCE40 UltraPlus SPRAM): yosys's `ram_style` for them, each block's width and
   * depth, and how many the part has. An engine may put a memory with one port in them when its copies fit.
   */
  hugeRam?: { style: string; width: number; depth: number; count: number };
}

/** Huge RAM blocks one memory of `width` × `depth` takes: whole blocks side by side, then deep. */
export function hugeBlocks(huge: NonNullable<PartHints['hugeRam']>, width: number, depth: number): number {
  return Math.ceil(width / huge.width) * Math.ceil(depth / huge.depth);
}

/** How to choose the build for a bundle (CLI flags); an engine refuses those it has no use for. */
export interface BuildOptions<C extends object = object> {
  /** A validated config, used as it is. */
  config?: C;
  /** A config file's parsed contents and its name, for messages. */
  configFile?: { raw: unknown; where: string };
  /** EIE: processing elements (the bundle is re-interleaved for them). */
  pes?: number;
  /** EIE: activation queue depth per PE. */
  fifoDepth?: number;
  /** EIE: sparse entries per memory word (a power of two; the word's width is this × the entry's bits). */
  entriesPerWord?: number;
  /** What the target's part offers, so an engine can plan for it (EIE: sparse words that fit its huge RAM). */
  part?: PartHints;
}

/** A report as `hwgen inspect` prints it: the formats line (with each engine's names for the weight and wide words), then the table. */
export function engineReport(b: AnyBundle, report: object, table: string, weightName: string, wideName: string): { text: string; json: object } {
  const n: NumericFormat = b.numeric;
  return {
    json: { numeric: n, meta: b.meta, ...report },
    text: `activations ${n.actBits}-bit (${n.actFrac} fractional), ${weightName} ${n.weightBits}-bit, ${wideName} ${n.accBits}-bit\n${table}`,
  };
}

/** Any registered engine, as code above src/engines sees it. */
export type AnyEngine = Engine<AnyBundle, object>;

export type { EngineName };
