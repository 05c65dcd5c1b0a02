/**
 * Scripts for jobs that use uniqueness, groups or flows. Plain jobs never run these, so the plain
 * scripts stay as lean as they are. Extra keys of a queue are derived from its meta key (same slot):
 *   {prefix:queue}:unique   hash: unique key -> id of the job that last took it
 *   {prefix:queue}:blocked  zset of blocked jobs (flows), by insertion sequence (the prelude knows it)
 *   {prefix:queue}:fdeps    set of dependency ids with open edges
 *   {prefix:queue}:fe:<id>  set of the jobs that wait for job <id>
 * A job with dependencies keeps them in its hash: do (depends-on, JSON), dc (dependencies left),
 * dp (onDependencyDead), da ('complete': it completes, rather than runs, once they are done).
 */
import { script } from './prelude.js';

/** ARGV values per job in ADD_FEATURES, after ARGV[1] (the job prefix). */
export const ADD_FEATURES_STRIDE = 16;

/** Lua shared by the feature scripts (after the prelude). */
const FEATURES_PRELUDE = `
local BASE = string.sub(K_META, 1, #K_META - 4)
local K_UNIQUE = BASE .. 'unique'
local K_FDEPS = BASE .. 'fdeps'
local function fe(dep) return BASE .. 'fe:' .. dep end
local IS_FINAL = { completed = true, dead = true, cancelled = true }

-- How a job with dependencies starts: returns pending ids and the dependency that fails it (or nil).
local function countDeps(deps, policy)
  local pending = {}
  for _, dep in ipairs(deps) do
    local st = redis.call('HGET', JOB .. dep, 's')
    if st ~= 'completed' then
      if st and IS_FINAL[st] and policy ~= 'wait' then
        if policy == 'fail' then return pending, dep end
      else
        pending[#pending + 1] = dep
      end
    end
  end
  return pending, nil
end

-- Opens the edges of a job that waits for pending.
local function link(id, pending)
  for _, dep in ipairs(pending) do
    redis.call('SADD', fe(dep), id)
    redis.call('SADD', K_FDEPS, dep)
  end
end

-- Moves a job to a final state from 'blocked' or 'active' (its index), with extra hash fields.
local function finish(id, from, state, now, extra)
  if from == 'blocked' then redis.call('ZREM', K_BLOCKED, id) else redis.call('ZREM', K_ACTIVE, id) end
  local h = { 's', state, 'fa', now, 'ua', now }
  for _, x in ipairs(extra) do h[#h + 1] = x end
  redis.call('HSET', JOB .. id, unpack(h))
  redis.call('ZADD', FINAL[state], now, id)
end

-- Moves a waiting job to a new run-at (re-indexed as ready or delayed). Call before changing 'r'.
local function reschedule(id, runAt, now)
  local v = redis.call('HMGET', JOB .. id, 'r', 'p', 'q')
  local seq = tonumber(v[3])
  redis.call('ZREM', K_WAIT, member(tonumber(v[1]), seq, id))
  redis.call('ZREM', K_DELAYED, id)
  ungroup(id, tonumber(v[1]), seq)
  local waits, delays = {}, {}
  flush(waits, delays, place(waits, delays, id, tonumber(v[2]), runAt, seq, now))
end
`;

/**
 * Fair groups. A grouped job carries its group ('g') and virtual start time ('vt'); ready grouped jobs
 * wait in {prefix:queue}:gwait scored by vt (the plain wait set holds jobs without a group, and any
 * grouped job put back by a plain script, which the group claim moves over). Per group, in hashes keyed
 * by group name: gp (paused: reason), gt (throttled until), gws / gwc (rate window), glv (last vt),
 * gn (ready count); ga:<group> is the set of jobs it claimed (checked when counted); gclock is the
 * queue's clock (the vt of the newest job claimed).
 */
