import { HwgenError } from '../errors.js';

/**
 * Layer names become identifiers in generated files and member names in exported archives, so a name is
 * [A-Za-z0-9_], starts with a letter (or '_' + letter) and is unique in a network: `../../x` can never reach a
 * file system, and two layers never write the same NAME.weight.
 */
const LAYER_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

/** A name from a weights file cleaned up to a layer name: keep [A-Za-z0-9_], map the rest to '_'. */
export function layerName(raw: string): string {
  const s = raw.replace(/[^A-Za-z0-9_]/g, '_').replace(/^_+|_+$/g, '');
  return s === '' ? 'layer' : /^[0-9]/.test(s) ? `l${s}` : s;
}

/** Throws unless every name is a valid layer name and no two are equal; `fix` says what to do about it. */
export function checkLayerNames(names: readonly string[], where: string, fix: string): void {
  const seen = new Map<string, number>();
  names.forEach((name, i) => {
    if (!LAYER_NAME.test(name)) {
      throw new HwgenError(`${where}: layer ${i} is named ${JSON.stringify(name)}; a layer name is letters, digits and '_', starting with a letter; ${fix}`);
    }
    const before = seen.get(name);
    if (before !== undefined) throw new HwgenError(`${where}: layers ${before} and ${i} are both named '${name}'; layer names must be unique; ${fix}`);
    seen.set(name, i);
  });
}
