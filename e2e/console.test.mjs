// End-to-end tests of the Clientele console in headless Chromium (Debian's `chromium`), driven
// by playwright-core, against a real `clientele serve --demo` whose address is BASE_URL.
//
// Run by `cargo test` (crates/clientele/tests/console), which starts the server. By hand:
//   BASE_URL=http://127.0.0.1:8080 SCREENSHOTS=/tmp/shots node e2e/console.test.mjs
// SMOKE=1 runs the short path (used on PostgreSQL). Every page's screenshot goes to SCREENSHOTS,
// and axe-core checks every page: a serious or critical violation fails the run.
//
// Waits are on events and conditions: an element, a response, a value that changes. The import's
// progress is followed with a deadline that starts again whenever the progress moves.

import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { strict as assert } from 'node:assert';
import path from 'node:path';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const BASE = process.env.BASE_URL;
const SHOTS = process.env.SCREENSHOTS || path.resolve('screenshots');
const SMOKE = process.env.SMOKE === '1';
const PASSWORD = 'demo-password';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
if (!BASE) {
  console.error('BASE_URL is not set');
  process.exit(2);
}
mkdirSync(SHOTS, { recursive: true });

const results = { passed: 0, failed: 0 };
const accessibility = [];

async function step(name, body) {
  const started = Date.now();
  try {
    await body();
    results.passed += 1;
    console.log(`ok - ${name} (${Date.now() - started} ms)`);
  } catch (error) {
    results.failed += 1;
    console.log(`not ok - ${name}\n  ${String(error && error.stack || error).split('\n').join('\n  ')}`);
    throw error;
  }
}

/** Screenshot and accessibility check of the page as it is now. */
async function look(page, name, { iframes = true } = {}) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  await page.evaluate(AXE);
  // Stripe's card frame is another site's page: axe checks ours around it (`iframes: false`).
  const report = await page.evaluate((iframes) =>
    window.axe.run(document, { iframes, runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } }), iframes);
  const serious = report.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  accessibility.push({ page: name, violations: report.violations.map((v) => `${v.impact} ${v.id}`) });
  assert.deepEqual(
    serious.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')})`),
    [],
    `serious accessibility violations on ${name}`,
  );
}

