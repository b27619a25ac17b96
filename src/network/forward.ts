import { engineFor } from '../engines/registry.js';
import type { Saturations } from '../golden/saturation.js';
import { boundaryFor } from '../model/boundary.js';
import type { Network } from '../model/types.js';

/**
 * The golden model of a network: each segment's forward (its engine's, bit for bit as the hardware computes
 * it), joined by the boundary conversions (src/model/boundary.ts, docs/numbers.md "Between segments").
 * Returns, per segment, each layer's output; the last of the last is the network's. `sat[s][l]` counts
 * segment s's layer l.
 */
export function networkForward(net: Network, input: Int32Array, sat?: Saturations[][]): Int32Array[][] {
  const outs: Int32Array[][] = [];
  let x = input;
  net.segments.forEach((b, s) => {
    if (s > 0) {
      const a = net.segments[s - 1];
      x = boundaryFor(a, b, `segments ${s - 1} and ${s}`).convert(a, b, x);
    }
    const layers = engineFor(b).forward(b, x, sat?.[s]);
    outs.push(layers);
    x = layers[layers.length - 1];
  });
  return outs;
}

/** The network's output for one input. */
export function networkOutput(net: Network, input: Int32Array): Int32Array {
  return networkForward(net, input).at(-1)!.at(-1)!;
}
