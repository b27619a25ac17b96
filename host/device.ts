import { HwgenError } from '../src/errors.js';
import type { AnyEngine } from '../src/engines/engine.js';
import { ENGINES } from '../src/engines/registry.js';
import type { AnyBundle, EngineName } from '../src/model/types.js';
import { OP, parseStatus, type Mem } from '../src/protocol/command-set.js';
import { checksumCommands, expectedChecksums } from '../src/engines/checksum.js';
import { joinData, runCommand, splitResponses, statsCommand, takeFrame, type Command } from '../src/protocol/command-words.js';
import { FRAME, NO_LAST_SEQ, parseIdentity, STATUS_FIELDS, type Identity } from '../src/protocol/link.js';
import { Link, LinkError, type LinkOptions, type LinkStats } from './link.js';
import type { Transport } from './transport.js';
import { linkOptionsOf, openTransport } from './open.js';

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

/** One memory's copy on the board against the bundle (Device.verify). */
export interface MemoryCheck {
  mem: Mem;
  /** The PE whose copy this is; undefined for a memory the engine keeps once. */
  pe?: number;
  /** Items the load writes there, all checked. */
  items: number;
  ok: boolean;
  /** The first range that differs: its addresses and the two CRC-32s. */
  mismatch?: { addr: number; count: number; board: number; expected: number };
}

/** The board does not hold what the bundle says: `checks` names each memory (and PE) and whether it matched. */
export class VerifyError extends HwgenError {
  constructor(readonly checks: MemoryCheck[]) {
    const bad = checks.filter((c) => !c.ok);
    const where = (c: MemoryCheck) => `${c.mem}${c.pe === undefined ? '' : ` of PE ${c.pe}`}`;
    const first = bad[0].mismatch!;
    super(
      `the board's ${bad.map(where).join(', ')} ${bad.length === 1 ? 'differs' : 'differ'} from the bundle ` +
        `(${where(bad[0])} at addresses ${first.addr}..${first.addr + first.count - 1}: checksum 0x${first.board.toString(16).padStart(8, '0')}, ` +
        `the bundle's 0x${first.expected.toString(16).padStart(8, '0')}): load the bundle again; if it still differs, the memory or the build is faulty`,
    );
  }
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
  /** The frame size in words the link currently gets through well (0: the board's whole buffer). */
  private frameWords = 0;
  private loaded?: { bundle: AnyBundle; engine: AnyEngine; config: object };

  private constructor(private readonly link: Link) {}

  /** Opens a board by URL; the URL's `tries` and `timeout` apply unless `opts` overrides them. */
  static async open(url: string, opts: Partial<LinkOptions> = {}): Promise<Device> {
    const fromUrl = linkOptionsOf(url);
    return Device.over(await openTransport(url), { ...fromUrl, ...opts });
  }

  /** A device on a transport already open (a test puts a fault injector in between). */
  static over(transport: Transport, opts: Partial<LinkOptions> = {}): Device {
    return new Device(new Link(transport, opts));
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
    // A board keeps the reply of the last COMMAND it executed, perhaps for another process: our numbering must
    // not meet that number before the board has executed one of ours.
    const lastSeq = (await this.link.request(FRAME.STATUS))[STATUS_FIELDS.indexOf('lastSeq')];
    if (lastSeq !== NO_LAST_SEQ) this.link.avoid(lastSeq);
    this.identity = { ...id, engineModule: engine, engineConfig: config };
    return this.identity;
  }

  /** The bundle as the board's build stores it; refuses one for another engine, format or size. */
  private async planFor(given: AnyBundle): Promise<{ bundle: AnyBundle; config: object; engine: AnyEngine }> {
    const info = await this.info();
    if (given.engine !== info.engine) {
      throw new HwgenError(`the board carries the ${info.engineModule.title} engine; this bundle is for the ${ENGINES[given.engine].title} engine: build for it with hwgen build`);
    }
    const engine = info.engineModule;
    return { ...engine.plan(given, { config: info.engineConfig }), engine };
  }

