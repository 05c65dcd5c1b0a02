import { script } from './prelude.js';

/**
 * Leases up to `limit` ready jobs in claim order, after promoting due delayed jobs. Returns the
 * claimed jobs (id, FIELDS…). ARGV: job prefix, now, limit, leaseUntil, workerId, rateMax|'', rateIntervalMs|''
 */
export const CLAIM = script(`
return claim(tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7]))
`);

/**
 * Completes fenced jobs. ARGV: job prefix, now, then (id, token, result|'') per job.
 * Returns one flag per job (1 written, 0 stale).
 */
export const COMPLETE = script(`
return complete(tonumber(ARGV[2]), 3)
`);

/**
 * COMPLETE then CLAIM in one script: a worker's freed slots go straight to the next jobs.
 * ARGV: job prefix, claim now, limit, leaseUntil, workerId, rateMax|'', rateIntervalMs|'', complete now,
 * then (id, token, result|'') per job. Returns { flags, claimed jobs }.
 */
export const COMPLETE_AND_CLAIM = script(`
local flags = complete(tonumber(ARGV[8]), 9)
return { flags, claim(tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7])) }
`);
