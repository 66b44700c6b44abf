// Sign in with Lectern, in Chromium, to an application built on openid-client
// (relying-party.mjs): run by tests/api/oidc_browser.rs, which starts Lectern, registers the
// clients with `lectern oidc clients add --json`, and serves a test-only control server that moves
// Lectern's clock. On its own:
//
//   LECTERN_URL=... CONTROL_URL=... RP_PORT=... CLIENTS='{...}' STUDENT_EMAIL=... \
//   STUDENT_PASSWORD=... ARTIFACTS_DIR=... node tests/oidc/journey.mjs
//
// The application runs on http://localhost:RP_PORT and Lectern on http://127.0.0.1:PORT: two sites,
// so the browser applies its cross-site rules (SameSite cookies, form-action on redirects) as it
// would between a school's forum and its Lectern. Any failed expectation ends the process with a
// non-zero status and says what was expected, on which page.

import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium } from 'playwright-core';
// The accessibility watcher of the browser journeys (its packages are in tests/browser/node_modules).
import { AccessibilityWatch } from '../browser/a11y.mjs';
import { startRelyingParty } from './relying-party.mjs';

function env(name, fallback) {
  const value = process.env[name] ?? fallback;
  if (value === undefined || value === '') {
    console.error(`journey.mjs: the environment variable ${name} is required (tests/api/oidc_browser.rs sets it)`);
    process.exit(2);
  }
  return value;
}

const LECTERN = env('LECTERN_URL').replace(/\/$/, '');
const CONTROL = env('CONTROL_URL').replace(/\/$/, '');
const CHROMIUM = env('CHROMIUM_PATH', '/usr/bin/chromium');
const ARTIFACTS = env('ARTIFACTS_DIR');
const CLIENTS = JSON.parse(env('CLIENTS'));
const STUDENT = { email: env('STUDENT_EMAIL'), password: env('STUDENT_PASSWORD'), name: env('STUDENT_NAME') };
const ROLE_CLAIM = `${LECTERN}/claims/role`;
// Lectern's pages on the way (sign-in, consent, sessions) are checked with axe-core at both sizes.
const a11y = new AccessibilityWatch({ origin: new URL(LECTERN).origin, sizes: { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } } });

class Failure extends Error {}

function expect(condition, message) {
  if (!condition) throw new Failure(message);
}

// Seconds between this machine's clock and Lectern's (whose clock the test moves).
let skew = 0;
async function syncClock() {
  const { unix } = await (await fetch(`${CONTROL}/clock`)).json();
  skew = unix - Math.round(Date.now() / 1000);
}

async function advanceLectern(secs) {
  const resp = await fetch(`${CONTROL}/clock/advance?secs=${secs}`, { method: 'POST' });
  expect(resp.ok, `the control server refused to move the clock: ${resp.status}`);
  await syncClock();
}

/** Opens the application's page and clicks its "Sign in with Lectern" link, as a person would:
 *  the navigation to Lectern then starts on the application's site, not in the address bar. */
async function startSignIn(page, name) {
  await page.goto(`${rp.url}/?client=${name}`);
  await page.click('#sign-in');
}

/** Lectern pages a tab showed (path and status), to tell which ones a sign-in went through. */
function watch(page) {
  const seen = [];
  page.on('response', (r) => {
    const u = new URL(r.url());
    if (u.origin === LECTERN && r.request().isNavigationRequest()) seen.push({ path: u.pathname, status: r.status() });
  });
  const violations = [];
  page.on('console', (m) => {
    if (/Content Security Policy|form-action/i.test(m.text())) violations.push(m.text());
  });
  return { seen, violations };
}

async function result(page, what) {
  await page.waitForURL((u) => u.port === String(new URL(rp.url).port) && u.pathname.startsWith('/callback/'), { timeout: 15000 });
  const ok = await page.locator('#result').count();
  const text = await page.locator(ok ? '#result' : '#error').innerText();
  expect(ok, `${what}: the application's callback failed: ${text}`);
  return JSON.parse(text);
}

