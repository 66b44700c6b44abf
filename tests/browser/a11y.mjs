// Accessibility as a tested property (issue 17): axe-core, through the @axe-core/playwright
// package, checks every Lectern page a journey shows, at each size the journeys use, against the
// WCAG 2.0, 2.1 and 2.2 A and AA rules. No rule is disabled.
//
// It is automatic: `watch(context)` makes every action that can take a tab to another page
// (`goto`, `reload`, `goBack`, `goForward`, a click, double click, tap or key press on a locator or
// a page, and `page.keyboard.press`) first check the page the tab shows, and closing the context check the
// pages it still shows; `checkPages(contexts)` checks the pages open when a journey ends. So a page
// is checked whichever way the journey reached it and however it leaves it, and a page added later
// needs no line of its own. A page whose markup has the structure of one already checked (see
// `markupKey`) is not checked again. Pages of other origins are left alone. (The check
// cannot wait until a navigation starts: Playwright holds `evaluate` on a tab while its navigation
// is under way.)
//
// Violations are collected, not thrown from inside the action: the journey runner takes them after
// each journey and fails the journey with one line per violation: the rule, its impact, the size,
// the page's URL and the selectors of the offending elements.

import { createHash } from 'node:crypto';
import { AxeBuilder } from '@axe-core/playwright';

/** The axe-core tags of the WCAG 2.0, 2.1 and 2.2 success criteria at levels A and AA. */
export const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa'];

/** The route of a URL with its identifiers replaced, to count which kinds of page were checked. */
function routeOf(u) {
  const { pathname } = new URL(u);
  return pathname.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '{id}').replace(/\/\d+(?=\/|$)/g, '/{n}');
}

/**
 * What axe's results depend on in a page's markup: its elements and attributes, with identifiers,
 * hashes, numbers (times, sizes, ports) and form values left out and each text reduced to whether
 * there is one. Two pages that
 * differ only in such details (another course's page, a name, a time, a CSRF token) give the same
 * results, so only the first is checked; a page with an element, an attribute or a flash message
 * more is another page.
 */
function markupKey(html) {
  const stable = html
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '{id}')
    .replace(/\b[0-9a-f]{64}\b/gi, '{hash}')
    .replace(/(<input\b[^>]*\bvalue=")[^"]*"/g, '$1"')
    .replace(/>([^<]*)</g, (_, text) => (text.trim() ? '>T<' : '><'))
    .replace(/\d+/g, '0');
  return createHash('sha256').update(stable).digest('hex');
}

export class AccessibilityWatch {
  /**
   * @param {object} options
   * @param {string} options.origin  the origin whose pages are checked (Lectern's)
   * @param {Record<string, {width: number, height: number}>} options.sizes  name -> viewport
   */
  constructor({ origin, sizes, tags = WCAG_TAGS }) {
    this.origin = origin;
    this.sizes = Object.entries(sizes);
    this.tags = tags;
    this.seen = new Set();
    this.routes = new Set();
    this.checked = 0; // distinct pages (structures) checked
    this.repeats = 0; // pages skipped because one of the same structure was checked before
    this.runs = 0; // axe runs: checked pages x sizes
    this.found = []; // violations not yet taken by the runner
    this.total = 0; // every violation found
    this.rules = new Map(); // rule id -> how many violations of it were found
  }

  /** Makes each tab of `context`, open now or later, check its page before any action that can leave it. */
  watch(context) {
    const watch = this;
    const before = (page, what, original) =>
      async function checked(...args) {
        await watch.check(page(this), `before ${what}`);
        return original.apply(this, args);
      };
    const instrument = (page) => {
      // Locators belong to every page: their prototype is patched once, for all contexts.
      const locator = Object.getPrototypeOf(page.locator('body'));
      if (!locator.__a11yChecked) {
        for (const name of ['click', 'dblclick', 'tap', 'press']) locator[name] = before((l) => l.page(), name, locator[name]);
        locator.__a11yChecked = true;
      }
      for (const name of ['goto', 'reload', 'goBack', 'goForward', 'click', 'press', 'tap', 'dblclick']) {
        page[name] = before(() => page, name, page[name]);
      }
      page.keyboard.press = before(() => page, 'a key', page.keyboard.press);
    };
    context.pages().forEach(instrument);
    context.on('page', instrument);
    // Closing a context checks the pages it still shows first.
    const close = context.close.bind(context);
    context.close = async (...args) => {
      await this.checkPages([context]);
      return close(...args);
    };
  }

