// The console measured in a real browser (headless Chromium), not a timed test: a program that
// prints a table and writes it into BENCHMARKS.md between `<!-- bench:console -->` markers.
//
//   BASE_URL=http://127.0.0.1:8080 node e2e/bench-console.mjs
//
// Environment: EMAIL and PASSWORD of an operator (default: the demo's), TENANT (the company's
// slug, when the email has accounts at several), SEARCHES (default 200), PROFILES (default 100),
// ORDER_ENTRY=0 to skip the order entry (a data set without orders, such as `clientele bench
// search`'s), REPORT (default ../BENCHMARKS.md), LABEL (the data set's name for the report),
// MARKER (the report's section, default `console`; `console-1m` for the million).
//
// 1. Order entry: from the empty customers page to a confirmed order for a returning customer
//    (one with a past order) found by four letters of the surname: every key and click counted,
//    the wall time from the first key to the confirmation on screen.
// 2. Search as you type: from the last key of a query to its results painted (the debounce
//    included), for prefixes of the data set's own surnames; p50 and p95.
// 3. Customer profile: navigation start to the load event of complete profile pages; p50, p95.

import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const BASE = process.env.BASE_URL;
const EMAIL = process.env.EMAIL || 'operator@demo.example';
const PASSWORD = process.env.PASSWORD || 'demo-password';
const TENANT = process.env.TENANT || '';
const SEARCHES = Number(process.env.SEARCHES || 200);
const PROFILES = Number(process.env.PROFILES || 100);
const ORDER_ENTRY = process.env.ORDER_ENTRY !== '0';
const REPORT = process.env.REPORT || path.join(here, '..', 'BENCHMARKS.md');
const LABEL = process.env.LABEL || 'the demo data set';
// The report's section: `<!-- bench:MARKER -->` (one per data set).
const MARKER = process.env.MARKER || 'console';
const SERVER = process.env.SERVER || 'clientele serve --demo';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
if (!BASE) {
  console.error('set BASE_URL');
  process.exit(2);
}

const fold = (text) => text.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((sorted.length * p) / 100) - 1)];
};
const ms = (value) => `${value.toFixed(0)} ms`;

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const context = await browser.newContext({ locale: 'en-GB', viewport: { width: 1280, height: 800 } });
const page = await context.newPage();

await page.goto(`${BASE}/login`);
await page.fill('#email', EMAIL);
await page.fill('#password', PASSWORD);
if (TENANT) {
  await page.goto(`${BASE}/login?company=1`);
  await page.fill('#email', EMAIL);
  await page.fill('#password', PASSWORD);
  await page.fill('#tenant', TENANT);
}
await Promise.all([page.waitForURL((url) => !url.pathname.startsWith('/login')), page.click('button.primary')]);

/** Customers of the list's first pages: (href, surname). */
async function customers(query, pages) {
  const found = [];
  let url = `${BASE}/customers?${query}`;
  for (let i = 0; i < pages && url; i += 1) {
    await page.goto(url);
    const rows = await page.$$eval('#results a.result', (links) => links.map((a) => ({
      href: a.getAttribute('href'), name: a.querySelector('.name').textContent.trim(),
    })));
    found.push(...rows);
    const next = await page.$('.pager a');
    url = next ? `${BASE}${await next.getAttribute('href')}` : '';
  }
  return found.map((c) => ({ href: c.href, surname: c.name.split(' ').slice(1).join(' ') }));
}

const rows = [];
let orderEntry = null;

if (ORDER_ENTRY) {
  // A returning customer: one whose profile lists a past order, with a surname of 4+ letters.
  let target = null;
  for (const candidate of await customers('vip=true', 2)) {
    if (fold(candidate.surname).replace(/[^a-z]/g, '').length < 4) continue;
    await page.goto(`${BASE}${candidate.href}`);
    if (await page.locator('#orders tbody tr').count() > 0 && await page.locator('.blacklist-warning').count() === 0) {
      target = candidate;
      break;
    }
  }
  if (!target) throw new Error('no returning customer found (the data set has no orders?)');
  const letters = fold(target.surname).replace(/[^a-z]/g, '').slice(0, 4);

  await page.goto(`${BASE}/customers`);
  let keys = 0;
  let clicks = 0;
  // The search box has the focus when the page opens.
  const started = performance.now();
  for (const letter of letters) {
    await page.keyboard.press(letter);
    keys += 1;
  }
  // The results of the whole query are on screen.
  await page.locator(`[data-results-for="${letters}"]`).waitFor({ state: 'attached' });
  const hrefs = await page.$$eval('#results a.result', (links) => links.map((a) => a.getAttribute('href')));
  const position = hrefs.indexOf(target.href);
  if (position < 0) throw new Error(`${target.surname} is not on the first page for "${letters}"`);
  for (let i = 0; i <= position; i += 1) {
    await page.keyboard.press('ArrowDown');
    keys += 1;
  }
  await Promise.all([page.waitForURL(new RegExp(target.href)), page.keyboard.press('Enter')]);
  keys += 1;
  await Promise.all([page.waitForURL(/\/orders\/new/), page.click('a.button.primary')]);
  clicks += 1;
  await Promise.all([page.waitForURL(/saved=created/), page.click('button[value=confirm]')]);
  clicks += 1;
  await page.locator('.notice').waitFor();
  const elapsed = performance.now() - started;
  orderEntry = { keys, clicks, elapsed, letters, position };
  rows.push(['Order entry, returning customer by 4 letters of the surname',
    `${keys} keys + ${clicks} clicks = ${keys + clicks} actions (target ≤ 12)`,
    `${(elapsed / 1000).toFixed(1)} s wall time (target ≤ 15 s)`]);
}