  /** Streams a bundle's weights to the board; refuses one for another engine, format or size before sending. */
  async load(given: AnyBundle, opts: LoadOptions = {}): Promise<{ frames: number; payloadBytes: number; seconds: number }> {
    const { bundle, config, engine } = await this.planFor(given);
    const t0 = performance.now();
    const cmds = engine.loadCommands(bundle, config);
    const bytesTotal = 4 * cmds.reduce((n, c) => n + c.words.length, 0);
    let bytesDone = 0;
    let frames = 0;
    this.loaded = undefined;
    await this.exchange(cmds, {
      idempotent: true,
      signal: opts.signal,
      onFrame: (words) => {
        frames++;
        bytesDone += 4 * words;
        opts.onProgress?.({ bytesDone, bytesTotal });
      },
    });
    this.loaded = { bundle, engine, config };
    return { frames, payloadBytes: bytesTotal, seconds: (performance.now() - t0) / 1000 };
  }

  /**
   * Proves the board holds `given`: the board computes a CRC-32 of every memory a load writes, each PE's copy
   * (CHECKSUM, in hardware: nothing is read back over the link), and each is compared with the bundle's. Resolves
   * with one check per memory and copy when all match (the bundle then counts as loaded: run may use it, as on a
   * board loaded by an earlier process); otherwise rejects with a VerifyError naming them.
   */
  async verify(given: AnyBundle): Promise<MemoryCheck[]> {
    const { bundle, config, engine } = await this.planFor(given);
    const spec = engine.memories(config);
    const ranges = expectedChecksums(spec, engine.loadCommands(bundle, config));
    const answers = await this.exchange(checksumCommands(ranges), { idempotent: true });
    const checks = new Map<string, MemoryCheck>();
    ranges.forEach((r, i) => {
      const once = spec.memories.find((m) => m.mem === r.mem)?.read?.copies === undefined;
      const key = `${r.mem}/${r.pe}`;
      const check = checks.get(key) ?? { mem: r.mem, pe: once ? undefined : r.pe, items: 0, ok: true };
      checks.set(key, check);
      check.items += r.count;
      const board = answers[i].data[0];
      if (board !== r.crc && check.ok) {
        check.ok = false;
        check.mismatch = { addr: r.addr, count: r.count, board, expected: r.crc };
      }
    });
    const all = [...checks.values()];
    if (all.some((c) => !c.ok)) throw new VerifyError(all);
    this.loaded = { bundle, engine, config };
    return all;
  }

  /** One inference on the loaded bundle: `input` in the engine's integers (Engine.quantizeInput). */
  async run(input: Int32Array): Promise<RunResult> {
    if (!this.loaded) throw new HwgenError('no bundle is loaded on the board by this driver: load one first (or verify that the board holds it)');
    const { bundle, engine, config } = this.loaded;
    const length = engine.input(bundle).length;
    if (input.length !== length) throw new HwgenError(`the input has ${input.length} values; the first layer takes ${length}`);
    // One exchange: the input's write frames share the link, and the RUN travels in one frame with the reads of
    // its output once the writes have landed, so an inference costs two round trips rather than three.
    const cmds = [...engine.inputCommands(bundle, input, config), runCommand(bundle.layers.length), ...engine.readCommands(bundle, config)];
    const answers = await this.exchange(cmds, { idempotent: true });
    const run = answers.find((a) => a.op === OP.RUN)!;
    const output = joinData(answers.filter((a) => a.op === OP.READ).map((a) => a.data));
    return { output: engine.decodeOutput(bundle, config, output), cycles: run.data[0] };
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
    const [{ data: words }] = await this.exchange([statsCommand(fields.length + engine.layerSlots(info.engineConfig))], { idempotent: true });
    return { counters: Object.fromEntries(fields.map((f, i) => [f, words[i]])), layerCycles: Array.from(words.subarray(fields.length)) };
  }

