import { describe, expect, it } from 'vitest';
import { barsSpec, renderChart } from './charts.js';

const marks = (svg: string, type: string) => {
  const group = new RegExp(`<g class="mark-${type} role-mark[^"]*"[^>]*>(.*?)</g>`, 's').exec(svg);
  return group ? (group[1].match(/<(path|line)\b/g) ?? []).length : 0;
};

describe('renderChart', () => {
  it('draws one mark per data row, the same bytes every time', async () => {
    const rows = [3, 1, 4, 1, 5].map((v, i) => ({ layer: `fc${i}`, cycles: v }));
    const spec = barsSpec('cycles', rows, { field: 'layer', title: 'layer' }, { field: 'cycles', title: 'cycles' });
    const a = await renderChart(spec, 'c1');
    const b = await renderChart(spec, 'c1');
    expect(a).toBe(b);
    expect(a.startsWith('<svg')).toBe(true);
    expect(marks(a, 'rect')).toBe(rows.length);
  });

  it('prefixes every id and its references, so two charts on a page do not collide', async () => {
    // A clipped mark is drawn inside a clip path with an id.
    const clipped = await renderChart(
      {
        data: { values: [{ x: 0, y: 2 }, { x: 3, y: 1 }] },
        mark: { type: 'bar', clip: true },
        encoding: { x: { field: 'x', type: 'quantitative', scale: { domain: [1, 3] } }, y: { field: 'y', type: 'quantitative' } },
      },
      'c7',
    );
    const ids = [...clipped.matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]);
    expect(ids.length).toBeGreaterThan(0);
    for (const id of ids) expect(id.startsWith('c7-')).toBe(true);
    for (const m of clipped.matchAll(/url\(#([^)]+)\)/g)) expect(ids).toContain(m[1]);
  });
});
