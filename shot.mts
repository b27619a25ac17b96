import { chromium } from 'playwright-core';
const b = await chromium.launch({ executablePath: '/usr/bin/chromium' });
const p = await b.newPage({ viewport: { width: 1280, height: 900 } });
p.on('console', (m) => console.log('console', m.type(), m.text()));
await p.goto('file://' + process.argv[2]);
const h = await p.evaluate(() => document.body.scrollHeight);
console.log('height', h);
for (let i = 0; i * 1800 < h && i < 8; i++) {
  await p.screenshot({ path: `${process.argv[3]}-${i}.png`, clip: { x: 0, y: i * 1800, width: 1280, height: Math.min(1800, h - i * 1800) }, fullPage: true });
}
await b.close();
