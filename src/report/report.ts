import { writeFileAtomic } from '../atomic.js';
import { binaryReport } from '../compress/binarize.js';
import { bundleReport } from '../compress/report.js';
import type { AnyBundle, BinaryBundle, Bundle, EngineName, Network } from '../model/types.js';
import { HWGEN_VERSION } from '../paths.js';
import { binaryLayerFigures, MAX_OUTPUTS } from './binary-figures.js';
import { resourceRows, type BuildResources } from './build-resources.js';
import { barsSpec, codeLengthSpec, distributionSpec, peEntriesSpec, perOutputSpec, renderChart, stageBytesSpec, type Row } from './charts.js';
import { eieLayerFigures, HISTOGRAM_BINS } from './eie-figures.js';
import { esc, figure, fmt, page, section, table } from './html.js';
import type { SimFigures } from './sim-result.js';

/**
 * `hwgen report`: one self-contained HTML page of a bundle's compression, load balance and, when given, its
 * simulation and build figures. Every chart is a Vega-Lite spec rendered to SVG here, with its data in a table
 * beside it. The page has no timestamp and a fixed order, so the same inputs give the same bytes.
 */
export interface ReportInput {
  bundle: AnyBundle;
  /** How the page names the bundle (the path the user gave). */
  bundleName: string;
  /** Per layer, the kept float weights before sharing (only `hwgen compress --report` still has them). */
  pruned?: Float32Array[];
  sim?: SimFigures;
  build?: BuildResources;
}

export async function renderReport(input: ReportInput): Promise<string> {
  const charts = new ChartCounter();
  const { bundle } = input;
  const parts = [intro(input)];
  parts.push(...(await pageFor(bundle).sections(bundle, input, charts, '')));
  if (input.sim) parts.push(await simSection(input.sim, charts));
  if (input.build) parts.push(await buildSection(input.build, charts));
  return page(`hwgen report: ${input.bundleName}`, parts.join('\n'));
}

/** A network's page: a one-segment network's is its bundle's; several segments each get their engine's sections. */
export interface NetworkReportInput extends Omit<ReportInput, 'bundle' | 'pruned' | 'sim'> {
  network: Network;
  /** Per segment, per layer, the kept float weights before sharing (EIE segments, `hwgen compress --report`). */
  pruned?: (Float32Array[] | undefined)[];
}

export async function renderNetworkReport(input: NetworkReportInput): Promise<string> {
  const { network, pruned, ...rest } = input;
  const segs = network.segments;
  if (segs.length === 1) return renderReport({ ...rest, bundle: segs[0], pruned: pruned?.[0] });
  const charts = new ChartCounter();
  const parts = [
    `<p>A hybrid network of ${segs.length} segments, ${esc(segs.map((b) => pageFor(b).summary(b)).join(' → '))}; each segment's bits cross to the next on the chip (docs/numbers.md, "Between segments").</p>`,
  ];
  for (let s = 0; s < segs.length; s++) {
    const b = segs[s];
    parts.push(`<h2 id="segment-${s}">Segment ${s}: ${esc(pageFor(b).summary(b))}</h2>`, intro({ ...rest, bundle: b }));
    parts.push(...(await pageFor(b).sections(b, { ...rest, bundle: b, pruned: pruned?.[s] }, charts, `segment-${s}-`)));
  }
  if (input.build) parts.push(await buildSection(input.build, charts));
  return page(`hwgen report: ${input.bundleName}`, parts.join('\n'));
}

export async function writeNetworkReport(path: string, input: NetworkReportInput): Promise<void> {
  const html = await renderNetworkReport(input);
  writeFileAtomic(path, new TextEncoder().encode(html), 'report');
}

/** Renders and writes atomically: a failure leaves no file. */
export async function writeReport(path: string, input: ReportInput): Promise<void> {
  const html = await renderReport(input);
  writeFileAtomic(path, new TextEncoder().encode(html), 'report');
}