  /**
   * Engine command words as they are (docs/commands.md), for tools and tests that poke a memory: sent in frames
   * like any others, each answer's data returned; a command the engine refuses throws.
   */
  async commands(cmds: Command[]): Promise<Uint32Array[]> {
    return (await this.exchange(cmds, { idempotent: cmds.every((c) => c.op !== OP.RUN) })).map((a) => a.data);
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

  /**
   * Sends commands in frames that fit the board and the link. A write-only frame that gets no good answer in a
   * few tries is sent again as two halves (the same writes, so repeating them is harmless), and the frames after
   * it stay short: a noisy link gets short frames through. Each clean frame grows the size by an eighth, up to the
   * board's buffer: slowly enough that frames settle near the length the link's error rate lets through, rather
   * than growing back into frames that fail. Write-only frames share the link several at a time; a frame with answers or a RUN waits for its
   * reply before the next goes. Returns each command's answer data, checked.
   */
  private async exchange(cmds: Command[], opts: { idempotent: boolean; signal?: AbortSignal; onFrame?: (words: number) => void }): Promise<Answer[]> {
    const max = (await this.info()).maxPayloadWords;
    const queue = [...cmds];
    const answers: Answer[] = [];
    const inFlight = new Set<Promise<void>>();
    let failure: unknown;
    while ((queue.length || inFlight.size) && !failure && !opts.signal?.aborted) {
      if (!queue.length) {
        await Promise.race(inFlight);
        continue;
      }
      const size = Math.min(max, this.frameWords || max);
      const frame = takeFrame(queue, size);
      const words = frame.reduce((n, c) => n + c.words.length, 0);
      const writeOnly = opts.idempotent && frame.every((c) => c.op === OP.WRITE && c.respWords === 0);
      if (!writeOnly && inFlight.size) {
        // A write frame in flight may still fail and come back to the queue as halves: the frame after the writes
        // (a RUN, a read) waits until every one has landed, so it never runs ahead of what it depends on.
        queue.unshift(...frame);
        await Promise.all(inFlight);
        continue;
      }
      const shrinkable = writeOnly && words > MIN_FRAME_WORDS;
      const tries = { count: 0 };
      const payload = Uint32Array.from(frame.flatMap((c) => c.words));
      const sent = this.link
        .request(FRAME.COMMAND, payload, { idempotent: writeOnly, tries, maxTries: shrinkable ? SHRINK_AFTER_TRIES : undefined, accept: (reply) => answersFit(frame, reply) })
        .then((reply) => {
          answers.push(...splitResponses(frame, reply, this.link.name).map((data, i) => ({ op: frame[i].op, data })));
          this.frameWords = tries.count > 1 ? Math.max(MIN_FRAME_WORDS, size >> 1) : Math.min(max, size + Math.max(1, size >> 3));
          opts.onFrame?.(words);
        })
        .catch((e: unknown) => {
          if (shrinkable && e instanceof LinkError && e.noAnswer) {
            queue.unshift(...frame);
            this.frameWords = Math.max(MIN_FRAME_WORDS, words >> 1);
          } else failure ??= e;
        });
      const tracked: Promise<void> = sent.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
      // A frame with answers is awaited itself, so answers come back in the order of their commands.
      if (!writeOnly) await tracked;
      else if (inFlight.size >= 2 * this.link.window) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    if (failure) throw failure;
    if (opts.signal?.aborted) throw new HwgenError('stopped: the board may hold part of what was being sent (load the bundle again before running)');
    return answers;
  }
}

/**
 * Whether `reply` has the shape of the answers to `cmds`: a status word naming each command's opcode, in order,
 * each followed by the words it counts, and nothing more. A reply of another shape answers another request (a
 * late reply with the same sequence number), so the link keeps waiting for ours; a refusal of the right shape
 * (a status other than OK) is ours, and splitResponses reports it.
 */
function answersFit(cmds: Command[], reply: Uint32Array): boolean {
  let at = 0;
  for (const cmd of cmds) {
    if (at >= reply.length) return false;
    const st = parseStatus(reply[at]);
    if (st.op !== cmd.op) return false;
    at += 1 + st.count;
  }
  return at === reply.length;
}

/** One command's answer data, with its opcode (a command split over frames answers once per part). */
interface Answer {
  op: number;
  data: Uint32Array;
}

/** The shortest frame the driver shrinks to on a noisy link (a RUN and a short read fit). */
const MIN_FRAME_WORDS = 16;
/** Tries a long write-only frame gets before it is sent as halves. */
const SHRINK_AFTER_TRIES = 3;
