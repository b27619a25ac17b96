/**
 * Where fixed point clipped a value, per layer. The hardware saturates instead of wrapping, so a run whose values
 * left the formats still "matches" bit for bit while computing the wrong network: these counts say so.
 */
export interface Saturations {
  /** Input values clipped by quantizing them to the activation format (the first layer's real inputs). */
  inputs: number;
  /** Accumulator additions that saturated (EIE; the XNOR accumulator cannot overflow). */
  accumulator: number;
  /** Outputs clipped to the activation format. */
  outputs: number;
}

export function noSaturations(): Saturations {
  return { inputs: 0, accumulator: 0, outputs: 0 };
}

export function totalSaturations(s: readonly Saturations[]): number {
  return s.reduce((t, x) => t + x.inputs + x.accumulator + x.outputs, 0);
}

/** "fc1: 3 inputs clipped, 12 accumulator adds saturated; fc2: ..." for the layers where anything clipped. */
export function describeSaturations(s: readonly Saturations[], names: readonly string[]): string {
  const parts: string[] = [];
  s.forEach((x, l) => {
    const what = [
      x.inputs ? `${x.inputs} input(s) clipped` : '',
      x.accumulator ? `${x.accumulator} accumulator add(s) saturated` : '',
      x.outputs ? `${x.outputs} output(s) clipped` : '',
    ].filter(Boolean);
    if (what.length) parts.push(`${names[l]}: ${what.join(', ')}`);
  });
  return parts.join('; ');
}

/**
 * The warning a command prints when fixed point clipped (or undefined when nothing did): a run that saturates
 * gives wrong answers however exactly the hardware matches the golden model.
 */
export function saturationWarning(s: readonly Saturations[], names: readonly string[], where: string): string | undefined {
  if (totalSaturations(s) === 0) return undefined;
  return (
    `hwgen: warning: fixed point saturated ${where} (${describeSaturations(s, names)}); ` +
    `outputs where it happens are wrong: scale the network's weights or biases down, or give the activations ` +
    `more integer bits (lower --act-frac or raise --act-bits)\n`
  );
}