  /** Checks the pages the given contexts still show. */
  async checkPages(contexts) {
    for (const context of contexts) {
      for (const page of context.pages()) await this.check(page, 'still open');
    }
  }

  /**
   * Runs axe on `page` at every size, unless it is another origin's or was checked as it is.
   * `state` names what the markup does not show (a focused element), so that such a state of a
   * page is checked once on its own.
   */
  async check(page, when, { state = '' } = {}) {
    let at = page.url();
    if (page.isClosed() || !at.startsWith(`${this.origin}/`)) return;
    try {
      // A navigation under way is awaited (evaluate waits for the new document), then its load.
      await page.waitForLoadState('load', { timeout: 10_000 });
      await page.evaluate(() => document.readyState);
      await page.waitForLoadState('load', { timeout: 10_000 });
      at = page.url();
      if (!at.startsWith(`${this.origin}/`)) return;
      const key = `${markupKey(await page.content())}${state}`;
      if (this.seen.has(key)) {
        this.repeats += 1;
        return;
      }
      this.seen.add(key);
      this.checked += 1;
      this.routes.add(routeOf(at));
      const before = page.viewportSize();
      try {
        for (const [size, viewport] of this.sizes) {
          await page.setViewportSize(viewport);
          const results = await new AxeBuilder({ page }).withTags(this.tags).analyze();
          this.runs += 1;
          for (const v of results.violations) {
            this.total += 1;
            this.rules.set(v.id, (this.rules.get(v.id) ?? 0) + 1);
            this.found.push({
              url: at,
              size,
              rule: v.id,
              impact: v.impact,
              help: v.help,
              targets: v.nodes.map((n) => n.target.join(' ')),
              summary: v.nodes[0]?.failureSummary?.split('\n').slice(0, 3).join(' ') ?? '',
            });
          }
        }
      } finally {
        if (before && !page.isClosed()) await page.setViewportSize(before);
      }
    } catch (e) {
      // A page that could not be checked is a failure too: never a silent pass.
      this.found.push({ url: at, size: '-', rule: 'axe-did-not-run', impact: 'unknown', help: `checking the page ${when} failed`, targets: [], summary: String(e?.message ?? e).split('\n')[0] });
    }
  }

  /** The violations found since the last call, which it forgets. */
  take() {
    const found = this.found;
    this.found = [];
    return found;
  }

  /** One line per violation: rule (impact), size, URL, the elements' selectors. */
  static describe(found) {
    const lines = found.map(
      (v) => `  ${v.rule} (${v.impact}) at ${v.size} on ${v.url}: ${v.help}; elements: ${v.targets.slice(0, 8).join(' | ')}${v.targets.length > 8 ? ` and ${v.targets.length - 8} more` : ''}${v.summary ? `\n      ${v.summary}` : ''}`,
    );
    return `axe-core found ${found.length} accessibility violation${found.length === 1 ? '' : 's'} (WCAG 2.0/2.1/2.2 A and AA):\n${lines.join('\n')}`;
  }

  summary() {
    const rules = [...this.rules].map(([id, n]) => `${id} ${n}`).join(', ');
    return `accessibility: axe-core checked ${this.checked} distinct pages (${this.routes.size} routes) x ${this.sizes.length} sizes = ${this.runs} runs, ${this.repeats} repeated pages skipped; ${this.total} violations${rules ? ` (${rules})` : ''}\n  routes: ${[...this.routes].sort().join(' ')}`;
  }
}
