// Lectern's browser journeys: Playwright (playwright-core) driving Debian's Chromium against a
// real Lectern started by tests/api/browser.rs, which also serves a test-only control server
// to move the app's clock. Run through `cargo test --workspace`; on its own:
//
//   LECTERN_URL=... CONTROL_URL=... ARTIFACTS_DIR=... TEACHER_EMAIL=... TEACHER_NAME=... \
//   TEACHER_PASSWORD=... STUDENT_PASSWORD=... node tests/browser/journeys.mjs
//
// The journeys run in order and share what they made (the course, its code, the submission):
// the teacher builds a course, a student enrolls and hands in work, the teacher grades and
// releases, the student reads the grade; then the cookie refresh, the refused forms, and
// screenshots of every main page at desktop and phone size. Any failed expectation ends the
// process with a non-zero status and says what was expected, on which page.

import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { AccessibilityWatch } from './a11y.mjs';

// ---- settings --------------------------------------------------------------------------------

function env(name, fallback) {
  const value = process.env[name] ?? fallback;
  if (value === undefined || value === '') {
    console.error(`journeys.mjs: the environment variable ${name} is required (tests/api/browser.rs sets it)`);
    process.exit(2);
  }
  return value;
}

const BASE = env('LECTERN_URL').replace(/\/$/, '');
const CONTROL = env('CONTROL_URL').replace(/\/$/, '');
const ARTIFACTS = env('ARTIFACTS_DIR');
const CHROMIUM = env('CHROMIUM_PATH', '/usr/bin/chromium');
const TEACHER = { email: env('TEACHER_EMAIL'), name: env('TEACHER_NAME'), password: env('TEACHER_PASSWORD') };
// Teacher accounts made by tests/api/browser.rs: a co-teacher and a grader, once added to the staff.
const CO_TEACHER = { email: env('CO_TEACHER_EMAIL'), name: env('CO_TEACHER_NAME'), password: env('TEACHER_PASSWORD') };
const GRADER = { email: env('GRADER_EMAIL'), name: env('GRADER_NAME'), password: env('TEACHER_PASSWORD') };
const STUDENT = { email: 'mary.somerville@example.org', name: 'Mary Somerville', password: env('STUDENT_PASSWORD') };

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
// Every Lectern page a journey shows is checked with axe-core at both sizes (a11y.mjs).
const a11y = new AccessibilityWatch({ origin: new URL(BASE).origin, sizes: { desktop: DESKTOP, phone: PHONE } });
// The access token lives 15 minutes (30 s leeway): 16 minutes later it has expired.
const PAST_EXPIRY_SECS = 16 * 60;

const COURSE = { title: 'Numerical Methods in Rust', summary: 'Floating point, root finding and quadrature, with exercises.' };
const MATERIAL = { title: 'Floating point surprises', body: 'Why `0.1 + 0.2 != 0.3`, and what **to do** about it.' };
const ASSIGNMENT = { title: 'Bisection by hand', instructions: 'Find a root of x^3 - x - 2 on [1, 2] to three decimals.', points: '10' };
const ANSWER = 'The root is 1.521: f(1.5) < 0 and f(1.53) > 0, and ten halvings narrow it to 1.5214.';

// ---- small helpers ---------------------------------------------------------------------------

class Failure extends Error {}

/** Fails the journey with `message` unless `condition` holds. */
function expect(condition, message) {
  if (!condition) throw new Failure(message);
}

function url(p) {
  return `${BASE}${p}`;
}

function pathOf(page) {
  const u = new URL(page.url());
  return u.pathname + u.search;
}

/** The visible text of the page's main element (or body). */
async function mainText(page) {
  const main = page.locator('main');
  return (await main.count()) ? main.innerText() : page.locator('body').innerText();
}

async function expectText(page, text, what = `the page ${pathOf(page)}`) {
  const body = await mainText(page);
  expect(body.includes(text), `${what} should show “${text}”; it shows:\n${body.slice(0, 600)}`);
}

/** Opens a path and expects it to end (after any redirects) with `status`. */
async function visit(page, p, status = 200) {
  const resp = await page.goto(url(p));
  expect(resp, `no response for ${p}`);
  expect(resp.status() === status, `GET ${p} should end with ${status}, got ${resp.status()} at ${pathOf(page)}`);
  return resp;
}

/**
 * Fills `fields` ({name: value}) in the form matched by `form` and clicks its submit button;
 * returns the response the navigation ended with.
 */
async function submitForm(page, form, fields = {}, { button } = {}) {
  const f = typeof form === 'string' ? page.locator(form) : form;
  expect((await f.count()) === 1, `expected exactly one form ${form} on ${pathOf(page)}, found ${await f.count()}`);
  for (const [name, value] of Object.entries(fields)) {
    const input = f.locator(`[name="${name}"]`);
    if ((await input.getAttribute('type')) === 'checkbox') {
      await input.setChecked(Boolean(value));
    } else {
      await input.fill(String(value));
    }
  }
  const submit = button ? f.getByRole('button', { name: button }) : f.locator('button[type=submit]');
  const [resp] = await Promise.all([page.waitForNavigation(), submit.click()]);
  expect(resp, `submitting ${form} on ${pathOf(page)} gave no response`);
  return resp;
}

async function expectOk(resp, page, what) {
  expect(resp.status() === 200, `${what} should succeed (200), got ${resp.status()} at ${pathOf(page)}: ${(await mainText(page)).slice(0, 300)}`);
}

/** The nav shows who is signed in. */
async function expectSignedInAs(page, who) {
  const nav = page.locator('header nav .who');
  expect((await nav.count()) === 1, `${pathOf(page)} should show a signed-in nav for ${who.name}, but shows no user (at ${page.url()})`);
  const text = await nav.innerText();
  expect(text.includes(who.name), `the nav should name ${who.name}, it says “${text}”`);
}

async function signIn(page, who) {
  await visit(page, '/auth/sign-in');
  const resp = await submitForm(page, 'form[action="/auth/sign-in"]', { email: who.email, password: who.password });
  await expectOk(resp, page, `signing in as ${who.email}`);
  await expectSignedInAs(page, who);
}

async function advanceClock(secs) {
  const resp = await fetch(`${CONTROL}/clock/advance?secs=${secs}`, { method: 'POST' });
  expect(resp.ok, `the control server refused to advance the clock: ${resp.status}`);
  return resp.text();
}

/** Collects the `/auth/refresh` requests a page makes. */
function watchRefreshes(page) {
  const seen = [];
  page.on('request', (r) => {
    if (new URL(r.url()).pathname === '/auth/refresh') seen.push(r);
  });
  return seen;
}

/** The refresh cookie each of `requests` carried. */
async function refreshTokensSent(requests) {
  return Promise.all(requests.map(async (r) => /lectern_rt=([^;]+)/.exec((await r.allHeaders()).cookie ?? '')?.[1]));
}

/**
 * Loads `paths[i]` in `pages[i]`, all at once: each tab's request is held until every tab has
 * made one, then all go together, carrying the same cookies.
 */
async function loadAtOnce(pages, paths) {
  let release;
  const everyoneWaiting = new Promise((resolve) => (release = resolve));
  let held = 0;
  const gate = async (route) => {
    held += 1;
    if (held === pages.length) release();
    await everyoneWaiting;
    await route.continue();
  };
  for (const [i, p] of pages.entries()) await p.route(url(paths[i]), gate);
  try {
    return await Promise.all(pages.map((p, i) => p.goto(url(paths[i]))));
  } finally {
    for (const [i, p] of pages.entries()) await p.unroute(url(paths[i]), gate);
  }
}

