// The canary console in a real browser: Debian's chromium driven by playwright-core, against
// the real infergate binary on the quickstart's config (90/10 between InferencePool llm and
// Service llm-v2) with three modelsim model servers and steady streamed traffic.
//
//   node --test tests/browser/console.test.mjs
//   INFERGATE_BUILD_DIR   where infergate and modelsim are (default: build/)
//   CHROMIUM              the browser (default: /usr/bin/chromium, then chromium-browser)
//   CONSOLE_ARTIFACTS     where the screenshots go (default: BUILD_DIR/console-screenshots)
//
// Without chromium or playwright-core every test is skipped and says how to get them
// (./dev.sh test installs both).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const build = path.resolve(process.env.INFERGATE_BUILD_DIR || path.join(root, 'build'));
const artifacts = path.resolve(process.env.CONSOLE_ARTIFACTS || path.join(build, 'console-screenshots'));
const model = 'llama-3.1-8b-instruct';

function findChromium() {
  for (const c of [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'])
    if (c && fs.existsSync(c)) return c;
  return null;
}
let playwright = null;
try {
  playwright = await import('playwright-core');
} catch {
  playwright = null;
}
const chromiumPath = findChromium();
const skip = !chromiumPath
  ? 'chromium is not installed (apt-get install chromium; ./dev.sh test installs it): browser tests skipped'
  : !playwright
    ? 'playwright-core is not installed (npm ci --prefix tests/browser; ./dev.sh test does it): browser tests skipped'
    : !fs.existsSync(path.join(build, 'infergate')) || !fs.existsSync(path.join(build, 'modelsim'))
      ? `no infergate/modelsim in ${build} (./dev.sh build): browser tests skipped`
      : false;
if (skip) console.log('# SKIP ' + skip);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
    s.on('error', reject);
  });
}
async function waitFor(what, fn, timeoutMs = 20000, everyMs = 100) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try { if ((last = await fn())) return last; } catch (e) { last = e; }
    await sleep(everyMs);
  }
  throw new Error(`timed out waiting for ${what} (last: ${last})`);
}

const env = { children: [], logs: fs.mkdtempSync(path.join(os.tmpdir(), 'infergate-console-')) };
function start(name, bin, args) {
  const out = fs.openSync(path.join(env.logs, name + '.log'), 'w');
  const child = spawn(bin, args, { stdio: ['ignore', out, out] });
  child.exitCode_ = null;
  child.on('exit', (code) => { child.exitCode_ = code; });
  env.children.push(child);
  return child;
}
const admin = (p) => `http://127.0.0.1:${env.adminPort}${p}`;
// node's fetch sends Sec-Fetch-Mode as a browser does, so its changes carry the CSRF token too
// (unless the test sets the headers of a cross-site request itself).
let csrfToken = null;
async function adminJSON(p, init) {
  if (init && init.method && init.method !== 'GET' && !(init.headers && init.headers.origin)) {
    csrfToken = csrfToken || (await (await fetch(admin('/csrf_token'))).json()).csrf_token;
    init = { ...init, headers: { ...(init.headers || {}), 'x-csrf-token': csrfToken } };
  }
  const r = await fetch(admin(p), init);
  return { status: r.status, body: await r.json().catch(() => null) };
}
async function weightsOf(name) {
  const { body } = await adminJSON('/weights');
  const rule = body.rules.find((r) => r.name === name);
  return Object.fromEntries(rule.backends.map((b) => [b.name, b.weight]));
}

