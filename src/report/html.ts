/**
 * Small HTML builders for the report page: every text from a bundle or a file goes through `esc`, and the
 * page carries its own CSS so it opens with no network.
 */

export function esc(s: string | number): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A table; cells are text (escaped here) and a column is right-aligned when every cell is a number. */
export function table(head: string[], rows: (string | number)[][], caption?: string): string {
  const numeric = head.map((_, c) => rows.length > 0 && rows.every((r) => typeof r[c] === 'number' || /^(-?[\d.]+(%|x)?|-|)$/.test(String(r[c]))));
  const cls = (c: number) => (numeric[c] ? ' class="num"' : '');
  const th = head.map((h, c) => `<th${cls(c)}>${esc(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((cell, c) => `<td${cls(c)}>${esc(cell)}</td>`).join('')}</tr>`).join('\n');
  return `<table>${caption ? `<caption>${esc(caption)}</caption>` : ''}<thead><tr>${th}</tr></thead>\n<tbody>\n${body}\n</tbody></table>`;
}

/** A chart with its data beside it, and a note on what is shown and how it was reduced. */
export function figure(svg: string, tables: string[], note: string): string {
  return `<figure class="chart">
<div class="plot">${svg}</div>
<div class="data">${tables.join('\n')}</div>
<figcaption>${note}</figcaption>
</figure>`;
}

export function section(title: string, body: string, id?: string): string {
  return `<section${id ? ` id="${esc(id)}"` : ''}>\n<h2>${esc(title)}</h2>\n${body}\n</section>`;
}

/** Numbers for tables: fixed decimals so the same figures always print the same. */
export const fmt = {
  int: (x: number) => String(Math.round(x)),
  fixed: (x: number, d = 2) => x.toFixed(d),
  pct: (x: number) => `${(x * 100).toFixed(1)}%`,
  ratio: (x: number) => `${x.toFixed(1)}x`,
  /** Shortest round-trip text of a real value, with at most 6 significant digits. */
  real: (x: number) => String(Number(x.toPrecision(6))),
};

const CSS = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1200px; padding: 0 16px; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #ccc; } h3 { font-size: 15px; margin: 20px 0 6px; }
.meta { color: #555; }
figure.chart { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; margin: 8px 0 20px; }
figure.chart .plot svg { max-width: 100%; height: auto; }
figure.chart .data { max-height: 260px; overflow: auto; border: 1px solid #eee; }
figure.chart figcaption { flex-basis: 100%; color: #555; font-size: 13px; }
table { border-collapse: collapse; font-size: 12px; margin: 4px 0 8px; }
caption { text-align: left; font-weight: 600; padding: 2px 4px; }
th, td { padding: 2px 8px; border-bottom: 1px solid #eee; text-align: left; white-space: nowrap; }
th { background: #f6f6f6; position: sticky; top: 0; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
`;

/** The whole page: one file, inline CSS and SVG. */
export function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>${esc(title)}</h1>
${body}
</body>
</html>
`;
}