async function accessCookie(context) {
  return (await context.cookies(BASE)).find((c) => c.name === 'lectern_at')?.value;
}

function sha256(text) {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The screenshots taken, for the summary. */
const shots = [];

/**
 * Saves a full-page screenshot of `page` at desktop size and at phone size, and checks that
 * at phone size nothing makes the page scroll sideways.
 */
async function shoot(page, name) {
  await page.setViewportSize(DESKTOP);
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}-desktop.png`), fullPage: true });
  await page.setViewportSize(PHONE);
  const m = await page.evaluate(() => {
    const widest = [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5)
      .filter((e) => !e.closest('.table-wrap, pre'))
      .slice(0, 3)
      .map((e) => `<${e.tagName.toLowerCase()}${e.className ? ` class="${e.className}"` : ''}> right=${Math.round(e.getBoundingClientRect().right)}`);
    return { scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth, widest };
  });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}-phone.png`), fullPage: true });
  await page.setViewportSize(DESKTOP);
  shots.push(name);
  expect(
    m.scrollWidth <= m.innerWidth,
    `${name} (${pathOf(page)}) overflows sideways at ${PHONE.width}px: scrollWidth ${m.scrollWidth} > innerWidth ${m.innerWidth}; too wide: ${m.widest.join(', ')}`,
  );
}

/** A finished page: the stylesheet applied, the shared header, one h1, a footer. */
async function expectFinishedLayout(page, name) {
  const l = await page.evaluate(() => ({
    styled: getComputedStyle(document.querySelector('.topbar') ?? document.body).display === 'flex',
    headers: document.querySelectorAll('header.topbar').length,
    h1: document.querySelectorAll('main h1').length,
    footer: document.querySelectorAll('footer').length,
    title: document.title,
  }));
  expect(l.styled, `${name}: the stylesheet is not applied`);
  expect(l.headers === 1 && l.footer === 1, `${name}: expected the shared header and footer`);
  expect(l.h1 === 1, `${name}: expected one h1 in main, found ${l.h1}`);
  expect(l.title.endsWith('· Lectern'), `${name}: title “${l.title}” should end with “· Lectern”`);
}

// ---- what the journeys share -----------------------------------------------------------------

const state = {
  browser: null,
  teacher: null, // { context, page }
  student: null,
  courseId: null,
  code: null,
  materialPath: null,
  assignmentPath: null,
  submissionPath: null,
  gradebookPath: null,
};

/** Every browser context still open, by who uses it: screenshotted when a journey fails. */
const open = new Map();

/** A new browser context (its own cookies, like another browser) with one tab. */
async function newActor(who) {
  const context = await state.browser.newContext({ viewport: DESKTOP, acceptDownloads: true });
  context.setDefaultTimeout(15_000);
  context.setDefaultNavigationTimeout(15_000);
  context.on('close', () => open.delete(who));
  open.set(who, context);
  const page = await context.newPage();
  a11y.watch(context);
  return { context, page };
}

// ---- the journeys ----------------------------------------------------------------------------

/** Journey 2, first half: a teacher signs in, creates a course, adds a material and an assignment, publishes. */
async function teacherBuildsACourse() {
  state.teacher = await newActor('teacher');
  const { page } = state.teacher;
  await signIn(page, TEACHER);

  await visit(page, '/courses');
  await page.getByRole('link', { name: 'New course' }).click();
  await page.waitForURL('**/courses/new');
  let resp = await submitForm(page, 'form[action="/courses"]', { title: COURSE.title, summary: COURSE.summary });
  await expectOk(resp, page, 'creating the course');
  const m = /^\/courses\/([^/?]+)/.exec(pathOf(page));
  expect(m, `after creating a course the browser should be on its page, it is on ${pathOf(page)}`);
  state.courseId = m[1];
  await expectText(page, COURSE.title);
  expect(await page.locator('h1 .badge.warn', { hasText: 'draft' }).count(), 'a new unpublished course is marked draft');
  state.code = (await page.locator('code.code').innerText()).trim();
  expect(/^[0-9A-Z-]{8,20}$/.test(state.code), `the enrollment code looks wrong: “${state.code}”`);

  resp = await submitForm(page, `form[action="/courses/${state.courseId}/materials"]`, {
    title: MATERIAL.title,
    body_markdown: MATERIAL.body,
  });
  await expectOk(resp, page, 'adding a material');
  state.materialPath = new URL(page.url()).pathname;
  expect(await page.locator('article.material strong', { hasText: 'to do' }).count(), 'the material renders its Markdown');

  await visit(page, `/courses/${state.courseId}`);
  await page.getByRole('link', { name: 'Assignments →' }).click();
  await page.waitForURL(`**/grading/courses/${state.courseId}`);
  resp = await submitForm(page, `form[action="/grading/courses/${state.courseId}/assignments"]`, {
    title: ASSIGNMENT.title,
    instructions: ASSIGNMENT.instructions,
    due_at: '2026-12-20T17:00',
    max_points: ASSIGNMENT.points,
  });
  await expectOk(resp, page, 'creating the assignment');
  await expectText(page, 'The assignment is created.');
  state.assignmentPath = new URL(page.url()).pathname;

  await visit(page, `/courses/${state.courseId}`);
  resp = await submitForm(page, `form[action="/courses/${state.courseId}/publish"]`, {}, { button: 'Publish' });
  await expectOk(resp, page, 'publishing');
  expect(!(await page.locator('h1 .badge.warn').count()), 'the published course is no longer marked draft');
  expect(await page.getByRole('button', { name: 'Unpublish' }).count(), 'a published course offers Unpublish');
}