// Search as you type: prefixes (3 to 6 letters) of the data set's own surnames.
const sample = await customers('', 8);
const queries = [];
for (let i = 0; queries.length < SEARCHES && sample.length; i += 1) {
  const surname = fold(sample[i % sample.length].surname).replace(/[^a-z]/g, '');
  if (surname.length >= 3) queries.push(surname.slice(0, 3 + (i % 4)));
  if (i > SEARCHES * 10) break;
}
await page.goto(`${BASE}/customers`);
await page.evaluate(() => {
  // When each query's results were painted: the frame after htmx settles them.
  window.__painted = {};
  document.body.addEventListener('htmx:afterSettle', () => {
    const marker = document.querySelector('[data-results-for]');
    const query = marker ? marker.getAttribute('data-results-for') : '';
    requestAnimationFrame(() => { window.__painted[query] = performance.now(); });
  });
});
const paintedAfter = (query, after) => page.waitForFunction(
  ([q, t]) => window.__painted[q] > t && window.__painted[q], [query, after]);
const searchTimes = [];
for (const query of queries) {
  const prefix = query.slice(0, -1);
  const before = await page.evaluate(() => performance.now());
  await page.fill('#q', prefix);
  await paintedAfter(prefix, before);
  const t0 = await page.evaluate(() => performance.now());
  await page.keyboard.press(query.slice(-1));
  const painted = await paintedAfter(query, t0);
  searchTimes.push((await painted.jsonValue()) - t0);
}
rows.push([`Search as you type, key to results painted (${searchTimes.length} queries, 40 ms debounce included)`,
  `p50 ${ms(percentile(searchTimes, 50))}`, `p95 ${ms(percentile(searchTimes, 95))} (target ≤ 100 ms)`]);

// Customer profile pages, complete (documents, notes, orders, history, audit for admins).
const profileTimes = [];
for (const customer of sample.slice(0, PROFILES)) {
  await page.goto(`${BASE}${customer.href}`);
  const timing = await page.evaluate(() => {
    const entry = performance.getEntriesByType('navigation')[0];
    return entry.loadEventEnd - entry.startTime;
  });
  profileTimes.push(timing);
}
rows.push([`Customer profile page complete (${profileTimes.length} profiles)`,
  `p50 ${ms(percentile(profileTimes, 50))}`, `p95 ${ms(percentile(profileTimes, 95))} (target ≤ 200 ms; the seed asks < 1 s)`]);

await browser.close();

const chromiumVersion = (() => {
  try { return execFileSync(CHROMIUM, ['--version'], { encoding: 'utf8' }).trim(); } catch { return 'chromium'; }
})();
const section = [
  `<!-- bench:${MARKER} -->`,
  `## Console, in the browser: ${LABEL}`,
  '',
  `Measured by \`e2e/bench-console.mjs\` on ${os.cpus().length} cores (${os.cpus()[0].model}), ${chromiumVersion} headless,`,
  `against \`${SERVER}\` on ${new Date().toISOString().slice(0, 10)}.`,
  orderEntry ? `Order entry typed "${orderEntry.letters}" (the customer was result ${orderEntry.position + 1}), then: arrows, Enter, New order, Confirm order.` : '',
  '',
  '| what | figure | figure |',
  '|---|---|---|',
  ...rows.map((r) => `| ${r.join(' | ')} |`),
  `<!-- /bench:${MARKER} -->`,
].filter((line, i, all) => line !== '' || all[i - 1] !== '').join('\n');
console.log(section);

if (existsSync(REPORT)) {
  const text = readFileSync(REPORT, 'utf8');
  const start = text.indexOf(`<!-- bench:${MARKER} -->`);
  const end = text.indexOf(`<!-- /bench:${MARKER} -->`);
  const updated = start >= 0 && end > start
    ? text.slice(0, start) + section + text.slice(end + `<!-- /bench:${MARKER} -->`.length)
    : `${text.trimEnd()}\n\n${section}\n`;
  writeFileSync(REPORT, updated);
  console.error(`written to ${REPORT}`);
}
