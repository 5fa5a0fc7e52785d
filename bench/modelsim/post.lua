-- wrk script: one small non-streaming chat completion per request.
-- wrk -t1 -c50 -d5s -s bench/modelsim/post.lua http://127.0.0.1:8000/v1/chat/completions
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"sim-model","messages":[{"role":"user","content":"Say hello to the gateway."}],"max_tokens":16}'