/** Journey 1, first half: a student signs up, finds the course, enrolls, reads, submits, sees the receipt. */
async function studentEnrollsAndHandsIn() {
  state.student = await newActor('student');
  const { page } = state.student;
  await visit(page, '/auth/sign-up');
  let resp = await submitForm(page, 'form[action="/auth/sign-up"]', {
    display_name: STUDENT.name,
    email: STUDENT.email,
    password: STUDENT.password,
  });
  await expectOk(resp, page, 'signing up');
  await expectSignedInAs(page, STUDENT);

  // The catalog: search for the course by part of its title.
  await visit(page, '/courses');
  resp = await submitForm(page, 'form[role=search]', { q: 'numerical' });
  await expectOk(resp, page, 'searching the catalog');
  expect(pathOf(page).includes('q=numerical'), `the search should be in the URL, it is ${pathOf(page)}`);
  await page.locator('.grid article h2 a', { hasText: COURSE.title }).click();
  await page.waitForURL(`**/courses/${state.courseId}`);
  expect(!(await page.locator('code.code').count()), 'a student never sees the enrollment code');

  // A wrong code first: refused, nothing changes; then the right one.
  resp = await submitForm(page, `form[action="/courses/${state.courseId}/enroll"]`, { enrollment_code: 'AAAA-BBBB-CCCC' });
  expect(resp.status() >= 400, `a wrong enrollment code should be refused, got ${resp.status()}`);
  await visit(page, `/courses/${state.courseId}`);
  resp = await submitForm(page, `form[action="/courses/${state.courseId}/enroll"]`, { enrollment_code: state.code });
  await expectOk(resp, page, 'enrolling with the code');
  expect(await page.getByRole('button', { name: 'Leave this course' }).count(), 'an enrolled student can leave the course');

  // Read the material.
  await page.getByRole('link', { name: MATERIAL.title }).click();
  await page.waitForURL(`**${state.materialPath}`);
  await expectText(page, 'Why 0.1 + 0.2 != 0.3');
  expect(!(await page.locator('form[action$="/edit"]').count()), 'a student sees no edit form');

  // Hand in the assignment.
  await visit(page, `/courses/${state.courseId}`);
  await page.getByRole('link', { name: 'Assignments →' }).click();
  await page.getByRole('link', { name: ASSIGNMENT.title }).click();
  await page.waitForURL(`**${state.assignmentPath}`);
  await expectText(page, ASSIGNMENT.instructions);
  resp = await submitForm(page, `form[action="${state.assignmentPath}/submissions"]`, { body: ANSWER });
  await expectOk(resp, page, 'submitting the assignment');
  state.submissionPath = new URL(page.url()).pathname;
  await expectText(page, 'Received: attempt 1. Your receipt is below.');
  // The receipt covers the text and every file (none here): SHA-256 of a listing docs/api.md gives.
  const receiptOf = (text, files = []) =>
    sha256(`lectern-receipt-v1\nbody ${sha256(text)}\n${files.map((f) => `file ${f.sha256} ${f.size} ${f.name}\n`).join('')}`);
  const hash = (await page.locator('.receipt code.receipt-hash').innerText()).trim();
  expect(hash === receiptOf(ANSWER), `the receipt's SHA-256 should be ${receiptOf(ANSWER)} (over exactly the text sent), it shows ${hash}`);
  await expectText(page, 'No grade to show yet');

  // The assignment page lists the attempt with the same fingerprint, and no grade yet.
  await visit(page, state.assignmentPath);
  const row = page.locator('table tbody tr').first();
  expect((await row.innerText()).includes(hash), 'the attempt list shows the receipt hash');
  expect((await row.innerText()).includes('not released'), 'no grade before release');
}

/** Journey 2, second half: the teacher grades, regrades, releases, opens the gradebook, downloads the CSV. */
async function teacherGradesAndReleases() {
  const { page } = state.teacher;
  await visit(page, state.assignmentPath);
  await expectText(page, '1 student has submitted.');
  await page.getByRole('link', { name: 'See and grade the submissions' }).click();
  await page.waitForURL(`**${state.assignmentPath}/submissions`);
  const row = page.locator('tbody tr', { hasText: STUDENT.name });
  expect((await row.innerText()).includes('not graded'), 'the submission is not graded yet');
  await row.getByRole('link', { name: 'Open and grade' }).click();
  await page.waitForURL(`**${state.submissionPath}`);
  await expectText(page, ANSWER);

  const gradeForm = `form[action="${state.submissionPath}/grade"]`;
  let resp = await submitForm(page, gradeForm, { score: '7.5', feedback: 'Right root; show the halvings.' }, { button: 'Save grade' });
  await expectOk(resp, page, 'grading');
  await expectText(page, 'The grade is saved.');
  await expectText(page, '7.5 / 10');
  expect(await page.locator('h2', { hasText: 'Regrade' }).count(), 'a graded attempt offers a regrade');

  resp = await submitForm(page, gradeForm, { score: '9', feedback: 'The halvings are in the appendix: well done.' }, { button: 'Save grade' });
  await expectOk(resp, page, 'regrading');
  await expectText(page, '9 / 10');
  const history = page.locator('section', { has: page.locator('h2', { hasText: 'History' }) }).locator('tbody tr');
  expect((await history.count()) === 2, `the grade history should have 2 entries, it has ${await history.count()}`);
  const historyText = (await history.allInnerTexts()).join('\n');
  expect(historyText.includes('7.5') && historyText.includes('9'), `the history shows both scores: ${historyText}`);

  // The student cannot see the grade before release.
  await visit(state.student.page, state.submissionPath);
  await expectText(state.student.page, 'No grade to show yet', 'the student\'s receipt before release');

  await visit(page, state.assignmentPath);
  resp = await submitForm(page, `form[action="${state.assignmentPath}/release"]`);
  await expectOk(resp, page, 'releasing grades');
  await expectText(page, 'Grades are released: students now see them.');

  // The gradebook, its chart and its CSV.
  await visit(page, `/grading/courses/${state.courseId}`);
  await page.getByRole('link', { name: 'Gradebook' }).click();
  state.gradebookPath = `/grading/courses/${state.courseId}/gradebook`;
  await page.waitForURL(`**${state.gradebookPath}`);
  const cell = page.locator('table.gradebook tbody tr', { hasText: STUDENT.name });
  expect((await cell.innerText()).includes('9'), `the gradebook row shows the score 9: ${await cell.innerText()}`);
  const chart = page.locator('svg.distribution');
  expect((await chart.count()) === 1, `one chart per assignment, found ${await chart.count()}`);
  const bars = await chart.locator('rect.bar').evaluateAll((rects) =>
    rects.map((r) => ({ h: r.getBBox().height, w: r.getBBox().width })),
  );
  expect(bars.length >= 1, 'the chart has bars');
  expect(bars.some((b) => b.h > 0 && b.w > 0), `at least one bar is drawn with a size: ${JSON.stringify(bars)}`);
  const box = await chart.boundingBox();
  expect(box && box.width > 50 && box.height > 30, `the chart is visible on the page: ${JSON.stringify(box)}`);
  // The chart's numbers as a table, behind a disclosure: the one score of 9 is in the last row.
  const numbers = page.locator('figure.chart details.chart-data');
  expect(!(await numbers.locator('table').isVisible()), "the chart's table is folded away at first");
  await numbers.locator('summary').click();
  const rows = await numbers.locator('tbody tr').allInnerTexts();
  expect(rows.length === bars.length, `one row per bar: ${rows.length} rows, ${bars.length} bars`);
  expect(/^90% to 100%\s+1$/.test(rows.at(-1).trim()), `the last row counts the score of 9: “${rows.at(-1)}”`);
  expect(rows.slice(0, -1).every((r) => /\s0$/.test(r.trim())), `no other score: ${rows.join(' | ')}`);

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Download CSV' }).click(),
  ]);
  const csvPath = path.join(ARTIFACTS, 'gradebook.csv');
  await download.saveAs(csvPath);
  expect(download.suggestedFilename() === `gradebook-${state.courseId}.csv`, `CSV file name: ${download.suggestedFilename()}`);
  const lines = (await readFile(csvPath, 'utf8')).split('\r\n');
  expect(lines[0] === `Student,Student ID,${ASSIGNMENT.title} (max 10)`, `the CSV header row is “${lines[0]}”`);
  const studentLine = lines.find((l) => l.startsWith(`${STUDENT.name},`));
  expect(studentLine && /^[^,]+,[0-9a-f-]{36},9$/.test(studentLine), `the CSV row of the student should end with 9: “${studentLine}”`);
}

