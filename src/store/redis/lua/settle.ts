import { script } from './prelude.js';

/** ARGV values per failed item, after ARGV[1..2]. */
export const FAIL_STRIDE = 6;

/**
 * Settles failed attempts. ARGV: job prefix, now, then per item: id, token, move
 * (retry|snooze|release|dead), runAt, error record (one line of JSON, or '' for none), reason.
 * Returns one flag per item (1 written, 0 stale).
 */
export const FAIL = script(`
local now = tonumber(ARGV[2])
local flags, waits, delays, gone, dead = {}, {}, {}, {}, {}
local ready = 0
for i = 3, #ARGV, ${FAIL_STRIDE} do
  local id, move = ARGV[i], ARGV[i + 2]
  local key = JOB .. id
  local v = redis.call('HMGET', key, 's', 'f', 'e', 'p', 'q')
  if v[1] == 'active' and v[2] == ARGV[i + 1] then
    local errors = v[3] or ''
    if ARGV[i + 4] ~= '' then errors = pushError(v[3], ARGV[i + 4]) end
    if move == 'dead' then
      redis.call('HSET', key, 's', 'dead', 'why', ARGV[i + 5], 'e', errors, 'ua', now, 'fa', now)
      dead[#dead + 1] = now
      dead[#dead + 1] = id
    else
      local runAt = tonumber(ARGV[i + 3])
      redis.call('HSET', key, 's', 'waiting', 'r', ARGV[i + 3], 'e', errors, 'ua', now)
      if move ~= 'retry' then
        redis.call('HINCRBY', key, 'a', -1)
        if move == 'snooze' then redis.call('HINCRBY', key, 'z', 1) end
      end
      ready = ready + place(waits, delays, id, tonumber(v[4]), runAt, tonumber(v[5]), now)
    end
    gone[#gone + 1] = id
    flags[#flags + 1] = 1
  else
    flags[#flags + 1] = 0
  end
end
bulk('ZREM', K_ACTIVE, gone)
bulk('ZADD', FINAL.dead, dead)
flush(waits, delays, ready)
return flags
`);

/**
 * Extends leases of the current fence. ARGV: job prefix, leaseUntil, then (id, token) per item.
 * Returns one flag per item.
 */
export const HEARTBEAT = script(`
local flags, leases = {}, {}
for i = 3, #ARGV, 2 do
  local id = ARGV[i]
  local key = JOB .. id
  local v = redis.call('HMGET', key, 's', 'f')
  if v[1] == 'active' and v[2] == ARGV[i + 1] then
    redis.call('HSET', key, 'l', ARGV[2])
    leases[#leases + 1] = ARGV[2]
    leases[#leases + 1] = id
    flags[#flags + 1] = 1
  else
    flags[#flags + 1] = 0
  end
end
bulk('ZADD', K_ACTIVE, leases)
return flags
`);

/**
 * Saves a checkpoint and/or progress under the lease. ARGV: job prefix, now, id, token,
 * checkpoint flag ('1'|'0'), checkpoint, progress flag, progress. Returns 1 or 0.
 */
export const UPDATE = script(`
local key = JOB .. ARGV[3]
local v = redis.call('HMGET', key, 's', 'f')
if v[1] ~= 'active' or v[2] ~= ARGV[4] then return 0 end
redis.call('HSET', key, 'ua', ARGV[2])
if ARGV[5] == '1' then redis.call('HSET', key, 'cp', ARGV[6]) end
if ARGV[7] == '1' then redis.call('HSET', key, 'pg', ARGV[8]) end
return 1
`);

/**
 * Recovers jobs whose lease expired before now: back to waiting (the attempt counts), or dead on
 * their last attempt. ARGV: job prefix, now, limit. Returns { requeued ids, dead ids }.
 */
export const REAP = script(`
local now = ARGV[2]
local expired = redis.call('ZRANGEBYSCORE', K_ACTIVE, '-inf', '(' .. now, 'LIMIT', 0, tonumber(ARGV[3]))
local requeued, deadIds, waits, dead = {}, {}, {}, {}
for _, id in ipairs(expired) do
  local key = JOB .. id
  local v = redis.call('HMGET', key, 's', 'a', 'm', 'e', 'p', 'q', 'r')
  if v[1] == 'active' then
    local attempts = tonumber(v[2] or '0')
    local last = attempts >= tonumber(v[3])
    local rec = '{"attempt":' .. attempts .. ',"category":"transient","action":"' ..
      (last and 'dead' or 'stalled') ..
      '","name":"LeaseExpired","message":"the lease expired: the worker stopped heart-beating (crashed or blocked)","at":' ..
      now .. '}'
    local errors = pushError(v[4], rec)
    if last then
      redis.call('HSET', key, 's', 'dead', 'why', 'stalled on its last attempt', 'e', errors, 'ua', now, 'fa', now)
      dead[#dead + 1] = now
      dead[#dead + 1] = id
      deadIds[#deadIds + 1] = id
    else
      -- Back in its old place: its priority and run-at, ahead of jobs added since.
      redis.call('HSET', key, 's', 'waiting', 'e', errors, 'ua', now)
      waits[#waits + 1] = 0 - tonumber(v[5])
      waits[#waits + 1] = member(tonumber(v[7]), tonumber(v[6]), id)
      requeued[#requeued + 1] = id
    end
  end
end
bulk('ZREM', K_ACTIVE, expired)
bulk('ZADD', FINAL.dead, dead)
flush(waits, {}, #requeued)
return { requeued, deadIds }
`);
