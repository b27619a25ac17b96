import { HwgenError } from '../errors.js';

/**
 * What both engines' build configs share: a JSON object with exactly the known keys, each a number, each
 * integer within its range; capacities rounded up to powers of two.
 */

/**
 * The config's fields as numbers, in `keys` order: unknown keys and missing or non-numeric ones are errors,
 * except the `optional` ones, which the returned object leaves undefined when absent.
 */
export function configFields(raw: unknown, keys: readonly string[], where: string, optional: readonly string[] = []): Record<string, number> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new HwgenError(`${where}: the config must be a JSON object`);
  const obj = raw as Record<string, unknown>;
  for (const k of Object.keys(obj)) {
    if (!keys.includes(k)) throw new HwgenError(`${where}: unknown config key '${k}'; known keys: ${keys.join(', ')}`);
  }
  for (const k of keys) {
    if (typeof obj[k] !== 'number' && !(optional.includes(k) && obj[k] === undefined)) {
      throw new HwgenError(`${where}: config key '${k}' is missing or not a number`);
    }
  }
  return Object.fromEntries(keys.map((k) => [k, obj[k] as number]));
}

/** Every field named in `limits` must be an integer in its [lo, hi]. */
export function checkLimits(c: object, limits: Record<string, readonly [number, number]>, where: string): void {
  for (const [k, [lo, hi]] of Object.entries(limits)) {
    const v = (c as Record<string, number>)[k];
    if (!Number.isInteger(v) || v < lo || v > hi) throw new HwgenError(`${where}: ${k} = ${v} is out of range; it must be an integer from ${lo} to ${hi}`);
  }
}

export const isPow2 = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;

/** The smallest power of two >= n (and >= 2): capacities of derived configs. */
export const pow2AtLeast = (n: number): number => 2 ** Math.ceil(Math.log2(Math.max(2, n)));
