/**
 * Benchmarks: `npm run bench -- <name> [options]`, or every one with no name.
 * They print figures and ratios measured in one run; they never pass or fail.
 */
import { benchCompress } from './compress.js';
import { benchCompressVsNumpy } from './compress-vs-numpy.js';
import { benchXnor } from './xnor.js';
import { benchEie } from './eie.js';
import { benchEieResources } from './eie-resources.js';
import { benchSim } from './sim.js';
import { benchReport } from './report.js';
import { benchFashionMnist } from './fashion-mnist.js';
import { benchHost } from './host.js';
import { benchTargets } from './targets.js';
import { benchTargetsIce40 } from './targets-ice40.js';

const BENCHES: Record<string, (args: string[]) => void | Promise<void>> = {
  compress: benchCompress,
  'compress-vs-numpy': benchCompressVsNumpy,
  xnor: benchXnor,
  eie: benchEie,
  'eie-resources': benchEieResources,
  sim: benchSim,
  report: benchReport,
  'fashion-mnist': benchFashionMnist,
  host: benchHost,
  targets: benchTargets,
  'targets-ice40': benchTargetsIce40,
};

const [name, ...args] = process.argv.slice(2);
if (name && !(name in BENCHES)) {
  console.error(`unknown benchmark '${name}'; there are: ${Object.keys(BENCHES).join(', ')}`);
  process.exit(2);
}
for (const [n, run] of Object.entries(BENCHES)) if (!name || n === name) await run(args);
