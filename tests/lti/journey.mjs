// An LTI 1.3 tool built on pylti1p3 (tool.py), launched from Lectern in Chromium: run by
// tests/api/lti_browser.rs, which starts Lectern and the tool, registers the tool with
// `lectern lti tools add --json`, and passes what the journey needs. On its own:
//
//   LECTERN_URL=... TOOL_URL=... COURSE_ID=... TEACHER_EMAIL=... TEACHER_PASSWORD=... \
//   STUDENT_EMAIL=... STUDENT_PASSWORD=... STUDENT_NAME=... ARTIFACTS_DIR=... node tests/lti/journey.mjs
//
// The tool runs on http://localhost:PORT and Lectern on http://127.0.0.1:PORT: two sites, so the
// browser applies its cross-site rules (SameSite cookies, form-action) as between a school's
// Lectern and a publisher's tool. Any failed expectation ends the process with a non-zero status
// and says what was expected, on which page.

import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium } from 'playwright-core';
// The accessibility watcher of the browser journeys (its packages are in tests/browser/node_modules).
import { AccessibilityWatch } from '../browser/a11y.mjs';

function env(name, fallback) {
  const value = process.env[name] ?? fallback;
  if (value === undefined || value === '') {
    console.error(`journey.mjs: the environment variable ${name} is required (tests/api/lti_browser.rs sets it)`);
    process.exit(2);
  }
  return value;
}

const LECTERN = env('LECTERN_URL').replace(/\/$/, '');
const TOOL = env('TOOL_URL').replace(/\/$/, '');
const COURSE = env('COURSE_ID');
const TOOL_NAME = env('TOOL_NAME');
const ASSIGNMENT = env('ASSIGNMENT_TITLE');
const CHROMIUM = env('CHROMIUM_PATH', '/usr/bin/chromium');
const ARTIFACTS = env('ARTIFACTS_DIR');
const TEACHER = { email: env('TEACHER_EMAIL'), password: env('TEACHER_PASSWORD'), name: env('TEACHER_NAME') };
const STUDENT = { email: env('STUDENT_EMAIL'), password: env('STUDENT_PASSWORD'), name: env('STUDENT_NAME') };
const LINK_TITLE = 'Weekly quiz';
// Lectern's pages on the way (course, gradebook, audit trail, grades) are checked with axe-core at both sizes.
const a11y = new AccessibilityWatch({ origin: new URL(LECTERN).origin, sizes: { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } } });

class Failure extends Error {}

function expect(condition, message) {
  if (!condition) throw new Failure(message);
}

/** CSP violations a page reports (there must be none: no inline script, form-action honoured). */
function watch(page) {
  const violations = [];
  page.on('console', (m) => {
    if (/Content Security Policy|form-action|Refused to/i.test(m.text())) violations.push(m.text());
  });
  return violations;
}

async function signIn(context, who) {
  const page = await context.newPage();
  await page.goto(`${LECTERN}/auth/sign-in`);
  await page.fill('input[name=email]', who.email);
  await page.fill('input[name=password]', who.password);
  await page.click('form[action="/auth/sign-in"] button[type=submit]');
  await page.waitForURL((u) => u.origin === LECTERN && !u.pathname.startsWith('/auth/sign-in'));
  return page;
}

