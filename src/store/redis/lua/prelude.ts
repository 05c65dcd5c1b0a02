/**
 * Lua shared by every script. Scripts are plain Lua 5.1 (Redis's interpreter) kept as TS string
 * modules so `tsc` ships them with the code. Every script gets the same KEYS (keys.ts `QueueKeys`)
 * and the job-hash prefix as ARGV[1]; a job hash lives in the same slot as those keys.
 *
 * Numbers in replies: Lua numbers become integer replies, so scripts return values read from
 * Redis (strings) or flags, never computed fractions.
 */
import { ERROR_HISTORY_LIMIT } from '../../types.js';
import { LUA_FIELDS, LUA_POSITIONS } from '../codec.js';

/** Most wake-up tokens kept on a queue's marker list: how many idle processes one change wakes at once. */
export const MARKER_MAX = 4;
/** Most delayed jobs one claim promotes (a backlog is promoted over several claims). */
export const PROMOTE_MAX = 5000;

export const PRELUDE = `
local JOB = ARGV[1]
local K_WAIT, K_DELAYED, K_ACTIVE = KEYS[1], KEYS[2], KEYS[3]
local FINAL = { completed = KEYS[4], dead = KEYS[5], cancelled = KEYS[6] }
local K_ALL, K_META, K_MARKER = KEYS[7], KEYS[8], KEYS[9]
-- Blocked jobs (flows) live in a zset of their own, beside the queue's other keys.
local K_BLOCKED = string.sub(K_META, 1, #K_META - 4) .. 'blocked'
local FIELDS = ${LUA_FIELDS}
local F = ${LUA_POSITIONS}
local ERROR_LIMIT = ${ERROR_HISTORY_LIMIT}
local MARKER_MAX = ${MARKER_MAX}
local PROMOTE_MAX = ${PROMOTE_MAX}

-- Member of the wait zset. The score is the negated priority; members of equal score sort
-- bytewise, so fixed-width hex of run-at then insertion sequence gives the rest of claim order.
local MEMBER_HEAD = 24
local function member(runAt, seq, id)
  if runAt < 0 then runAt = 0 end
  return string.format('%012x%012x', runAt, seq) .. id
end

-- A new grouped job waits ready in a set of its own (the fair-group claim's order, lua/features.ts),
-- with a ready count per group: reads count it as waiting, and a job that stops waiting leaves it.
local K_GWAIT = string.sub(K_META, 1, #K_META - 4) .. 'gwait'
local K_GN = string.sub(K_META, 1, #K_META - 4) .. 'gn'
local function ungroup(id, runAt, seq)
  if redis.call('ZREM', K_GWAIT, member(runAt, seq, id)) == 1 then
    local g = redis.call('HGET', JOB .. id, 'g')
    if g then redis.call('HINCRBY', K_GN, g, -1) end
  end
end

-- A variadic command over a long argument list, in chunks (unpack has a stack limit). Chunks hold
-- an even count so score/member pairs stay together.
local function bulk(cmd, key, args)
  local n = #args
  local i = 1
  while i <= n do
    local j = i + 999
    if j > n then j = n end
    redis.call(cmd, key, unpack(args, i, j))
    i = j + 1
  end
end

-- Wakes up to n idle workers blocked on the marker list (bounded: nobody may be listening).
local function signal(n)
  if n <= 0 then return end
  if n > MARKER_MAX then n = MARKER_MAX end
  local t = {}
  for i = 1, n do t[i] = '1' end
  redis.call('LPUSH', K_MARKER, unpack(t))
  redis.call('LTRIM', K_MARKER, 0, MARKER_MAX - 1)
end

-- Appends one error record (a line of JSON) to a job's history, keeping the newest ERROR_LIMIT.
local function pushError(old, rec)
  if not old or old == '' then return rec end
  local s = old .. '\\n' .. rec
  local lines = 1
  for _ in string.gmatch(s, '\\n') do lines = lines + 1 end
  while lines > ERROR_LIMIT do
    s = string.sub(s, string.find(s, '\\n', 1, true) + 1)
    lines = lines - 1
  end
  return s
end

-- Collects a waiting job into the ready or the delayed batch, by run-at. Returns 1 when ready.
local function place(waits, delays, id, pri, runAt, seq, now)
  if runAt > now then
    delays[#delays + 1] = runAt
    delays[#delays + 1] = id
    return 0
  end
  waits[#waits + 1] = 0 - pri
  waits[#waits + 1] = member(runAt, seq, id)
  return 1
end

-- Writes the batches of place(); wakes idle workers for ready jobs, and for a delayed job that is
-- now the earliest (their sleep was computed for a later one).
local function flush(waits, delays, ready)
  if #delays > 0 then
    local head = redis.call('ZRANGE', K_DELAYED, 0, 0, 'WITHSCORES')
    local earliest = delays[1]
    for i = 3, #delays, 2 do if delays[i] < earliest then earliest = delays[i] end end
    if not head[2] or earliest < tonumber(head[2]) then ready = ready + 1 end
    bulk('ZADD', K_DELAYED, delays)
  end
  bulk('ZADD', K_WAIT, waits)
  signal(ready)
end

-- Removes a job from the index of its state.
local function unindex(id, state, runAt, seq)
  if state == 'waiting' then
    redis.call('ZREM', K_WAIT, member(tonumber(runAt), tonumber(seq), id))
    redis.call('ZREM', K_DELAYED, id)
    ungroup(id, tonumber(runAt), tonumber(seq))
  elseif state == 'active' then
    redis.call('ZREM', K_ACTIVE, id)
  elseif state == 'blocked' then
    redis.call('ZREM', K_BLOCKED, id)
  elseif FINAL[state] then
    redis.call('ZREM', FINAL[state], id)
  end
end

-- Deletes a job's hash; the caller removes it from its state's index. Collects ids for K_ALL.
local function drop(gone, id)
  redis.call('DEL', JOB .. id)
  gone[#gone + 1] = id
end

-- Moves due delayed jobs to the ready set.
local function promote(now)
  local due = redis.call('ZRANGEBYSCORE', K_DELAYED, '-inf', now, 'LIMIT', 0, PROMOTE_MAX)
  if #due == 0 then return end
  local waits = {}
  for _, id in ipairs(due) do
    local v = redis.call('HMGET', JOB .. id, 's', 'p', 'r', 'q')
    if v[1] == 'waiting' then
      waits[#waits + 1] = 0 - tonumber(v[2])
      waits[#waits + 1] = member(tonumber(v[3]), tonumber(v[4]), id)
    end
  end
  bulk('ZREM', K_DELAYED, due)
  bulk('ZADD', K_WAIT, waits)
end

-- Appends id and FIELDS of a job to a reply.
local function emit(out, id)
  out[#out + 1] = id
  local v = redis.call('HMGET', JOB .. id, unpack(FIELDS))
  for j = 1, #FIELDS do out[#out + 1] = v[j] end
end

-- A job's worker and lease stay in its hash after it leaves that state; codec.ts shows them only
-- where they apply, so transitions need not delete them.

-- Leases up to limit ready jobs (none while paused or throttled); counts them in the rate window.
local function claim(now, limit, leaseUntil, worker, rlMax, rlInterval)
  local meta = redis.call('HMGET', K_META, 'paused', 'throttled', 'ws', 'wc')
  if meta[1] == '1' or (meta[2] and tonumber(meta[2]) > now) then return {} end
  promote(now)
  local start, used = 0, 0
  if rlMax then
    start = now - (now % rlInterval)
    if meta[3] and tonumber(meta[3]) == start then used = tonumber(meta[4]) end
    if rlMax - used < limit then limit = rlMax - used end
    if limit <= 0 then return {} end
  end
  local popped = redis.call('ZPOPMIN', K_WAIT, limit)
  local out, leases = {}, {}
  local n = 0
  for i = 1, #popped, 2 do
    local id = string.sub(popped[i], MEMBER_HEAD + 1)
    local key = JOB .. id
    -- One read and one write per job: the reply is the read, patched with what was written.
    local v = redis.call('HMGET', key, unpack(FIELDS))
    if v[F.s] == 'waiting' then
      local attempts = (tonumber(v[F.a]) or 0) + 1
      local fence = (tonumber(v[F.f]) or 0) + 1
      redis.call('HSET', key, 's', 'active', 'a', attempts, 'f', fence, 'w', worker, 'l', leaseUntil,
        'sa', now, 'ua', now)
      v[F.s], v[F.a], v[F.f], v[F.w], v[F.l], v[F.sa], v[F.ua] = 'active', attempts, fence, worker, leaseUntil, now, now
      leases[#leases + 1] = leaseUntil
      leases[#leases + 1] = id
      out[#out + 1] = id
      for j = 1, #FIELDS do out[#out + 1] = v[j] end
      n = n + 1
    end
  end
  bulk('ZADD', K_ACTIVE, leases)
  if rlMax then
    used = used + n
    redis.call('HSET', K_META, 'ws', start, 'wc', used)
    if used >= rlMax and (not meta[2] or tonumber(meta[2]) < start + rlInterval) then
      redis.call('HSET', K_META, 'throttled', start + rlInterval)
    end
  end
  return out
end

-- Completes fenced jobs given as (id, token, result) triples in ARGV from index first; result ''
-- stands for null (JSON text is never empty). Returns one flag per item.
local function complete(now, first)
  local flags, gone, done = {}, {}, {}
  for i = first, #ARGV, 3 do
    local id = ARGV[i]
    local key = JOB .. id
    local v = redis.call('HMGET', key, 's', 'f')
    if v[1] == 'active' and v[2] == ARGV[i + 1] then
      if ARGV[i + 2] == '' then
        redis.call('HSET', key, 's', 'completed', 'fa', now, 'ua', now)
      else
        redis.call('HSET', key, 's', 'completed', 'fa', now, 'ua', now, 'rs', ARGV[i + 2])
      end
      gone[#gone + 1] = id
      done[#done + 1] = now
      done[#done + 1] = id
      flags[#flags + 1] = 1
    else
      flags[#flags + 1] = 0
    end
  end
  bulk('ZREM', K_ACTIVE, gone)
  bulk('ZADD', FINAL.completed, done)
  return flags
end
`;

/** A script: the prelude, then `body`. */
export const script = (body: string): string => `${PRELUDE}\n${body}`;
