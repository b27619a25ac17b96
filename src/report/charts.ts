import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/**
 * The report's charts: Vega-Lite specs compiled by vega-lite and rendered to SVG by Vega in Node (no browser,
 * no canvas: Vega estimates text widths, which keeps the output the same on every machine).
 */

/** One row of a chart's data: plain numbers and strings, so the page's tables can show the same rows. */
export type Row = Record<string, number | string>;

const WIDTH = 380;
const HEIGHT = 190;
const CENTROID_COLOR = '#d62728';

/** Shared look: compact fonts. */
const CONFIG = { font: 'sans-serif', axis: { labelFontSize: 10, titleFontSize: 11 }, legend: { labelFontSize: 10, titleFontSize: 11 } };

/** Renders a spec to an SVG string whose ids are prefixed with `id`, so several charts can share one page. */
export async function renderChart(spec: TopLevelSpec, id: string): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    return prefixIds(svg, id);
  } finally {
    view.finalize();
  }
}

/** Clip paths and gradients get ids such as "clip1" that would collide between inline SVGs. */
function prefixIds(svg: string, id: string): string {
  return svg.replace(/\bid="([^"]+)"/g, `id="${id}-$1"`).replace(/url\(#([^)]+)\)/g, `url(#${id}-$1)`);
}

function base(title: string) {
  return { width: WIDTH, height: HEIGHT, title, config: CONFIG };
}

/** Bars of bytes per stage and layer, on a log scale (a dense layer is tens of times its Huffman form). */
export function stageBytesSpec(rows: Row[], stages: string[]): TopLevelSpec {
  return {
    ...base('Bytes after each stage (log scale)'),
    data: { values: rows },
    mark: 'bar',
    encoding: {
      x: { field: 'stage', type: 'nominal', sort: stages, title: 'stage', axis: { labelAngle: 0 } },
      xOffset: { field: 'layer', type: 'nominal', sort: null },
      // No stacking: the layers stand side by side, and a stack has no meaning on a log scale.
      y: { field: 'bytes', type: 'quantitative', scale: { type: 'log' }, stack: null, title: 'bytes' },
      color: { field: 'layer', type: 'nominal', sort: null, title: 'layer' },
    },
  } as TopLevelSpec;
}

/** A histogram given as bins (start, end, count) with the codebook's values as rules over it. */
export function distributionSpec(title: string, bins: Row[], centroids: Row[]): TopLevelSpec {
  return {
    ...base(title),
    layer: [
      {
        data: { values: bins },
        mark: { type: 'bar', color: '#4c78a8' },
        encoding: {
          // 'binned': the bins are computed here (they would be too many rows for the page otherwise).
          x: { field: 'start', type: 'quantitative', bin: 'binned', title: 'weight', scale: { zero: false } },
          x2: { field: 'end' },
          y: { field: 'count', type: 'quantitative', title: 'weights in bin' },
        },
      },
      {
        data: { values: centroids },
        mark: { type: 'rule', color: CENTROID_COLOR, strokeWidth: 1.5, strokeDash: [4, 2] },
        encoding: { x: { field: 'value', type: 'quantitative' } },
      },
    ],
  } as TopLevelSpec;
}

/** Huffman code length per symbol, v and z side by side. */
export function codeLengthSpec(rows: Row[]): TopLevelSpec {
  return {
    ...base('Huffman code length per symbol'),
    data: { values: rows },
    mark: 'bar',
    encoding: {
      x: { field: 'symbol', type: 'ordinal', title: 'symbol (v: codebook index, z: zeros skipped)', axis: { labelAngle: 0 } },
      xOffset: { field: 'stream', type: 'nominal' },
      y: { field: 'bits', type: 'quantitative', title: 'code length (bits)', axis: { tickMinStep: 1 } },
      color: { field: 'stream', type: 'nominal', title: 'stream', scale: { range: ['#4c78a8', '#f58518'] } },
    },
  } as TopLevelSpec;
}

/** Entries per PE, non-zero and padding stacked, with the mean as a rule: the load balance. */
export function peEntriesSpec(rows: Row[], mean: number): TopLevelSpec {
  return {
    ...base('Entries per PE'),
    layer: [
      {
        data: { values: rows },
        mark: 'bar',
        encoding: {
          x: { field: 'pe', type: 'ordinal', title: 'PE', axis: { labelAngle: 0, labelOverlap: true } },
          y: { field: 'entries', type: 'quantitative', stack: 'zero', title: 'entries' },
          color: { field: 'kind', type: 'nominal', title: 'entry', sort: ['non-zero', 'padding'], scale: { range: ['#4c78a8', '#e45756'] } },
          order: { field: 'order', type: 'quantitative' },
        },
      },
      {
        data: { values: [{ mean }] },
        mark: { type: 'rule', color: '#333', strokeDash: [4, 2] },
        encoding: { y: { field: 'mean', type: 'quantitative' } },
      },
    ],
  } as TopLevelSpec;
}

/** One value per output (a threshold or α), as points; `color` splits them into groups. */
export function perOutputSpec(title: string, rows: Row[], valueTitle: string, color?: { field: string; title: string }): TopLevelSpec {
  return {
    ...base(title),
    data: { values: rows },
    mark: { type: 'point', filled: true, size: 14 },
    encoding: {
      x: { field: 'output', type: 'quantitative', title: 'output' },
      y: { field: 'value', type: 'quantitative', title: valueTitle, scale: { zero: false } },
      ...(color ? { color: { field: color.field, type: 'nominal', title: color.title } } : {}),
    },
  } as TopLevelSpec;
}

/** Bars per layer (or per resource) of one quantity, with an optional red tick per bar for a second one. */
export function barsSpec(title: string, rows: Row[], x: { field: string; title: string }, y: { field: string; title: string }, tick?: { field: string }): TopLevelSpec {
  const bars = {
    mark: { type: 'bar', color: '#4c78a8' },
    encoding: {
      x: { field: x.field, type: 'nominal', sort: null, title: x.title, axis: { labelAngle: 0 } },
      y: { field: y.field, type: 'quantitative', title: y.title },
    },
  };
  const ticks = tick && {
    mark: { type: 'tick', color: CENTROID_COLOR, thickness: 2 },
    // The ticks share the bars' axis; the title stays the bars' (a merged title would be too long to draw).
    encoding: { x: { field: x.field, type: 'nominal', sort: null }, y: { field: tick.field, type: 'quantitative', title: null } },
  };
  return { ...base(title), data: { values: rows }, layer: ticks ? [bars, ticks] : [bars] } as TopLevelSpec;
}
