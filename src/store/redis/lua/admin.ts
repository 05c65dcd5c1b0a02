import { script } from './prelude.js';

/**
 * Cancels waiting, delayed or active jobs. ARGV: job prefix, now, reason, ids…
 * Returns the ids that were cancelled.
 */
export const CANCEL = script(`
local now = ARGV[2]
local out, done = {}, {}
for i = 4, #ARGV do
  local id = ARGV[i]
  local key = JOB .. id
  local v = redis.call('HMGET', key, 's', 'r', 'q')
  if v[1] == 'waiting' or v[1] == 'active' or v[1] == 'blocked' then
    unindex(id, v[1], v[2], v[3])
    -- A waiting job may keep the worker of an earlier attempt in its hash: a cancelled one shows it.
    if v[1] == 'waiting' then redis.call('HDEL', key, 'w') end
    redis.call('HSET', key, 's', 'cancelled', 'why', ARGV[3], 'fa', now, 'ua', now)
    done[#done + 1] = now
    done[#done + 1] = id
    out[#out + 1] = id
  end
end
bulk('ZADD', FINAL.cancelled, done)
return out
`);

/** Deletes every waiting, delayed and blocked job. ARGV: job prefix. Returns how many. */
export const CLEAR = script(`
local gone = {}
for _, m in ipairs(redis.call('ZRANGE', K_WAIT, 0, -1)) do drop(gone, string.sub(m, MEMBER_HEAD + 1)) end
for _, m in ipairs(redis.call('ZRANGE', K_GWAIT, 0, -1)) do
  local id = string.sub(m, MEMBER_HEAD + 1)
  if redis.call('HGET', JOB .. id, 's') == 'waiting' then drop(gone, id) end
end
for _, id in ipairs(redis.call('ZRANGE', K_DELAYED, 0, -1)) do drop(gone, id) end
for _, id in ipairs(redis.call('ZRANGE', K_BLOCKED, 0, -1)) do drop(gone, id) end
redis.call('DEL', K_WAIT, K_GWAIT, K_GN, K_DELAYED, K_BLOCKED)
bulk('ZREM', K_ALL, gone)
return #gone
`);

/**
 * Dead jobs back to waiting with attempts reset. ARGV: job prefix, now, mode ('all'|'ids'), ids…
 * Returns the ids replayed.
 */
export const REPLAY = script(`
local now = tonumber(ARGV[2])
local ids = {}
if ARGV[3] == 'all' then
  ids = redis.call('ZRANGE', FINAL.dead, 0, -1)
else
  for i = 4, #ARGV do ids[#ids + 1] = ARGV[i] end
end
local out, waits = {}, {}
for _, id in ipairs(ids) do
  local key = JOB .. id
  local v = redis.call('HMGET', key, 's', 'p', 'q')
  if v[1] == 'dead' then
    redis.call('HSET', key, 's', 'waiting', 'a', 0, 'r', now, 'ua', now)
    redis.call('HDEL', key, 'why', 'fa')
    redis.call('ZREM', FINAL.dead, id)
    place(waits, {}, id, tonumber(v[2]), now, tonumber(v[3]), now)
    out[#out + 1] = id
  end
end
flush(waits, {}, #out)
return out
`);

/**
 * Deletes jobs in final states. ARGV: job prefix, mode ('all'|'ids'), states joined by ',', ids…
 * Returns how many.
 */
export const PURGE = script(`
local gone = {}
for state in string.gmatch(ARGV[3], '[^,]+') do
  local set = FINAL[state]
  if set then
    if ARGV[2] == 'all' then
      for _, id in ipairs(redis.call('ZRANGE', set, 0, -1)) do drop(gone, id) end
      redis.call('DEL', set)
    else
      local hit = {}
      for i = 4, #ARGV do
        local id = ARGV[i]
        if redis.call('HGET', JOB .. id, 's') == state then
          drop(gone, id)
          hit[#hit + 1] = id
        end
      end
      bulk('ZREM', set, hit)
    end
  end
end
bulk('ZREM', K_ALL, gone)
return #gone
`);

/**
 * One retention rule, at most `chunk` deletions per call (the caller repeats while a call deletes a
 * full chunk, so a large backlog never blocks Redis for long). ARGV: job prefix, now, state,
 * maxAgeMs|'', maxCount|'', chunk. Returns how many were deleted.
 */
export const CLEANUP = script(`
local now, set, chunk = tonumber(ARGV[2]), FINAL[ARGV[3]], tonumber(ARGV[6])
local gone = {}
if ARGV[4] ~= '' then
  local ids = redis.call('ZRANGEBYSCORE', set, '-inf', '(' .. (now - tonumber(ARGV[4])), 'LIMIT', 0, chunk)
  for _, id in ipairs(ids) do drop(gone, id) end
  bulk('ZREM', set, ids)
end
local left = chunk - #gone
if left > 0 and ARGV[5] ~= '' then
  local excess = redis.call('ZCARD', set) - tonumber(ARGV[5])
  if excess > 0 then
    if excess > left then excess = left end
    local ids = redis.call('ZRANGE', set, 0, excess - 1)
    for _, id in ipairs(ids) do drop(gone, id) end
    bulk('ZREM', set, ids)
  end
end
bulk('ZREM', K_ALL, gone)
return #gone
`);

/** Pauses claiming. ARGV: job prefix, reason|'', has reason ('1'|'0'). Returns 1 when it paused. */
export const PAUSE = script(`
if redis.call('HGET', K_META, 'paused') == '1' then return 0 end
redis.call('HSET', K_META, 'paused', '1')
if ARGV[3] == '1' then redis.call('HSET', K_META, 'reason', ARGV[2]) else redis.call('HDEL', K_META, 'reason') end
return 1
`);

/** Resumes claiming and wakes idle workers when jobs wait. ARGV: job prefix, now. */
export const RESUME = script(`
redis.call('HSET', K_META, 'paused', '0')
redis.call('HDEL', K_META, 'reason')
signal(redis.call('ZCARD', K_WAIT) + redis.call('ZCOUNT', K_DELAYED, '-inf', ARGV[2]))
return 1
`);

/** Holds claims until a time, never shortening a window. ARGV: job prefix, until. */
export const THROTTLE = script(`
local cur = redis.call('HGET', K_META, 'throttled')
if not cur or tonumber(cur) < tonumber(ARGV[2]) then redis.call('HSET', K_META, 'throttled', ARGV[2]) end
return 1
`);