/** Journey 1, second half: the student sees the released grade, opens "your token", signs out. */
async function studentReadsGradeAndSignsOut() {
  const { page } = state.student;
  await visit(page, '/courses');
  await page.locator('header nav').getByRole('link', { name: 'My grades' }).click();
  await page.waitForURL('**/grading/me/grades');
  const row = page.locator('tbody tr', { hasText: ASSIGNMENT.title });
  expect((await row.count()) === 1, 'my grades lists the released assignment');
  const text = await row.innerText();
  expect(text.includes('9 / 10') && text.includes(COURSE.title), `my grades shows 9 / 10 for the course: ${text}`);
  expect(text.includes('well done'), `my grades shows the feedback: ${text}`);

  await page.locator('header nav').getByRole('link', { name: 'Your token' }).click();
  await page.waitForURL('**/auth/token');
  await expectText(page, 'Anyone holding it can read it');
  const header = await page.locator('main pre').first().innerText();
  expect(header.includes('"EdDSA"') && header.includes('"at+jwt"'), `the token header is shown: ${header}`);
  const claims = await page.locator('main pre').nth(1).innerText();
  expect(claims.includes(STUDENT.name) && claims.includes('"student"'), `the claims name the student: ${claims}`);

  await page.locator('header nav').getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL('**/auth/sign-in');
  expect(!(await page.locator('header nav .who').count()), 'after signing out the nav shows nobody');
  expect(!(await accessCookie(state.student.context)), 'signing out clears the access cookie');
  await visit(page, '/grading/me/grades');
  expect(pathOf(page).startsWith('/auth/sign-in?next='), `a signed-out student is sent to sign in, not ${pathOf(page)}`);
  await state.student.context.close();
  state.student = null;
}

// ---- the keyboard -----------------------------------------------------------------------------

/**
 * What has the keyboard focus: its tag, id, name (label, text or aria-label), whether it is on
 * screen, and its focus ring: outline style and width, and the contrast of the outline's colour
 * against the background it is drawn on (the nearest ancestor with an opaque background).
 */
async function focused(page) {
  return page.evaluate(() => {
    const e = document.activeElement;
    if (!e || e === document.body) return { tag: 'body', id: '', name: '', describe: '<body>' };
    const rgb = (c) => (c.match(/[\d.]+/g) ?? []).map(Number);
    const luminance = ([r, g, b]) => {
      const lin = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
      return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
    };
    let behind = [255, 255, 255];
    for (let a = e.parentElement; a; a = a.parentElement) {
      const c = rgb(getComputedStyle(a).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] === 1)) {
        behind = c.slice(0, 3);
        break;
      }
    }
    const s = getComputedStyle(e);
    const [l1, l2] = [luminance(rgb(s.outlineColor).slice(0, 3)), luminance(behind)].sort((x, y) => y - x);
    const r = e.getBoundingClientRect();
    const label = e.labels?.[0]?.innerText?.trim() ?? '';
    const name = (e.getAttribute('aria-label') || label || e.innerText || e.value || '').trim();
    return {
      tag: e.tagName.toLowerCase(),
      type: e.getAttribute('type') ?? '',
      id: e.id,
      name,
      label,
      href: e.getAttribute('href') ?? '',
      outline: s.outlineStyle,
      outlineWidth: parseFloat(s.outlineWidth),
      contrast: (l1 + 0.05) / (l2 + 0.05),
      onScreen: r.width >= 1 && r.height >= 1 && r.bottom > 0 && r.right > 0 && r.top < innerHeight && r.left < innerWidth,
      describe: `<${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''}> “${name.slice(0, 60)}”`,
    };
  });
}

/** A keyboard stop is visible: on screen, with a solid outline of at least 2px and 3:1 contrast. */
function expectVisibleFocus(f, where) {
  expect(f.tag !== 'body', `${where}: Tab should focus something, the focus is on the body`);
  expect(f.onScreen, `${where}: the focused ${f.describe} is not on screen`);
  expect(f.outline !== 'none' && f.outlineWidth >= 2, `${where}: the focused ${f.describe} shows no focus ring (outline ${f.outline} ${f.outlineWidth}px)`);
  expect(f.contrast >= 3, `${where}: the focus ring of ${f.describe} has contrast ${f.contrast.toFixed(2)}:1 against its background, under 3:1`);
}

/** Presses Tab until `want(focused)` holds, checking that every stop on the way shows its focus. */
async function tabTo(page, want, what, limit = 40) {
  const stops = [];
  for (let i = 0; i < limit; i += 1) {
    await page.keyboard.press('Tab');
    const f = await focused(page);
    expectVisibleFocus(f, `on ${pathOf(page)}, Tab ${i + 1}`);
    stops.push(f.describe);
    if (want(f)) return f;
  }
  throw new Failure(`on ${pathOf(page)}, ${limit} presses of Tab never reached ${what}; the stops were: ${stops.join(', ')}`);
}

/** Presses Enter on what has the focus and waits for the page it leads to (a new one, even at the same URL). */
async function enterTo(page, urlMatches) {
  const [resp] = await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
  expect(resp && resp.status() === 200, `Enter on ${pathOf(page)} should load a page, got ${resp?.status()}`);
  expect(urlMatches(new URL(page.url())), `Enter led to ${pathOf(page)}, not the page expected`);
}

/** The first Tab on a page reaches the skip link, shown while focused; Enter moves the focus to main. */
async function skipToMain(page) {
  const hidden = await page.locator('a.skip-link').boundingBox();
  expect(hidden && hidden.y + hidden.height <= 0, `on ${pathOf(page)} the skip link is out of sight until focused: ${JSON.stringify(hidden)}`);
  await page.keyboard.press('Tab');
  const f = await focused(page);
  expect(f.tag === 'a' && f.name === 'Skip to main content' && f.href === '#main', `on ${pathOf(page)} the first Tab should reach “Skip to main content”, it reached ${f.describe}`);
  expectVisibleFocus(f, `the skip link on ${pathOf(page)}`);
  // Shown, it covers nothing: axe-core checks the page in this state too (target size, overlap).
  await a11y.check(page, 'with its skip link focused', { state: 'skip link focused' });
  await page.keyboard.press('Enter');
  const m = await focused(page);
  expect(m.tag === 'main' && m.id === 'main', `on ${pathOf(page)}, Enter on the skip link should move the focus to <main id=main>, it is on ${m.describe}`);
}

const KEYBOARD_ANSWER = 'Typed without a mouse: the root is near 1.5214.';

/**
 * Journey: a student who uses only the keyboard signs up, finds the course, enrolls with the code,
 * opens the assignment, hands in an answer and reads the receipt: after the first page every
 * step is Tab, Enter or typing (no click, no address typed), and each stop shows its focus.
 */
