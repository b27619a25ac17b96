/** `--name N` from a benchmark's arguments, or the default. */
export function argValue(args: string[], name: string, dflt: number): number {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const x = Number(args[i + 1]);
  if (!Number.isFinite(x)) throw new Error(`${name} needs a number, got '${args[i + 1]}'`);
  return x;
}
