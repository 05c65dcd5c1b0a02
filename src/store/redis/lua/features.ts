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
export const ADD_FEATURES_STRIDE = 15;

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
  local waits, delays = {}, {}
  flush(waits, delays, place(waits, delays, id, tonumber(v[2]), runAt, seq, now))
end
`;

/**
 * Inserts jobs that use features; an existing id, or a unique key's holder, is returned instead. One
 * reply entry per job: 0 when created, else the returned job's id and FIELDS.
 * ARGV: job prefix, then per job: id, name|'', priority, runAt, maxAttempts, backoff, timeoutMs|'',
 *       correlationId, metadata, payload, createdAt, uniqueKey|'', uniqueMode|'', dependsOn (JSON)|'',
 *       onDependencyDead|''. Returns { 'unknown', id } (and writes nothing) for an unknown dependency.
 */
export const ADD_FEATURES = script(`${FEATURES_PRELUDE}
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
