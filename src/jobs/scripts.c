/* scripts.c — the job store's Lua scripts, one per multi-key step, so each step is atomic in
 * Redis. Every script takes no KEYS (they are computed from the prefix, ARGV[1], which is why
 * Redis Cluster is not supported) and "now" from the caller's clock. The stats:<q> hash holds
 * counters (enqueued done failed retried dead cancelled) and gauges kept true by every state
 * change here (cur_delayed cur_active cur_dead cur_done; queued is the list's length). */
#include "jobs/scripts.h"

/* Shared by every script: unique-key release and the trimming of the dead and done sets. */
#define LUA_COMMON                                                                               \
    "local P = ARGV[1]\n"                                                                        \
    "local function st(q, f, d) redis.call('HINCRBY', P..'stats:'..q, f, d) end\n"               \
    /* A unique key is released only by the job that holds it. */                               \
    "local function free_unique(id)\n"                                                           \
    "  local u = redis.call('HGET', P..'job:'..id, 'unique')\n"                                  \
    "  if u and u ~= '' and redis.call('GET', P..'unique:'..u) == tostring(id) then\n"           \
    "    redis.call('DEL', P..'unique:'..u) end\n"                                               \
    "end\n"                                                                                      \
    /* Drops what is older than age or beyond max jobs from set (dead or done), at most 100 a    \
     * call (each add trims, so this keeps up), deleting the hashes and their gauges. */         \
    "local function trim(set, gauge, now, age, max)\n"                                           \
    "  local k = P..set\n"                                                                       \
    "  local ids = redis.call('ZRANGEBYSCORE', k, '-inf', now - age, 'LIMIT', 0, 100)\n"         \
    "  local over = redis.call('ZCARD', k) - #ids - max\n"                                       \
    "  if over > 0 then\n"                                                                       \
    "    local more = redis.call('ZRANGE', k, #ids, #ids + math.min(over, 100) - 1)\n"           \
    "    for _, id in ipairs(more) do ids[#ids + 1] = id end\n"                                  \
    "  end\n"                                                                                    \
    "  for _, id in ipairs(ids) do\n"                                                            \
    "    local q = redis.call('HGET', P..'job:'..id, 'queue')\n"                                 \
    "    if q then st(q, gauge, -1) end\n"                                                       \
    "    redis.call('ZREM', k, id)\n"                                                            \
    "    redis.call('DEL', P..'job:'..id)\n"                                                     \
    "  end\n"                                                                                    \
    "end\n"                                                                                      \
    /* Takes id off worker w's active list: its queue, or nil and the job's state when w does not \
     * hold it (reaped meanwhile) or it is gone. */                                              \
    "local function release(w, id)\n"                                                          \
    "  local k = P..'job:'..id\n"                                                               \
    "  if redis.call('LREM', P..'active:'..w, 1, id) == 0 then\n"                               \
    "    return nil, redis.call('HGET', k, 'state') or ''\n"                                    \
    "  end\n"                                                                                   \
    "  return redis.call('HGET', k, 'queue'), ''\n"                                             \
    "end\n"                                                                                     \
    /* Puts worker w's active jobs back at the front of their queues (they run next). lost: w   \
     * stopped answering (reaped), so each job's attempt counts, and a job whose attempts are    \
     * spent is dead instead (one that kills its worker each time would come back forever);     \
     * now, dage, dmax: the dead set's trim then. */                                              \
    "local function requeue(w, lost, now, dage, dmax)\n"                                        \
    "  local n, died = 0, 0\n"                                                                   \
    "  local ids = redis.call('LRANGE', P..'active:'..w, 0, -1)\n"                               \
    "  for i = 1, #ids do\n"                                                                 \
    "    local id = ids[i]\n"                                                                    \
    "    local k = P..'job:'..id\n"                                                              \
    "    local q = redis.call('HGET', k, 'queue')\n"                                             \
    "    local ma = tonumber(redis.call('HGET', k, 'max_attempts')) or 0\n"                      \
    "    local na = tonumber(redis.call('HGET', k, 'attempts')) or 0\n"                          \
    "    if q and lost and ma > 0 and na >= ma and\n"                                             \
    "       redis.call('HGET', k, 'state') == 'active' then\n"                                    \
    "      free_unique(id)\n"                                                                     \
    "      redis.call('HMSET', k, 'state', 'dead', 'finished_at', now, 'worker', '',\n"          \
    "        'last_error', 'its worker stopped answering during attempt '..na..' of '..ma..\n"   \
    "        ' (worker '..w..')')\n"                                                              \
    "      redis.call('ZADD', P..'dead', now, id)\n"                                             \
    "      st(q, 'cur_active', -1); st(q, 'failed', 1); st(q, 'cur_dead', 1); st(q, 'dead', 1)\n" \
    "      died = died + 1\n"                                                                     \
    "    elseif q and redis.call('HGET', k, 'state') == 'active' then\n"                         \
    "      redis.call('HMSET', k, 'state', 'queued', 'worker', '')\n"                            \
    "      redis.call('RPUSH', P..'queue:'..q, id)\n"                                            \
    "      st(q, 'cur_active', -1)\n"                                                            \
    "      redis.call('PUBLISH', P..'wake', q)\n"                                                \
    "      n = n + 1\n"                                                                          \
    "    end\n"                                                                                  \
    "  end\n"                                                                                    \
    "  redis.call('DEL', P..'active:'..w)\n"                                                     \
    "  if died > 0 then trim('dead', 'cur_dead', now, dage, dmax) end\n"                         \
    "  return n\n"                                                                               \
    "end\n"

