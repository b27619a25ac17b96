import { describe, expect, it } from 'vitest';
import { esc, table } from './html.js';

describe('html', () => {
  it('escapes every character that could open markup or end an attribute', () => {
    const nasty = `<script>alert("x&y")</script>'`;
    const out = esc(nasty);
    expect(out).not.toMatch(/[<>"']/);
    // The browser's reading of the escaped text is the original.
    const decoded = out.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
    expect(decoded).toBe(nasty);
  });

  it('writes every cell, escaped, and right-aligns the numeric columns only', () => {
    const html = table(['layer', 'bytes', 'ratio'], [['fc<1>', 100, '12.5x'], ['fc2', 7, '3.0x']]);
    expect(html).toContain('<td>fc&lt;1&gt;</td>');
    expect(html.match(/<td class="num">/g)).toHaveLength(4);
    expect(html.match(/<tr>/g)).toHaveLength(3);
  });
});