const GROUPS_PRELUDE = `
local K_GWAIT, K_GCLOCK = BASE .. 'gwait', BASE .. 'gclock'
local H = { p = BASE .. 'gp', t = BASE .. 'gt', ws = BASE .. 'gws', wc = BASE .. 'gwc', lv = BASE .. 'glv', n = BASE .. 'gn' }
local function ga(g) return BASE .. 'ga:' .. g end

-- Active jobs of a group (drops the ones that have finished since they were claimed).
local function activeIn(g)
  local n = 0
  for _, id in ipairs(redis.call('SMEMBERS', ga(g))) do
    if redis.call('HGET', JOB .. id, 's') == 'active' then n = n + 1 else redis.call('SREM', ga(g), id) end
  end
  return n
end

-- A grouped job becomes ready: into the group wait set.
local function readyGrouped(id, g, vt, runAt, seq)
  redis.call('ZADD', K_GWAIT, vt, member(runAt, seq, id))
  redis.call('HINCRBY', H.n, g, 1)
end
`;

/**
 * Inserts jobs that use features; an existing id, or a unique key's holder, is returned instead. One
 * reply entry per job: 0 when created, else the returned job's id and FIELDS.
 * ARGV: job prefix, then per job: id, name|'', priority, runAt, maxAttempts, backoff, timeoutMs|'',
 *       correlationId, metadata, payload, createdAt, uniqueKey|'', uniqueMode|'', dependsOn (JSON)|'',
 *       onDependencyDead|'', group|''. Returns { 'unknown', id } (and writes nothing) for an unknown dependency.
 */
export const ADD_FEATURES = script(`${FEATURES_PRELUDE}${GROUPS_PRELUDE}
local n = (#ARGV - 1) / ${ADD_FEATURES_STRIDE}
local out, alls = {}, {}
-- Every dependency must exist (or be added earlier in this call) before anything is written.
local earlier = {}
for i = 0, n - 1 do
  local o = 1 + i * ${ADD_FEATURES_STRIDE}
  if ARGV[o + 14] ~= '' then
    for _, dep in ipairs(cjson.decode(ARGV[o + 14])) do
      if not earlier[dep] and redis.call('EXISTS', JOB .. dep) == 0 then return { 'unknown', dep } end
    end
  end
  earlier[ARGV[o + 1]] = true
end
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
    local state = 'waiting'
    local pending, failedBy = {}, nil
    if ARGV[o + 14] ~= '' then
      local policy = ARGV[o + 15]
      pending, failedBy = countDeps(cjson.decode(ARGV[o + 14]), policy)
      h[#h + 1] = 'do'; h[#h + 1] = ARGV[o + 14]
      h[#h + 1] = 'dp'; h[#h + 1] = policy
      h[#h + 1] = 'dc'; h[#h + 1] = #pending
      if failedBy then state = 'dead' elseif #pending > 0 then state = 'blocked' end
    end
    local grp = ARGV[o + 16]
    local vt = 0
    if grp ~= '' then
      vt = tonumber(redis.call('HGET', H.lv, grp) or '0')
      local clock = tonumber(redis.call('GET', K_GCLOCK) or '0')
      if clock > vt then vt = clock end
      vt = vt + 1
      redis.call('HSET', H.lv, grp, vt)
      h[#h + 1] = 'g'; h[#h + 1] = grp
      h[#h + 1] = 'vt'; h[#h + 1] = vt
    end
    redis.call('HSET', key, unpack(h))
    alls[#alls + 1] = seq
    alls[#alls + 1] = id
    if state == 'dead' then
      redis.call('HSET', key, 's', 'dead', 'why', 'dependency ' .. failedBy .. ' is dead or cancelled', 'fa', now)
      redis.call('ZADD', FINAL.dead, now, id)
    elseif state == 'blocked' then
      redis.call('HSET', key, 's', 'blocked')
      redis.call('ZADD', K_BLOCKED, seq, id)
      link(id, pending)
    elseif grp ~= '' and runAt <= now then
      readyGrouped(id, grp, vt, runAt, seq)
      signal(1)
    else
      local waits, delays = {}, {}
      flush(waits, delays, place(waits, delays, id, tonumber(ARGV[o + 3]), runAt, seq, now))
    end
    out[i + 1] = 0
  end
end
bulk('ZADD', K_ALL, alls)
return out
`);