/** The engine-specific parts of the page, by the engine a bundle names: a new engine adds one entry. */
interface EnginePage<B extends AnyBundle> {
  summary(b: B): string;
  /** `ids` prefixes the sections' ids, so several segments' sections stay apart on one page. */
  sections(b: B, input: ReportInput, charts: ChartCounter, ids: string): Promise<string[]>;
}
const PAGES: { [E in EngineName]: EnginePage<Extract<AnyBundle, { engine: E }>> } = {
  eie: {
    summary: (b) => `EIE engine, ${b.layers.length} layer(s) over ${b.sparse.pes} PEs, v ${b.sparse.vBits} bits, z ${b.sparse.zBits} bits`,
    sections: (b, input, charts, ids) => eieSections(b, input.pruned, charts, ids),
  },
  xnor: {
    summary: (b) => `XNOR units, ${b.layers.length} binary layer(s)`,
    sections: (b, _input, charts, ids) => binarySections(b, charts, ids),
  },
};
const pageFor = (b: AnyBundle) => PAGES[b.engine] as EnginePage<AnyBundle>;

/** Numbers the charts so their SVG ids stay unique on the page. */
class ChartCounter {
  private n = 0;
  render(spec: Parameters<typeof renderChart>[0]): Promise<string> {
    return renderChart(spec, `chart${++this.n}`);
  }
}

function intro(input: ReportInput): string {
  const b = input.bundle;
  const n = b.numeric;
  const meta = Object.keys(b.meta)
    .sort()
    .map((k) => `${esc(k)}: ${esc(String(b.meta[k]))}`)
    .join(' · ');
  const engine = pageFor(b).summary(b);
  return `<p>${esc(engine)}; activations ${n.actBits}-bit (${n.actFrac} fractional), weights ${n.weightBits}-bit, accumulator ${n.accBits}-bit.</p>
<p class="meta">Bundle: ${meta || 'no provenance recorded'}. Page by hwgen ${esc(HWGEN_VERSION)}. Every chart's data is in the table beside it.</p>`;
}

// ─────────────────────────── EIE bundles ───────────────────────────

const STAGES = ['dense', 'pruned', 'quantized', 'huffman'] as const;

async function eieSections(bundle: Bundle, pruned: Float32Array[] | undefined, charts: ChartCounter, ids: string): Promise<string[]> {
  const r = bundleReport(bundle);
  const stageRows: Row[] = r.layers.flatMap((l) => STAGES.map((stage) => ({ layer: l.name, stage, bytes: l.bytes[stage] })));
  const head = ['layer', 'shape', 'density', 'B', 'padding', 'v bits', 'z bits', 'dense B', 'pruned B', 'quantized B', 'huffman B', 'ratio', 'PE max / mean'];
  const rows = r.layers.map((l) => [
    l.name, `${l.rows}x${l.cols}`, fmt.pct(l.density), l.bits, fmt.pct(l.paddingOverhead), fmt.fixed(l.huffmanBitsV), fmt.fixed(l.huffmanBitsZ),
    l.bytes.dense, l.bytes.pruned, l.bytes.quantized, l.bytes.huffman, fmt.ratio(l.ratio), `${l.maxPeEntries} / ${fmt.fixed(l.meanPeEntries, 1)}`,
  ]);
  const t = r.total;
  rows.push(['total', `${t.weights} weights`, fmt.pct(t.density), '', fmt.pct(t.paddingOverhead), fmt.fixed(t.huffmanBitsV), fmt.fixed(t.huffmanBitsZ),
    t.bytes.dense, t.bytes.pruned, t.bytes.quantized, t.bytes.huffman, fmt.ratio(t.ratio), '']);
  const compression = section(
    'Compression: bytes after each stage',
    figure(await charts.render(stageBytesSpec(stageRows, [...STAGES])), [table(head, rows)],
      'dense: float32; pruned: float32 value + z per entry and the column pointers; quantized: v + z per entry, the codebook and the pointers; ' +
        'huffman: the Huffman-coded v and z streams, the codebook and the pointers (biases not counted). ratio = dense / huffman; ' +
        'padding = padding entries per non-zero; v bits, z bits = mean Huffman bits per entry. Figures of src/compress/report.ts, as hwgen inspect prints them.'),
    `${ids}compression`,
  );
  const layers: string[] = [];
  for (let i = 0; i < bundle.layers.length; i++) layers.push(await eieLayerSection(bundle, i, pruned?.[i], charts, ids));
  return [compression, ...layers];
}

