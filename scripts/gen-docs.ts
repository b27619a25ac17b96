/** Writes the documents generated from the one definition of each fact (`npm run docs`). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { commandsMarkdown } from '../src/protocol/emit.js';
import { linkMarkdown } from '../src/protocol/emit-link.js';
import { PACKAGE_ROOT } from '../src/paths.js';

writeFileSync(join(PACKAGE_ROOT, 'docs', 'commands.md'), commandsMarkdown());
console.log('wrote docs/commands.md');
writeFileSync(join(PACKAGE_ROOT, 'docs', 'protocol.md'), linkMarkdown());
console.log('wrote docs/protocol.md');
