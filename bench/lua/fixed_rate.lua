-- wrk script: a small chat completion per request at a fixed pace, DELAY_MS between a
-- response and the connection's next request (wrk's delay()), so C connections give about
-- C * 1000 / (DELAY_MS + latency) requests per second.
--   wrk -t1 -c10 -d10s -s bench/lua/fixed_rate.lua URL -- 10
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"sim-model","messages":[{"role":"user","content":"Say hello to the gateway."}],"max_tokens":16}'
local pause = 10

function init(args)
  if args[1] then pause = tonumber(args[1]) end
end

function delay()
  return pause
end