async function keyboardOnlyStudent() {
  const { page } = await newActor('keyboard student');
  const who = { name: 'Hedy Lamarr', email: 'hedy.lamarr@example.org', password: STUDENT.password };
  await visit(page, '/auth/sign-up');

  // Sign up: skip the header, then the form's fields in order; Enter in a field submits.
  await skipToMain(page);
  let f = await tabTo(page, (x) => x.tag === 'input' && x.label.startsWith('Name'), 'the Name field');
  await page.keyboard.type(who.name);
  f = await tabTo(page, (x) => x.label.startsWith('Email'), 'the Email field', 1);
  await page.keyboard.type(who.email);
  f = await tabTo(page, (x) => x.label.startsWith('Password'), 'the Password field', 1);
  await page.keyboard.type(who.password);
  await enterTo(page, (u) => u.pathname === '/home');
  await expectSignedInAs(page, who);

  // From the home (where signing up lands) to the catalog.
  await skipToMain(page);
  await tabTo(page, (x) => x.tag === 'a' && x.name === 'All courses', 'the home\'s link to all courses');
  await enterTo(page, (u) => u.pathname === '/courses');

  // The catalog: search, then the course's link.
  await skipToMain(page);
  await tabTo(page, (x) => x.tag === 'input' && x.type === 'search', 'the search field', 1);
  await page.keyboard.type('numerical');
  await enterTo(page, (u) => u.pathname === '/courses' && u.search.includes('q=numerical'));
  await tabTo(page, (x) => x.tag === 'a' && x.name === COURSE.title, `the link to ${COURSE.title}`);
  await enterTo(page, (u) => u.pathname === `/courses/${state.courseId}`);

  // Enroll with the code.
  f = await tabTo(page, (x) => x.label.startsWith('Enrollment code'), 'the enrollment code field');
  await page.keyboard.type(state.code);
  await enterTo(page, (u) => u.pathname === `/courses/${state.courseId}`);
  expect(await page.getByRole('button', { name: 'Leave this course' }).count(), 'enrolled by keyboard: the course offers Leave');

  // The assignment.
  await tabTo(page, (x) => x.tag === 'a' && x.name === 'Assignments →', 'the Assignments link');
  await enterTo(page, (u) => u.pathname === `/grading/courses/${state.courseId}`);
  await tabTo(page, (x) => x.tag === 'a' && x.name === ASSIGNMENT.title, `the link to ${ASSIGNMENT.title}`);
  await enterTo(page, (u) => u.pathname === state.assignmentPath);

  // Hand in: the answer's field, past the file picker, the Submit button.
  f = await tabTo(page, (x) => x.tag === 'textarea', 'the answer field');
  expect(f.label.startsWith('Your answer'), `the first field of the hand-in form is “Your answer”, not ${f.describe}`);
  await page.keyboard.type(KEYBOARD_ANSWER);
  f = await tabTo(page, (x) => x.tag === 'input' && x.type === 'file', 'the file picker', 1);
  f = await tabTo(page, (x) => x.tag === 'button', 'the Submit button', 1);
  expect(f.name === 'Submit', `after the file picker comes the Submit button, not ${f.describe}`);
  await enterTo(page, (u) => u.pathname.startsWith('/grading/submissions/'));

  // The receipt: from the skip link straight to the page's content, which starts with it.
  await skipToMain(page);
  await expectText(page, 'Received: attempt 1. Your receipt is below.');
  const hash = (await page.locator('main .receipt code.receipt-hash').innerText()).trim();
  const expected = sha256(`lectern-receipt-v1\nbody ${sha256(KEYBOARD_ANSWER)}\n`);
  expect(hash === expected, `the receipt reached by keyboard covers the typed answer: ${hash} should be ${expected}`);
  const body = (await page.locator('main pre.submission-body').innerText()).trim();
  expect(body === KEYBOARD_ANSWER, `the submitted text is what was typed: “${body}”`);
  await page.context().close();
}

/** The app's clock as a Date (the control server prints `2026-11-28 9:00:00.0 +00:00:00`). */
async function clockNow() {
  const resp = await fetch(`${CONTROL}/clock`);
  const { now } = await resp.json();
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{1,2}):(\d{2}):(\d{2})/.exec(now);
  expect(m, `the control server's time “${now}” should parse`);
  return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
}

/** A `datetime-local` value (UTC, to the minute) for `date`. */
function localInput(date) {
  return date.toISOString().slice(0, 16);
}

/** A student who signs up and enrolls in the course with its code; returns their page. */
async function enrolledStudent(name) {
  const who = { name, email: `${name.toLowerCase().replace(/ /g, '.')}@example.org`, password: STUDENT.password };
  const actor = await newActor(`student ${name}`);
  await visit(actor.page, '/auth/sign-up');
  let resp = await submitForm(actor.page, 'form[action="/auth/sign-up"]', { display_name: who.name, email: who.email, password: who.password });
  await expectOk(resp, actor.page, `signing up ${name}`);
  await visit(actor.page, `/courses/${state.courseId}`);
  resp = await submitForm(actor.page, `form[action="/courses/${state.courseId}/enroll"]`, { enrollment_code: state.code });
  await expectOk(resp, actor.page, `enrolling ${name}`);
  return { ...actor, who };
}

/** Hands in `text` and one file through the assignment page's form; returns the response. */
async function handIn(page, assignmentPath, text, file) {
  await visit(page, assignmentPath);
  const form = page.locator(`form[action="${assignmentPath}/submissions"]`);
  expect((await form.getAttribute('enctype')) === 'multipart/form-data', 'the submit form sends files (multipart)');
  await form.locator('textarea[name=body]').fill(text);
  await form.locator('input[type=file][name=files]').setInputFiles([file]);
  const [resp] = await Promise.all([page.waitForNavigation(), form.locator('button[type=submit]').click()]);
  return resp;
}

/**
 * Journey 6: coursework. A co-teacher (added by the teacher) adds a grader; an assignment with a
 * late policy; a student with an extension hands in a file late without penalty, another is
 * penalised, a third is refused after the cut-off; the grader grades the file submissions; the
 * teacher downloads everything as a zip and reads the audit trail.
 */
