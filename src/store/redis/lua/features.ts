/**
 * Scripts for jobs that use uniqueness, groups or flows. Plain jobs never run these, so the plain
 * scripts stay as lean as they are. Extra keys of a queue are derived from its meta key (same slot):
 *   {prefix:queue}:unique   hash: unique key -> id of the job that last took it
 */
import { script } from './prelude.js';

/** ARGV values per job in ADD_FEATURES, after ARGV[1] (the job prefix). */
export const ADD_FEATURES_STRIDE = 13;

/** Lua shared by the feature scripts (after the prelude). */
const FEATURES_PRELUDE = `
local BASE = string.sub(K_META, 1, #K_META - 4)
local K_UNIQUE = BASE .. 'unique'

-- Moves a waiting job to a new run-at (re-indexed as ready or delayed). Call before changing 'r'.
local function reschedule(id, runAt, now)
  local v = redis.call('HMGET', JOB .. id, 'r', 'p', 'q')
  local seq = tonumber(v[3])
  redis.call('ZREM', K_WAIT, member(tonumber(v[1]), seq, id))
  redis.call('ZREM', K_DELAYED, id)
  local waits, delays = {}, {}
  flush(waits, delays, place(waits, delays, id, tonumber(v[2]), runAt, seq, now))
end
`;

/**
 * Inserts jobs that use features; an existing id, or a unique key's holder, is returned instead. One
 * reply entry per job: 0 when created, else the returned job's id and FIELDS.
 * ARGV: job prefix, then per job: id, name|'', priority, runAt, maxAttempts, backoff, timeoutMs|'',
 *       correlationId, metadata, payload, createdAt, uniqueKey|'', uniqueMode|''.
 */
export const ADD_FEATURES = script(`${FEATURES_PRELUDE}
local n = (#ARGV - 1) / ${ADD_FEATURES_STRIDE}
local out, alls = {}, {}
local created = 0
for i = 0, n - 1 do
  local o = 1 + i * ${ADD_FEATURES_STRIDE}
  local id, runAt, now = ARGV[o + 1], tonumber(ARGV[o + 4]), tonumber(ARGV[o + 11])
  local key = JOB .. id
  local ukey, umode = ARGV[o + 12], ARGV[o + 13]
  local found = nil
  if redis.call('EXISTS', key) == 1 then
    found = id
  elseif ukey ~= '' then
    local holder = redis.call('HGET', K_UNIQUE, ukey)
    if holder then
      local v = redis.call('HMGET', JOB .. holder, unpack(FIELDS))
      local st = v[F.s]
      if umode == 'debounce' then
        if st == 'waiting' then
          reschedule(holder, runAt, now)
          redis.call('HSET', JOB .. holder, 'd', ARGV[o + 10], 'r', runAt, 'ua', now)
          found = holder
        end
      elseif st == 'waiting' or st == 'active' or st == 'blocked' then
        found = holder
      end
    end
  end
  if found then
    local entry = { found }
    local v = redis.call('HMGET', JOB .. found, unpack(FIELDS))
    for j = 1, #FIELDS do entry[j + 1] = v[j] end
    out[i + 1] = entry
  else
    local seq = redis.call('HINCRBY', K_META, 'seq', 1)
    local h = { 's', 'waiting', 'p', ARGV[o + 3], 'r', ARGV[o + 4], 'm', ARGV[o + 5], 'b', ARGV[o + 6],
      'c', ARGV[o + 8], 'md', ARGV[o + 9], 'd', ARGV[o + 10], 'ca', ARGV[o + 11], 'q', seq }
    if ARGV[o + 2] ~= '' then h[#h + 1] = 'n'; h[#h + 1] = ARGV[o + 2] end
    if ARGV[o + 7] ~= '' then h[#h + 1] = 't'; h[#h + 1] = ARGV[o + 7] end
    if ukey ~= '' then
      h[#h + 1] = 'uk'; h[#h + 1] = ukey
      redis.call('HSET', K_UNIQUE, ukey, id)
    end
    redis.call('HSET', key, unpack(h))
    alls[#alls + 1] = seq
    alls[#alls + 1] = id
    local waits, delays = {}, {}
    flush(waits, delays, place(waits, delays, id, tonumber(ARGV[o + 3]), runAt, seq, now))
    out[i + 1] = 0
  end
end
bulk('ZADD', K_ALL, alls)
return out
`);
