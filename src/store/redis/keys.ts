/**
 * Key layout. Every key of one queue shares the hash tag `{<prefix>:<queue>}`, so a queue lives in
 * one Redis Cluster slot and one script may touch all of its keys atomically.
 *
 *   {bulwark:emails}:j:<id>     hash, one per job (fields in codec.ts)
 *   {bulwark:emails}:wait       zset of ready jobs in claim order (score -priority, member in lua/prelude.ts)
 *   {bulwark:emails}:delayed    zset of waiting jobs with a future run-at, scored by run-at (member: id)
 *   {bulwark:emails}:active     zset of leased jobs, scored by lease expiry (member: id)
 *   {bulwark:emails}:completed  } zsets of finished jobs, scored by finish time (member: id)
 *   {bulwark:emails}:dead       }
 *   {bulwark:emails}:cancelled  }
 *   {bulwark:emails}:all        zset of every job, scored by insertion sequence (listing, paging)
 *   {bulwark:emails}:meta       hash: paused, reason, throttled, rate-limit window, sequence
 *   {bulwark:emails}:marker     list of wake-up tokens for idle workers (BLPOP), a few at most
 *   bulwark:queues              set of queue names (outside every queue's slot; written on its own)
 */

/** The keys every script gets, in this order (lua/prelude.ts names them). */
export type QueueKeys = readonly [
  wait: string,
  delayed: string,
  active: string,
  completed: string,
  dead: string,
  cancelled: string,
  all: string,
  meta: string,
  marker: string,
];

export interface QueueKeyring {
  /** The hash tag and separator: `{prefix:queue}:`. */
  base: string;
  /** Prefix of job hashes: append the id. */
  job: string;
  keys: QueueKeys;
  meta: string;
  marker: string;
}

export function queueKeys(prefix: string, queue: string): QueueKeyring {
  const base = `{${prefix}:${queue}}:`;
  const keys: QueueKeys = [
    `${base}wait`,
    `${base}delayed`,
    `${base}active`,
    `${base}completed`,
    `${base}dead`,
    `${base}cancelled`,
    `${base}all`,
    `${base}meta`,
    `${base}marker`,
  ];
  return { base, job: `${base}j:`, keys, meta: keys[7], marker: keys[8] };
}

export const registryKey = (prefix: string): string => `${prefix}:queues`;

/** Characters allowed in a prefix: no braces (they would move the hash tag), no spaces, no glob characters. */
export const PREFIX_PATTERN = /^[A-Za-z0-9_.:-]+$/;