/* ARGV: P queue type payload now run_at unique max_attempts. A unique key whose holder is no
 * longer queued, delayed or active (its hash expired) is taken over. → {1, id} or {0, holder}. */
static const char enqueue_lua[] =
    LUA_COMMON
    "local q, ty, pl, now, at, u, ma = ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]),\n"
    "  tonumber(ARGV[6]), ARGV[7], ARGV[8]\n"
    "if u ~= '' then\n"
    "  local h = redis.call('GET', P..'unique:'..u)\n"
    "  if h then\n"
    "    local s = redis.call('HGET', P..'job:'..h, 'state')\n"
    "    if s == 'queued' or s == 'delayed' or s == 'active' then return {0, h} end\n"
    "  end\n"
    "end\n"
    "local id = redis.call('INCR', P..'seq')\n"
    "local state = 'queued'\n"
    "if at > now then state = 'delayed' else at = now end\n"
    "redis.call('HMSET', P..'job:'..id, 'id', id, 'queue', q, 'type', ty, 'payload', pl,\n"
    "  'state', state, 'attempts', 0, 'max_attempts', ma, 'created_at', now, 'run_at', at,\n"
    "  'started_at', '', 'finished_at', '', 'last_error', '', 'unique', u, 'worker', '')\n"
    "if u ~= '' then redis.call('SET', P..'unique:'..u, id) end\n"
    "redis.call('SADD', P..'queues', q)\n"
    "st(q, 'enqueued', 1)\n"
    "if state == 'delayed' then\n"
    "  redis.call('ZADD', P..'delayed', at, id)\n"
    "  st(q, 'cur_delayed', 1)\n"
    "else\n"
    "  redis.call('LPUSH', P..'queue:'..q, id)\n"
    "  redis.call('PUBLISH', P..'wake', q)\n"
    "end\n"
    "return {1, id}\n";

/* ARGV: P worker now seed token lost n q1 w1 ... qn wn. A fetch whose answer was lost (lost: its
 * token, "" when none) may have run: the job it took, still active on this worker, is given
 * again (marked with token now). Else picks a non-empty queue by weight (seed chooses) and moves
 * its oldest id to the worker's active list, marked with token. An id without a hash (deleted
 * by hand) is dropped and the next taken, a few times at most. → the job's HGETALL, or false. */
