// The dashboard in a real browser: Debian's Chromium driven by playwright-core (no browser
// download). Run by crates/node/tests/network/dashboard.rs, which sets:
//   VIGIL_BIN (the vigil binary), VIGIL_DATA (a fresh data directory), VIGIL_PORT,
//   VIGIL_CHROMIUM, VIGIL_PLAYWRIGHT (a node_modules holding playwright-core),
//   VIGIL_ARTIFACTS (where screenshots and the node's log go).
// It starts `vigil up`, opens the console, watches the demo's first report reach its verdict
// without reloading, trips a breaker through the CLI and times the board's change, injects
// markup through a report summary and a trip reason, restarts the node and sees the page
// reconnect, and checks the page asked no host but the node. Prints its measurements as JSON.
import { createRequire } from 'node:module';
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const BIN = env('VIGIL_BIN'), DATA = env('VIGIL_DATA'), PORT = env('VIGIL_PORT');
const OUT = env('VIGIL_ARTIFACTS');
const URL = `http://127.0.0.1:${PORT}`;
const require = createRequire(join(env('VIGIL_PLAYWRIGHT'), 'noop.js'));
const { chromium } = require('playwright-core');
mkdirSync(OUT, { recursive: true });
const log = openSync(join(OUT, 'node.log'), 'a');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function fail(message) { throw new Error(message); }

function up() {
  return spawn(BIN, ['up', '--data', DATA, '--listen', `127.0.0.1:${PORT}`], { stdio: ['ignore', log, log] });
}
async function waitApi(ms = 60_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try { if ((await fetch(`${URL}/v1/status`)).ok) return; } catch { /* not yet */ }
    await sleep(100);
  }
  fail(`the node did not answer at ${URL}`);
}
function cli(...args) {
  return JSON.parse(execFileSync(BIN, ['--json', '--node', URL, ...args], { encoding: 'utf8' }));
}
const key = (name) => join(DATA, 'keys', `${name}.key`);

const measured = {};
let node = up();
let browser;
try {
  await waitApi();
  browser = await chromium.launch({ executablePath: env('VIGIL_CHROMIUM'), args: ['--no-sandbox'] });
  const page = await browser.newPage({ viewport: { width: 1366, height: 860 } });
  const foreign = [];
  let navigations = 0;
  page.on('request', (r) => { if (!r.url().startsWith(`${URL}/`)) foreign.push(r.url()); });
  page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations += 1; });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));

  const opened = Date.now();
  await page.goto(URL);
  await page.waitForSelector('#board .card[data-protocol="demo-vault"]', { timeout: 20_000 });
  measured.first_view_ms = Date.now() - opened;
  measured.first_render_in_page_ms = Number(await page.evaluate(() => document.body.dataset.firstRenderMs || -1));
  await page.waitForSelector('#conn[data-state="live"]', { timeout: 10_000 });

  // The demo's first report reaches its verdict while the page stays open.
  await page.keyboard.press('3');
  await page.waitForSelector('#view-reports:not([hidden]) #reports tr', { timeout: 20_000 });
  await page.waitForSelector('#reports td[data-status="confirmed"]', { timeout: 60_000 });
  if (navigations !== 1) fail(`the page navigated ${navigations} times; it must update in place`);
  await page.locator('#reports tr').first().click();
  await page.waitForSelector('#report-detail table', { timeout: 10_000 });
  await page.screenshot({ path: join(OUT, 'reports.png'), fullPage: true });

  // A breaker tripped through the CLI shows on the board within a second.
  await page.keyboard.press('1');
  await page.waitForSelector('.card[data-protocol="demo-vault"][data-breaker="armed"]');
  const reason = 'drill <b id="injected">bold</b>';
  const trip = cli('breaker', 'trip', 'demo-vault', '--reason', reason, '--key', key('alice'));
  if (trip.status !== 'committed') fail(`trip: ${JSON.stringify(trip)}`);
  const committed = Date.now();
  await page.waitForSelector('.card[data-protocol="demo-vault"][data-breaker="tripped"]', { timeout: 5_000 });
  measured.trip_to_board_ms = Date.now() - committed;
  if (measured.trip_to_board_ms > 1_000) fail(`the board changed ${measured.trip_to_board_ms} ms after the trip committed`);
  const card = await page.locator('.card[data-protocol="demo-vault"]').innerText();
  if (!card.includes(reason)) fail(`the trip reason is not shown as text: ${card}`);
  if (await page.locator('#injected').count()) fail('markup in a trip reason became an element');
  await page.screenshot({ path: join(OUT, 'board.png'), fullPage: true });

  // Markup in a report summary is shown as text.
  const summary = '<img src=x onerror="window.__xss=1"> drainer <script>window.__xss=2</script>';
  cli('report', 'submit', '--indicator', '0x00000000000000000000000000000000000bad01', '--severity', 'high',
    '--category', 'exploit', '--summary', summary, '--bond', '10', '--key', key('bob'));
  await page.keyboard.press('3');
  await page.waitForFunction((s) => document.querySelector('#reports').innerText.includes(s), summary, { timeout: 15_000 });
  const injected = await page.evaluate(() => ({
    images: document.querySelectorAll('main img, main script').length,
    xss: window.__xss === undefined ? null : window.__xss,
  }));
  if (injected.images || injected.xss !== null) fail(`markup ran or became elements: ${JSON.stringify(injected)}`);

  for (const [k, name] of [['4', 'reputation'], ['5', 'governance'], ['7', 'plots']]) {
    await page.keyboard.press(k);
    await page.waitForSelector(`#view-${name}:not([hidden])`);
    await sleep(400);
    await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });
  }
  await page.keyboard.press('1');

  // Restarted, the node is found again without a reload.
  const before = await page.evaluate(() => document.getElementById('status').textContent);
  node.kill('SIGTERM');
  await new Promise((r) => node.once('exit', r));
  await page.waitForSelector('#conn[data-state="reconnecting"]', { timeout: 10_000 });
  const restarted = Date.now();
  node = up();
  await waitApi();
  await page.waitForSelector('#conn[data-state="live"]', { timeout: 20_000 });
  measured.reconnect_after_start_ms = Date.now() - restarted;
  await page.waitForFunction((b) => document.getElementById('status').textContent !== b, before, { timeout: 10_000 });
  if (navigations !== 1) fail(`the page navigated ${navigations} times`);
  if (foreign.length) fail(`the page asked other hosts: ${foreign.join(', ')}`);
  if (errors.length) fail(`page errors: ${errors.join('; ')}`);
  console.log(JSON.stringify(measured));
} finally {
  if (browser) await browser.close();
  node.kill('SIGTERM');
}
