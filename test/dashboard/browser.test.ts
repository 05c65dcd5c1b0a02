/**
 * The dashboard in real Chromium (Debian's, driven by playwright-core) on SQLite, Postgres and
 * Redis: every point of the operator's view, with screenshots in test-results/ (kept by CI).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, type Store } from '../../src/index.js';
import { startServer, type RunningServer } from '../../src/server/index.js';
import { CHROMIUM, chromiumAvailable } from '../helpers/browser.js';
import { seed, type Seeded } from './seed.js';
import { storeCases } from './stores.js';

const enabled = chromiumAvailable();
const cases = await storeCases('dash-ui');
const TOKEN = 'browser-token-0123456789';
const SHOTS = 'test-results';
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
let browser: Browser;

beforeAll(async () => {
  if (!enabled) return;
  mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}, 60_000);
afterAll(async () => {
  await browser?.close();
});

/** Serious or critical accessibility violations on the page as it is now (axe-core). */
async function axeViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: {
          run(
            o: object,
          ): Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }>;
        };
      }
    ).axe;
    return axe.run({ resultTypes: ['violations'] });
  });
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map(
      (v) =>
        `${v.id} (${v.impact}): ${v.nodes
          .map((n) => n.target.join(' '))
          .slice(0, 3)
          .join(', ')}`,
    );
}

/** Chromium on a shared 2-core machine: give the page time, without timing anything. */
const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 20_000, interval: 100 });

const overflow = (page: Page): Promise<number> => page.evaluate(() => document.documentElement.scrollWidth);