/**
 * Settles edges whose dependency finished (or vanished), at most ARGV[3] of them; loops so that a job
 * completed here frees its own dependants. ARGV: job prefix, now, limit.
 * Returns { ready ids, completed ids, dead ids, open (1|0) }.
 */
export const RESOLVE = script(`${FEATURES_PRELUDE}
local now, budget = tonumber(ARGV[2]), tonumber(ARGV[3])
local ready, completed, dead = {}, {}, {}
repeat
  local n = 0
  for _, dep in ipairs(redis.call('SMEMBERS', K_FDEPS)) do
    if budget - n <= 0 then break end
    local st = redis.call('HGET', JOB .. dep, 's')
    if not st or IS_FINAL[st] then
      for _, t in ipairs(redis.call('SMEMBERS', fe(dep))) do
        local v = redis.call('HMGET', JOB .. t, 's', 'dp', 'da', 'p', 'r', 'q')
        local policy = v[2] or 'fail'
        if st == 'completed' or v[1] ~= 'blocked' or policy ~= 'wait' then
          redis.call('SREM', fe(dep), t)
          n = n + 1
          if v[1] == 'blocked' then
            if st == 'completed' or policy == 'ignore' then
              if redis.call('HINCRBY', JOB .. t, 'dc', -1) <= 0 then
                if v[3] == 'complete' then
                  finish(t, 'blocked', 'completed', now, {})
                  completed[#completed + 1] = t
                else
                  redis.call('ZREM', K_BLOCKED, t)
                  redis.call('HSET', JOB .. t, 's', 'waiting', 'ua', now)
                  local waits, delays = {}, {}
                  flush(waits, delays, place(waits, delays, t, tonumber(v[4]), tonumber(v[5]), tonumber(v[6]), now))
                  ready[#ready + 1] = t
                end
              end
            else
              finish(t, 'blocked', 'dead', now, { 'why', 'dependency ' .. dep .. ' is ' .. (st or 'gone') })
              dead[#dead + 1] = t
            end
          end
        end
      end
      if redis.call('SCARD', fe(dep)) == 0 then redis.call('SREM', K_FDEPS, dep) end
    end
  end
  budget = budget - n
until n == 0 or budget <= 0
return { ready, completed, dead, redis.call('SCARD', K_FDEPS) > 0 and 1 or 0 }
`);

/**
 * Completes an active job once its children have: ARGV: job prefix, now, id, token, result|'' (null),
 * children (JSON), onDependencyDead. Returns the job's state now, or '' when the token is stale.
 */
export const COMPLETE_AFTER = script(`${FEATURES_PRELUDE}
local now, id = tonumber(ARGV[2]), ARGV[3]
local key = JOB .. id
local v = redis.call('HMGET', key, 's', 'f', 'q')
if v[1] ~= 'active' or v[2] ~= ARGV[4] then return '' end
local known = {}
for _, c in ipairs(cjson.decode(ARGV[6])) do
  if redis.call('EXISTS', JOB .. c) == 1 then known[#known + 1] = c end
end
local deps = cjson.encode(known)
if #known == 0 then deps = '[]' end
local pending, failedBy = countDeps(known, ARGV[7])
local extra = { 'do', deps }
if ARGV[5] ~= '' then extra[#extra + 1] = 'rs'; extra[#extra + 1] = ARGV[5] end
if failedBy then
  extra[#extra + 1] = 'why'
  extra[#extra + 1] = 'dependency ' .. failedBy .. ' is ' .. redis.call('HGET', JOB .. failedBy, 's')
  finish(id, 'active', 'dead', now, extra)
  return 'dead'
end
if #pending == 0 then
  finish(id, 'active', 'completed', now, extra)
  return 'completed'
end
redis.call('ZREM', K_ACTIVE, id)
redis.call('ZADD', K_BLOCKED, tonumber(v[3]), id)
redis.call('HSET', key, 's', 'blocked', 'dc', #pending, 'dp', ARGV[7], 'da', 'complete', 'ua', now, unpack(extra))
link(id, pending)
return 'blocked'
`);

