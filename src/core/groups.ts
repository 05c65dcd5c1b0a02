/**
 * Fair groups (per-tenant limits): the queue's `groups` option and its validation. Claims are fair
 * across groups with ready work: every grouped job gets a virtual start time one past the later of its
 * group's last one and the start time of the newest job claimed, and jobs are claimed in that order —
 * start-time fair queuing, which comes to round-robin by jobs across the groups that have work, in
 * every process at once (the times live in the store).
 */
import { z } from 'zod';
import { zPositiveInt, zText } from '../kernel/validate.js';
import type { GroupLimits } from '../store/types.js';

export interface GroupLimitOptions {
  /** Most jobs of one group active at once, across every worker and process. @default no limit */
  concurrency?: number;
  /** At most `max` jobs of one group started per `intervalMs`, across every worker and process. */
  rateLimit?: { max: number; intervalMs: number };
}

export interface GroupsOptions extends GroupLimitOptions {
  /** Limits for named groups, in place of the defaults above. */
  overrides?: Record<string, GroupLimitOptions>;
  /**
   * What an auth error in a grouped job pauses: its group (the others go on) or the whole queue.
   * A rate-limit error always throttles the job's group only. @default 'pause-group'
   */
  onAuthError?: 'pause-group' | 'pause-queue';
}

export const zGroupName = zText.min(1).max(200);

const zRate = z
  .object({ max: zPositiveInt.max(1_000_000), intervalMs: zPositiveInt.max(86_400_000) })
  .strict();
const zLimit = z
  .object({ concurrency: zPositiveInt.max(100_000).optional(), rateLimit: zRate.optional() })
  .strict();

export const zGroups = zLimit
  .extend({
    overrides: z.record(zGroupName, zLimit).optional(),
    onAuthError: z.enum(['pause-group', 'pause-queue']).optional(),
  })
  .strict();

/** The limits a claim carries to the store. */
export function groupLimits(o: GroupsOptions): GroupLimits {
  const limits: GroupLimits = {};
  if (o.concurrency !== undefined) limits.concurrency = o.concurrency;
  if (o.rateLimit !== undefined) limits.rateLimit = o.rateLimit;
  if (o.overrides !== undefined) limits.overrides = o.overrides;
  return limits;
}