async function text(page, selector) {
  return (await page.locator(selector).innerText()).trim();
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

let browser;
const timings = {};

const journeys = [
  {
    name: 'a teacher adds the tool to the course with the course page form, tied to an assignment',
    async run(ctx) {
      const page = await signIn(ctx.teacher, TEACHER);
      await page.goto(`${LECTERN}/courses/${COURSE}`);
      const form = page.locator('form[action$="/tool-links"]');
      await form.locator('select[name=tool_id]').selectOption({ label: TOOL_NAME });
      await form.locator('input[name=title]').fill(LINK_TITLE);
      await form.locator('select[name=assignment_id]').selectOption({ label: ASSIGNMENT });
      await form.locator('button[type=submit]').click();
      await page.waitForURL((u) => u.pathname === `/courses/${COURSE}`);
      const tools = await text(page, '#tools');
      expect(tools.includes(LINK_TITLE) && tools.includes(TOOL_NAME), `the course page lists the link: ${tools}`);
      expect(tools.includes(ASSIGNMENT), `the link names its assignment: ${tools}`);
      await shot(page, 'lti-course-tools-teacher');
    },
  },
  {
    name: 'a student launches it from the course page; pylti1p3 validates the launch itself',
    async run(ctx) {
      const page = await signIn(ctx.student, STUDENT);
      ctx.studentPage = page;
      const violations = watch(page);
      await page.goto(`${LECTERN}/courses/${COURSE}`);
      await shot(page, 'lti-course-tools-student');
      await a11y.check(page, 'before the launch'); // not inside the launch's timing
      const t0 = Date.now();
      await page.locator('#tools a', { hasText: LINK_TITLE }).click();
      await page.waitForURL((u) => u.origin === TOOL && u.pathname === '/launch', { timeout: 15000 });
      timings.launch = Date.now() - t0;
      const error = await page.locator('#error').count();
      expect(!error, `the tool refused the launch: ${error ? await text(page, '#error') : ''}`);
      expect((await text(page, '#name')) === STUDENT.name, `the tool knows the student's name: ${await text(page, '#name')}`);
      expect((await text(page, '#email')) === STUDENT.email, 'and email');
      expect((await text(page, '#role')) === 'student', `the library sees a Learner: ${await text(page, '#role')}`);
      expect((await text(page, '#link')) === LINK_TITLE, 'the resource link title');
      expect((await text(page, '#context')).length > 0, 'the context title');
      expect(violations.length === 0, `no CSP violations on the way: ${violations}`);
      await shot(page, 'lti-tool-launched');
    },
  },
  {
    name: 'the tool posts a score through the grade service (client assertion, token, line item, score)',
    async run(ctx) {
      const page = ctx.studentPage;
      await page.fill('#points', '8');
      const t0 = Date.now();
      await page.click('#send-score');
      await page.waitForSelector('#scored, #error');
      timings.score = Date.now() - t0;
      const error = await page.locator('#error').count();
      expect(!error, `the tool could not post the score: ${error ? await text(page, '#error') : ''}`);
      expect((await text(page, '#line-item')) === ASSIGNMENT, `the line item is the assignment: ${await text(page, '#line-item')}`);
      await shot(page, 'lti-tool-scored');
    },
  },
  {
    name: 'the tool reads the roster through the names and roles service',
    async run(ctx) {
      await ctx.studentPage.click('#roster');
      await ctx.studentPage.waitForSelector('#members, #error');
      const error = await ctx.studentPage.locator('#error').count();
      expect(!error, `the roster failed: ${error ? await text(ctx.studentPage, '#error') : ''}`);
      const members = await ctx.studentPage.locator('#members li').allInnerTexts();
      expect(members.some((m) => m.includes(STUDENT.name) && m.includes('Learner')), `the student as Learner: ${members}`);
      expect(members.some((m) => m.includes(TEACHER.name) && m.includes('Instructor')), `the teacher as Instructor: ${members}`);
    },
  },
  {
    name: 'the teacher sees the score in the gradebook; the student sees it only once released',
    async run(ctx) {
      const student = ctx.studentPage;
      await student.goto(`${LECTERN}/grading/me/grades`);
      const before = await text(student, 'main');
      expect(!before.includes('8'), `nothing before release: ${before}`);
      const teacher = await ctx.teacher.newPage();
      await teacher.goto(`${LECTERN}/grading/courses/${COURSE}/gradebook`);
      const book = await text(teacher, 'main');
      expect(book.includes(STUDENT.name) && /\b8(\.0+)?\b/.test(book), `the gradebook shows the tool's score: ${book}`);
      await shot(teacher, 'lti-gradebook');
      await teacher.goto(`${LECTERN}/courses/${COURSE}/audit`);
      const audit = await text(teacher, 'main');
      expect(audit.includes(TOOL_NAME) && audit.includes('grade.recorded'), `the audit trail names the tool: ${audit}`);
      await teacher.goto(`${LECTERN}/grading/courses/${COURSE}`);
      await teacher.locator('a', { hasText: ASSIGNMENT }).first().click();
      await teacher.locator('form[action$="/release"] button[type=submit]').click();
      await teacher.waitForLoadState();
      await student.goto(`${LECTERN}/grading/me/grades`);
      const after = await text(student, 'main');
      expect(after.includes(ASSIGNMENT) && /\b8(\.0+)?\b/.test(after), `released: ${after}`);
      await shot(student, 'lti-student-grades');
    },
  },
];

async function main() {
  await mkdir(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  console.log(`lti journey: Chromium ${browser.version()}, Lectern at ${LECTERN}, the tool at ${TOOL}`);
  const ctx = { teacher: await browser.newContext(), student: await browser.newContext() };
  a11y.watch(ctx.teacher);
  a11y.watch(ctx.student);
  let failed = 0;
  for (const j of journeys) {
    const t0 = Date.now();
    try {
      await j.run(ctx);
      await a11y.checkPages([ctx.teacher, ctx.student]);
      const found = a11y.take();
      expect(found.length === 0, AccessibilityWatch.describe(found));
      console.log(`ok       ${j.name} (${Date.now() - t0} ms)`);
    } catch (e) {
      failed += 1;
      console.log(`FAILED   ${j.name} (${Date.now() - t0} ms)\n${e instanceof Failure ? e.message : e.stack}`);
      for (const [who, context] of Object.entries(ctx)) {
        if (typeof context.pages !== 'function') continue;
        for (const [i, p] of context.pages().entries()) {
          const file = path.join(ARTIFACTS, `FAILED-lti-${who}-tab${i + 1}.png`);
          await p.screenshot({ path: file, fullPage: true }).catch(() => {});
          console.log(`         ${who} tab ${i + 1} was at ${p.url()}: ${file}`);
        }
      }
      break;
    }
  }
  console.log(a11y.summary());
  console.log(`timings: launch (course page click to the tool's page) ${timings.launch} ms, score (click to the tool's answer) ${timings.score} ms`);
  await browser.close();
  process.exit(failed ? 1 : 0);
}

main().catch(async (e) => {
  console.error(`journey.mjs crashed: ${e.stack ?? e}`);
  await browser?.close().catch(() => {});
  process.exit(1);
});
