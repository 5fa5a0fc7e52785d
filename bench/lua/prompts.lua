-- wrk script: POSTs the JSON bodies prompt-1.json .. prompt-COUNT.json of DIR in turn, one per
-- request (each connection starts at a different one). Requests are formatted once, in init.
--   wrk -t1 -c20 -d10s -s bench/lua/prompts.lua URL -- DIR COUNT
local requests = {}
local next_one = 0

function init(args)
  local dir, count = args[1], tonumber(args[2])
  for i = 1, count do
    local f = assert(io.open(dir .. "/prompt-" .. i .. ".json", "rb"))
    local body = f:read("*a")
    f:close()
    requests[i] = wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, body)
  end
  next_one = math.random(count) - 1
end

function request()
  next_one = next_one % #requests + 1
  return requests[next_one]
end
