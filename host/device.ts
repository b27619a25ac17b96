import { HwgenError } from '../src/errors.js';
import type { AnyEngine } from '../src/engines/engine.js';
import { ENGINES } from '../src/engines/registry.js';
import type { AnyBundle, EngineName } from '../src/model/types.js';
import { OP } from '../src/protocol/command-set.js';
import { joinData, packCommands, runCommand, splitResponses, statsCommand, type Command } from '../src/protocol/command-words.js';
import { FRAME, parseIdentity, type Identity } from '../src/protocol/link.js';
import { Link, LinkError, type LinkOptions, type LinkStats } from './link.js';
import { openTransport } from './open.js';

/** What a board carries, from its IDENTIFY answer. */
export interface DeviceInfo extends Identity {
  /** The engine the board's build has, and its config as the board reports it. */
  engineModule: AnyEngine;
  engineConfig: object;
}

export interface LoadOptions {
  /** Called after every frame the board acknowledged. */
  onProgress?: (p: { bytesDone: number; bytesTotal: number }) => void;
  /** Stops sending; the load rejects. */
  signal?: AbortSignal;
}

export interface RunResult {
  output: Int32Array;
  /** Compute cycles on the board (RUN to done). */
  cycles: number;
}

/**
 * A board (or its simulator) running an hwgen build, driven over any transport: `Device.open(url)`, `info()`,
 * `load(bundle)`, `run(input)`, `reset()`, `close()`. Everything goes through the link protocol, so a lost or
 * damaged byte costs a retransmission, never a wrong weight; a bundle the board cannot run is refused before
 * anything is sent.
 */
export class Device {
  private identity?: DeviceInfo;
  private loaded?: { bundle: AnyBundle; engine: AnyEngine; config: object };

  private constructor(private readonly link: Link) {}

  static async open(url: string, opts: Partial<LinkOptions> = {}): Promise<Device> {
    return new Device(new Link(await openTransport(url), opts));
  }

  /** The board's identity (asked once). */
  async info(): Promise<DeviceInfo> {
    if (this.identity) return this.identity;
    const words = await this.link.request(FRAME.IDENTIFY);
    let id: Identity;
    try {
      id = parseIdentity(words);
    } catch (e) {
      throw new LinkError(`the board's identity is malformed (${(e as Error).message}); is it an hwgen build of this version?`);
    }
    const engine = Object.hasOwn(ENGINES, id.engine) ? ENGINES[id.engine as EngineName] : undefined;
    if (!engine) throw new LinkError(`the board carries an engine this hwgen does not know ('${id.engine}'); use the hwgen that built it`);
    if (id.config.length !== engine.configKeys.length) throw new LinkError(`the board reports ${id.config.length} config fields; the ${engine.title} engine has ${engine.configKeys.length}: another hwgen version built it`);
    const config = engine.validateConfig(Object.fromEntries(engine.configKeys.map((k, i) => [k, id.config[i]])), "the board's identity");
    if (engine.configHash(config) !== id.configHash) throw new LinkError(`the board's config hash ${id.configHash} does not match its config (${engine.configHash(config)}): another hwgen version built it`);
    this.link.maxPayloadWords = id.maxPayloadWords;
    this.identity = { ...id, engineModule: engine, engineConfig: config };
    return this.identity;
  }

  /** Streams a bundle's weights to the board; refuses one for another engine, format or size before sending. */
  async load(given: AnyBundle, opts: LoadOptions = {}): Promise<{ frames: number; payloadBytes: number; seconds: number }> {
    const info = await this.info();
    if (given.engine !== info.engine) {
      throw new HwgenError(`the board carries the ${info.engineModule.title} engine; this bundle is for the ${ENGINES[given.engine].title} engine: build for it with hwgen build`);
    }
    const engine = info.engineModule;
    const { bundle, config } = engine.plan(given, { config: info.engineConfig });
    const t0 = performance.now();
    const frames = packCommands(engine.loadCommands(bundle, config), info.maxPayloadWords);
    const bytesTotal = frames.reduce((n, f) => n + 4 * f.reduce((m, c) => m + c.words.length, 0), 0);
    let bytesDone = 0;
    this.loaded = undefined;
    // Every load frame only writes: several share the link at once (the link's window bounds them).
    const inFlight = new Set<Promise<void>>();
    let failure: unknown;
    for (const cmds of frames) {
      if (opts.signal?.aborted || failure) break;
      const sent = this.exchange(cmds, true).then(() => {
        bytesDone += 4 * cmds.reduce((m, c) => m + c.words.length, 0);
        opts.onProgress?.({ bytesDone, bytesTotal });
      });
      const tracked: Promise<void> = sent.catch((e: unknown) => void (failure ??= e)).finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
      if (inFlight.size >= 2 * this.link.window) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    if (failure) throw failure;
    if (opts.signal?.aborted) throw new HwgenError('the load was stopped; the board holds part of the bundle: load it again before running');
    this.loaded = { bundle, engine, config };
    return { frames: frames.length, payloadBytes: bytesTotal, seconds: (performance.now() - t0) / 1000 };
  }

  /** One inference on the loaded bundle: `input` in the engine's integers (Engine.quantizeInput). */
  async run(input: Int32Array): Promise<RunResult> {
    if (!this.loaded) throw new HwgenError('no bundle is loaded on the board by this driver: load one first');
    const { bundle, engine, config } = this.loaded;
    const length = engine.input(bundle).length;
    if (input.length !== length) throw new HwgenError(`the input has ${input.length} values; the first layer takes ${length}`);
    await this.exchange(engine.inputCommands(bundle, input, config), true);
    const [run] = await this.exchange([runCommand(bundle.layers.length)], false);
    const reads = engine.readCommands(bundle, config);
    const answers = await this.exchange(reads, true);
    return { output: engine.decodeOutput(bundle, config, joinData(answers)), cycles: run[0] };
  }

  /** Runs inputs one after another (each needs the last one's output read before its input is written). */
  async runBatch(inputs: Int32Array[]): Promise<RunResult[]> {
    const out: RunResult[] = [];
    for (const x of inputs) out.push(await this.run(x));
    return out;
  }

  /** The engine's STATS counters, by name, and its per-layer cycles. */
  async stats(): Promise<{ counters: Record<string, number>; layerCycles: number[] }> {
    const info = await this.info();
    const engine = info.engineModule;
    const fields = engine.statsFields;
    const [words] = await this.exchange([statsCommand(fields.length + engine.layerSlots(info.engineConfig))], true);
    return { counters: Object.fromEntries(fields.map((f, i) => [f, words[i]])), layerCycles: Array.from(words.subarray(fields.length)) };
  }

  /** Aborts whatever the board is running; the weights stay. */
  async reset(): Promise<void> {
    await this.link.request(FRAME.RESET);
  }

  get linkStats(): LinkStats {
    return this.link.stats;
  }

  async close(): Promise<void> {
    await this.link.close();
  }

  /** Sends commands in frames that fit the board; returns each command's answer data, checked. */
  private async exchange(cmds: Command[], idempotent: boolean): Promise<Uint32Array[]> {
    const info = await this.info();
    const frames = packCommands(cmds, info.maxPayloadWords);
    const answers = await Promise.all(
      frames.map(async (f) => {
        const payload = Uint32Array.from(f.flatMap((c) => c.words));
        const reply = await this.link.request(FRAME.COMMAND, payload, { idempotent: idempotent && f.every((c) => c.op === OP.WRITE || c.op === OP.READ) });
        return splitResponses(f, reply, this.link.name);
      }),
    );
    return answers.flat();
  }
}
