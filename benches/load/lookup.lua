-- wrk script: GET BASE/Users?filter=userName eq "uNNNNNN" for a random existing user.
--
-- Usage: wrk ... http://127.0.0.1:PORT -- BASE_PATH TOKEN COUNT [PREFIX] [WIDTH]
--   BASE_PATH  e.g. /scim/v2
--   TOKEN      bearer token
--   COUNT      users u000001..uCOUNT exist (seeded by seed.py)
--
-- Every response is checked: status must be 200 and the body must report
-- "totalResults": 1 (the user was really found). done() prints one line
--   RESULT requests=.. duration_us=.. rps=.. p50_us=.. p90_us=.. p99_us=.. max_us=..
--          non200=.. miss=.. connect=.. read=.. write=.. status=.. timeout=..
-- followed by a human-readable summary.

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

function init(args)
  base = args[1] or "/scim/v2"
  token = args[2] or ""
  count = tonumber(args[3] or "1")
  prefix = args[4] or "u"
  width = tonumber(args[5] or "6")
  fmt = prefix .. "%0" .. width .. "d"
  non200 = 0
  miss = 0
  seen = 0
  math.randomseed(os.time() * 1000 + (tid or 0) * 7919)
  headers = {
    ["Authorization"] = "Bearer " .. token,
    ["Accept"] = "application/scim+json",
  }
end

function request()
  local name = string.format(fmt, math.random(1, count))
  local path = base .. "/Users?filter=userName%20eq%20%22" .. name .. "%22"
  return wrk.format("GET", path, headers, nil)
end

function response(status, hdrs, body)
  seen = seen + 1
  if status ~= 200 then
    non200 = non200 + 1
  elseif not (body and string.find(body, '"totalResults"%s*:%s*1[%s,}]')) then
    miss = miss + 1
  end
end

function done(summary, latency, requests)
  local bad, missed, checked = 0, 0, 0
  for _, t in ipairs(threads) do
    bad = bad + t:get("non200")
    missed = missed + t:get("miss")
    checked = checked + t:get("seen")
  end
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    "RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d " ..
    "non200=%d miss=%d checked=%d connect=%d read=%d write=%d status=%d timeout=%d\n",
    summary.requests, summary.duration, summary.requests / secs,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    bad, missed, checked, e.connect, e.read, e.write, e.status, e.timeout))
  if bad > 0 or missed > 0 or e.connect + e.read + e.write + e.timeout > 0 then
    io.write(string.format("WARNING: errors in this run: non200=%d miss=%d socket(connect/read/write/timeout)=%d/%d/%d/%d\n",
      bad, missed, e.connect, e.read, e.write, e.timeout))
  end
end