// Steady traffic: a few streamed chat completions at a time, answers counted by model server.
const traffic = { running: false, byInstance: new Map(), statuses: new Map() };
async function oneRequest() {
  const body = JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 6, stream: true,
    stream_options: { include_usage: true } });
  try {
    const r = await fetch(`http://127.0.0.1:${env.gwPort}/v1/chat/completions`, { method: 'POST', body,
      headers: { 'content-type': 'application/json' } });
    await r.arrayBuffer();
    const who = r.headers.get('x-modelsim-instance') || 'none';
    traffic.byInstance.set(who, (traffic.byInstance.get(who) || 0) + 1);
    traffic.statuses.set(r.status, (traffic.statuses.get(r.status) || 0) + 1);
  } catch {
    traffic.statuses.set('error', (traffic.statuses.get('error') || 0) + 1);
  }
}
function startTraffic(concurrency = 4) {
  traffic.running = true;
  for (let i = 0; i < concurrency; i++) {
    (async () => { while (traffic.running) { await oneRequest(); await sleep(20); } })();
  }
}

let browser, page;
async function shot(name) {
  fs.mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: path.join(artifacts, name + '.png'), fullPage: true });
}

before(async () => {
  if (skip) return;
  env.gwPort = await freePort();
  env.adminPort = await freePort();
  env.simPorts = [await freePort(), await freePort(), await freePort()];
  // The quickstart, on ports of its own.
  let cfg = fs.readFileSync(path.join(root, 'examples/quickstart/gateway.yaml'), 'utf8');
  cfg = cfg.replace('port: 9901', `port: ${env.adminPort}`).replace('port: 8080', `port: ${env.gwPort}`)
    .replace('workers: 0 ', 'workers: 2 ').replace('path: /dev/stdout', `path: ${path.join(env.logs, 'access.log')}`);
  env.simPorts.forEach((p, i) => { cfg = cfg.replace(`port: 1800${i + 1}`, `port: ${p}`); });
  env.configDir = path.join(env.logs, 'config');
  fs.mkdirSync(env.configDir);
  fs.writeFileSync(path.join(env.configDir, 'gateway.yaml'), cfg);
  env.simPorts.forEach((p, i) => start(`modelsim-${i + 1}`, path.join(build, 'modelsim'),
    ['--port', String(p), '--model', model, '--name', `sim-${i + 1}`, '--ttft-ms', '15', '--itl-ms', '4', '--output-tokens', '6']));
  for (const p of env.simPorts) await waitFor(`modelsim :${p}`, async () => (await fetch(`http://127.0.0.1:${p}/health`)).ok);
  env.gateway = start('infergate', path.join(build, 'infergate'), ['--config', env.configDir, '--workers', '2']);
  await waitFor('infergate /ready', async () => (await fetch(admin('/ready'))).ok);
  startTraffic();
  browser = await playwright.chromium.launch({ executablePath: chromiumPath, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on('pageerror', (e) => console.log('# page error: ' + e.message));
});

after(async () => {
  traffic.running = false;
  if (browser) await browser.close().catch(() => {});
  for (const c of env.children) if (c.exitCode_ === null) c.kill('SIGTERM');
  await sleep(200);
  if (process.env.KEEP_LOGS) console.log('# logs in ' + env.logs);
  else fs.rmSync(env.logs, { recursive: true, force: true });
});

test('the admin home links to the console, which shows the quickstart routes at 90/10', { skip }, async () => {
  await page.goto(admin('/'));
  await page.getByRole('link', { name: 'Canary console' }).click();
  await page.waitForURL(admin('/console'));
  await page.evaluate(() => { window.__sameDocument = true; });
  const card = page.locator('[data-rule^="HTTPRoute/default/llm-route/"]');
  await card.waitFor();
  const percent = (b) => card.locator(`tr[data-backend="${b}"] [data-role="percent"]`);
  await waitFor('90 / 10 in the routes table', async () =>
    (await percent('llm').textContent()) === '90 %' && (await percent('llm-v2').textContent()) === '10 %');
  assert.equal(await card.locator('tr[data-backend="llm"] input[type="number"]').inputValue(), '90');
  assert.equal(await card.locator('tr[data-backend="llm-v2"] input[type="number"]').inputValue(), '10');
  await shot('01-routes-90-10');
});

test('moving the slider to 75/25 sets the weights and the traffic follows', { skip }, async () => {
  const card = page.locator('[data-rule^="HTTPRoute/default/llm-route/"]');
  const slider = card.locator('tr[data-backend="llm-v2"] input[type="range"]');
  // By keyboard, as a user without a mouse would: 15 steps right from 10.
  await slider.focus();
  for (let i = 0; i < 15; i++) await page.keyboard.press('ArrowRight');
  await waitFor('the answer of POST /weights', async () => /applied/.test(await card.locator('[data-role="answer"]').textContent()));
  assert.deepEqual(await weightsOf('llm-route'), { llm: 75, 'llm-v2': 25 });
  await waitFor('75 / 25 in the table', async () =>
    (await card.locator('tr[data-backend="llm-v2"] [data-role="percent"]').textContent()) === '25 %');
  // The split follows: about a quarter of new answers come from sim-3 (the v2 canary).
  traffic.byInstance.clear();
  await waitFor('400 answers', async () => [...traffic.byInstance.values()].reduce((a, b) => a + b, 0) >= 400, 60000);
  const total = [...traffic.byInstance.values()].reduce((a, b) => a + b, 0);
  const canary = (traffic.byInstance.get('sim-3') || 0) / total;
  assert.ok(canary > 0.15 && canary < 0.35, `canary share ${canary} of ${total} answers, want about 0.25`);
  await shot('02-routes-75-25');
});

test('the version charts have data points', { skip }, async () => {
  const route = page.locator('[data-route="default/llm-route"]');
  await route.waitFor();
  const rps = route.locator('figure.chart', { hasText: 'Requests per second' });
  await waitFor('points in the requests chart', async () => Number(await rps.getAttribute('data-points')) > 5, 20000);
  for (const title of ['Requests per second', 'Time to first token p90', 'Output tokens per second', 'Latency p99'])
    assert.ok(Number(await route.locator('figure.chart', { hasText: title }).getAttribute('data-points')) > 0, title);
  assert.ok(await route.locator('figure.chart polyline').count() > 0, 'lines drawn');
  await route.scrollIntoViewIfNeeded();
  await shot('03-versions-charts');
  // Readable in dark too: the same page with the system's dark scheme.
  await page.emulateMedia({ colorScheme: 'dark' });
  assert.equal(await page.evaluate(() => getComputedStyle(document.body).backgroundColor), 'rgb(13, 17, 23)');
  await shot('03-versions-charts-dark');
  await page.emulateMedia({ colorScheme: 'light' });
});

test('a refusal of POST /weights is shown with its reason', { skip }, async () => {
  const card = page.locator('[data-rule^="HTTPRoute/default/llm-route/"]');
  const llm = card.locator('tr[data-backend="llm"] input[type="number"]');
  const v2 = card.locator('tr[data-backend="llm-v2"] input[type="number"]');
  await v2.fill('2000000');  // above Gateway API's 1,000,000
  await v2.dispatchEvent('change');
  await waitFor('the refusal', async () => /refused \(4\d\d\)/.test(await card.locator('[data-role="answer"]').textContent()));
  const text = await card.locator('[data-role="answer"]').textContent();
  assert.match(text, /weight/);
  assert.deepEqual(await weightsOf('llm-route'), { llm: 75, 'llm-v2': 25 });
  await waitFor('the inputs to show the served weights again', async () => (await llm.inputValue()) === '75', 10000);
  await shot('04-weights-refused');
});

test('the roll back button puts 100 % on the stable backend', { skip }, async () => {
  const card = page.locator('[data-rule^="HTTPRoute/default/llm-route/"]');
  assert.match(await card.locator('[data-role="stable"]').textContent(), /100 % on llm /);
  await card.locator('[data-role="rollback"]').click();
  await waitFor('the answer', async () => /applied/.test(await card.locator('[data-role="answer"]').textContent()));
  assert.deepEqual(await weightsOf('llm-route'), { llm: 100, 'llm-v2': 0 });
});

test('a rollout whose canary goes bad aborts, and the page shows the failed verdict without a reload', { skip }, async () => {
  // The canary answers half of its requests with errors; a Rollout on the quickstart route.
  const fault = await fetch(`http://127.0.0.1:${env.simPorts[2]}/modelsim/faults`, { method: 'POST', body: JSON.stringify({ error_rate: 0.5 }) });
  assert.equal(fault.status, 200);
  const rollout = `apiVersion: infergate.dev/v1alpha1
kind: Rollout
metadata:
  name: llm-v2-canary
spec:
  targetRef: {kind: HTTPRoute, name: llm-route}
  stable: llm
  canary: llm-v2
  steps:
  - setWeight: 20
  - pause: {duration: 30s}
  - setWeight: 50
  analysis:
    interval: 1s
    window: 4s
    minRequests: 5
    failureLimit: 1
    gates:
    - {metric: errorRate, maxIncrease: 0.05}
`;
  const posted = await adminJSON('/config', { method: 'POST', headers: { 'content-type': 'application/yaml' }, body: rollout });
  assert.equal(posted.status, 200, JSON.stringify(posted.body));
  const card = page.locator('[data-rollout="default/llm-v2-canary"]');
  await card.waitFor({ timeout: 10000 });
  await waitFor('a fail verdict on the page', async () => (await card.locator('tr[data-verdict="fail"]').count()) > 0, 30000);
  await waitFor('the Aborted phase on the page', async () => (await card.locator('[data-phase]').getAttribute('data-phase')) === 'Aborted', 30000);
  assert.equal(await page.evaluate(() => window.__sameDocument), true, 'the page was not reloaded');
  assert.match(await card.locator('tr[data-verdict="fail"]').first().textContent(), /error/i);
  assert.ok(await card.locator('[data-role="events"] tr').count() > 1, 'events listed');
  assert.equal(await card.locator('button[data-action="retry"]').isDisabled(), false, 'retry offered after the abort');
  await card.scrollIntoViewIfNeeded();
  await shot('05-rollout-aborted');
  await fetch(`http://127.0.0.1:${env.simPorts[2]}/modelsim/faults`, { method: 'POST', body: JSON.stringify({ error_rate: 0 }) });
});

test('the pools section shows each endpoint with its signals and the picker decisions', { skip }, async () => {
  const pool = page.locator('[data-pool="llm"]');
  await pool.waitFor();
  assert.equal(await pool.locator('tr[data-endpoint]').count(), 2);
  await waitFor('picked decisions counted', async () => Number((await pool.locator('table[aria-label="picker decisions"] tbody tr').nth(1).locator('td').first().textContent()).replace(/,/g, '')) > 0);
  await pool.scrollIntoViewIfNeeded();
  await shot('06-pools');
});

test('a cross-origin POST is refused', { skip }, async () => {
  const before = await weightsOf('llm-route');
  const refused = async () => Number((/admin\.refused\.cross_site: (\d+)/.exec(await (await fetch(admin('/stats?filter=refused'))).text()) || [0, 0])[1]);
  const refusedBefore = await refused();
  // From node, with the headers a browser adds on a cross-site request.
  const r = await adminJSON('/weights', { method: 'POST', headers: { 'content-type': 'application/json', origin: 'http://evil.example',
    'sec-fetch-site': 'cross-site' }, body: JSON.stringify({ name: 'llm-route', weights: { llm: 1, 'llm-v2': 99 } }) });
  assert.equal(r.status, 403);
  // From a page of another origin in the browser: the request the browser lets a page send
  // without asking (no preflight) reaches the admin listener and is refused.
  const evil = http.createServer((_, res) => { res.setHeader('content-type', 'text/html'); res.end('<!doctype html><title>other origin</title>'); });
  await new Promise((resolve) => evil.listen(0, '127.0.0.1', resolve));
  const other = await browser.newPage();
  await other.goto(`http://localhost:${evil.address().port}/`);
  const answered = await other.evaluate(async (url) => {
    try {
      await fetch(url, { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' },
        body: JSON.stringify({ name: 'llm-route', weights: { llm: 1, 'llm-v2': 99 } }) });
      return 'sent';
    } catch (e) { return 'blocked: ' + e.message; }
  }, admin('/weights'));
  await other.close();
  evil.close();
  assert.ok(answered, 'the cross-origin attempt ran');
  assert.deepEqual(await weightsOf('llm-route'), before, 'weights unchanged by the cross-origin page');
  await waitFor('both refusals counted', async () => (await refused()) >= refusedBefore + 2, 5000);
});

test('an admin listener off loopback without a token is refused at start', { skip }, async () => {
  const port = await freePort();
  const child = start('infergate-exposed', path.join(build, 'infergate'),
    ['--config', env.configDir, '--admin-address', '0.0.0.0', '--admin-port', String(port), '--workers', '1']);
  const code = await new Promise((resolve) => child.on('exit', resolve));
  assert.notEqual(code, 0);
  const log = fs.readFileSync(path.join(env.logs, 'infergate-exposed.log'), 'utf8');
  assert.match(log, /no authentication/);
});

test('off loopback the console asks for the admin token, and changes need it', { skip }, async () => {
  const token = 'ops:' + 'c0ffee'.repeat(6);
  const tokenFile = path.join(env.logs, 'admin-tokens');
  fs.writeFileSync(tokenFile, token + '\n');
  const adminPort = await freePort();
  const gwPort = await freePort();
  // The same quickstart, admin on every address with a token file.
  let cfg = fs.readFileSync(path.join(env.configDir, 'gateway.yaml'), 'utf8');
  cfg = cfg.replace(`port: ${env.adminPort}`, `port: ${adminPort}\n    auth:\n      tokenFile: ${tokenFile}`)
    .replace('address: 127.0.0.1\n    port', 'address: 0.0.0.0\n    port').replace(`port: ${env.gwPort}`, `port: ${gwPort}`);
  const dir = path.join(env.logs, 'config-token');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'gateway.yaml'), cfg);
  start('infergate-token', path.join(build, 'infergate'), ['--config', dir, '--workers', '1']);
  const url = (p) => `http://127.0.0.1:${adminPort}${p}`;
  const bearer = { authorization: 'Bearer ' + token.slice(4) };
  await waitFor('the token admin', async () => (await fetch(url('/ready'), { headers: bearer })).ok);
  // Without the token: reads and changes are refused.
  assert.equal((await fetch(url('/weights'))).status, 401);
  const csrf = (await (await fetch(url('/csrf_token'), { headers: bearer })).json()).csrf_token;
  const change = { method: 'POST', body: JSON.stringify({ name: 'llm-route', weights: { llm: 50, 'llm-v2': 50 } }),
    headers: { 'content-type': 'application/json', 'x-csrf-token': csrf } };
  assert.equal((await fetch(url('/weights'), change)).status, 401);
  // The page opens without it (its files are not secret), says it cannot read, and asks.
  const tokenPage = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await tokenPage.goto(url('/console'));
  await tokenPage.locator('#token-form').waitFor({ state: 'visible' });
  assert.match(await tokenPage.locator('#status').textContent(), /token/);
  await tokenPage.locator('#token').fill(token.slice(4));
  await tokenPage.getByRole('button', { name: 'Use token' }).click();
  const card = tokenPage.locator('[data-rule^="HTTPRoute/default/llm-route/"]');
  await card.waitFor();
  const v2 = card.locator('tr[data-backend="llm-v2"] input[type="number"]');
  await v2.fill('30');
  await v2.dispatchEvent('change');
  await waitFor('the answer', async () => /applied/.test(await card.locator('[data-role="answer"]').textContent()));
  const served = await (await fetch(url('/weights'), { headers: bearer })).json();
  const rule = served.rules.find((r) => r.name === 'llm-route');
  assert.deepEqual(Object.fromEntries(rule.backends.map((b) => [b.name, b.weight])), { llm: 70, 'llm-v2': 30 });
  fs.mkdirSync(artifacts, { recursive: true });
  await tokenPage.screenshot({ path: path.join(artifacts, '08-token-admin.png') });
  await tokenPage.close();
});
