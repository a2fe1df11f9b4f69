-- wrk: POST /run with a fresh logId per request over 1,000 job ids
-- (demoJobHandler, serial), as an admin triggers runs. Each wrk thread
-- counts in its own range of log ids, and each invocation (a second
-- apart or more) in its own ranges, so no two requests repeat one.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("base", (os.time() % 1000000) * 1000000000 + threads * 100000000)
end

local n = 0
local now = os.time() * 1000
function request()
  n = n + 1
  local log_id = base + n
  local body = string.format(
    '{"jobId":%d,"executorHandler":"demoJobHandler","executorParams":"",' ..
    '"executorBlockStrategy":"SERIAL_EXECUTION","executorTimeout":0,' ..
    '"logId":%d,"logDateTime":%d,"glueType":"BEAN","glueSource":"",' ..
    '"glueUpdatetime":0,"broadcastIndex":0,"broadcastTotal":1}',
    log_id % 1000 + 1, log_id, now)
  return wrk.format("POST", "/run", {["Content-Type"] = "application/json"}, body)
end