async function signIn(page) {
  await page.waitForURL((u) => u.origin === LECTERN && u.pathname === '/auth/sign-in');
  await page.fill('input[name=email]', STUDENT.email);
  await page.fill('input[name=password]', STUDENT.password);
  await page.click('form[action="/auth/sign-in"] button[type=submit]');
}

async function consent(page, appName, decision, shot) {
  await page.waitForSelector('form[action="/auth/oauth/consent"]');
  const heading = await page.locator('h1').innerText();
  expect(heading.includes(appName), `the consent page names the application: ${heading}`);
  const text = await page.locator('main').innerText();
  for (const scope of ['openid', 'profile', 'email']) expect(text.includes(scope), `the consent page lists ${scope}`);
  if (shot) await page.screenshot({ path: path.join(ARTIFACTS, `${shot}.png`), fullPage: true });
  await page.click(`button[value=${decision}]`);
}

function checkClaims(r, name, alg) {
  const c = CLIENTS[name];
  expect(r.header.alg === alg, `${name}: ID token signed ${r.header.alg}, expected ${alg}`);
  expect(r.header.typ === 'JWT', `${name}: typ ${r.header.typ}`);
  expect(r.claims.iss === LECTERN, `${name}: iss ${r.claims.iss}`);
  expect(r.claims.aud === c.client_id, `${name}: aud ${r.claims.aud}`);
  expect(typeof r.claims.auth_time === 'number', `${name}: auth_time`);
  expect(r.claims.name === STUDENT.name && r.claims.email === STUDENT.email, `${name}: profile and email claims`);
  expect(r.claims.email_verified === false, `${name}: email_verified is false`);
  expect(r.claims[ROLE_CLAIM] === 'student', `${name}: the role claim`);
  expect(r.userinfo.sub === r.claims.sub && r.userinfo.email === STUDENT.email, `${name}: userinfo agrees`);
  expect(r.userinfo[ROLE_CLAIM] === 'student', `${name}: the role at userinfo`);
}

let rp;
let browser;