/** The jobs a job depends on, in order (id, FIELDS…). ARGV: job prefix, id. */
export const DEPENDENCIES = script(`
local text = redis.call('HGET', JOB .. ARGV[2], 'do')
local out = {}
if not text then return out end
for _, dep in ipairs(cjson.decode(text)) do
  if redis.call('EXISTS', JOB .. dep) == 1 then emit(out, dep) end
end
return out
`);

/**
 * A claim fair across groups. ARGV: job prefix, now, limit, leaseUntil, workerId, rateMax|'',
 * rateIntervalMs|'', limits (JSON). Returns { jobs (id, FIELDS…), their groups ('' for none) }.
 */
export const CLAIM_GROUPS = script(`${FEATURES_PRELUDE}${GROUPS_PRELUDE}
local now, limit, leaseUntil, worker = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local rlMax, rlInterval = tonumber(ARGV[6]), tonumber(ARGV[7])
local limits = cjson.decode(ARGV[8])
local overrides = limits.overrides or {}
local meta = redis.call('HMGET', K_META, 'paused', 'throttled', 'ws', 'wc')
if meta[1] == '1' or (meta[2] and tonumber(meta[2]) > now) then return { {}, {} } end
promote(now)
local start, used = 0, 0
if rlMax then
  start = now - (now % rlInterval)
  if meta[3] and tonumber(meta[3]) == start then used = tonumber(meta[4]) end
  if rlMax - used < limit then limit = rlMax - used end
  if limit <= 0 then return { {}, {} } end
end
-- Grouped jobs a plain script put back (a retry, a recovered lease, a replay, a due delay) move over.
for _, m in ipairs(redis.call('ZRANGE', K_WAIT, 0, 199)) do
  local id = string.sub(m, MEMBER_HEAD + 1)
  local v = redis.call('HMGET', JOB .. id, 'g', 'vt', 'r', 'q')
  if v[1] then
    redis.call('ZREM', K_WAIT, m)
    readyGrouped(id, v[1], tonumber(v[2]), tonumber(v[3]), tonumber(v[4]))
  end
end
local picked, groups, room, taken = {}, {}, {}, {}
local maxVt = 0
local function roomOf(g)
  if room[g] ~= nil then return room[g] end
  local left = limit
  local paused = redis.call('HGET', H.p, g)
  local tu = tonumber(redis.call('HGET', H.t, g) or '0')
  if paused or tu > now then left = 0 else
    local o = overrides[g] or {}
    local conc = o.concurrency or limits.concurrency
    if conc then left = math.min(left, conc - activeIn(g)) end
    local rl = o.rateLimit or limits.rateLimit
    if rl then
      local ws = now - (now % rl.intervalMs)
      local wused = 0
      if tonumber(redis.call('HGET', H.ws, g) or '-1') == ws then wused = tonumber(redis.call('HGET', H.wc, g) or '0') end
      left = math.min(left, rl.max - wused)
    end
  end
  room[g] = left
  return left
end
local candidates = redis.call('ZRANGE', K_GWAIT, 0, limit * 8 + 63, 'WITHSCORES')
for i = 1, #candidates, 2 do
  if #picked >= limit then break end
  local m = candidates[i]
  local id = string.sub(m, MEMBER_HEAD + 1)
  local g = redis.call('HGET', JOB .. id, 'g')
  if not g or redis.call('HGET', JOB .. id, 's') ~= 'waiting' then
    redis.call('ZREM', K_GWAIT, m)
  elseif roomOf(g) > 0 then
    room[g] = room[g] - 1
    taken[g] = (taken[g] or 0) + 1
    redis.call('ZREM', K_GWAIT, m)
    redis.call('HINCRBY', H.n, g, -1)
    picked[#picked + 1] = id
    groups[#groups + 1] = g
    local vt = tonumber(candidates[i + 1])
    if vt > maxVt then maxVt = vt end
  end
end
-- Jobs without a group fill what the groups leave.
while #picked < limit do
  local popped = redis.call('ZPOPMIN', K_WAIT, 1)
  if not popped[1] then break end
  picked[#picked + 1] = string.sub(popped[1], MEMBER_HEAD + 1)
  groups[#groups + 1] = ''
end
local out, leases = {}, {}
for k, id in ipairs(picked) do
  local key = JOB .. id
  local v = redis.call('HMGET', key, unpack(FIELDS))
  local attempts = (tonumber(v[F.a]) or 0) + 1
  local fence = (tonumber(v[F.f]) or 0) + 1
  redis.call('HSET', key, 's', 'active', 'a', attempts, 'f', fence, 'w', worker, 'l', leaseUntil, 'sa', now, 'ua', now)
  v[F.s], v[F.a], v[F.f], v[F.w], v[F.l], v[F.sa], v[F.ua] = 'active', attempts, fence, worker, leaseUntil, now, now
  leases[#leases + 1] = leaseUntil
  leases[#leases + 1] = id
  out[#out + 1] = id
  for j = 1, #FIELDS do out[#out + 1] = v[j] end
  if groups[k] ~= '' then redis.call('SADD', ga(groups[k]), id) end
end
bulk('ZADD', K_ACTIVE, leases)
for g, n in pairs(taken) do
  local o = overrides[g] or {}
  local rl = o.rateLimit or limits.rateLimit
  if rl then
    local ws = now - (now % rl.intervalMs)
    local count = n
    if tonumber(redis.call('HGET', H.ws, g) or '-1') == ws then count = count + tonumber(redis.call('HGET', H.wc, g) or '0') end
    redis.call('HSET', H.ws, g, ws)
    redis.call('HSET', H.wc, g, count)
    if count >= rl.max then
      local cur = tonumber(redis.call('HGET', H.t, g) or '0')
      if cur < ws + rl.intervalMs then redis.call('HSET', H.t, g, ws + rl.intervalMs) end
    end
  end
end
if maxVt > tonumber(redis.call('GET', K_GCLOCK) or '0') then redis.call('SET', K_GCLOCK, maxVt) end
if rlMax then
  used = used + #picked
  redis.call('HSET', K_META, 'ws', start, 'wc', used)
  if used >= rlMax and (not meta[2] or tonumber(meta[2]) < start + rlInterval) then
    redis.call('HSET', K_META, 'throttled', start + rlInterval)
  end
end
return { out, groups }
`);