async function eieLayerSection(bundle: Bundle, i: number, pruned: Float32Array | undefined, charts: ChartCounter, ids: string): Promise<string> {
  const layer = bundle.layers[i];
  const f = eieLayerFigures(layer, bundle.sparse, pruned);
  const d = f.distribution;
  const centroids = f.codebook.slice(1).filter((e) => e.count > 0 || d.source === 'float').map((e) => ({ value: e.value, index: e.index }));
  const distTitle = d.source === 'float' ? 'Pruned weights before sharing, centroids dashed' : 'Shared (decoded) non-zero weights, codebook dashed';
  const distNote =
    d.source === 'float'
      ? `The ${d.weights} weights pruning kept, as floats before weight sharing, in ${HISTOGRAM_BINS} equal bins over their range (empty bins left out of the table); the dashed red lines are the codebook's ${centroids.length} shared values (the k-means centroids rounded to ${bundle.numeric.weightBits}-bit fixed point).`
      : `A bundle keeps only the shared weights, so this is the histogram of the ${d.weights} decoded non-zero weights, not of the float weights before sharing (hwgen compress --report shows those): every weight sits on a codebook value (dashed red), so the bars are spikes. ${HISTOGRAM_BINS} equal bins over the codebook's range; empty bins left out of the table.`;
  const bins = d.bins.map((b) => ({ start: b.start, end: b.end, count: b.count }));
  const distribution = figure(
    await charts.render(distributionSpec(distTitle, bins, centroids)),
    [table(['bin from', 'to', 'weights'], d.bins.map((b) => [fmt.real(b.start), fmt.real(b.end), b.count]), 'Histogram')],
    distNote,
  );

  const codeRows: Row[] = [
    ...f.codebook.map((e) => ({ stream: 'v', symbol: e.index, bits: e.bits })),
    ...f.z.map((e) => ({ stream: 'z', symbol: e.z, bits: e.bits })),
  ];
  const codes = figure(
    await charts.render(codeLengthSpec(codeRows)),
    [
      table(['v', 'shared weight', 'entries', 'code bits'], f.codebook.map((e) => [e.index, e.index === 0 ? '0 (padding)' : fmt.real(e.value), e.count, e.bits]), 'Codebook and v codes'),
      table(['z', 'entries', 'code bits'], f.z.map((e) => [e.z, e.count, e.bits]), 'z codes'),
    ],
    'Canonical Huffman code length of each symbol of the layer\'s v stream (codebook index; 0 marks a padding entry) and z stream (zeros skipped since the previous entry), as the bundle stores them; 0 bits = the symbol never occurs. Every symbol is shown.',
  );

  const peRows: Row[] = f.pes.flatMap((p) => [
    { pe: p.pe, kind: 'non-zero', entries: p.nonZeros, order: 0 },
    { pe: p.pe, kind: 'padding', entries: p.padding, order: 1 },
  ]);
  const totals = f.pes.map((p) => p.nonZeros + p.padding);
  const mean = totals.reduce((a, b) => a + b, 0) / totals.length;
  const max = Math.max(...totals);
  const balance = figure(
    await charts.render(peEntriesSpec(peRows, mean)),
    [table(['PE', 'non-zero', 'padding', 'entries'], f.pes.map((p) => [p.pe, p.nonZeros, p.padding, p.nonZeros + p.padding]), 'Entries per PE')],
    `Row i lives in PE i mod ${bundle.sparse.pes}; each PE stores its entries (non-zero weights and padding for gaps longer than z allows). ` +
      `Busiest PE ${max} entries, mean ${fmt.fixed(mean, 1)} (dashed): a dense input takes at least ${max} cycles, ${fmt.pct(max ? mean / max : 1)} balanced. Every PE is shown.`,
  );
  const title = `Layer ${layer.name}: ${layer.rows} outputs x ${layer.cols} inputs, B = ${layer.bits}`;
  return section(title, `<h3>Weight distribution</h3>\n${distribution}\n<h3>Huffman codes of v and z</h3>\n${codes}\n<h3>Load balance</h3>\n${balance}`, `${ids}layer-${i}`);
}

