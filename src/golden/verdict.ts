/** Whether a simulation's outputs equal the golden model's, and where they first differ. */
export interface GoldenVerdict {
  match: boolean;
  firstMismatch?: { input: number; index: number; rtl: number; golden: number };
}

/** Compares each input's RTL output with `golden(n)`, stopping at the first difference. */
export function goldenVerdict(outputs: Int32Array[], golden: (input: number) => Int32Array): GoldenVerdict {
  for (const [input, y] of outputs.entries()) {
    const want = golden(input);
    const index = want.findIndex((v, i) => v !== y[i]);
    if (index >= 0) return { match: false, firstMismatch: { input, index, rtl: y[index], golden: want[index] } };
  }
  return { match: true };
}
