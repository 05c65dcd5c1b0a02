import { script } from './prelude.js';

/** Counts by state. ARGV: job prefix, now. Returns waiting, delayed, active, completed, dead, cancelled, blocked. */
export const COUNTS = script(`
local now = ARGV[2]
local due = redis.call('ZCOUNT', K_DELAYED, '-inf', now)
return {
  redis.call('ZCARD', K_WAIT) + redis.call('ZCARD', K_GWAIT) + due,
  redis.call('ZCARD', K_DELAYED) - due,
  redis.call('ZCARD', K_ACTIVE),
  redis.call('ZCARD', FINAL.completed),
  redis.call('ZCARD', FINAL.dead),
  redis.call('ZCARD', FINAL.cancelled),
  redis.call('ZCARD', K_BLOCKED),
}
`);

/** The run-at of a ready job, else the earliest delayed run-at, else nil. ARGV: job prefix. */
export const NEXT_RUN_AT = script(`
local head = redis.call('ZRANGE', K_WAIT, 0, 0)
if head[1] then return tostring(tonumber(string.sub(head[1], 1, 12), 16)) end
local d = redis.call('ZRANGE', K_DELAYED, 0, 0, 'WITHSCORES')
return d[2]
`);

/**
 * Lists jobs. ARGV: job prefix, now, order (asc|desc|next), offset, limit, states joined by ','
 * (or ''), has correlation id ('1'|'0'), correlation id, has search ('1'|'0'), search.
 * Without filters, asc/desc page the insertion index directly; with filters, asc/desc walk it and
 * stop once the page is full; with states, or in claim order, the candidates are gathered,
 * filtered and sorted. Returns jobs (id, FIELDS…).
 */
export const LIST = script(`
local now = tonumber(ARGV[2])
local order, offset, limit = ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local states
if ARGV[6] ~= '' then
  states = {}
  for s in string.gmatch(ARGV[6], '[^,]+') do states[s] = true end
end
local corr, search
if ARGV[7] == '1' then corr = ARGV[8] end
if ARGV[9] == '1' then search = ARGV[10] end
local out = {}

-- v: state, run-at, correlation id, name, payload
local function matches(id, v)
  if not v[1] then return false end
  if states then
    local st = v[1]
    if st == 'waiting' and tonumber(v[2]) > now then st = 'delayed' end
    if not states[st] then return false end
  end
  if corr and v[3] ~= corr then return false end
  if search and id ~= search and v[4] ~= search and v[3] ~= search
    and not string.find(v[5], search, 1, true) then return false end
  return true
end

if order ~= 'next' and not states then
  local range = order == 'asc' and 'ZRANGE' or 'ZREVRANGE'
  if not corr and not search then
    for _, id in ipairs(redis.call(range, K_ALL, offset, offset + limit - 1)) do emit(out, id) end
    return out
  end
  local skip, taken, at = offset, 0, 0
  while taken < limit do
    local ids = redis.call(range, K_ALL, at, at + 999)
    if #ids == 0 then break end
    at = at + #ids
    for _, id in ipairs(ids) do
      if matches(id, redis.call('HMGET', JOB .. id, 's', 'r', 'c', 'n', 'd')) then
        if skip > 0 then
          skip = skip - 1
        else
          emit(out, id)
          taken = taken + 1
          if taken == limit then break end
        end
      end
    end
  end
  return out
end

local ids = {}
local only = states and states.waiting and not corr and not search
if only then for name in pairs(states) do if name ~= 'waiting' then only = false end end end
if order == 'next' and only then
  -- A peek: the head of the ready set is already in claim order; due delayed jobs (not promoted
  -- yet) may rank anywhere by priority, so they join the candidates. Bounded by the page.
  for _, m in ipairs(redis.call('ZRANGE', K_WAIT, 0, offset + limit - 1)) do
    ids[#ids + 1] = string.sub(m, MEMBER_HEAD + 1)
  end
  for _, m in ipairs(redis.call('ZRANGE', K_GWAIT, 0, offset + limit - 1)) do
    ids[#ids + 1] = string.sub(m, MEMBER_HEAD + 1)
  end
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', K_DELAYED, '-inf', now, 'LIMIT', 0, PROMOTE_MAX)) do
    ids[#ids + 1] = id
  end
end
local function gather(list, fromMember)
  for _, x in ipairs(list) do
    ids[#ids + 1] = fromMember and string.sub(x, MEMBER_HEAD + 1) or x
  end
end
if order == 'next' and only then
  -- candidates gathered above
elseif not states then
  gather(redis.call('ZRANGE', K_ALL, 0, -1))
else
  if states.waiting or states.delayed then
    gather(redis.call('ZRANGE', K_WAIT, 0, -1), true)
    gather(redis.call('ZRANGE', K_GWAIT, 0, -1), true)
    gather(redis.call('ZRANGE', K_DELAYED, 0, -1))
  end
  if states.active then gather(redis.call('ZRANGE', K_ACTIVE, 0, -1)) end
  if states.blocked then gather(redis.call('ZRANGE', K_BLOCKED, 0, -1)) end
  for name, set in pairs(FINAL) do
    if states[name] then gather(redis.call('ZRANGE', set, 0, -1)) end
  end
end
local rows = {}
for _, id in ipairs(ids) do
  local v = redis.call('HMGET', JOB .. id, 's', 'r', 'c', 'n', 'd', 'p', 'q')
  if matches(id, v) then
    rows[#rows + 1] = { id = id, p = tonumber(v[6]), r = tonumber(v[2]), q = tonumber(v[7]) }
  end
end
if order == 'next' then
  table.sort(rows, function(a, b)
    if a.p ~= b.p then return a.p > b.p end
    if a.r ~= b.r then return a.r < b.r end
    return a.q < b.q
  end)
elseif order == 'asc' then
  table.sort(rows, function(a, b) return a.q < b.q end)
else
  table.sort(rows, function(a, b) return a.q > b.q end)
end
for i = offset + 1, offset + limit do
  if not rows[i] then break end
  emit(out, rows[i].id)
end
return out
`);