static const char fetch_lua[] =
    LUA_COMMON
    "local w, now, seed, tok, lost, n = ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5], ARGV[6],\n"
    "  tonumber(ARGV[7])\n"
    "if lost ~= '' then\n"
    "  for _, id in ipairs(redis.call('LRANGE', P..'active:'..w, 0, 999)) do\n"
    "    local k = P..'job:'..id\n"
    "    if redis.call('HGET', k, 'fetch') == lost and redis.call('HGET', k, 'state') == 'active'\n"
    "    then\n"
    /* now this fetch's: another fetch asking for lost at the same time gets another job */
    "      redis.call('HSET', k, 'fetch', tok)\n"
    "      return redis.call('HGETALL', k)\n"
    "    end\n"
    "  end\n"
    "end\n"
    "for try = 1, 8 do\n"
    "  local qs, ws, total = {}, {}, 0\n"
    "  for i = 1, n do\n"
    "    local q, wt = ARGV[6 + 2 * i], tonumber(ARGV[7 + 2 * i])\n"
    "    if redis.call('LLEN', P..'queue:'..q) > 0 then\n"
    "      qs[#qs + 1] = q; ws[#ws + 1] = wt; total = total + wt\n"
    "    end\n"
    "  end\n"
    "  if total == 0 then return false end\n"
    "  local r, q = (seed + try) % total, qs[#qs]\n"
    "  for i = 1, #qs do\n"
    "    if r < ws[i] then q = qs[i]; break end\n"
    "    r = r - ws[i]\n"
    "  end\n"
    "  local id = redis.call('RPOP', P..'queue:'..q)\n"
    "  local k = P..'job:'..id\n"
    "  if redis.call('EXISTS', k) == 1 then\n"
    "    redis.call('LPUSH', P..'active:'..w, id)\n"
    "    redis.call('SADD', P..'workers', w)\n"
    "    redis.call('HMSET', k, 'state', 'active', 'started_at', now, 'worker', w, 'fetch', tok)\n"
    "    redis.call('HINCRBY', k, 'attempts', 1)\n"
    "    st(q, 'cur_active', 1)\n"
    "    return redis.call('HGETALL', k)\n"
    "  end\n"
    "end\n"
    "return false\n";

/* ARGV: P worker id now done_age done_max. → {1} or {0, state}. */
static const char done_lua[] =
    LUA_COMMON
    "local w, id, now = ARGV[2], ARGV[3], tonumber(ARGV[4])\n"
    "local k = P..'job:'..id\n"
    "local q, state = release(w, id)\n"
    "if not q then return {0, state} end\n"
    "free_unique(id)\n"
    "redis.call('HMSET', k, 'state', 'done', 'finished_at', now)\n"
    "redis.call('ZADD', P..'done', now, id)\n"
    "st(q, 'cur_active', -1); st(q, 'cur_done', 1); st(q, 'done', 1)\n"
    "trim('done', 'cur_done', now, tonumber(ARGV[5]), tonumber(ARGV[6]))\n"
    "return {1}\n";

/* ARGV: P worker id now error retry_at dead_age dead_max. → {1, 'delayed'|'dead'} or
 * {0, state}. */
static const char fail_lua[] =
    LUA_COMMON
    "local w, id, now, e, at = ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6])\n"
    "local k = P..'job:'..id\n"
    "local q, state = release(w, id)\n"
    "if not q then return {0, state} end\n"
    "local ma = tonumber(redis.call('HGET', k, 'max_attempts')) or 0\n"
    "local n = tonumber(redis.call('HGET', k, 'attempts')) or 0\n"
    "st(q, 'cur_active', -1); st(q, 'failed', 1)\n"
    "if at == 0 or (ma > 0 and n >= ma) then\n"
    "  free_unique(id)\n"
    "  redis.call('HMSET', k, 'state', 'dead', 'finished_at', now, 'last_error', e)\n"
    "  redis.call('ZADD', P..'dead', now, id)\n"
    "  st(q, 'cur_dead', 1); st(q, 'dead', 1)\n"
    "  trim('dead', 'cur_dead', now, tonumber(ARGV[7]), tonumber(ARGV[8]))\n"
    "  return {1, 'dead'}\n"
    "end\n"
    "redis.call('HMSET', k, 'state', 'delayed', 'run_at', at, 'last_error', e)\n"
    "redis.call('ZADD', P..'delayed', at, id)\n"
    "st(q, 'cur_delayed', 1); st(q, 'retried', 1)\n"
    "return {1, 'delayed'}\n";

