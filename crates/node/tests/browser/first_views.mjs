// Times the console's views in Chromium against a loaded node at VIGIL_URL: from navigation
// (or the key press) to the view's rows on screen. Prints the figures as JSON.
import { createRequire } from 'node:module';
import { join } from 'node:path';

const env = (k) => { const v = process.env[k]; if (!v) throw new Error(`${k} is not set`); return v; };
const URL = env('VIGIL_URL');
const require = createRequire(join(env('VIGIL_PLAYWRIGHT'), 'noop.js'));
const { chromium } = require('playwright-core');

const browser = await chromium.launch({ executablePath: env('VIGIL_CHROMIUM'), args: ['--no-sandbox'] });
try {
  const page = await browser.newPage({ viewport: { width: 1366, height: 860 } });
  const measured = {};
  const timed = async (name, act, selector) => {
    const t = Date.now();
    await act();
    await page.waitForSelector(selector, { timeout: 20_000 });
    measured[name] = Date.now() - t;
  };
  await timed('board_ms', () => page.goto(URL), 'body[data-rendered]');
  await timed('reports_ms', () => page.keyboard.press('3'), '#view-reports:not([hidden]) #reports tr');
  await timed('alerts_ms', () => page.keyboard.press('2'), '#view-alerts:not([hidden]) #alerts tr');
  await timed('reputation_ms', () => page.keyboard.press('4'), '#view-reputation:not([hidden]) #leaders tr');
  const rows = await page.evaluate(() => ({
    reports: document.querySelectorAll('#reports tr').length,
    page: document.getElementById('r-page').textContent,
    alerts: document.getElementById('alert-count').textContent,
  }));
  console.log(JSON.stringify({ ...measured, ...rows }));
} finally {
  await browser.close();
}
