-- wrk script: add one member to a group, then remove it again, over and over
-- (so the group keeps its size). Run with one connection (-t1 -c1) so that
-- each removal follows its addition.
--
-- Usage: wrk -t1 -c1 ... http://127.0.0.1:PORT -- BASE_PATH TOKEN GROUP_ID IDS_FILE [QUERY]
--   IDS_FILE  one user id per line (users that are not members of the group)
--   QUERY     appended to the URL, e.g. "?excludedAttributes=members"
-- done() prints
--   RESULT requests=.. rps=.. p50_us=.. p90_us=.. p99_us=.. max_us=.. ok=.. bad=..

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  base = args[1] or "/scim/v2"
  token = args[2] or ""
  group = args[3]
  ids = {}
  for line in io.lines(args[4]) do
    if #line > 0 then table.insert(ids, line) end
  end
  query = args[5] or ""
  n = 0
  ok = 0
  bad = 0
  headers = {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/scim+json",
  }
end

function request()
  local k = math.floor(n / 2) % #ids + 1
  local op
  if n % 2 == 0 then
    op = '{"op":"add","path":"members","value":[{"value":"' .. ids[k] .. '"}]}'
  else
    op = '{"op":"remove","path":"members[value eq \\"' .. ids[k] .. '\\"]"}'
  end
  n = n + 1
  local body = '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[' .. op .. ']}'
  return wrk.format("PATCH", base .. "/Groups/" .. group .. query, headers, body)
end

function response(status, hdrs, body)
  if status == 200 or status == 204 then ok = ok + 1 else bad = bad + 1 end
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
    summary.requests, summary.requests / secs, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, good, wrong, e.connect + e.read + e.write + e.timeout))
end