/* ARGV: P worker ttl_ms. */
static const char heartbeat_lua[] =
    "local P = ARGV[1]\n"
    "redis.call('SET', P..'worker:'..ARGV[2], '1', 'PX', ARGV[3])\n"
    "redis.call('SADD', P..'workers', ARGV[2])\n"
    "return 1\n";

/* ARGV: P token lock_ttl now dead_age dead_max. The lock is not released: it spaces reaps across the fleet (the
 * script itself is atomic). → jobs requeued, or -1 when another caller holds the lock. */
static const char reap_lua[] =
    LUA_COMMON
    "if not redis.call('SET', P..'reaper', ARGV[2], 'NX', 'PX', ARGV[3]) then return -1 end\n"
    "local n = 0\n"
    "for _, w in ipairs(redis.call('SMEMBERS', P..'workers')) do\n"
    "  if redis.call('EXISTS', P..'worker:'..w) == 0 then\n"
    "    n = n + requeue(w, true, tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]))\n"
    "    redis.call('SREM', P..'workers', w)\n"
    "  end\n"
    "end\n"
    "return n\n";

/* ARGV: P worker. → jobs requeued. */
static const char requeue_lua[] =
    LUA_COMMON
    "local n = requeue(ARGV[2], false)\n"
    "redis.call('DEL', P..'worker:'..ARGV[2])\n"
    "redis.call('SREM', P..'workers', ARGV[2])\n"
    "return n\n";

/* ARGV: P now max done_age done_max. Due ids go to the back of their queues; done is trimmed
 * here too, so finished jobs leave on time even when none finish. → {promoted, next due or 0}. */
static const char promote_lua[] =
    LUA_COMMON
    "local now = tonumber(ARGV[2])\n"
    "local ids = redis.call('ZRANGEBYSCORE', P..'delayed', '-inf', now, 'LIMIT', 0, ARGV[3])\n"
    "local woke, n = {}, 0\n"
    "for _, id in ipairs(ids) do\n"
    "  redis.call('ZREM', P..'delayed', id)\n"
    "  local k = P..'job:'..id\n"
    "  local q = redis.call('HGET', k, 'queue')\n"
    "  if q then\n"
    "    redis.call('HSET', k, 'state', 'queued')\n"
    "    redis.call('LPUSH', P..'queue:'..q, id)\n"
    "    st(q, 'cur_delayed', -1)\n"
    "    woke[q] = true\n"
    "    n = n + 1\n"
    "  end\n"
    "end\n"
    "for q in pairs(woke) do redis.call('PUBLISH', P..'wake', q) end\n"
    "trim('done', 'cur_done', now, tonumber(ARGV[4]), tonumber(ARGV[5]))\n"
    "local nx = redis.call('ZRANGE', P..'delayed', 0, 0, 'WITHSCORES')\n"
    "return {n, tonumber(nx[2]) or 0}\n";

/* ARGV: P id. The unique key is taken again when free (else the job goes on without it).
 * → {1} or {0, state}. */