const journeys = [
  {
    name: 'sign in to the forum (RS256, confidential): Lectern sign-in, consent, callback',
    async run(ctx) {
      const page = await ctx.signedOut.newPage();
      const w = watch(page);
      await startSignIn(page, 'forum');
      await signIn(page);
      await consent(page, 'School Forum', 'approve', 'oidc-consent');
      const r = await result(page, 'forum');
      checkClaims(r, 'forum', 'RS256');
      ctx.sub = r.claims.sub;
      expect(w.violations.length === 0, `no CSP violations: ${w.violations}`);
    },
  },
  {
    name: 'sign in to the code review (EdDSA, public client): consent only, already signed in',
    async run(ctx) {
      const page = await ctx.signedOut.newPage();
      const w = watch(page);
      await startSignIn(page, 'review');
      await consent(page, 'Code Review', 'approve');
      const r = await result(page, 'review');
      checkClaims(r, 'review', 'EdDSA');
      expect(r.claims.sub === ctx.sub, 'the same person to both applications');
      expect(!w.seen.some((s) => s.path === '/auth/sign-in'), `no second sign-in: ${JSON.stringify(w.seen)}`);
    },
  },
  {
    name: 'the forum again: the consent is remembered, no Lectern page at all',
    async run(ctx) {
      const page = await ctx.signedOut.newPage();
      const w = watch(page);
      await startSignIn(page, 'forum');
      checkClaims(await result(page, 'forum again'), 'forum', 'RS256');
      expect(w.seen.every((s) => s.status === 303), `only redirects at Lectern: ${JSON.stringify(w.seen)}`);
    },
  },
  {
    name: 'another browser: the sign-in form itself ends at the application (form-action)',
    async run(ctx) {
      const fresh = await browser.newContext();
      a11y.watch(fresh);
      const page = await fresh.newPage();
      const w = watch(page);
      await startSignIn(page, 'forum');
      await signIn(page);
      checkClaims(await result(page, 'forum in another browser'), 'forum', 'RS256');
      expect(!w.seen.some((s) => s.path === '/auth/oauth/authorize' && s.status === 200), 'no consent page: remembered');
      expect(w.violations.length === 0, `no CSP violations: ${w.violations}`);
      await fresh.close();
    },
  },
  {
    name: 'an expired session cookie: renewed on the way, without signing in again',
    async run(ctx) {
      await advanceLectern(16 * 60);
      const page = await ctx.signedOut.newPage();
      const w = watch(page);
      await startSignIn(page, 'forum');
      const r = await result(page, 'forum after the access cookie expired');
      checkClaims(r, 'forum', 'RS256');
      expect(w.seen.some((s) => s.path === '/auth/refresh'), `the refresh ran: ${JSON.stringify(w.seen)}`);
      expect(!w.seen.some((s) => s.path === '/auth/sign-in'), `no sign-in page: ${JSON.stringify(w.seen)}`);
    },
  },
  {
    name: 'revoke the forum on the sessions page: it must ask again, and a refusal reaches it',
    async run(ctx) {
      const page = await ctx.signedOut.newPage();
      await page.goto(`${LECTERN}/auth/sessions`);
      const apps = await page.locator('#connected-applications + p + .table-wrap').innerText();
      expect(apps.includes('School Forum') && apps.includes('Code Review'), `connected applications: ${apps}`);
      await page.screenshot({ path: path.join(ARTIFACTS, 'oidc-connected-applications.png'), fullPage: true });
      const row = page.locator('tr', { hasText: 'School Forum' });
      await row.locator('button', { hasText: 'Revoke' }).click();
      await page.waitForURL((u) => u.pathname === '/auth/sessions' && u.search.includes('revoked=1'));
      const after = await page.locator('main').innerText();
      expect(after.includes('disconnected') && !after.includes('School Forum'), `after revoking: ${after}`);
      await startSignIn(page, 'forum');
      await consent(page, 'School Forum', 'deny');
      await page.waitForURL((u) => u.pathname.startsWith('/callback/'));
      const error = JSON.parse(await page.locator('#error').innerText());
      expect(error.error === 'access_denied', `the application learns the refusal: ${JSON.stringify(error)}`);
    },
  },
];

async function main() {
  await mkdir(ARTIFACTS, { recursive: true });
  await syncClock();
  rp = await startRelyingParty({ issuer: LECTERN, clients: CLIENTS, port: Number(env('RP_PORT')), clockSkew: () => skew });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  console.log(`oidc journey: Chromium ${browser.version()}, Lectern at ${LECTERN}, the application at ${rp.url}`);
  const ctx = { signedOut: await browser.newContext() };
  a11y.watch(ctx.signedOut);
  let failed = 0;
  for (const j of journeys) {
    const t0 = Date.now();
    try {
      await j.run(ctx);
      await a11y.checkPages([ctx.signedOut]);
      const found = a11y.take();
      expect(found.length === 0, AccessibilityWatch.describe(found));
      console.log(`ok       ${j.name} (${Date.now() - t0} ms)`);
    } catch (e) {
      failed += 1;
      console.log(`FAILED   ${j.name} (${Date.now() - t0} ms)\n${e instanceof Failure ? e.message : e.stack}`);
      for (const [i, p] of ctx.signedOut.pages().entries()) {
        const file = path.join(ARTIFACTS, `FAILED-oidc-tab${i + 1}.png`);
        await p.screenshot({ path: file, fullPage: true }).catch(() => {});
        console.log(`         tab ${i + 1} was at ${p.url()}: ${file}`);
      }
      break;
    }
  }
  console.log(a11y.summary());
  await browser.close();
  await rp.close();
  process.exit(failed ? 1 : 0);
}

main().catch(async (e) => {
  console.error(`journey.mjs crashed: ${e.stack ?? e}`);
  await browser?.close().catch(() => {});
  process.exit(1);
});
