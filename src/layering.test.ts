import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from './paths.js';
import { LAYERS, importsOf, layerOf, wrongWayImports } from './layering.js';

describe('imports run one way', () => {
  it('no module imports a layer above its own', () => {
    expect(wrongWayImports(PACKAGE_ROOT)).toEqual([]);
  });

  it('catches a wrong-way import', () => {
    const root = mkdtempSync(join(tmpdir(), 'hwgen-layers-'));
    for (const d of ['src/model', 'src/engines', 'host', 'sim']) mkdirSync(join(root, d), { recursive: true });
    writeFileSync(join(root, 'src/engines/x.ts'), "export const x = 1;\n");
    writeFileSync(join(root, 'src/model/bad.ts'), "import { x } from '../engines/x.js';\nexport const y = x;\n");
    writeFileSync(join(root, 'sim/leaf.ts'), "import type { Bundle } from '../src/model/types.js';\nexport type B = Bundle;\n");
    writeFileSync(join(root, 'src/engines/up.ts'), "export { z } from '../../host/z.js';\n");
    expect(wrongWayImports(root)).toEqual([
      'src/engines/up.ts → host/z.ts (engines may not import host)',
      'src/model/bad.ts → src/engines/x.ts (model may not import engines)',
      'sim/leaf.ts → src/model/types.ts (sim may not import model)',
    ]);
  });

  it('reads every form of import and places paths in their layers', () => {
    const text = "import a from './a.js';\nimport type { B } from '../b.js';\nexport * from './c.js';\nimport './d.js';\nconst e = await import('./e.js');\n";
    expect(importsOf('src/model/x.ts', text)).toEqual(['src/model/a.ts', 'src/b.ts', 'src/model/c.ts', 'src/model/d.ts', 'src/model/e.ts']);
    expect(layerOf('src/cli.ts')).toBe('cli');
    expect(layerOf('src/engines/eie/config.ts')).toBe('engines');
    expect(layerOf('src/engines/eie/config.test.ts')).toBeUndefined();
  });

  it('places a network above the engines and below the shell, targets, host and reports', () => {
    expect(layerOf('src/network/plan.ts')).toBe('network');
    const imports = (name: string) => LAYERS.find((l) => l.name === name)!.imports;
    expect(imports('network')).toContain('engines');
    for (const below of ['model', 'golden', 'engines', 'protocol', 'gen']) expect(imports(below)).not.toContain('network');
    for (const above of ['shell', 'targets', 'host', 'report']) expect(imports(above)).toContain('network');
  });
});
