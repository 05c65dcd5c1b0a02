/** The dashboard page in real Chromium: live counts, job search, replay from the DLQ, read-only mode. */
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, Worker, sqliteStore, type Store } from '../../src/index.js';
import { startDashboard, type RunningDashboard } from '../../src/dashboard/index.js';
import { CHROMIUM, chromiumAvailable } from '../helpers/browser.js';
import { waitFor } from '../helpers/wait.js';

const enabled = chromiumAvailable();
let browser: Browser;
let store: Store;
let running: RunningDashboard;
let readOnly: RunningDashboard;
let queue: Queue<{ n: number }>;

beforeAll(async () => {
  if (!enabled) return;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  store = sqliteStore({ path: ':memory:' });
  queue = new Queue('emails', { store });
  await queue.addBulk(
    Array.from({ length: 5 }, (_, n) => ({ payload: { n }, options: { id: `e${n}`, maxAttempts: 1 } })),
  );
  // e0 fails for good: a dead job to replay from the page.
  const worker = new Worker(queue, (ctx) => {
    if (ctx.payload.n === 0) throw new Error('mailbox unavailable');
  });
  await waitFor(async () => {
    const c = await queue.counts();
    return c.completed === 4 && c.dead === 1;
  }, 'the seed jobs to settle');
  await worker.close();
  running = await startDashboard({ store, port: 0, intervalMs: 150 });
  readOnly = await startDashboard({ store, port: 0, readOnly: true, token: 'viewer-token-1' });
});

afterAll(async () => {
  if (!enabled) return;
  await browser?.close();
  await running?.close();
  await readOnly?.close();
  await store?.close();
});

describe.skipIf(!enabled)('dashboard in Chromium', () => {
  it('shows live queue counts and replays a dead job from the page', async () => {
    const page = await browser.newPage();
    await page.goto(running.url);
    const row = page.locator('#queues tr[data-queue="emails"]');
    await expect.poll(() => row.locator('.count-dead').textContent()).toBe('1');
    expect(await row.locator('.count-completed').textContent()).toBe('4');

    // Live: a job added elsewhere shows up without reloading.
    await queue.add({ n: 99 }, { id: 'late' });
    await expect.poll(() => row.locator('.count-waiting').textContent()).toBe('1');

    await page.selectOption('#state-select', 'dead');
    await expect.poll(() => page.locator('#jobs tbody tr').count()).toBe(1);
    expect(await page.locator('#jobs tbody tr').first().textContent()).toContain('mailbox unavailable');
    await page.locator('#jobs tbody tr[data-id="e0"] button.replay').click();
    await expect.poll(async () => (await queue.getJob('e0'))!.state).toBe('waiting');
    await expect.poll(() => row.locator('.count-dead').textContent()).toBe('0');

    await page.selectOption('#state-select', '');
    await page.fill('#search', 'late');
    await page.press('#search', 'Enter');
    await expect.poll(() => page.locator('#jobs tbody tr').count()).toBe(1);
    await page.locator('#jobs tbody tr[data-id="late"] a.show').click();
    await expect.poll(() => page.locator('#job-detail').textContent()).toContain('"id": "late"');

    await row.locator('button.toggle').click();
    await expect.poll(async () => (await queue.status()).paused).toBe(true);
    await page.close();
  });

  it('disables every action in read-only mode and needs the token', async () => {
    const page = await browser.newPage();
    const denied = await page.goto(readOnly.url);
    expect(denied!.status()).toBe(401);
    await page.goto(`${readOnly.url}/?token=viewer-token-1`);
    const row = page.locator('#queues tr[data-queue="emails"]');
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.locator('button.toggle').isDisabled()).toBe(true);
    expect(await page.locator('#dlq-purge').isDisabled()).toBe(true);
    await page.close();
  });
});
