import { readFileChecked } from '../atomic.js';
import { HwgenError } from '../errors.js';
import type { PerLayer } from '../compress/compress.js';

/**
 * Parses a per-layer value: "0.1" for every layer, or "fc1=0.1,fc2=0.3" per layer name.
 * `ok` says whether a value is allowed and `range` how to say so.
 */
export function parsePerLayer(flag: string, text: string, ok: (x: number) => boolean, range: string): PerLayer {
  const num = (s: string) => {
    const x = Number(s);
    if (s.trim() === '' || !Number.isFinite(x) || !ok(x)) throw new HwgenError(`--${flag} ${text}: '${s}' is not ${range}`, 2);
    return x;
  };
  if (!text.includes('=')) return num(text);
  const out: Record<string, number> = {};
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new HwgenError(`--${flag} ${text}: '${part}' is not NAME=VALUE; write e.g. fc1=0.1,fc2=0.3`, 2);
    const name = part.slice(0, eq).trim();
    if (Object.hasOwn(out, name)) throw new HwgenError(`--${flag} ${text}: layer '${name}' is given twice; give each layer once`, 2);
    out[name] = num(part.slice(eq + 1));
  }
  return out;
}

/**
 * One rule for every option that takes a value: given twice, it is an error (yargs would hand the command an
 * array, and `--trace a --trace b` would write a file named "a,b"). A flag given twice is still that flag.
 */
export function refuseRepeated(argv: Record<string, unknown>): void {
  // An option and its aliases (-o/--output, --fifo-depth/--fifoDepth) all hold the array: name the long, dashed one.
  const repeated = Object.keys(argv)
    .filter((k) => k !== '_' && Array.isArray(argv[k]))
    .sort((a, b) => Number(/[A-Z]/.test(a)) - Number(/[A-Z]/.test(b)) || b.length - a.length);
  if (repeated.length === 0) return;
  const k = repeated[0];
  const values = (argv[k] as unknown[]).map(String).join(', ');
  throw new HwgenError(`${k.length > 1 ? '--' : '-'}${k} is given more than once (${values}); give it once`, 2);
}

/** An option that does nothing unless `applies` holds: giving it anyway is an error that says `why`. */
export interface ModeRule {
  /** The long option name, dashed ("fifo-depth"). */
  option: string;
  applies: (argv: Record<string, unknown>) => boolean;
  /** Completes "--OPTION has no effect ...", e.g. "with --config: the config file sets fifoDepth". */
  why: string;
}

/**
 * Refuses options the user typed that do nothing in the mode given. Only the raw arguments tell what the user
 * typed: yargs fills in defaults, so argv has a value for every option.
 */
export function refuseInert(raw: readonly string[], argv: Record<string, unknown>, rules: readonly ModeRule[]): void {
  const typed = typedOptions(raw);
  for (const r of rules) {
    if (typed.has(r.option) && !r.applies(argv)) throw new HwgenError(`--${r.option} has no effect ${r.why}; leave it out`, 2);
  }
}

/** Long option names as typed (dashed, without a "no-" prefix), up to a "--" that ends the options. */
export function typedOptions(raw: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const a of raw) {
    if (a === '--') break;
    const m = /^--(?:no-)?([^=]+)/.exec(a);
    if (m) out.add(m[1].replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`));
  }
  return out;
}

/** A JSON file (an engine config), or an error naming the file and what is wrong with it. */
export function readJson(path: string): unknown {
  const text = new TextDecoder().decode(readFileChecked(path, 'config'));
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new HwgenError(`${path}: cannot read the config as JSON (${(e as Error).message})`);
  }
}
