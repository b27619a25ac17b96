/**
 * bench/eie-resources: what the generated EIE engine costs, from the open tools — yosys synth_xilinx for the
 * 7 series at several PE counts, and yosys + nextpnr-ice40 for a 2-PE engine on an iCE40 HX8K (its Fmax).
 * Usage: npm run bench -- eie-resources [--pes 4,16]
 */
import { configHash, validateConfig } from '../src/engines/eie/config.js';
import { renderEie } from '../src/engines/eie/rtl.js';
import { placeIce40, synthXilinx } from '../src/gen/synth.js';
import { DEFAULT_NUMERIC } from '../src/model/types.js';

const MEMORIES = { vBits: 4, zBits: 4, fifoDepth: 8, entriesPerWord: 8, spmatWords: 1024, ptrDepth: 2048, actDepth: 256, biasDepth: 128, maxLayers: 4 };

export function benchEieResources(args: string[]): void {
  const at = args.indexOf('--pes');
  const list = at >= 0 ? args[at + 1].split(',').map(Number) : [4, 16];
  console.log(`bench/eie-resources: per PE ${MEMORIES.spmatWords} words of ${MEMORIES.entriesPerWord} entries, ${MEMORIES.ptrDepth} pointers, ${MEMORIES.actDepth} activations, queue ${MEMORIES.fifoDepth}`);
  console.log('PEs  config    LUT     FF  BRAM18  DSP  LUTRAM  LUT/PE  synth s   (yosys synth_xilinx, xc7)');
  for (const pes of list) {
    const c = validateConfig({ ...DEFAULT_NUMERIC, ...MEMORIES, pes }, 'bench');
    const r = synthXilinx(renderEie(c), 'eie_top');
    console.log(
      `${String(pes).padStart(3)}  ${configHash(c)}  ${String(r.luts).padStart(5)}  ${String(r.ffs).padStart(5)}  ${String(r.bram18).padStart(6)}  ` +
        `${String(r.dsp).padStart(3)}  ${String(r.lutram).padStart(6)}  ${String(Math.round(r.luts / pes)).padStart(6)}  ${r.seconds.toFixed(1).padStart(7)}`,
    );
  }
  const small = validateConfig({ ...DEFAULT_NUMERIC, ...MEMORIES, pes: 2, spmatWords: 256, ptrDepth: 256, actDepth: 64, biasDepth: 64, maxLayers: 2 }, 'bench');
  const ice = placeIce40(renderEie(small), 'eie_top');
  console.log(
    `iCE40 HX8K, 2 PEs (${configHash(small)}): ${ice.logicCells}/${ice.logicCellsAvailable} logic cells, ${ice.bram}/${ice.bramAvailable} block RAMs, ` +
      `Fmax ${ice.fmaxMHz.toFixed(1)} MHz (nextpnr, ${ice.seconds.toFixed(0)} s)`,
  );
}