/** ARGV: job prefix, op (pause|resume|throttle), group, value. Returns 1 when a pause changed something. */
export const GROUP_STATE = script(`${FEATURES_PRELUDE}${GROUPS_PRELUDE}
local op, g = ARGV[2], ARGV[3]
redis.call('HSETNX', H.lv, g, 0)
if op == 'pause' then
  if redis.call('HEXISTS', H.p, g) == 1 then return 0 end
  redis.call('HSET', H.p, g, ARGV[4])
  return 1
elseif op == 'resume' then
  redis.call('HDEL', H.p, g)
  signal(4)
  return 1
else
  local cur = tonumber(redis.call('HGET', H.t, g) or '0')
  if cur < tonumber(ARGV[4]) then redis.call('HSET', H.t, g, ARGV[4]) end
  return 1
end
`);

/** ARGV: job prefix. Returns per known group: name, paused reason|false, throttled until, active, ready. */
export const GROUP_LIST = script(`${FEATURES_PRELUDE}${GROUPS_PRELUDE}
local out = {}
for _, g in ipairs(redis.call('HKEYS', H.lv)) do
  out[#out + 1] = { g, redis.call('HGET', H.p, g), redis.call('HGET', H.t, g) or '0', activeIn(g),
    redis.call('HGET', H.n, g) or '0' }
end
return out
`);