static const char retry_lua[] =
    LUA_COMMON
    "local id = ARGV[2]\n"
    "local k = P..'job:'..id\n"
    "local s = redis.call('HGET', k, 'state')\n"
    "if s ~= 'dead' then return {0, s or ''} end\n"
    "local q = redis.call('HGET', k, 'queue')\n"
    "local u = redis.call('HGET', k, 'unique') or ''\n"
    "if u ~= '' and not redis.call('SET', P..'unique:'..u, id, 'NX') then\n"
    "  redis.call('HSET', k, 'unique', '')\n"
    "end\n"
    "redis.call('ZREM', P..'dead', id)\n"
    "redis.call('HMSET', k, 'state', 'queued', 'attempts', 0, 'finished_at', '', 'worker', '')\n"
    "redis.call('LPUSH', P..'queue:'..q, id)\n"
    "st(q, 'cur_dead', -1); st(q, 'retried', 1)\n"
    "redis.call('PUBLISH', P..'wake', q)\n"
    "return {1}\n";

/* ARGV: P id now ttl. → {1} or {0, state}. */
static const char cancel_lua[] =
    LUA_COMMON
    "local id, now = ARGV[2], ARGV[3]\n"
    "local k = P..'job:'..id\n"
    "local s = redis.call('HGET', k, 'state')\n"
    "local q = redis.call('HGET', k, 'queue')\n"
    "if s == 'queued' then\n"
    "  if redis.call('LREM', P..'queue:'..q, 1, id) == 0 then return {0, 'active'} end\n"
    "elseif s == 'delayed' then\n"
    "  redis.call('ZREM', P..'delayed', id)\n"
    "  st(q, 'cur_delayed', -1)\n"
    "else\n"
    "  return {0, s or ''}\n"
    "end\n"
    "free_unique(id)\n"
    "redis.call('HMSET', k, 'state', 'cancelled', 'finished_at', now)\n"
    "redis.call('PEXPIRE', k, ARGV[4])\n"
    "st(q, 'cancelled', 1)\n"
    "return {1}\n";

/* ARGV: P max. → {name, queued, cur_delayed, cur_active, cur_dead, cur_done, enqueued, done,
 * failed, retried, dead, cancelled, ...} for the first max queues by name. */
static const char queues_lua[] =
    "local P = ARGV[1]\n"
    "local names = redis.call('SMEMBERS', P..'queues')\n"
    "table.sort(names)\n"
    "local out = {}\n"
    "for i = 1, math.min(#names, tonumber(ARGV[2])) do\n"
    "  local q = names[i]\n"
    "  local s = redis.call('HMGET', P..'stats:'..q, 'cur_delayed', 'cur_active', 'cur_dead',\n"
    "    'cur_done', 'enqueued', 'done', 'failed', 'retried', 'dead', 'cancelled')\n"
    "  out[#out + 1] = q\n"
    "  out[#out + 1] = redis.call('LLEN', P..'queue:'..q)\n"
    "  for j = 1, 10 do out[#out + 1] = tonumber(s[j]) or 0 end\n"
    "end\n"
    "return out\n";

/* ARGV: P state queue limit cursor. Lists (queued: one list per queue; active: one per worker)
 * are walked by name then position from the oldest, cursor "name\npos"; sets (delayed soonest
 * first, dead and done newest first) by score then id, cursor "score\nid" — ids of one score in
 * the order Redis keeps them (by their text). At most 5000 jobs are read per call (a queue
 * filter skips some; the ids of the cursor's score up to it are passed over unread, uncounted);
 * the page may then be short, with a cursor to go on.
 * → {next cursor or '', HGETALL, HGETALL, ...}. */
