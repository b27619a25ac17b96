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
    out[part.slice(0, eq).trim()] = num(part.slice(eq + 1));
  }
  return out;
}
