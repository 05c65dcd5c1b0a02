/**
 * Cron schedules. One hash per queue, `{prefix:queue}:schedules`, with four fields per schedule:
 * `s:<key>` the spec (JSON text), `t:<key>` the last tick, `c:<key>` and `u:<key>` created and updated.
 * KEYS[1] is that hash.
 */

/** ARGV: key, spec, now. A new schedule starts at now; an existing one keeps its last tick. */
export const SCHEDULE_SAVE = `
local h, key, now = KEYS[1], ARGV[1], ARGV[3]
redis.call('HSET', h, 's:' .. key, ARGV[2], 'u:' .. key, now)
if redis.call('HSETNX', h, 't:' .. key, now) == 1 then redis.call('HSET', h, 'c:' .. key, now) end
return 1
`;

/** ARGV: key. Returns 1 when the schedule existed. */
export const SCHEDULE_REMOVE = `
local key = ARGV[1]
return redis.call('HDEL', KEYS[1], 's:' .. key, 't:' .. key, 'c:' .. key, 'u:' .. key) > 0 and 1 or 0
`;

/** ARGV: key, tickAt, now. last tick = max(last tick, tickAt). Returns 0 when the schedule is gone. */
export const SCHEDULE_FIRED = `
local h, key = KEYS[1], ARGV[1]
local cur = redis.call('HGET', h, 't:' .. key)
if not cur then return 0 end
if tonumber(cur) < tonumber(ARGV[2]) then redis.call('HSET', h, 't:' .. key, ARGV[2]) end
redis.call('HSET', h, 'u:' .. key, ARGV[3])
return 1
`;