async function courseworkWithStaffDeadlinesAndFiles() {
  const coursePath = `/courses/${state.courseId}`;
  // The teacher adds a co-teacher.
  const { page } = state.teacher;
  await visit(page, coursePath);
  await page.locator(`form[action="${coursePath}/staff"] select[name=role]`).selectOption('teacher');
  let resp = await submitForm(page, `form[action="${coursePath}/staff"]`, { email: CO_TEACHER.email });
  await expectOk(resp, page, 'making them a co-teacher');
  await expectText(page, 'Staff updated');

  // The co-teacher adds a grader, and sets an assignment with a late policy, due in an hour.
  const co = await newActor('co-teacher');
  await signIn(co.page, CO_TEACHER);
  await visit(co.page, coursePath);
  await expectText(co.page, 'Enrollment code', 'a co-teacher sees the teaching tools');
  await co.page.locator(`form[action="${coursePath}/staff"] select[name=role]`).selectOption('grader');
  resp = await submitForm(co.page, `form[action="${coursePath}/staff"]`, { email: GRADER.email });
  await expectOk(resp, co.page, 'the co-teacher adding a grader');
  const staffRows = await co.page.locator('section', { has: co.page.locator('h2', { hasText: 'Staff' }) }).locator('tbody tr').allInnerTexts();
  expect(staffRows.some((r) => r.includes(GRADER.name) && r.includes('grader')), `the staff list shows the grader: ${staffRows.join(' | ')}`);

  const due = new Date((await clockNow()).getTime() + 60 * 60 * 1000);
  await visit(co.page, `/grading/courses/${state.courseId}`);
  resp = await submitForm(co.page, `form[action="/grading/courses/${state.courseId}/assignments"]`, {
    title: 'Field notes',
    instructions: 'Hand in your notes as a file.',
    due_at: localInput(due),
    max_points: '10',
    late_percent_per_day: '10',
    late_max_percent: '50',
    close_after_days: '2',
  });
  await expectOk(resp, co.page, 'creating the assignment with a late policy');
  await expectText(co.page, '−10% per started day late, at most −50%');
  const notesPath = new URL(co.page.url()).pathname;

  // Three students; the first gets an extension of three days.
  const [ida, ken, lin] = [await enrolledStudent('Ida Rhodes'), await enrolledStudent('Ken Iverson'), await enrolledStudent('Lin Hua')];
  await visit(co.page, notesPath);
  await co.page.locator(`form[action="${notesPath}/extensions"] select[name=student_id]`).selectOption({ label: ida.who.name });
  resp = await submitForm(co.page, `form[action="${notesPath}/extensions"]`, {
    due_at: localInput(new Date(due.getTime() + 3 * 86_400_000)),
  });
  await expectOk(resp, co.page, 'giving an extension');
  await expectText(co.page, 'Extensions updated.');
  await visit(ida.page, notesPath);
  await expectText(ida.page, 'your extension', 'the student with an extension');

  // A day and two hours later: two started days late for everyone but Ida.
  await visit(lin.page, notesPath); // Lin opens the form now, and sends it only after the cut-off.
  await advanceClock(26 * 60 * 60);
  const idaNotes = { name: 'ida-notes.txt', mimeType: 'text/plain', buffer: Buffer.from('Ida: river depth 2.3 m at noon.\n') };
  resp = await handIn(ida.page, notesPath, 'My notes are attached.', idaNotes);
  await expectOk(resp, ida.page, 'Ida handing in with her extension');
  await expectText(ida.page, 'Received: attempt 1.');
  expect(!(await ida.page.locator('h1 .badge.warn').count()), 'Ida is not late: her own due date applies');
  const idaReceipt = (await ida.page.locator('.receipt code.receipt-hash').innerText()).trim();
  const idaFile = { name: idaNotes.name, size: idaNotes.buffer.length, sha256: createHash('sha256').update(idaNotes.buffer).digest('hex') };
  const idaExpected = sha256(`lectern-receipt-v1\nbody ${sha256('My notes are attached.')}\nfile ${idaFile.sha256} ${idaFile.size} ${idaFile.name}\n`);
  expect(idaReceipt === idaExpected, `Ida's receipt covers her text and her file: ${idaReceipt} should be ${idaExpected}`);
  state.kenNotes = { name: 'ken-notes.csv', mimeType: 'text/csv', buffer: Buffer.from('site,depth\nA,2.1\nB,2.4\n') };
  resp = await handIn(ken.page, notesPath, '', state.kenNotes);
  await expectOk(resp, ken.page, 'Ken handing in late');
  expect(await ken.page.locator('h1 .badge.warn', { hasText: 'late' }).count(), 'Ken is late');
  state.kenSubmission = new URL(ken.page.url()).pathname;

  // Past the cut-off (due + 2 days), Lin's form is refused, saying the assignment is closed.
  await advanceClock(24 * 60 * 60);
  const linForm = lin.page.locator(`form[action="${notesPath}/submissions"]`);
  await linForm.locator('textarea[name=body]').fill('Too late, I know.');
  const [linResp] = await Promise.all([lin.page.waitForNavigation(), linForm.locator('button[type=submit]').click()]);
  expect(linResp.status() === 409, `Lin's submission after the cut-off should be refused with 409, got ${linResp.status()}`);
  await expectText(lin.page, 'this assignment is closed');
  await visit(lin.page, notesPath);
  await expectText(lin.page, 'This assignment is closed');
  expect(!(await lin.page.locator(`form[action="${notesPath}/submissions"]`).count()), 'no submit form once closed');

  // The grader grades the file submissions: Ken's penalised, Ida's not.
  const grader = await newActor('grader');
  await signIn(grader.page, GRADER);
  await visit(grader.page, `${notesPath}/submissions`);
  expect(!(await grader.page.locator(`form[action="${notesPath}/release"]`).count()), 'a grader cannot release grades');
  await grader.page.locator('tbody tr', { hasText: ken.who.name }).getByRole('link', { name: 'Open and grade' }).click();
  await grader.page.waitForURL(`**${state.kenSubmission}`);
  const link = grader.page.locator('table.files a', { hasText: state.kenNotes.name });
  const [download] = await Promise.all([grader.page.waitForEvent('download'), link.click()]);
  const kenPath = path.join(ARTIFACTS, 'downloaded-ken-notes.csv');
  await download.saveAs(kenPath);
  expect((await readFile(kenPath, 'utf8')) === state.kenNotes.buffer.toString(), 'the grader downloads exactly the file Ken sent');
  resp = await submitForm(grader.page, `form[action="${state.kenSubmission}/grade"]`, { score: '8', feedback: 'Good sites, late.' }, { button: 'Save grade' });
  await expectOk(resp, grader.page, 'the grader grading Ken');
  await expectText(grader.page, '6.4 / 10');
  await expectText(grader.page, '−20% for handing in late');
  await visit(grader.page, `${notesPath}/submissions`);
  await grader.page.locator('tbody tr', { hasText: ida.who.name }).getByRole('link', { name: 'Open and grade' }).click();
  resp = await submitForm(grader.page, 'form[action$="/grade"]', { score: '9', feedback: 'Precise.' }, { button: 'Save grade' });
  await expectOk(resp, grader.page, 'the grader grading Ida');
  await expectText(grader.page, '9 / 10');
  await shoot(grader.page, 'submission-with-files');

  // The teacher downloads every latest attempt as one zip, and reads the audit trail.
  await visit(page, notesPath);
  const [zip] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download all submissions (zip)' }).click()]);
  const zipPath = path.join(ARTIFACTS, 'field-notes-submissions.zip');
  await zip.saveAs(zipPath);
  const bytes = await readFile(zipPath);
  expect(bytes.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04])), 'the download is a zip');
  const text = bytes.toString('latin1');
  for (const entry of ['receipts.csv', `Ida Rhodes (`, `/ida-notes.txt`, `Ken Iverson (`, `/ken-notes.csv`, '/submission.txt']) {
    expect(text.includes(entry), `the zip holds ${entry}`);
  }
  expect(!text.includes('Lin Hua ('), 'Lin handed in nothing: no folder');
  expect(text.includes(state.kenNotes.buffer.toString()), "Ken's file is in the zip as sent");

  await visit(page, coursePath);
  await page.getByRole('link', { name: 'Audit trail →' }).click();
  await page.waitForURL(`**${coursePath}/audit`);
  const audit = await mainText(page);
  for (const line of ['staff.added', 'assignment.created', 'extension.set', 'grade.recorded', CO_TEACHER.name, GRADER.name]) {
    expect(audit.includes(line), `the audit trail shows ${line}`);
  }
  const newest = await page.locator('table.audit tbody tr').first().innerText();
  expect(newest.includes('grade.recorded') && newest.includes(GRADER.name), `newest first: ${newest}`);
  await shoot(page, 'audit-trail');
  for (const actor of [co, grader, ida, ken, lin]) await actor.context.close();
}

