import { readFileChecked, writeFileAtomic } from '../atomic.js';
import { HwgenError } from '../errors.js';
import { boundaryFor } from './boundary.js';
import { describe, layerAt, type SegmentCodec } from './codec.js';
import { CORRUPT, WHOLE_BUNDLE, assemble, checkAllTaken, readSections, takeSection } from './container.js';
import { eieCodec } from './eie-codec.js';
import { metaPayload, readMeta } from './meta.js';
import { checkLayerNames } from './names.js';
import { xnorCodec } from './xnor-codec.js';
import type { AnyBundle, Bundle, EngineName, Network } from './types.js';

/**
 * The `.hwb` bundle: the compressed model every stage after `hwgen compress` reads (docs/bundle.md). A file
 * holds a network of segments, each one engine's layers: the container (container.ts) frames the sections,
 * META's shared keys are meta.ts's, and each engine's codec reads and writes its own. One segment is a
 * version 2 file, byte for byte what hwgen wrote before networks; several are version 3.
 */

export { BUNDLE_MAGIC, BUNDLE_VERSION, NETWORK_VERSION, WHOLE_BUNDLE } from './container.js';
export { BUNDLE_MAX_CODE_LEN } from './eie-codec.js';

/** Every engine's codec, by the name META gives. A new engine's bundle is one line here. */
const CODECS: Record<EngineName, SegmentCodec> = {
  eie: eieCodec as unknown as SegmentCodec,
  xnor: xnorCodec as unknown as SegmentCodec,
};
const KNOWN_TAGS: ReadonlySet<string> = new Set(['META', ...Object.values(CODECS).flatMap((c) => c.tags)]);

function codecFor(b: AnyBundle, where: string): SegmentCodec {
  const c = Object.hasOwn(CODECS, b.engine) ? CODECS[b.engine] : undefined;
  if (!c) throw new HwgenError(`${where}: engine is ${describe((b as { engine: unknown }).engine)}; it must be ${Object.keys(CODECS).map((e) => `'${e}'`).join(' or ')}`);
  return c;
}

/** How messages name segment s of n: a one-segment network's messages are a bundle's. */
function segmentAt(where: string, s: number, n: number): string {
  return n === 1 ? where : `${where} segment ${s}`;
}

/** Values segment `b` takes and gives (what consecutive segments chain by). */
export function segmentInputs(b: AnyBundle): number {
  return codecFor(b, 'segment').inputs(b);
}

export function segmentOutputs(b: AnyBundle): number {
  return codecFor(b, 'segment').outputs(b);
}

// ───────────────────────────── validation ─────────────────────────────

/** Everything decodeBundle checks, applied to a bundle in memory (encodeBundle refuses what it could not read back). */
export function validateBundle(b: AnyBundle, where: string): void {
  const codec = codecFor(b, where);
  b.layers?.forEach((layer, l) => {
    if (!Object.hasOwn(CODECS, layer.kind)) throw new HwgenError(`${layerAt(where, l, layer.name)}: unknown layer kind ${describe(layer.kind)}`);
  });
  codec.validate(b, where);
}

/** Everything decodeNetwork checks, applied to a network in memory: each segment, then how they join. */
export function validateNetwork(net: Network, where: string): void {
  const n = net.segments.length;
  if (n === 0) throw new HwgenError(`${where}: the network has no segments; a model needs at least one`);
  net.segments.forEach((b, s) => validateBundle(b, segmentAt(where, s, n)));
  checkJoins(net, where);
}

/**
 * How valid segments join: segment k's outputs are segment k+1's inputs, through a boundary the two engines
 * have (src/model/boundary.ts), and layer names are unique over the network.
 */
export function checkJoins(net: Network, where: string): void {
  const n = net.segments.length;
  for (let s = 0; s + 1 < n; s++) {
    const a = net.segments[s];
    const b = net.segments[s + 1];
    const at = `${where}: segments ${s} (${a.engine}) and ${s + 1} (${b.engine})`;
    const boundary = boundaryFor(a, b, at);
    const out = segmentOutputs(a);
    const inp = segmentInputs(b);
    if (out !== inp) {
      throw new HwgenError(
        `${at}: layer '${a.layers[a.layers.length - 1].name}' gives ${out} outputs but layer '${b.layers[0].name}' takes ${inp} inputs; consecutive segments must chain`,
      );
    }
    boundary.check(a, b, at);
  }
  // Names are unique over the network: they name generated files and exported arrays.
  if (n > 1) checkLayerNames(net.segments.flatMap((b) => b.layers.map((l) => l.name)), where, CORRUPT);
}

