import { readdirSync, readFileSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';

/**
 * Which part of the code may import which: imports run one way, downward (README, "Repository map").
 * Each layer names the layers it may import besides itself. A new engine, target or transport is a file in
 * its folder: none of them needs a new rule.
 */
export const LAYERS: { name: string; holds: string[]; imports: string[] }[] = [
  { name: 'base', holds: ['src/errors.ts', 'src/paths.ts', 'src/atomic.ts', 'src/tools.ts', 'src/layering.ts'], imports: [] },
  { name: 'model', holds: ['src/model/'], imports: ['base'] },
  { name: 'golden', holds: ['src/golden/'], imports: ['base', 'model'] },
  { name: 'compress', holds: ['src/compress/'], imports: ['base', 'model', 'golden'] },
  { name: 'protocol', holds: ['src/protocol/'], imports: ['base'] },
  { name: 'gen', holds: ['src/gen/'], imports: ['base', 'model', 'protocol'] },
  { name: 'engines', holds: ['src/engines/'], imports: ['base', 'model', 'golden', 'compress', 'protocol', 'gen'] },
  { name: 'network', holds: ['src/network/'], imports: ['base', 'model', 'golden', 'compress', 'protocol', 'gen', 'engines'] },
  { name: 'shell', holds: ['src/shell/'], imports: ['base', 'model', 'golden', 'compress', 'protocol', 'gen', 'engines', 'network'] },
  { name: 'targets', holds: ['src/targets/'], imports: ['base', 'model', 'golden', 'compress', 'protocol', 'gen', 'engines', 'network', 'shell', 'sim'] },
  { name: 'train', holds: ['src/train/'], imports: ['base', 'model', 'golden', 'compress'] },
  { name: 'report', holds: ['src/report/'], imports: ['base', 'model', 'golden', 'compress', 'gen', 'engines', 'network'] },
  { name: 'sim', holds: ['sim/'], imports: ['base'] },
  { name: 'host', holds: ['host/'], imports: ['base', 'model', 'golden', 'compress', 'protocol', 'gen', 'engines', 'network', 'shell', 'targets', 'sim'] },
  { name: 'cli', holds: ['src/cli.ts', 'src/commands/'], imports: ['*'] },
];

/** The layer a repository path (posix, from the package root) belongs to, or undefined (bench, scripts, tests). */
export function layerOf(path: string): string | undefined {
  if (path.endsWith('.test.ts') || path.startsWith('test/')) return undefined;
  let best: { name: string; len: number } | undefined;
  for (const l of LAYERS) {
    for (const h of l.holds) {
      const hit = h.endsWith('/') ? path.startsWith(h) : path === h;
      if (hit && (!best || h.length > best.len)) best = { name: l.name, len: h.length };
    }
  }
  return best?.name;
}

/** Relative imports of a TypeScript source, resolved to repository paths. */
export function importsOf(path: string, text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\b[^'";]*?from\s+'(\.[^']+)'|^\s*import\s+'(\.[^']+)'|import\(\s*'(\.[^']+)'\s*\)/gm)) {
    const spec = m[1] ?? m[2] ?? m[3];
    out.push(posix.normalize(posix.join(posix.dirname(path), spec)).replace(/\.js$/, '.ts'));
  }
  return out;
}

/** Every import that runs the wrong way, as "from → to (layer → layer)". */
export function wrongWayImports(root: string, dirs = ['src', 'host', 'sim']): string[] {
  const bad: string[] = [];
  for (const file of dirs.flatMap((d) => walk(join(root, d)))) {
    const path = relative(root, file).split(sep).join('/');
    const from = layerOf(path);
    if (!from) continue;
    const allowed = LAYERS.find((l) => l.name === from)!.imports;
    for (const target of importsOf(path, readFileSync(file, 'utf8'))) {
      const to = layerOf(target);
      if (to === undefined || to === from || allowed.includes('*') || allowed.includes(to)) continue;
      bad.push(`${path} → ${target} (${from} may not import ${to})`);
    }
  }
  return bad;
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}
