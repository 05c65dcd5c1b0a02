/** The logger of `bulwark start`: repeats of a warn or error line are bounded to one summary per window. */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { cliLogger } from '../../src/cli/log.js';
import { waitFor } from '../helpers/wait.js';

function sink(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const out: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      out.push(chunk.toString());
      done();
    },
  });
  return {
    stream,
    lines: () =>
      out
        .join('')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('cliLogger', () => {
  it('writes the first of a kind, then one summary with the count and the last message', async () => {
    const s = sink();
    const { logger } = await cliLogger('info', false, { destination: s.stream, repeatWindowMs: 200 });
    const worker = logger.child({ queue: 'mail', workerId: 'w1' });
    for (let i = 1; i <= 45; i++)
      worker.error({ err: new Error(`refused ${i}`), during: 'claim' }, 'worker error');
    worker.error({ err: new Error('heartbeat down'), during: 'heartbeat' }, 'worker error');
    logger.child({ queue: 'sms' }).error({ err: new Error('refused'), during: 'claim' }, 'worker error');
    expect(s.lines().map((l) => [l.queue, l.during, l.msg])).toEqual([
      ['mail', 'claim', 'worker error'],
      ['mail', 'heartbeat', 'worker error'],
      ['sms', 'claim', 'worker error'],
    ]);
    await waitFor(() => s.lines().length === 4, 'the summary line');
    expect(s.lines()[3]).toMatchObject({
      level: 50,
      queue: 'mail',
      workerId: 'w1',
      during: 'claim',
      repeated: 44,
      msg: expect.stringMatching(/^worker error \(claim\) 44 more times in the last \d+ s: refused 45$/),
    });
    // A quiet window ends the kind: the next one is written as it comes.
    await new Promise((r) => setTimeout(r, 450));
    worker.error({ err: new Error('refused again'), during: 'claim' }, 'worker error');
    expect(s.lines().at(-1)).toMatchObject({ msg: 'worker error', during: 'claim' });
  });

  it('never holds back lines about one job, nor info lines; flush writes the pending summaries', async () => {
    const s = sink();
    const { logger, flush } = await cliLogger('info', false, {
      destination: s.stream,
      repeatWindowMs: 60_000,
    });
    for (let i = 0; i < 5; i++) logger.error({ jobId: `j${i}`, reason: 'bad' }, 'job dead-lettered');
    for (let i = 0; i < 3; i++) logger.info({}, 'queue summary');
    for (let i = 0; i < 3; i++) logger.warn({ dependency: 'db' }, 'dependency unavailable: claiming stopped');
    expect(s.lines()).toHaveLength(9);
    flush();
    await waitFor(() => s.lines().length === 10, 'the flushed summary');
    expect(s.lines()[9]).toMatchObject({
      level: 40,
      repeated: 2,
      msg: expect.stringMatching(/^dependency unavailable: claiming stopped 2 more times in the last \d+ s/),
    });
  });
});
