import { HwgenError } from '../errors.js';
import type { AnyBundle, BinaryBundle, Bundle } from './types.js';

/**
 * Where one segment of a network hands its output to the next (DESIGN.md, "Networks of segments"): which pairs
 * of engines may follow one another, what each needs of the two segments, and how the values cross
 * (docs/numbers.md, "Between segments"). A new kind of boundary is an entry in BOUNDARIES.
 */
export interface Boundary<A extends AnyBundle = AnyBundle, B extends AnyBundle = AnyBundle> {
  from: A['engine'];
  to: B['engine'];
  /** Refuses two segments this boundary cannot join (their lengths already chain); `at` names the boundary. */
  check(a: A, b: B, at: string): void;
  /** Segment a's output as segment b's input, bit for bit as the chip converts it. */
  convert(a: A, b: B, out: Int32Array): Int32Array;
}

/**
 * XNOR → EIE: the last binary map's bits b become EIE activations 0 or 1.0 (1 << actFrac), in the map's
 * order (channel fastest). The ±1 of a bit is folded into the first FC layer at compress time
 * (W·(2b − 1) + c = 2W·b + (c − W·1)), so the EIE engine sees 0/1 and still skips the zeros.
 */
const xnorToEie: Boundary<BinaryBundle, Bundle> = {
  from: 'xnor',
  to: 'eie',
  check(a, b, at) {
    const last = a.layers[a.layers.length - 1];
    if (last.output !== 'threshold') {
      throw new HwgenError(`${at}: layer '${last.name}' outputs scores, but the EIE layer '${b.layers[0].name}' after it takes the bits of a threshold layer; end the binary segment with a threshold layer`);
    }
    const { actBits, actFrac } = b.numeric;
    if (actFrac > actBits - 2) {
      throw new HwgenError(`${at}: the EIE layer '${b.layers[0].name}' takes ${actBits}-bit activations with ${actFrac} fractional bits, which cannot hold the 1.0 a bit becomes; use actFrac <= actBits - 2`);
    }
  },
  convert(_a, b, out) {
    const one = 2 ** b.numeric.actFrac;
    return Int32Array.from(out, (bit) => (bit ? one : 0));
  },
};

export const BOUNDARIES: readonly Boundary[] = [xnorToEie as unknown as Boundary];

/** The boundary from segment a to segment b, or a clear error naming both segments' layers when none exists. */
export function boundaryFor(a: AnyBundle, b: AnyBundle, at: string): Boundary {
  const found = BOUNDARIES.find((x) => x.from === a.engine && x.to === b.engine);
  if (found) return found;
  const known = BOUNDARIES.map((x) => `${x.from} → ${x.to}`).join(', ');
  const lastA = a.layers[a.layers.length - 1].name;
  throw new HwgenError(`${at}: a ${a.engine} segment (ending with layer '${lastA}') cannot feed a ${b.engine} segment (starting with layer '${b.layers[0].name}'); segments join ${known} only${a.engine === b.engine ? ", and consecutive layers of one engine belong in one segment" : ''}`);
}
