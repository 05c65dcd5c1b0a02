import { script } from './prelude.js';

/** ARGV values per job, after ARGV[1] (the job prefix). */
export const ADD_STRIDE = 11;

/**
 * Inserts jobs; an existing id is left alone and returned. One reply entry per job: 0 when it was
 * created, else the existing job's FIELDS.
 * ARGV: job prefix, then per job: id, name|'', priority, runAt, maxAttempts, backoff, timeoutMs|'',
 *       correlationId, metadata, payload, createdAt. A name is never empty (the core refuses it).
 */
export const ADD = script(`
local n = (#ARGV - 1) / ${ADD_STRIDE}
local seq = redis.call('HINCRBY', K_META, 'seq', n) - n
local out, waits, delays, alls = {}, {}, {}, {}
local ready = 0
for i = 0, n - 1 do
  local o = 1 + i * ${ADD_STRIDE}
  local id = ARGV[o + 1]
  local key = JOB .. id
  if redis.call('EXISTS', key) == 1 then
    out[i + 1] = redis.call('HMGET', key, unpack(FIELDS))
  else
    seq = seq + 1
    local created = ARGV[o + 11]
    local h = { 's', 'waiting', 'p', ARGV[o + 3], 'r', ARGV[o + 4], 'm', ARGV[o + 5], 'b', ARGV[o + 6],
      'c', ARGV[o + 8], 'md', ARGV[o + 9], 'd', ARGV[o + 10], 'ca', created, 'q', seq }
    if ARGV[o + 2] ~= '' then h[#h + 1] = 'n'; h[#h + 1] = ARGV[o + 2] end
    if ARGV[o + 7] ~= '' then h[#h + 1] = 't'; h[#h + 1] = ARGV[o + 7] end
    redis.call('HSET', key, unpack(h))
    alls[#alls + 1] = seq
    alls[#alls + 1] = id
    ready = ready + place(waits, delays, id, tonumber(ARGV[o + 3]), tonumber(ARGV[o + 4]), seq, tonumber(created))
    out[i + 1] = 0
  end
end
bulk('ZADD', K_ALL, alls)
flush(waits, delays, ready)
return out
`);