// ─────────────────────────── binary bundles ───────────────────────────

async function binarySections(bundle: BinaryBundle, charts: ChartCounter, ids: string): Promise<string[]> {
  const r = binaryReport(bundle);
  const stageRows: Row[] = r.layers.flatMap((l) => [
    { layer: l.name, stage: 'float32', bytes: l.denseBytes },
    { layer: l.name, stage: 'binary', bytes: l.bytes },
  ]);
  const rows = r.layers.map((l) => [
    l.name, `${l.rows}x${l.cols}`, l.input === 'fixed' ? 'BWN' : 'bits', l.output === 'scores' ? 'scores' : 'bits', l.conv ?? '-',
    l.denseBytes, l.bytes, fmt.ratio(l.ratio), l.flipped, l.constant,
  ]);
  rows.push(['total', '', '', '', '', r.total.denseBytes, r.total.bytes, fmt.ratio(r.total.ratio), '', '']);
  const compression = section(
    'Compression: float32 against binary',
    figure(await charts.render(stageBytesSpec(stageRows, ['float32', 'binary'])),
      [table(['layer', 'shape', 'in', 'out', 'conv', 'float32 B', 'binary B', 'ratio', 'γ<0', 'constant'], rows)],
      'binary: packed weight bits plus the thresholds (or α and bias) as stored. γ<0: outputs whose comparison batch-norm flipped; constant: outputs always on or never on. Figures of src/compress/binarize.ts, as hwgen inspect prints them.'),
    `${ids}compression`,
  );
  const layers: string[] = [];
  for (let i = 0; i < bundle.layers.length; i++) {
    const l = bundle.layers[i];
    const f = binaryLayerFigures(l, bundle.numeric);
    const sampled = f.stride > 1 ? `every ${f.stride}th output (${f.outputs.length} of ${l.rows}; a layer shows at most ${MAX_OUTPUTS})` : `all ${l.rows} outputs`;
    const body =
      f.kind === 'threshold'
        ? figure(
            await charts.render(perOutputSpec('Threshold per output', f.outputs.map((o) => ({ output: o.output, value: o.value, comparison: o.flipped ? 'flipped (γ<0)' : 'acc >= T' })), 'threshold T', { field: 'comparison', title: 'comparison' })),
            [table(['output', 'T', 'flipped'], f.outputs.map((o) => [o.output, o.value, o.flipped ? 'yes' : 'no']))],
            `The integer threshold T of each output: bit = (accumulator >= T) XOR flipped, batch-norm and sign folded in (docs/xnor.md). Shown: ${sampled}.`,
          )
        : figure(
            await charts.render(perOutputSpec('α per output', f.outputs.map((o) => ({ output: o.output, value: o.value })), 'α (batch-norm scale folded in)')),
            [table(['output', 'α', 'bias'], f.outputs.map((o) => [o.output, fmt.real(o.value), fmt.real(o.bias ?? 0)]))],
            `The scaling factor α of each output (mean |W| with batch-norm's scale folded in, as stored in fixed point) and its bias, as real values. Shown: ${sampled}.`,
          );
    const kind = `${l.input === 'fixed' ? 'BWN' : 'binary'} input, ${l.output === 'scores' ? 'fixed-point scores' : 'bits'} out`;
    layers.push(section(`Layer ${l.name}: ${l.rows} outputs x ${l.cols} inputs, ${kind}`, body, `${ids}layer-${i}`));
  }
  return [compression, ...layers];
}

