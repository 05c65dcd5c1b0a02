/**
 * The error class acts on the group: in a queue with `groups`, a rate-limit error throttles the job's
 * group only, and an auth error pauses its group only (unless `onAuthError: 'pause-queue'`). Other
 * groups go on being claimed.
 */
import type { Job } from '../job.js';
import type { Queue } from '../queue.js';
import type { Fate } from './fate.js';

/** The follow-up on the job's group, or undefined when it acts on the queue as usual. */
export function groupFollowUp(
  queue: Queue<unknown, unknown>,
  job: Job,
  fate: Fate,
): Promise<unknown> | undefined {
  const group = job.group;
  if (group === null || !queue.groups) return undefined;
  if (fate.then === 'throttle') return queue.throttleGroup(group, fate.throttleUntil!);
  if (fate.then === 'pause' && queue.groups.onAuthError !== 'pause-queue') {
    return queue.pauseGroup(group, fate.pauseReason ?? null);
  }
  return undefined;
}
