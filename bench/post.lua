-- post.lua — wrk script for bench/run.sh: POSTs a chat completion (keep-alive) and prints one
-- JSON line "BENCH {...}" at the end with the request count, errors and latency percentiles (µs).
-- Environment: BENCH_TOKEN (virtual key, optional), BENCH_BODY (request body, optional),
-- BENCH_CACHE (1: send Alephant-Cache-Enabled: true).
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY") or
  '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello, how are you today?"}]}'
wrk.headers["Content-Type"] = "application/json"
-- BENCH_CACHE=1: ask for the response cache (run.sh's exact-hit measurement).
if os.getenv("BENCH_CACHE") == "1" then
  wrk.headers["Alephant-Cache-Enabled"] = "true"
end
local token = os.getenv("BENCH_TOKEN")
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"rps":%.1f,"p50_us":%d,"p99_us":%d,"mean_us":%.1f,' ..
    '"errors_connect":%d,"errors_read":%d,"errors_write":%d,"errors_status":%d,"errors_timeout":%d}\n',
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99), latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout))
end