// ─────────────────────────── simulation and build ───────────────────────────

async function simSection(sim: SimFigures, charts: ChartCounter): Promise<string> {
  const withWork = sim.efficiency !== undefined;
  const rows: Row[] = sim.layers.map((l) => ({ layer: l.name, cycles: l.cycles, ideal: l.idealCycles ?? 0 }));
  const head = ['layer', 'cycles', ...(withWork ? ['busiest PE', 'efficiency'] : [])];
  const cells = sim.layers.map((l) => [l.name, fmt.fixed(l.cycles, 1), ...(withWork ? [fmt.fixed(l.idealCycles ?? 0, 1), fmt.pct(l.efficiency ?? 0)] : [])]);
  cells.push(['inference', fmt.fixed(sim.meanCycles, 1), ...(withWork ? ['', fmt.pct(sim.efficiency ?? 0)] : [])]);
  const spec = barsSpec('Compute cycles per layer', rows, { field: 'layer', title: 'layer' }, { field: 'cycles', title: 'cycles' },
    withWork ? { field: 'ideal' } : undefined);
  const what = sim.engine === 'EIE' ? `EIE engine, ${sim.pes} PEs` : 'XNOR units';
  const note = withWork
    ? 'Cycles are the mean over the inferences. Red ticks: the busiest PE\'s entries in the columns whose input is non-zero (the cycles of one entry per PE per cycle). ' +
      'efficiency = those entries summed over PEs / (PEs x cycles), the load-balance efficiency EIE reports; the inputs\' activations come from the golden model.'
    : sim.engine === 'EIE'
      ? 'Cycles are the mean over the inferences. Give the simulation\'s inputs with --input to see the load-balance efficiency.'
      : 'Cycles are the mean over the inferences.';
  return section(
    'Simulation',
    `<p>${esc(what)}, config ${esc(sim.configHash || '?')}, ${sim.inferences} inference(s), ${fmt.fixed(sim.meanCycles, 1)} cycles each on average.</p>\n` +
      figure(await charts.render(spec), [table(head, cells)], note),
    'simulation',
  );
}

async function buildSection(build: BuildResources, charts: ChartCounter): Promise<string> {
  const rows = resourceRows(build);
  const where = [`Target ${esc(build.target)}`, build.board && `board ${esc(build.board)}`, build.part && `part ${esc(build.part)}`].filter(Boolean).join(', ');
  const clock = build.clockHz !== undefined ? ` Clock ${fmt.fixed(build.clockHz / 1e6, 2)} MHz.` : '';
  const head = `<p>${where}: ${esc(build.engine)} ${esc(build.configHash)}.${clock} `;
  if (!rows.length) return section('Build', `${head}This target measures no resources (a simulation model has no part).</p>\n`, 'build');
  const measured = rows.filter((r) => r.available);
  const spec = barsSpec('Resources used (% of the part)', measured.map((r) => ({ resource: r.resource, used: (100 * r.used) / r.available! })),
    { field: 'resource', title: 'resource' }, { field: 'used', title: '% of the part' });
  const cells = rows.map((r) => [r.resource, r.used, r.available ?? '-', r.available ? fmt.pct(r.used / r.available) : '-']);
  const fmax = build.fmaxMHz !== undefined ? `Fmax ${fmt.fixed(build.fmaxMHz, 1)} MHz (nextpnr).` : 'No Fmax: the figures come from synthesis alone.';
  return section(
    'Build',
    `${head}${fmax}</p>\n` +
      figure(await charts.render(spec), [table(['resource', 'used', 'available', 'used %'], cells)], "From the build's manifest.json (yosys synthesis; nextpnr for iCE40)."),
    'build',
  );
}