/** Journey 3: an expired access cookie is refreshed transparently, for a page and for a posted form; two tabs at once. */
async function expiredCookieIsRefreshed() {
  // A browser of its own, so that whatever happens to this session leaves the others alone.
  const { context, page } = await newActor('teacher-refreshing');
  await signIn(page, TEACHER);
  const refreshes = watchRefreshes(page);

  // A page load.
  const before = await accessCookie(context);
  await advanceClock(PAST_EXPIRY_SECS);
  await visit(page, `/courses/${state.courseId}`);
  expect(pathOf(page) === `/courses/${state.courseId}`, `the refresh should come back to the course page, not ${pathOf(page)}`);
  await expectSignedInAs(page, TEACHER);
  expect(refreshes.some((r) => r.method() === 'GET'), 'the expired cookie should have gone through GET /auth/refresh');
  expect((await accessCookie(context)) !== before, 'the browser got a fresh access cookie');

  // A form posted after the cookie expired while the page was open: kept through the 307s.
  await advanceClock(PAST_EXPIRY_SECS);
  const resp = await submitForm(page, `form[action="/courses/${state.courseId}/materials"]`, {
    title: 'Written after a coffee break',
    body_markdown: 'Posted with an expired access cookie.',
  });
  await expectOk(resp, page, 'posting a form with an expired access cookie');
  expect(refreshes.some((r) => r.method() === 'POST'), 'the posted form should have gone through POST /auth/refresh (307 both ways)');
  expect(/\/materials\/[^/]+$/.test(new URL(page.url()).pathname), `the form ended on the new material, not ${pathOf(page)}`);
  await expectText(page, 'Posted with an expired access cookie.');
  await expectSignedInAs(page, TEACHER);

  // Two open tabs of one browser, both with the expired cookie, loading a page at the same
  // moment: both are sent through the refresh and both end signed in.
  const second = await context.newPage();
  await visit(second, '/auth/token');
  const refreshes2 = watchRefreshes(second);
  const countBefore = refreshes.length;
  await advanceClock(PAST_EXPIRY_SECS);
  const [a, b] = await loadAtOnce([page, second], [`/courses/${state.courseId}`, '/auth/sessions']);
  expect(a.status() === 200 && b.status() === 200, `both tabs load (statuses ${a.status()}, ${b.status()})`);
  expect(pathOf(page) === `/courses/${state.courseId}` && pathOf(second) === '/auth/sessions', `both tabs end where they were going: ${pathOf(page)}, ${pathOf(second)}`);
  await expectSignedInAs(page, TEACHER);
  await expectSignedInAs(second, TEACHER);
  expect(refreshes.length > countBefore && refreshes2.length > 0, `both tabs refreshed (first ${refreshes.length - countBefore}, second ${refreshes2.length})`);

  // The same with the two refreshes themselves held until both are asked, so that both present
  // the same refresh token: the first rotates it, the grace window gives the second the same successor.
  await advanceClock(PAST_EXPIRY_SECS);
  const next = (p) => `/auth/refresh?next=${encodeURIComponent(p)}`;
  const before2 = [refreshes.length, refreshes2.length];
  const [c, d] = await loadAtOnce([page, second], [next(`/courses/${state.courseId}`), next('/auth/sessions')]);
  expect(c.status() === 200 && d.status() === 200, `both tabs load after refreshing at once (statuses ${c.status()}, ${d.status()})`);
  const presented = await refreshTokensSent([refreshes[before2[0]], refreshes2[before2[1]]]);
  expect(presented[0] && presented[0] === presented[1], 'both tabs presented the same refresh token at once');
  await expectSignedInAs(page, TEACHER);
  await expectSignedInAs(second, TEACHER);
  // And both stay signed in afterwards: the session was not ended as a refresh-token reuse.
  await Promise.all([page.reload(), second.reload()]);
  await expectSignedInAs(page, TEACHER);
  await expectSignedInAs(second, TEACHER);
  await visit(second, '/auth/token');
  await expectSignedInAs(second, TEACHER);
  await context.close();
}