// ───────────────────────────── encoding ─────────────────────────────

export function encodeBundle(b: AnyBundle): Uint8Array {
  return encodeNetwork({ segments: [b] }, 'bundle');
}

/** The file's bytes: a one-segment network as version 2 (the bytes hwgen always wrote), several as version 3. */
export function encodeNetwork(net: Network, where = 'network'): Uint8Array {
  validateNetwork(net, where);
  const n = net.segments.length;
  return assemble(
    net.segments.map((b, s) => {
      const { formats, layers, sections } = codecFor(b, where).encode(b, segmentAt(where, s, n));
      return [{ tag: 'META', index: WHOLE_BUNDLE, payload: metaPayload(b, formats, layers) }, ...sections];
    }),
  );
}

// ───────────────────────────── decoding ─────────────────────────────

/** Decodes a network of any number of segments (a version 1 or 2 file is one). */
export function decodeNetwork(buf: Uint8Array, where: string): Network {
  const { version, segments } = readSections(buf, KNOWN_TAGS, where);
  const n = segments.length;
  const net: Network = {
    segments: segments.map((sections, s) => {
      const at = segmentAt(where, s, n);
      const metaSec = takeSection(sections, 'META', WHOLE_BUNDLE);
      if (!metaSec) throw new HwgenError(`${at}: no META section; ${CORRUPT}`);
      const { codec, parts } = readMeta(metaSec, version, CODECS, at);
      const b = codec.decode(parts, (tag, l) => takeSection(sections, tag, l), at);
      checkAllTaken(sections, b.layers.length, at);
      return b;
    }),
  };
  checkJoins(net, where);
  return net;
}

/** Decodes a one-segment bundle of either engine; a network of several segments is refused with a message that says so. */
export function decodeAnyBundle(buf: Uint8Array, where: string): AnyBundle {
  return onlySegment(decodeNetwork(buf, where), where);
}

/** Decodes an EIE bundle; a binary (XNOR) bundle is refused with a message that says so. */
export function decodeBundle(buf: Uint8Array, where: string): Bundle {
  const b = decodeAnyBundle(buf, where);
  if (b.engine !== 'eie') {
    throw new HwgenError(`${where}: the bundle holds binary (XNOR) layers, which run on the XNOR units, not the EIE engine; use it with the XNOR tools (docs/xnor.md)`);
  }
  return b;
}

function onlySegment(net: Network, where: string): AnyBundle {
  if (net.segments.length === 1) return net.segments[0];
  const list = net.segments.map((b) => `${b.engine} (${b.layers.map((l) => l.name).join(', ')})`).join(' → ');
  throw new HwgenError(`${where}: the bundle is a hybrid network of ${net.segments.length} segments, ${list}; this command does not take hybrid bundles yet`);
}

// ───────────────────────────── files ─────────────────────────────

/** Writes atomically (temp file, fsync, rename); an invalid bundle fails before any file is touched. */
export function writeBundle(path: string, b: AnyBundle): void {
  writeNetwork(path, { segments: [b] });
}

export function writeNetwork(path: string, net: Network): void {
  writeFileAtomic(path, encodeNetwork(net, path), 'bundle');
}

/** Reads an EIE bundle (a binary one is refused with a clear message). */
export function readBundle(path: string): Bundle {
  return decodeBundle(readFileChecked(path, 'bundle'), path);
}

/** Reads a one-segment bundle of either engine (a hybrid network is refused with a clear message). */
export function readAnyBundle(path: string): AnyBundle {
  return decodeAnyBundle(readFileChecked(path, 'bundle'), path);
}

/** Reads a network of any number of segments. */
export function readNetwork(path: string): Network {
  return decodeNetwork(readFileChecked(path, 'bundle'), path);
}
