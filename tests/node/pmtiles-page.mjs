// A MapLibre page drawing a PMTiles archive from a plain static server (no
// tuilerie process), through the `pmtiles` protocol of Protomaps'
// JavaScript reader, in Debian's headless chromium.
//   node pmtiles-page.mjs URL_OF_INDEX_HTML SCREENSHOT.png
// The page (written by the test) sets window.report once the map is idle:
// features rendered per style layer. Prints {report, ranges, statuses};
// exit 1 on a console error, a failed request, or no feature drawn.
import { chromium } from 'playwright-core';

const [url, screenshot] = process.argv.slice(2);
const failures = [];
const statuses = {};
let ranges = 0;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--no-first-run'],
});
try {
  const page = await browser.newPage({ viewport: { width: 800, height: 600 } });
  page.on('console', (m) => { if (m.type() === 'error') failures.push(`console error: ${m.text()}`); });
  page.on('pageerror', (e) => failures.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => failures.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on('request', (r) => {
    if (r.url().endsWith('.pmtiles') && r.headers().range) ranges += 1;
  });
  page.on('response', (r) => {
    const name = r.url().split('/').pop();
    statuses[`${name} ${r.status()}`] = (statuses[`${name} ${r.status()}`] || 0) + 1;
    if (r.status() >= 400) failures.push(`${r.url()} answered ${r.status()}`);
  });
  await page.goto(url);
  await page.waitForFunction(() => window.report !== undefined, null, { timeout: 90000 });
  const report = await page.evaluate(() => window.report);
  if (screenshot) await page.screenshot({ path: screenshot });
  for (const [layer, n] of Object.entries(report)) {
    if (!(n > 0)) failures.push(`no feature of ${layer} drawn`);
  }
  process.stdout.write(JSON.stringify({ report, ranges, statuses, failures }));
} finally {
  await browser.close();
}
process.exit(failures.length ? 1 : 0);