static const char list_lua[] =
    "local P, state, queue, limit, cur = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]\n"
    "local out, budget, bytes = {''}, 5000, 0\n"
    "local function add(id)\n"
    "  local h = redis.call('HGETALL', P..'job:'..id)\n"
    "  if #h == 0 then return end\n"
    "  if queue ~= '' then\n"
    "    for i = 1, #h, 2 do if h[i] == 'queue' and h[i + 1] ~= queue then return end end\n"
    "  end\n"
    "  for i = 2, #h, 2 do bytes = bytes + #h[i] end\n"
    "  out[#out + 1] = h\n"
    "end\n"
    /* a page also ends once its jobs pass 8 MiB (JOBS_LIST_BYTES), so that 1000 jobs of 1 MiB
     * payloads are not one reply of 1 GiB */
    "local function full()\n"
    "  return #out - 1 >= limit or budget <= 0 or (#out > 1 and bytes >= 8388608)\n"
    "end\n"
    "local c1, c2 = string.match(cur, '^(.*)\\n(.*)$')\n"
    "if state == 'queued' or state == 'active' then\n"
    "  local names, pfx\n"
    "  if state == 'active' then names, pfx = redis.call('SMEMBERS', P..'workers'), 'active:'\n"
    "  elseif queue ~= '' then names, pfx = {queue}, 'queue:'\n"
    "  else names, pfx = redis.call('SMEMBERS', P..'queues'), 'queue:' end\n"
    "  table.sort(names)\n"
    "  for _, nm in ipairs(names) do\n"
    "    if c1 == nil or nm >= c1 then\n"
    "      local k = P..pfx..nm\n"
    "      local pos = 0\n"
    "      if nm == c1 then pos = tonumber(c2) or 0 end\n"
    "      while true do\n"
    /* the oldest is at the right end: position 0 is index -1 */
    "        local chunk = redis.call('LRANGE', k, -(pos + 200), -(pos + 1))\n"
    "        if #chunk == 0 then break end\n"
    "        for i = #chunk, 1, -1 do\n"
    "          if full() then out[1] = nm..'\\n'..pos; return out end\n"
    "          add(chunk[i]); budget = budget - 1; pos = pos + 1\n"
    "        end\n"
    "        if #chunk < 200 then break end\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "  return out\n"
    "end\n"
    "local k, desc = P..state, state ~= 'delayed'\n"
    "local start = desc and '+inf' or '-inf'\n"
    "local score0 = tonumber(c1)\n"
    "if score0 ~= nil then start = c1 end\n"
    "local lastsc, lastid, off = c1, c2, 0\n"
    "while true do\n"
    "  local chunk\n"
    "  if desc then chunk = redis.call('ZREVRANGEBYSCORE', k, start, '-inf', 'WITHSCORES', 'LIMIT',\n"
    "    off, 200)\n"
    "  else chunk = redis.call('ZRANGEBYSCORE', k, start, '+inf', 'WITHSCORES', 'LIMIT', off, 200) end\n"
    "  off = off + 200\n"
    "  for i = 1, #chunk, 2 do\n"
    "    local id, sc = chunk[i], tonumber(chunk[i + 1])\n"
    "    local after = true\n"
    "    if score0 ~= nil and sc == score0 then\n"
    "      if desc then after = id < c2 else after = id > c2 end\n"
    "    end\n"
    "    if after then\n"
    "      if full() then out[1] = lastsc..'\\n'..lastid; return out end\n"
    /* only what is looked at counts: the ids of the cursor's score before it are passed over
     * (without this a page could end before its first job, on the cursor it was given) */
    "      add(id); lastsc, lastid = chunk[i + 1], id\n"
    "      budget = budget - 1\n"
    "    end\n"
    "  end\n"
    "  if #chunk < 400 then return out end\n"
    "end\n";

const struct jobs_script jobs_scripts[JS_COUNT] = {
    [JS_ENQUEUE] = {"enqueue", enqueue_lua},       [JS_FETCH] = {"fetch", fetch_lua},
    [JS_DONE] = {"done", done_lua},                [JS_FAIL] = {"fail", fail_lua},
    [JS_HEARTBEAT] = {"heartbeat", heartbeat_lua}, [JS_REAP] = {"reap", reap_lua},
    [JS_REQUEUE] = {"requeue", requeue_lua},       [JS_PROMOTE] = {"promote", promote_lua},
    [JS_RETRY] = {"retry", retry_lua},             [JS_CANCEL] = {"cancel", cancel_lua},
    [JS_QUEUES] = {"queues", queues_lua},          [JS_LIST] = {"list", list_lua},
};