/** Journey 4: a form without its CSRF token, or from another origin, is refused and changes nothing. */
async function forgedFormsAreRefused() {
  const { page } = state.teacher;
  const coursePath = `/courses/${state.courseId}`;
  const editForm = `form[action="${coursePath}/edit"]`;

  // 1. The edit form with its hidden CSRF field removed.
  await visit(page, coursePath);
  await page.locator(`${editForm} input[name=csrf_token]`).evaluate((input) => input.remove());
  let resp = await submitForm(page, editForm, { title: 'Taken over (no token)' });
  expect(resp.status() === 403, `a form without its CSRF token should be refused with 403, got ${resp.status()}`);
  await expectText(page, '403');
  await shoot(page, 'refused-403');

  // 2. Sign-out without the token: the session stays.
  await visit(page, coursePath);
  await page.locator('header form[action="/auth/sign-out"] input[name=csrf_token]').evaluate((input) => input.remove());
  resp = await submitForm(page, 'header form[action="/auth/sign-out"]');
  expect(resp.status() === 403, `sign-out without its token should be refused, got ${resp.status()}`);

  // 3. A page on another origin (same host, another port) auto-submitting forms to Lectern. It
  //    even carries the teacher's real CSRF token: only the origin check stands in its way.
  await visit(page, coursePath);
  const token = await page.locator(`${editForm} input[name=csrf_token]`).inputValue();
  const evil = http.createServer((req, res) => {
    const target = req.url === '/sign-out' ? '/auth/sign-out' : `${coursePath}/edit`;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><title>Win a prize</title>
      <form method="post" action="${url(target)}">
        <input type="hidden" name="csrf_token" value="${token}">
        <input type="hidden" name="title" value="Taken over (other origin)">
        <input type="hidden" name="summary" value="pwned">
      </form>
      <script>document.forms[0].submit()</script>`);
  });
  await new Promise((resolve) => evil.listen(0, '127.0.0.1', resolve));
  const evilOrigin = `http://127.0.0.1:${evil.address().port}`;
  try {
    for (const which of ['/edit', '/sign-out']) {
      const [landed] = await Promise.all([
        page.waitForNavigation({ url: (u) => u.origin === new URL(BASE).origin }),
        page.goto(`${evilOrigin}${which}`),
      ]);
      expect(landed.status() === 403, `a form posted from ${evilOrigin} (${which}) should be refused with 403, got ${landed.status()}`);
      await expectText(page, 'came from another site');
    }
  } finally {
    evil.close();
  }

  // Nothing changed: same title and summary, still signed in.
  await visit(page, coursePath);
  await expectSignedInAs(page, TEACHER);
  const title = await page.locator('main h1').innerText();
  expect(title.startsWith(COURSE.title) && !title.includes('Taken over'), `the course title is unchanged: “${title}”`);
  const summary = await page.locator(`${editForm} textarea[name=summary]`).inputValue();
  expect(summary === COURSE.summary, `the summary is unchanged: “${summary}”`);
}

/**
 * Homes: an assignment due in three days is on the student's home as "not submitted", then
 * "submitted"; the attempt is in the teacher's queue, which links to its grading page, where the
 * grading queue's links are. Left ungraded, so the homes' screenshots show a row each.
 */
async function homesShowWhatWaits() {
  const { page } = state.teacher;
  const title = 'Error bounds';
  const due = new Date((await clockNow()).getTime() + 3 * 24 * 60 * 60 * 1000);
  await visit(page, `/grading/courses/${state.courseId}`);
  let resp = await submitForm(page, `form[action="/grading/courses/${state.courseId}/assignments"]`, {
    title,
    due_at: localInput(due),
    max_points: '5',
  });
  await expectOk(resp, page, 'creating an assignment due in three days');
  const assignmentPath = new URL(page.url()).pathname;

  const student = await newActor('student-home');
  await signIn(student.page, STUDENT);
  expect(pathOf(student.page) === '/home', `signing in lands on the home, not ${pathOf(student.page)}`);
  const dueRow = student.page.locator('table.due tbody tr', { hasText: title });
  expect((await dueRow.innerText()).includes('not submitted'), `the home lists “${title}” as not submitted`);
  expect((await dueRow.innerText()).includes('(in 3 days)'), `the due date says how far away it is: ${await dueRow.innerText()}`);
  await dueRow.getByRole('link', { name: title }).click();
  await student.page.waitForURL(`**${assignmentPath}`);
  resp = await submitForm(student.page, `form[action="${assignmentPath}/submissions"]`, { body: 'Bounded by 2^-52.' });
  await expectOk(resp, student.page, 'handing in from the home');
  const attemptPath = new URL(student.page.url()).pathname;
  await student.page.locator('header nav').getByRole('link', { name: 'Home' }).click();
  await student.page.waitForURL('**/home');
  expect((await dueRow.innerText()).includes('submitted') && !(await dueRow.innerText()).includes('not submitted'), 'now submitted');
  await student.context.close();

  await page.locator('header nav').getByRole('link', { name: 'Home' }).click();
  await page.waitForURL('**/home');
  const queued = page.locator('table.queue tbody tr', { hasText: title });
  expect((await queued.innerText()).includes(STUDENT.name), `the queue lists ${STUDENT.name}'s attempt at “${title}”`);
  await queued.getByRole('link', { name: 'Grade attempt 1' }).click();
  await page.waitForURL(`**${attemptPath}`);
  expect(await page.locator('nav.queue-nav').count(), 'the grading page has the grading queue links');
}

/** Journey 5: each main page at desktop and phone size, saved as artifacts; none overflows on a phone. */
async function screenshotsOfMainPages() {
  const anon = await newActor('anonymous');
  await visit(anon.page, '/auth/sign-in');
  await expectFinishedLayout(anon.page, 'sign-in');
  await shoot(anon.page, 'sign-in');
  await visit(anon.page, '/auth/sign-up');
  await shoot(anon.page, 'sign-up');
  await anon.context.close();

  const student = await newActor('student-again');
  await signIn(student.page, STUDENT);
  const studentPages = [
    ['home-student', '/home'],
    ['catalog', '/courses'],
    ['course-student', `/courses/${state.courseId}`],
    ['material', state.materialPath],
    ['assignment-student', state.assignmentPath],
    ['receipt', state.submissionPath],
    ['my-grades', '/grading/me/grades'],
    ['your-token', '/auth/token'],
    ['sessions', '/auth/sessions'],
  ];
  const failures = [];
  for (const [name, p] of studentPages) {
    await visit(student.page, p);
    try {
      await expectFinishedLayout(student.page, name);
      await shoot(student.page, name);
    } catch (e) {
      if (!(e instanceof Failure)) throw e;
      failures.push(e.message);
    }
  }
  await student.context.close();

  const { page } = state.teacher;
  const teacherPages = [
    ['home-teacher', '/home'],
    ['course-teacher', `/courses/${state.courseId}`],
    ['assignments', `/grading/courses/${state.courseId}`],
    ['assignment-teacher', state.assignmentPath],
    ['submissions', `${state.assignmentPath}/submissions`],
    ['submission-grading', state.submissionPath],
    ['gradebook', state.gradebookPath],
    ['new-course', '/courses/new'],
  ];
  for (const [name, p] of teacherPages) {
    await visit(page, p);
    try {
      await expectFinishedLayout(page, name);
      await shoot(page, name);
    } catch (e) {
      if (!(e instanceof Failure)) throw e;
      failures.push(e.message);
    }
  }
  expect(failures.length === 0, failures.join('\n'));
}

// ---- the runner ------------------------------------------------------------------------------

// The first four make the data the others use (`builds: true`): when one of them fails, the
// rest are skipped; the last three run whatever happened to the others.
const journeys = [
  { builds: true, name: 'teacher signs in, creates a course, adds a material and an assignment, publishes', run: teacherBuildsACourse },
  { builds: true, name: 'student signs up, finds the course, enrolls with the code, reads, submits, sees the receipt', run: studentEnrollsAndHandsIn },
  { builds: true, name: 'teacher grades and regrades, releases, opens the gradebook (chart drawn) and downloads the CSV', run: teacherGradesAndReleases },
  { builds: true, name: 'student sees the released grade, opens "your token", signs out', run: studentReadsGradeAndSignsOut },
  { name: 'keyboard only: a student signs up, finds the course, enrolls, hands in and reads the receipt with Tab, Enter and typing', run: keyboardOnlyStudent },
  { name: 'coursework: a co-teacher adds a grader; extension, penalty and cut-off; the grader grades files; the zip; the audit trail', run: courseworkWithStaffDeadlinesAndFiles },
  { name: 'an expired access cookie is refreshed transparently (page, form post, two tabs at once)', run: expiredCookieIsRefreshed },
  { name: 'forms without their CSRF token or from another origin are refused and change nothing', run: forgedFormsAreRefused },
  { name: 'homes: the student sees work due soon and hands it in, the teacher finds it in the grading queue', run: homesShowWhatWaits },
  { name: 'screenshots of each main page at desktop and phone size, no sideways overflow', run: screenshotsOfMainPages },
];

async function main() {
  const started = Date.now();
  await mkdir(ARTIFACTS, { recursive: true });
  for (const stale of (await readdir(ARTIFACTS)).filter((f) => f.startsWith('FAILED-'))) {
    await rm(path.join(ARTIFACTS, stale));
  }
  state.browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  console.log(`browser: Chromium ${state.browser.version()} at ${CHROMIUM}; Lectern at ${BASE}`);
  let passed = 0;
  let failed = 0;
  let broken = false;
  for (const { builds, name, run } of journeys) {
    if (broken) {
      console.log(`skip     ${name} (a journey that makes its data failed)`);
      continue;
    }
    const t0 = Date.now();
    try {
      await run();
      // The pages the journey left open are checked too; any violation fails the journey.
      await a11y.checkPages(open.values());
      const found = a11y.take();
      expect(found.length === 0, AccessibilityWatch.describe(found));
      passed += 1;
      console.log(`ok       ${name} (${Date.now() - t0} ms)`);
    } catch (e) {
      failed += 1;
      broken ||= Boolean(builds);
      const found = a11y.take();
      const also = found.length ? `\n${AccessibilityWatch.describe(found)}` : '';
      console.log(`FAILED   ${name} (${Date.now() - t0} ms)\n${e instanceof Failure ? e.message : e.stack}${also}`);
      for (const [who, context] of open) {
        for (const [i, p] of context.pages().entries()) {
          const file = path.join(ARTIFACTS, `FAILED-${passed + failed}-${who}-tab${i + 1}.png`);
          await p.screenshot({ path: file, fullPage: true }).catch(() => {});
          console.log(`         the ${who}'s tab ${i + 1} was at ${p.url()}: ${file}`);
        }
      }
    }
  }
  console.log(a11y.summary());
  await state.browser.close();
  const list = shots.map((s) => `${s}-desktop.png, ${s}-phone.png`).join('\n  ');
  await writeFile(path.join(ARTIFACTS, 'index.txt'), `Screenshots of Lectern's pages (desktop ${DESKTOP.width}x${DESKTOP.height}, phone ${PHONE.width}x${PHONE.height}):\n  ${list}\n`);
  console.log(`screenshots in ${ARTIFACTS}: ${shots.length * 2} (${shots.join(', ')})`);
  console.log(`browser journeys took ${((Date.now() - started) / 1000).toFixed(1)} s: ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main().catch(async (e) => {
  console.error(`journeys.mjs crashed: ${e.stack ?? e}`);
  await state.browser?.close().catch(() => {});
  process.exit(1);
});
