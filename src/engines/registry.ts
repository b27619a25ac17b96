import { HwgenError } from '../errors.js';
import type { AnyBundle, EngineName } from '../model/types.js';
import type { AnyEngine } from './engine.js';
import { eieEngine } from './eie/index.js';
import { xnorEngine } from './xnor/index.js';

/** Every engine hwgen generates, by the name bundles give. A new engine is one line here. */
export const ENGINES: Record<EngineName, AnyEngine> = {
  eie: eieEngine,
  xnor: xnorEngine,
};

/** The engine a bundle runs on. */
export function engineFor(bundle: AnyBundle): AnyEngine {
  const e = ENGINES[bundle.engine];
  if (!e) throw new HwgenError(`the bundle names engine '${String(bundle.engine)}', which this hwgen does not have (it has ${Object.keys(ENGINES).join(', ')})`);
  return e;
}