async function newPage(browser, locale = 'en-GB') {
  const context = await browser.newContext({ locale, viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  const page = await context.newPage();
  page.on('pageerror', (error) => console.log(`page error on ${page.url()}: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') console.log(`console error on ${page.url()}: ${message.text()}`);
  });
  return page;
}

async function login(page, email) {
  await page.goto(`${BASE}/login`);
  await page.fill('#email', email);
  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForURL((url) => !url.pathname.startsWith('/login')), page.click('button.primary')]);
}

async function logout(page) {
  await Promise.all([page.waitForURL(/\/login/), page.click('form[action="/logout"] button')]);
}

/** Types into the search box like a person and waits for the results to show `expected`. */
async function searchFor(page, query, expected) {
  // "/" takes the focus to the search box from anywhere.
  await page.evaluate(() => document.activeElement && document.activeElement.blur());
  await page.keyboard.press('/');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'q');
  await page.keyboard.type(query);
  // The results of the whole query: the first one is the person looked for.
  await page.waitForFunction(
    (text) => {
      const first = document.querySelector('#results a.result');
      return first && first.textContent.includes(text);
    },
    expected,
  );
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

let exitCode = 0;
try {
  const admin = await newPage(browser);
  const stamp = Date.now().toString(36);
  // The email carries a token of its own, so that a search for the name finds one person.
  const mail = `nicolo.${(Date.now() * 7).toString(36)}@example.com`;
  const created = { name: `Nicolò ${stamp}`, last: 'Ćosić-Žáková', id: '' };

  await step('the log-in page opens and a wrong password is refused', async () => {
    await admin.goto(`${BASE}/`);
    assert.match(admin.url(), /\/login/);
    await look(admin, '01-login');
    await admin.fill('#email', 'admin@demo.example');
    await admin.fill('#password', 'wrong-password');
    await admin.click('button.primary');
    await admin.locator('.alert', { hasText: 'not correct' }).waitFor();
  });

  await step('an admin logs in by email alone and sees the orders waiting for an override', async () => {
    await login(admin, 'admin@demo.example');
    await admin.locator('h1', { hasText: 'Today' }).waitFor();
    await admin.locator('#h-waiting').waitFor();
    await look(admin, '02-home-admin');
  });

  await step('a new customer with a licence number and no dates shows the field errors inline', async () => {
    await admin.goto(`${BASE}/customers/new`);
    await admin.fill('#f-first-name', created.name);
    await admin.fill('#f-last-name', created.last);
    await admin.fill('#f-email', 'not-an-email');
    await admin.fill('#f-phone', '333 123 4567');
    await admin.locator('#f-phone-preview', { hasText: '+393331234567' }).waitFor();
    await admin.fill('#f-driver-license-number', 'U1X23Y456Z');
    await look(admin, '03-new-customer');
    const [response] = await Promise.all([admin.waitForResponse((r) => r.request().method() === 'POST'), admin.click('button.primary')]);
    assert.equal(response.status(), 422);
    await admin.locator('#f-email-error').waitFor();
    await admin.locator('#f-driver-license-issued-on-error').waitFor();
    await admin.locator('#f-driver-license-expires-on-error').waitFor();
    assert.equal(await admin.inputValue('#f-first-name'), created.name, 'what was typed is kept');
    await look(admin, '04-new-customer-errors');
  });

  await step('fixing the fields creates the customer, stored with its phone in E.164', async () => {
    await admin.fill('#f-email', mail);
    await admin.fill('#f-driver-license-issued-on', '2015-03-01');
    await admin.fill('#f-driver-license-expires-on', '2035-03-01');
    await Promise.all([admin.waitForURL(/\/customers\/[0-9a-f-]{36}\?saved=created/), admin.click('button.primary')]);
    created.id = new URL(admin.url()).pathname.split('/')[2];
    await admin.locator('.notice', { hasText: 'Customer created' }).waitFor();
    await admin.locator('dd', { hasText: '+393331234567' }).waitFor();
  });

  await step('a second customer with the same email is saved with a warning linking the other', async () => {
    await admin.goto(`${BASE}/customers/new`);
    await admin.fill('#f-first-name', 'Nicola');
    await admin.fill('#f-last-name', 'Omonimo');
    await admin.fill('#f-email', mail);
    await Promise.all([admin.waitForURL(/saved=created/), admin.click('button.primary')]);
    const link = admin.locator('.warning a');
    await link.waitFor();
    assert.equal(await link.getAttribute('href'), `/customers/${created.id}`);
  });

  await step('searching without accents finds the accented name, and arrows and Enter open it', async () => {
    await admin.goto(`${BASE}/customers`);
    await look(admin, '05-customers');
    await searchFor(admin, `cosic ${stamp}`, created.last);
    await admin.keyboard.press('ArrowDown');
    await Promise.all([admin.waitForURL(new RegExp(created.id)), admin.keyboard.press('Enter')]);
    await admin.locator('h1', { hasText: created.last }).waitFor();
  });

  if (!SMOKE) {
    await step('a document is uploaded, then viewed and downloaded (each audited)', async () => {
      await admin.goto(`${BASE}/customers/${created.id}`);
      await admin.selectOption('#f-kind', 'driver_license');
      await admin.fill('#f-number', 'U1X23Y456Z');
      await admin.fill('#f-expires-on', '2035-03-01');
      await admin.setInputFiles('#doc-file', {
        name: 'licence.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4\n% a scanned licence\n%%EOF\n'),
      });
      await Promise.all([admin.waitForURL(/saved=document/), admin.click('#documents button[type=submit]')]);
      const row = admin.locator('#documents tbody tr', { hasText: 'licence.pdf' });
      await row.waitFor();
      const href = await row.locator('a', { hasText: 'View' }).getAttribute('href');
      const file = await admin.request.get(`${BASE}${href}`);
      assert.equal(file.status(), 200);
      assert.equal(file.headers()['content-type'], 'application/pdf');
      const [download] = await Promise.all([admin.waitForEvent('download'), row.locator('a', { hasText: 'Download' }).click()]);
      assert.equal(download.suggestedFilename(), 'licence.pdf');
      await admin.reload();
      await admin.locator('#audit td', { hasText: 'document.downloaded' }).first().waitFor();
      await look(admin, '06-customer-profile');
    });

    await step('a note is added to the timeline', async () => {
      await admin.fill('#note-body', 'Prefers an automatic gearbox.');
      await Promise.all([admin.waitForURL(/saved=note/), admin.click('#notes button[type=submit]')]);
      await admin.locator('.timeline li', { hasText: 'automatic gearbox' }).waitFor();
    });

    await step('the edit form shows the record and saves a change', async () => {
      await admin.goto(`${BASE}/customers/${created.id}/edit`);
      assert.equal(await admin.inputValue('#f-phone'), '+393331234567');
      await look(admin, '07-edit-customer');
      await admin.fill('#f-address-city', 'Forlì');
      await admin.fill('#f-birth-date', '1980-05-17');
      await Promise.all([admin.waitForURL(/saved=updated/), admin.click('button.primary')]);
      await admin.locator('dd', { hasText: 'Forlì' }).waitFor();
    });

    await step('an admin blacklists the customer', async () => {
      await admin.goto(`${BASE}/customers/${created.id}`);
      await admin.click('#blacklist summary');
      // On the global list too: the platform admin lifts it at the end.
      await admin.selectOption('#bl-scope', 'global');
      await admin.selectOption('#bl-reason', 'unpaid_damage');
      await admin.fill('#bl-note', 'Returned the car scratched');
      await Promise.all([admin.waitForURL(/saved=blacklisted/), admin.click('#blacklist button.danger')]);
      await admin.locator('.blacklist-warning').first().waitFor();
    });
  }

  const operator = await newPage(browser);
  let orderUrl = '';
  await step('an operator logs in and the customers page is their start', async () => {
    await login(operator, 'operator@demo.example');
    assert.match(operator.url(), /\/customers$/);
    await operator.locator('#q').waitFor();
  });

  if (!SMOKE && process.env.STRIPE === '1') {
    await step('the operator adds a card with Stripe Elements: a declined card says so, a good one is listed', async () => {
      await operator.goto(`${BASE}/customers/${created.id}`);
      await operator.locator('#payment-methods', { hasText: 'No payment methods yet.' }).waitFor();
      await Promise.all([operator.waitForURL(/payment-methods\/new$/), operator.click('#payment-methods a.button')]);
      const frame = operator.frameLocator('iframe[title="Secure payment input frame"]');
      await operator.locator('#card-submit:not([disabled])').waitFor();
      await look(operator, '10a-add-card', { iframes: false });
      const typeCard = async (number, expiry, cvc) => {
        await frame.locator('#number').fill(number);
        await frame.locator('#expiry').fill(expiry);
        await frame.locator('#cvc').fill(cvc);
      };
      await typeCard('4000 0000 0000 0002', '01 / 33', '159');
      await operator.click('#card-submit');
      await operator.locator('#card-error', { hasText: 'declined' }).waitFor();
      await operator.locator('#card-submit:not([disabled])').waitFor();
      // The card is typed into Stripe's frame: the page around it never holds the number.
      const html = await operator.content();
      assert.ok(!/4000 ?0000 ?0000 ?0002/.test(html), 'the card number is not in the console page');
      await typeCard('4242 4242 4242 4242', '12 / 34', '314');
      await Promise.all([operator.waitForURL(/saved=card-added/), operator.click('#card-submit')]);
      await operator.locator('#payment-methods tr', { hasText: 'Visa •••• 4242' }).waitFor();
      assert.equal(await operator.locator('#payment-methods tr', { hasText: '12/2034' }).count(), 1);
      await look(operator, '10b-profile-with-card');
    });
  }

  if (!SMOKE) {
    await step('an order for a blacklisted customer is blocked for the operator, who requests an override', async () => {
      await operator.goto(`${BASE}/orders/new`);
      await look(operator, '08-order-pick');
      await searchFor(operator, `cosic ${stamp}`, created.last);
      await Promise.all([operator.waitForURL(/\/orders\/new\?customer=/), operator.locator('#results a.result').first().click()]);
      await operator.locator('.blacklist-warning').waitFor();
      assert.equal(await operator.locator('button', { hasText: 'Confirm order' }).isDisabled(), true);
      await operator.fill('#f-pickup-place', 'Roma Termini');
      await operator.fill('#f-return-place', 'Roma Termini');
      await operator.fill('#f-vehicle-plate', 'AB123CD');
      await look(operator, '09-order-blacklisted');
      await Promise.all([operator.waitForURL(/saved=requested/), operator.click('button[value=request]')]);
      await operator.locator('.badge', { hasText: 'Waiting for override' }).waitFor();
      orderUrl = new URL(operator.url()).pathname;
      await look(operator, '10-order-waiting');
    });

    await step('the admin sees the request on the home page and approves it with a reason', async () => {
      await admin.goto(`${BASE}/`);
      const waiting = admin.locator(`#h-waiting + table a[href="${orderUrl}"]`);
      await waiting.waitFor();
      await Promise.all([admin.waitForURL(new RegExp(orderUrl)), waiting.click()]);
      await admin.fill('#approve-reason', 'Paid the damage in cash at the counter');
      await Promise.all([admin.waitForURL(/saved=approved/), admin.locator('button', { hasText: 'Approve' }).click()]);
      await admin.locator('.badge', { hasText: 'Confirmed' }).waitFor();
      await look(admin, '11-order-approved');
    });

    await step('a returning customer is ordered for in a few keys: the form starts from the last order', async () => {
      await operator.goto(`${BASE}/orders/new?customer=${created.id}`);
      assert.equal(await operator.inputValue('#f-vehicle-plate'), 'AB123CD');
      await operator.locator('.blacklist-warning').waitFor();
    });

    await step('an import is reviewed, runs to 100% with honest counts, and its refused rows download', async () => {
      await admin.goto(`${BASE}/imports`);
      await look(admin, '12-imports');
      const csv = `Nome;Cognome;E-mail;Telefono\nGiulia;Bianchi ${stamp};giulia.${stamp}@example.com;333 765 4321\n`
        + `Marco;Neri ${stamp};not-an-email;\nLuca;;luca.${stamp}@example.com;\n`;
      await admin.setInputFiles('#import-file', { name: 'clienti.csv', mimeType: 'text/csv', buffer: Buffer.from(csv, 'latin1') });
      await Promise.all([admin.waitForURL(/\/imports\/drafts\//), admin.click('form[enctype] button.primary')]);
      await admin.locator('dd', { hasText: ';' }).waitFor();
      assert.equal(await admin.inputValue('#target-0'), 'first_name');
      assert.equal(await admin.inputValue('#target-3'), 'phone');
      await look(admin, '13-import-review');
      await Promise.all([admin.waitForURL(/\/imports\/[0-9a-f-]{36}$/), admin.click('button[value=import]')]);
      // Follow the progress: each step may take up to a minute, and the wait starts again
      // whenever the figure moves.
      let shown = await admin.locator('[data-progress]').getAttribute('data-progress').catch(() => null);
      while (shown !== '100') {
        await admin.waitForFunction(
          (before) => {
            const now = document.querySelector('[data-progress]');
            const value = now ? now.getAttribute('data-progress') : null;
            return value !== before || document.querySelector('.alert');
          },
          shown,
          { timeout: 60_000 },
        );
        assert.equal(await admin.locator('#import-progress .alert').count(), 0, 'the import failed');
        shown = await admin.locator('[data-progress]').getAttribute('data-progress');
      }
      const facts = await admin.locator('#import-progress dl').innerText();
      assert.match(facts, /Created\s+1/);
      assert.match(facts, /Refused\s+2/);
      const [download] = await Promise.all([admin.waitForEvent('download'), admin.click('a[href$="errors.csv"]')]);
      const refused = readFileSync(await download.path(), 'utf8');
      assert.match(refused, /^import_row,import_errors/);
      assert.match(refused, /not-an-email/);
      await look(admin, '14-import-done');
      await searchForExisting(admin, `bianchi ${stamp}`);
    });

    await step('the import is undone', async () => {
      await admin.goBack();
      admin.once('dialog', (dialog) => dialog.accept());
      await Promise.all([admin.waitForURL(/saved=undone/), admin.locator('button', { hasText: 'Undo this import' }).click()]);
      await admin.locator('.notice', { hasText: 'Import undone' }).waitFor();
    });

    await step('customers are exported with the chosen columns', async () => {
      await admin.goto(`${BASE}/exports`);
      await look(admin, '15-export');
      await admin.uncheck('input[name=column][value=kind]');
      await admin.selectOption('#e-vip', 'true');
      const [download] = await Promise.all([admin.waitForEvent('download'), admin.click('button.primary')]);
      const text = readFileSync(await download.path(), 'utf8');
      const [header, ...rows] = text.trim().split('\n');
      assert.equal(header, 'first_name,last_name,company_name,email,phone,address.city,vip');
      assert.ok(rows.length > 10 && rows.every((row) => row.endsWith(',true')), 'only VIPs');
    });

    await step('the admin pages open: dashboard, users, settings, audit log', async () => {
      await admin.goto(`${BASE}/admin/dashboard`);
      await admin.locator('h2', { hasText: 'VIP repeat rate' }).waitFor();
      await look(admin, '16-dashboard');
      await admin.goto(`${BASE}/admin/users`);
      await look(admin, '17-users');
      await admin.goto(`${BASE}/admin/settings`);
      await look(admin, '18-settings');
      await admin.goto(`${BASE}/admin/audit?action=order.overridden`);
      await admin.locator('td', { hasText: 'order.overridden' }).first().waitFor();
      await look(admin, '19-audit');
    });
  }

  await step('the driver sees their deliveries and those customers\' contacts, and nothing else', async () => {
    const driver = await newPage(browser);
    await login(driver, 'driver@demo.example');
    assert.match(driver.url(), /\/driver$/);
    const first = driver.locator('main section a[href^="/customers/"]').first();
    await first.waitFor();
    await look(driver, '20-driver');
    await Promise.all([driver.waitForURL(/\/customers\//), first.click()]);
    await driver.locator('h2', { hasText: 'Contact details' }).waitFor();
    assert.equal(await driver.locator('text=Documents').count(), 0);
    await look(driver, '21-driver-customer');
    const other = await driver.goto(`${BASE}/customers/${created.id}`);
    assert.equal(other.status(), 404);
    await driver.locator('h1', { hasText: 'Not found' }).waitFor();
    await look(driver, '22-not-found');
    const orders = await driver.goto(`${BASE}/orders/new`);
    assert.equal(orders.status(), 403);
    await driver.context().close();
  });

  await step('the partner agency sees its own customers only', async () => {
    const partner = await newPage(browser);
    await login(partner, 'partner@demo.example');
    assert.match(partner.url(), /\/customers$/);
    await partner.locator('#results a.result').first().waitFor();
    await look(partner, '23-partner');
    const other = await partner.goto(`${BASE}/customers/${created.id}`);
    assert.equal(other.status(), 404);
    await partner.context().close();
  });

  await step('the console speaks Italian to an Italian browser, with Italian dates', async () => {
    const italian = await newPage(browser, 'it-IT');
    await italian.goto(`${BASE}/login`);
    await italian.locator('h2', { hasText: 'Accedi' }).waitFor();
    await login(italian, 'admin@demo.example');
    await italian.goto(`${BASE}/customers/${created.id}`);
    await italian.locator('h2', { hasText: 'Dati' }).waitFor();
    const born = await italian.locator('dd').filter({ hasText: /^\d{1,2} (gen|feb|mar|apr|mag|giu|lug|ago|set|ott|nov|dic) \d{4}/ }).count();
    assert.ok(born > 0, 'dates are written the Italian way');
    await look(italian, '24-profile-italian');
    await italian.goto(`${BASE}/customers`);
    await look(italian, '25-customers-italian');
    await italian.context().close();
  });

  await step('tenant users may not open the global blacklist; the platform admin can, and lifts an entry', async () => {
    const refused = await admin.goto(`${BASE}/platform/global-blacklist`);
    assert.equal(refused.status(), 403);
    const platform = await newPage(browser);
    await login(platform, process.env.PLATFORM_ADMIN || 'platform@demo.example');
    assert.match(platform.url(), /\/platform\/global-blacklist$/);
    await look(platform, '26-global-blacklist');
    if (!SMOKE) {
      const lift = platform.locator('form[action$="/lift"]').first();
      await lift.locator('input[name=note]').fill('Settled with the company');
      platform.once('dialog', (dialog) => dialog.accept());
      await Promise.all([platform.waitForURL(/global-blacklist$/), lift.locator('button').click()]);
      await platform.locator('td', { hasText: 'lifted' }).first().waitFor();
    }
    await platform.context().close();
  });

  await step('logging out ends the session', async () => {
    await admin.goto(`${BASE}/customers`);
    await logout(admin);
    await admin.goto(`${BASE}/customers`);
    assert.match(admin.url(), /\/login\?next=/);
  });
} catch {
  exitCode = 1;
} finally {
  await browser.close();
  writeFileSync(path.join(SHOTS, 'accessibility.json'), JSON.stringify(accessibility, null, 2));
  console.log(`screenshots: ${SHOTS}`);
  console.log(`${results.passed} passed, ${results.failed} failed`);
  process.exit(exitCode || (results.failed ? 1 : 0));
}

async function searchForExisting(page, query) {
  await page.goto(`${BASE}/customers`);
  await page.fill('#q', query);
  await page.locator('#results a.result').first().waitFor();
}
