-- wrk script: POST BASE/Users with a new, unique userName on every request.
--
-- Usage: wrk ... http://127.0.0.1:PORT -- BASE_PATH TOKEN RUN_TAG
-- done() prints
--   RESULT requests=.. rps=.. p50_us=.. p90_us=.. p99_us=.. max_us=.. ok=.. bad=..
-- where ok counts 201 Created answers and bad everything else.

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
  tag = args[3] or "run"
  n = 0
  ok = 0
  bad = 0
  headers = {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/scim+json",
  }
end

function request()
  n = n + 1
  local name = string.format("c-%s-%d-%d@example.com", tag, tid, n)
  local body = '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"' .. name ..
    '","name":{"givenName":"Load","familyName":"Test"},"emails":[{"value":"' .. name ..
    '","type":"work","primary":true}],"active":true}'
  return wrk.format("POST", base .. "/Users", headers, body)
end

function response(status, hdrs, body)
  if status == 201 then ok = ok + 1 else bad = bad + 1 end
end

function done(summary, latency, requests)
  local good, wrong = 0, 0
  for _, t in ipairs(threads) do
    good = good + t:get("ok")
    wrong = wrong + t:get("bad")
  end
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d ok=%d bad=%d socket=%d\n",
    summary.requests, good / secs, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, good, wrong, e.connect + e.read + e.write + e.timeout))
end