describe.skipIf(!enabled).each(cases)('dashboard in Chromium on $name', (c) => {
  let store: Store;
  let seeded: Seeded;
  let server: RunningServer;
  let guarded: RunningServer;
  let page: Page;
  const shot = (name: string, p: Page = page) =>
    p.screenshot({ path: `${SHOTS}/dashboard-${c.name}-${name}.png`, fullPage: true });
  const errors: string[] = [];

  beforeAll(async () => {
    if (!c.available) return;
    store = c.create();
    seeded = await seed(store);
    server = await startServer({ port: 0, store, intervalMs: 200, storeLabel: `${c.name} (test)` });
    guarded = await startServer({ port: 0, store, token: TOKEN, readOnly: true, intervalMs: 200 });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
    page.on('pageerror', (e) => errors.push(e.message));
  }, 90_000);
  afterAll(async () => {
    if (!c.available) return;
    await page?.close();
    await server?.close();
    await guarded?.close();
    await seeded?.close();
    await store?.close();
    await c.cleanup();
  });

  it.skipIf(!c.available)(
    'overview: the verdict with its reasons, queues and why they do not run, top errors with trend',
    async () => {
      await page.goto(`${server.url}/`);
      const health = page.locator('section[aria-labelledby="health-title"]');
      await poll(() => health.locator('.badge').first().textContent()).toBe('UNHEALTHY');
      expect(await health.locator('.reasons li').first().textContent()).toMatch(
        /queue crm-sync: paused by a worker, after an auth failure: 401/,
      );
      expect(await health.locator('table.deps').textContent()).toContain(`${c.name} (test)`);
      const card = (name: string) => page.locator('.card', { has: page.locator(`h3 a:text-is("${name}")`) });
      expect(await card('crm-sync').locator('.why').textContent()).toMatch(
        /^Paused by a worker, after an auth failure: 401/,
      );
      expect(await card('exports').locator('.why').textContent()).toBe(
        'Paused by an operator, from the dashboard: disk maintenance',
      );
      expect(await card('webhooks').locator('.why').textContent()).toMatch(
        /^Throttled by a rate limit until in \d+m/,
      );
      expect(await card('emails').locator('.c-dead dd').textContent()).toBe('12');
      const errorsTable = page.locator('section[aria-labelledby="errors-title"] tbody tr');
      await poll(() => errorsTable.count()).toBe(2);
      expect(await errorsTable.first().textContent()).toMatch(/↑ rising/);
      await shot('overview');
      expect(await axeViolations(page)).toEqual([]);
    },
    60_000,
  );

  it.skipIf(!c.available)(
    'a view that mounts while the first events arrive still shows them (slow frames: no lost update)',
    async () => {
      // Preact runs effects after the next frame (or 100 ms without one). With frames held back,
      // the hello arrives between a view's render and its effects: a view that subscribed there
      // missed it and said "Connecting…" until the next change.
      const slow = await browser.newPage({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
      try {
        await slow.addInitScript(() => {
          window.requestAnimationFrame = () => 0;
        });
        await slow.goto(`${server.url}/`);
        await poll(() => slow.locator('.card').count()).toBe(5);
        await slow.goto(`${server.url}/#/q/emails`);
        await poll(() => slow.locator('.pager span').textContent()).toBe('1–50 of 63');
      } finally {
        await slow.close();
      }
    },
    60_000,
  );

  it.skipIf(!c.available)(
    'live: counts and pauses from elsewhere show up without a reload, with a notice',
    async () => {
      const card = page.locator('.card', { has: page.locator('h3 a:text-is("reports")') });
      const reports = new Queue('reports', { store });
      await reports.add({ pages: 2 }, { id: 'r2' });
      await poll(() => card.locator('.c-waiting dd').textContent()).toBe('1');
      await reports.pause('dashboard: quarterly close');
      await poll(() => card.locator('.badge').textContent()).toBe('paused');
      await poll(() => page.locator('.toasts').textContent()).toMatch(/Queue reports paused by an operator/);
      await reports.resume();
      await poll(() => card.locator('.badge').textContent()).toBe('running');
      await reports.cancel('r2');
    },
    60_000,
  );

  it.skipIf(!c.available)(
    'queue view: charts, state filters, pages, name and search filters',
    async () => {
      await page.goto(`${server.url}/#/q/emails`);
      await poll(() => page.locator('#queue-title').textContent()).toMatch(/^emails/);
      // A point per step (1 s here): two make a line.
      await poll(() => page.locator('.chart svg').count()).toBe(2);
      expect(await page.locator('.chart svg').first().getAttribute('aria-label')).toMatch(
        /^Throughput \(jobs\/s\): latest finished/,
      );
      await poll(() => page.locator('.pager span').textContent()).toBe('1–50 of 63');
      await page.getByRole('button', { name: 'Next →' }).click();
      await poll(() => page.locator('.pager span').textContent()).toBe('51–63 of 63');
      await page.getByRole('button', { name: '← Previous' }).click();
      await page.locator('.chips button.c-dead').click();
      await poll(() => page.locator('table.jobs tbody tr').count()).toBe(12);
      expect(await page.locator('.pager span').textContent()).toBe('1–12 of 12');
      await page.locator('.filters select').first().selectOption({ value: '' });
      await page.getByLabel('Name').fill('digest');
      await page.getByLabel('Search').fill('');
      await page.getByRole('button', { name: 'Apply' }).click();
      await poll(() => page.locator('table.jobs tbody tr').count()).toBe(30);
      await page.locator('a.button', { hasText: 'Clear' }).click();
      // Clear navigates and the filter form is made anew: type into the new one.
      await poll(() => page.locator('.pager span').textContent()).toBe('1–50 of 63');
      await page.getByLabel('Search').fill('user17@example.com');
      await page.getByRole('button', { name: 'Apply' }).click();
      await poll(() => page.locator('table.jobs tbody tr').count()).toBe(1);
      await page.goto(`${server.url}/#/q/emails`);
      await poll(() => page.locator('table.jobs tbody tr').count()).toBe(50);
      await shot('queue');
      expect(await axeViolations(page)).toEqual([]);
    },
    60_000,
  );

  it.skipIf(!c.available)(
    'rows with a checkbox are no taller than the others (finding 25)',
    async () => {
      await page.goto(`${server.url}/#/q/emails`);
      await poll(() => page.locator('table.jobs tbody tr').count()).toBe(50);
      const heights = await page.locator('table.jobs tbody tr').evaluateAll((rows) =>
        rows.map((r) => ({
          box: r.querySelector('input[type=checkbox]') !== null,
          h: r.getBoundingClientRect().height,
        })),
      );
      const withBox = heights.filter((x) => x.box).map((x) => x.h);
      const without = heights.filter((x) => !x.box).map((x) => x.h);
      expect(withBox.length).toBeGreaterThan(0);
      expect(without.length).toBeGreaterThan(0);
      expect(Math.max(...withBox)).toBeLessThanOrEqual(Math.max(...without) + 0.5);
    },
    60_000,
  );

  it.skipIf(!c.available)(
    'job view: readable times, attempts with category, message and stack, payload pretty, large values collapsed',
    async () => {
      await page.goto(`${server.url}/#/q/emails/job/e017`);
      const attempts = page.locator('ol.attempts > li');
      await poll(() => attempts.count()).toBe(2);
      expect(await attempts.first().textContent()).toMatch(
        /Attempt 2transient→ dead\d+s ago · \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Error: SMTP 421 try again later \(17\)/,
      );
      await attempts.first().locator('summary', { hasText: 'Stack' }).click();
      expect(await attempts.first().locator('pre').textContent()).toMatch(/^Error: SMTP 421[^\n]*\n\s+at /);
      expect(await page.locator('dl.facts').first().textContent()).toMatch(/Created\d+s ago · \d{4}-/);
      expect(await page.locator('pre.json').first().textContent()).toBe(
        '{\n  "to": "user17@example.com",\n  "n": 17\n}',
      );
      expect(await page.getByText('fence', { exact: false }).count()).toBe(1); // only inside the collapsed technical details
      await shot('job');
      expect(await axeViolations(page)).toEqual([]);
      await page.goto(`${server.url}/#/q/emails/job/big`);
      const collapsed = page.locator('details.json summary', { hasText: 'metadata' });
      await poll(() => collapsed.textContent()).toMatch(
        /^metadata: 84 lines, [\d,]+ characters \(collapsed\)/,
      );
      expect(await page.locator('details.json').first().getAttribute('open')).toBeNull();
      await page.goto(`${server.url}/#/q/reports/job/r1`);
      await poll(() => page.locator('progress').getAttribute('value')).toBe('0.3');
      expect(await page.locator('#job-title .badge').textContent()).toBe('active');
      await shot('job-progress');
    },
    60_000,
  );

  it.skipIf(!c.available)(
    'no stale view: the open job follows a change made elsewhere; another queue never shows its detail',
    async () => {
      await page.goto(`${server.url}/#/q/emails/job/e027`);
      await poll(() => page.locator('#job-title .badge').textContent()).toBe('dead');
      await seeded.emails.dlq.replay('e027');
      await poll(() => page.locator('#job-title .badge').textContent()).toBe('waiting');
      await page.locator('.crumbs a', { hasText: 'Queues' }).click();
      await page.locator('h3 a', { hasText: 'reports' }).click();
      await poll(() => page.locator('#queue-title').textContent()).toMatch(/^reports/);
      expect(await page.locator('#job-title').count()).toBe(0);
      expect(await page.locator('table.jobs').textContent()).not.toContain('e027');
    },
    60_000,
  );

  it.skipIf(!c.available)(
    'DLQ actions ask first and say what happened: one job, selected jobs, all',
    async () => {
      await page.goto(`${server.url}/#/q/emails/job/e033`);
      await page.getByRole('button', { name: 'Purge' }).click();
      const dialog = page.locator('dialog.confirm');
      await poll(() => dialog.isVisible()).toBe(true);
      expect(await dialog.locator('h2').textContent()).toBe('Delete e033?');
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      expect((await seeded.emails.getJob('e033'))?.state).toBe('dead');
      await page.getByRole('button', { name: 'Purge' }).click();
      await dialog.getByRole('button', { name: 'Purge' }).click();
      await poll(() => page.locator('.toasts').textContent()).toContain('Purged e033');
      await poll(async () => seeded.emails.getJob('e033')).toBeNull();

      await page.goto(`${server.url}/#/q/emails?state=dead`);
      await poll(() => page.locator('table.jobs tbody tr').count()).toBe(10);
      await page.getByLabel('Select e043').check();
      await page.getByLabel('Select e053').check();
      await page.getByRole('button', { name: 'Replay selected' }).click();
      await dialog.getByRole('button', { name: 'Replay' }).click();
      await poll(() => page.locator('.toasts').textContent()).toContain('Replayed 2 jobs');
      await poll(() => page.locator('table.jobs tbody tr').count()).toBe(8);

      await page.getByRole('button', { name: 'Replay all dead' }).click();
      expect(await dialog.locator('h2').textContent()).toBe('Replay 8 dead jobs?');
      await shot('confirm');
      await dialog.getByRole('button', { name: 'Replay all' }).click();
      await poll(() => page.locator('.toasts').textContent()).toContain('Replayed 8 jobs');
      await poll(async () => (await seeded.emails.counts()).dead).toBe(0);
      await poll(() => page.locator('.chips button.c-dead .n').textContent()).toBe('0');
    },
    60_000,
  );

  it.skipIf(!c.available)(
    'keyboard only: reach a queue, pause it with a reason, resume it',
    async () => {
      await page.goto(`${server.url}/`);
      await poll(() => page.locator('.card').count()).toBe(5);
      // Tab until the exports queue link has focus, then follow it.
      for (let i = 0; i < 60; i++) {
        await page.keyboard.press('Tab');
        if ((await page.evaluate(() => document.activeElement?.textContent)) === 'reports') break;
      }
      await page.keyboard.press('Enter');
      await poll(() => page.locator('#queue-title').textContent()).toMatch(/^reports/);
      // The page as a user sees it before acting: its jobs listed (no load left to re-render it).
      await page.waitForSelector('table.jobs tbody tr');
      await page.getByRole('button', { name: 'Pause' }).focus();
      await page.keyboard.press('Enter');
      await poll(() => page.evaluate(() => document.activeElement?.id)).toBe('confirm-reason');
      await page.keyboard.press('Escape');
      await poll(() => page.locator('dialog.confirm').isVisible()).toBe(false);
      await page.getByRole('button', { name: 'Pause' }).focus();
      await page.keyboard.press('Enter');
      await poll(() => page.evaluate(() => document.activeElement?.id)).toBe('confirm-reason');
      await page.keyboard.type('keyboard test');
      await page.keyboard.press('Enter');
      await poll(async () => (await new Queue('reports', { store }).status()).pauseReason).toBe(
        'dashboard: keyboard test',
      );
      await poll(() => page.getByRole('button', { name: 'Resume' }).count()).toBe(1);
      await page.getByRole('button', { name: 'Resume' }).focus();
      await page.keyboard.press('Enter');
      await poll(async () => (await new Queue('reports', { store }).status()).paused).toBe(false);
    },
    60_000,
  );

  it.skipIf(!c.available)(
    '390 px wide: nothing overflows the page, on every view',
    async () => {
      const phone = await browser.newPage({
        viewport: { width: 390, height: 844 },
        isMobile: true,
        hasTouch: true,
        bypassCSP: true,
      });
      try {
        for (const [name, path] of [
          ['overview', '/'],
          ['queue', '/#/q/emails'],
          ['job', '/#/q/emails/job/e057'],
        ] as const) {
          await phone.goto(`${server.url}${path}`);
          await phone.waitForSelector(
            name === 'overview' ? '.card' : name === 'queue' ? 'table.jobs' : 'ol.attempts, .facts',
          );
          expect(await overflow(phone), name).toBeLessThanOrEqual(390);
          await shot(`390-${name}`, phone);
        }
        expect(await axeViolations(phone)).toEqual([]);
      } finally {
        await phone.close();
      }
    },
    60_000,
  );

  it.skipIf(!c.available)(
    'a token: the login page instead of a raw 401; read-only hides every action',
    async () => {
      const p = await browser.newPage({ viewport: { width: 1280, height: 800 }, bypassCSP: true });
      const seen: string[] = [];
      p.on('response', (r) =>
        seen.push(`${r.request().method()} ${r.url().replace(guarded.url, '')} ${r.status()}`),
      );
      try {
        const first = await p.goto(`${guarded.url}/`);
        expect(first!.status()).toBe(401);
        expect(await p.locator('h1').textContent()).toBe('bulwark');
        expect(await axeViolations(p)).toEqual([]);
        await shot('login', p);
        await p.getByLabel('Access token').fill('wrong-token-000000000');
        await p.getByRole('button', { name: 'Sign in' }).click();
        await poll(() => p.locator('.login-error').textContent()).toBe('That token is not valid.');
        await p.getByLabel('Access token').fill(TOKEN);
        await p.getByRole('button', { name: 'Sign in' }).click();
        await poll(() => p.locator('.card').count()).toBe(5);
        expect(await p.locator('.top .badge', { hasText: 'read-only' }).count()).toBe(1);
        await p.goto(`${guarded.url}/#/q/emails`);
        await p.waitForSelector('table.jobs');
        expect(await p.getByRole('button', { name: /Pause|Resume|Replay|Purge|Cancel/ }).count()).toBe(0);
        expect(await p.locator('table.jobs input[type=checkbox]').count()).toBe(0);
        await p.goto(`${guarded.url}/#/q/reports/job/r1`);
        await p.waitForSelector('#job-title');
        expect(await p.getByRole('button', { name: /Cancel/ }).count()).toBe(0);
        await shot('read-only', p);
        await p.getByRole('button', { name: 'Sign out' }).click();
        await poll(() => p.locator('#token').count()).toBe(1);
      } catch (e) {
        // On a loaded machine this test once timed out: say where the page was and what it asked.
        throw new Error(`${(e as Error).message}\nat ${p.url()}\nresponses: ${seen.slice(-15).join(' | ')}`, {
          cause: e,
        });
      } finally {
        await p.close();
      }
      expect(errors).toEqual([]);
    },
    60_000,
  );

  it.skipIf(!c.available)(
    'blocked jobs (flows) are counted in the pills, the state filter and the card; paused groups shown (findings 13, 5)',
    async () => {
      const flows = new Queue('flows', { store });
      await flows.add({ step: 1 }, { id: 'parent', delayMs: 3_600_000 });
      await flows.add({ step: 2 }, { id: 'child', dependsOn: ['parent'] });
      await page.goto(`${server.url}/#/q/flows`);
      await poll(() => page.locator('.chips button.c-blocked .n').textContent()).toBe('1');
      const pills = await page.locator('.chips button .n').allTextContents();
      expect(pills[0]).toBe('2'); // all = the sum of the others
      expect(pills.slice(1).reduce((a, b) => a + Number(b), 0)).toBe(2);
      expect(
        await page.locator('.filters select').first().locator('option', { hasText: 'blocked' }).count(),
      ).toBe(1);
      await page.goto(`${server.url}/#/`);
      const card = page.locator('.card', { has: page.locator('h3 a:text-is("flows")') });
      await poll(() => card.locator('.c-blocked dd').textContent()).toBe('1');
      // A group paused by an auth failure is shown on its queue's card (finding 5).
      const grouped = new Queue('flows', { store, groups: { concurrency: 1 } });
      await grouped.add({ step: 3 }, { id: 'g1', group: 'acme', delayMs: 3_600_000 });
      await grouped.pauseGroup('acme', 'auth: 401 token expired');
      await poll(() => card.locator('.why').textContent()).toBe(
        'Group paused: acme by a worker, after an auth failure: 401 token expired',
      );
      await grouped.resumeGroup('acme');
      await flows.cancel(['parent', 'child', 'g1']);
    },
    60_000,
  );
});
