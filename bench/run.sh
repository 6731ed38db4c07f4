#!/bin/bash
# bench/run.sh — `make bench`: the canned upstream, a bare FastCGI pass-through and the full
# gateway, side by side on this machine with the same lighttpd configuration shape, the same
# worker count and the same payloads. See bench/README.md. Environment knobs:
#   BENCH_PROCESSES (2)  BENCH_THREADS (64)  BENCH_DURATION (10 s per wrk run)
#   BENCH_TOTAL (100000 requests before the last RSS sample)  BENCH_WARMUP (10000)
#   BENCH_STREAMS (100 sequential streams)  BENCH_CHUNKS (20)  BENCH_CHUNK_DELAY_US (2000)
#   BENCH_KEEP (set: keep the work dir)  BENCH_CONCURRENT (1000)  BENCH_CONC_THREADS (512)  BENCH_SLOW_MS (2000)  BENCH_PORT_BASE (18100)
set -u

S=${top_srcdir:?}
B=${top_builddir:?}
LIGHTTPD=${LIGHTTPD:-$(command -v lighttpd || echo /usr/sbin/lighttpd)}
PROCS=${BENCH_PROCESSES:-2}
THREADS=${BENCH_THREADS:-64}
DUR=${BENCH_DURATION:-10}
TOTAL=${BENCH_TOTAL:-100000}
WARMUP=${BENCH_WARMUP:-10000}
STREAMS=${BENCH_STREAMS:-100}
CHUNKS=${BENCH_CHUNKS:-20}
CHUNK_DELAY_US=${BENCH_CHUNK_DELAY_US:-2000}
CONC=${BENCH_CONCURRENT:-1000}
CONC_THREADS=${BENCH_CONC_THREADS:-512}
SLOW_MS=${BENCH_SLOW_MS:-2000}
PB=${BENCH_PORT_BASE:-18100}
UP_PORT=$PB; SLOW_PORT=$((PB + 1)); PT_PORT=$((PB + 2)); GW_PORT=$((PB + 3))
PATHQ=/v1/chat/completions
BODY='{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello, how are you today?"}]}'
export BENCH_BODY=$BODY

for t in wrk jq "$LIGHTTPD"; do
  command -v "$t" >/dev/null 2>&1 || { echo "make bench: $t not found (apt-get install -y wrk jq lighttpd)" >&2; exit 1; }
done

W=$(mktemp -d /tmp/alephant-bench-XXXXXX)
RESULTS=$S/bench/results
mkdir -p "$RESULTS"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  if [ -n "${BENCH_KEEP:-}" ]; then echo "work dir kept: $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

wait_port() { # port
  for _ in $(seq 1 200); do
    (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "make bench: nothing listening on port $1" >&2; return 1
}

# ---- process accounting ----
workers_of() { pgrep -P "$1" | tr '\n' ' '; }
cpu_ticks() { # pids… → utime+stime ticks
  local t=0 p f
  for p in "$@"; do
    f=$(cut -d')' -f2- "/proc/$p/stat" 2>/dev/null) || continue
    set -- $f
    t=$((t + ${12} + ${13}))
  done
  echo $t
}
rss_kib() { # pids… → "sum max"
  local s=0 m=0 p r
  for p in "$@"; do
    r=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null) || continue
    [ -n "$r" ] || continue
    s=$((s + r)); [ "$r" -gt "$m" ] && m=$r
  done
  echo "$s $m"
}
HZ=$(getconf CLK_TCK)

# ---- wrk: prints the BENCH json ----
wrk_run() { # conns threads seconds url [token]
  BENCH_TOKEN=${5:-} wrk -c"$1" -t"$2" -d"$3"s --timeout 10s -s "$S/bench/post.lua" "$4" 2>&1 |
    sed -n 's/^BENCH //p'
}

# ---- servers ----
start_upstream() { # port extra-args…
  local port=$1; shift
  "$B/bench/upstream" --port "$port" "$@" 2>>"$W/upstream.log" &
  PIDS+=($!)
  wait_port "$port"
}

LT_PID=
start_lighttpd() { # name bin port threads
  local dir=$W/$1
  mkdir -p "$dir/run"
  sed -e "s|@BIND@|127.0.0.1|g" -e "s|@PORT@|$3|g" -e "s|@STATE_DIR@|$dir|g" \
      -e "s|@WWW_DIR@|$S/www|g" -e "s|@GATEWAY_BIN@|$2|g" -e "s|@ADMIN_BIN@|$B/alephant-admin|g" \
      -e "s|@PROCESSES@|$PROCS|g" -e "s|@MAX_REQUEST_KB@|11264|g" \
      "$S/lighttpd.conf" > "$dir/lighttpd.conf"
  ALEPHANT_HOME=$GW_HOME ALEPHANT_THREADS=$4 ALEPHANT_ALLOW_PRIVATE_UPSTREAMS=1 \
    BENCH_UPSTREAM=http://127.0.0.1:$UP_PORT/v1 "$LIGHTTPD" -D -f "$dir/lighttpd.conf" \
    >>"$dir/lighttpd.out" 2>&1 &
  LT_PID=$!
  PIDS+=($LT_PID)
  wait_port "$3" || return 1
  for _ in $(seq 1 100); do
    [ "$(pgrep -P "$LT_PID" | wc -l)" -ge "$PROCS" ] && break
    sleep 0.05
  done
  sleep 0.3
}
stop_lighttpd() {
  kill "$LT_PID" 2>/dev/null
  for _ in $(seq 1 100); do kill -0 "$LT_PID" 2>/dev/null || break; sleep 0.1; done
  wait "$LT_PID" 2>/dev/null
}

# ---- the gateway's state: a key pointing at the canned upstream, policy, limits, budget ----
GW_HOME=$W/gateway  # also the state dir of its lighttpd (bin-environment ALEPHANT_HOME)
mkdir -p "$GW_HOME"
chmod 700 "$GW_HOME"
cat > "$GW_HOME/alephant.conf" <<EOF
[logging]
bodies = true
[upstream]
allow_private = true
EOF
CTL=$B/alephantctl
export ALEPHANT_ALLOW_PRIVATE_UPSTREAMS=1
(
  export ALEPHANT_HOME=$GW_HOME
  set -e
  "$CTL" init >/dev/null
  printf 'sk-bench' | "$CTL" provider-key add --name canned --provider openai-compatible \
    --base-url "http://127.0.0.1:$UP_PORT/v1" --key-stdin >/dev/null
  printf 'sk-bench' | "$CTL" provider-key add --name canned-slow --provider openai-compatible \
    --base-url "http://127.0.0.1:$SLOW_PORT/v1" --key-stdin >/dev/null
  "$CTL" vk create --name bench --provider-key canned > "$W/token"
  "$CTL" vk create --name bench-slow --provider-key canned-slow > "$W/token-slow"
  for k in bench bench-slow; do
    "$CTL" vk update "$k" --rpm 1000000000 --window 60 --budget 1000000 --budget-period monthly >/dev/null
  done
  "$CTL" policy add --name card-numbers --kind content_regex --action flag \
    --config '{"pattern": "\\b(?:\\d[ -]*?){13,16}\\b"}' >/dev/null
) || { echo "make bench: could not prepare the gateway state" >&2; exit 1; }
TOKEN=$(tr -d '\n' < "$W/token")
TOKEN_SLOW=$(tr -d '\n' < "$W/token-slow")

# ---- measurements ----
log "work dir $W; $PROCS worker processes x $THREADS threads; wrk runs of ${DUR}s"
start_upstream "$UP_PORT" --chunks "$CHUNKS" --chunk-delay-us "$CHUNK_DELAY_US" || exit 1
start_upstream "$SLOW_PORT" --chunks 20 --total-ms "$SLOW_MS" || exit 1

# 1. the upstream alone
log "1. upstream direct: wrk -c1, -c32"
UP_C1=$(wrk_run 1 1 "$DUR" "http://127.0.0.1:$UP_PORT$PATHQ")
UP_C32=$(wrk_run 32 2 "$DUR" "http://127.0.0.1:$UP_PORT$PATHQ")
UP_STREAM=$("$B/bench/sseclient" "http://127.0.0.1:$UP_PORT$PATHQ" x "$STREAMS" 1)

measure() { # name bin token port → JSON on stdout (run in this shell: PIDS, LT_PID)
  local name=$1 bin=$2 tok=$3 port=$4 url
  url=http://127.0.0.1:$4$PATHQ
  start_lighttpd "$name" "$bin" "$port" "$THREADS" || return 1
  local w; w=$(workers_of "$LT_PID")
  local check; check=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tok" \
    -H 'Content-Type: application/json' -d "$BODY" "$url")
  [ "$check" = 200 ] || { echo "make bench: $name answered HTTP $check" >&2; tail -5 "$W/$name/lighttpd-error.log" >&2; return 1; }
  local count=0 j
  log "$name: warm-up to $WARMUP requests"
  while [ "$count" -lt "$WARMUP" ]; do
    j=$(wrk_run 32 2 2 "$url" "$tok"); count=$((count + $(jq .requests <<<"$j")))
  done
  local rss_warm; rss_warm=$(rss_kib $w)
  log "$name: wrk -c1 -t1"
  local c1; c1=$(wrk_run 1 1 "$DUR" "$url" "$tok"); count=$((count + $(jq .requests <<<"$c1")))
  log "$name: wrk -c32 -t2"
  local cpu0; cpu0=$(cpu_ticks "$LT_PID" $w)
  local c32; c32=$(wrk_run 32 2 "$DUR" "$url" "$tok"); count=$((count + $(jq .requests <<<"$c32")))
  local cpu1; cpu1=$(cpu_ticks "$LT_PID" $w)
  log "$name: wrk -c32 until $TOTAL requests"
  while [ "$count" -lt "$TOTAL" ]; do
    j=$(wrk_run 32 2 3 "$url" "$tok"); count=$((count + $(jq .requests <<<"$j")))
  done
  local rss_end; rss_end=$(rss_kib $w)
  log "$name: $STREAMS sequential streams"
  local st; st=$("$B/bench/sseclient" "$url" "$tok" "$STREAMS" 1)
  local alive; alive=$(workers_of "$LT_PID")
  stop_lighttpd
  local c32req; c32req=$(jq .requests <<<"$c32")
  jq -n --argjson c1 "$c1" --argjson c32 "$c32" --argjson stream "$st" \
    --arg cpu_ms "$(awk -v t=$((cpu1 - cpu0)) -v hz="$HZ" -v n="$c32req" 'BEGIN{printf "%.4f", t*1000/hz/n}')" \
    --arg rw "$rss_warm" --arg re "$rss_end" --argjson total "$count" --arg w "$w" --arg alive "$alive" \
    '{c1:$c1, c32:$c32, stream:$stream, cpu_ms_per_req:($cpu_ms|tonumber),
      rss_warm_kib_sum:($rw|split(" ")[0]|tonumber), rss_warm_kib_max:($rw|split(" ")[1]|tonumber),
      rss_end_kib_sum:($re|split(" ")[0]|tonumber), rss_end_kib_max:($re|split(" ")[1]|tonumber),
      requests_total:$total, workers_same:($w == $alive)}'
}

log "2. pass-through"
measure passthrough "$B/bench/passthrough" "" "$PT_PORT" > "$W/pt.json" || exit 1
PT=$(cat "$W/pt.json")
log "3./4. gateway"
measure gateway "$B/alephant-gateway" "$TOKEN" "$GW_PORT" > "$W/gw.json" || exit 1
GW=$(cat "$W/gw.json")

# ---- cache ----
# 5. an exact cache hit through the full gateway: same lighttpd, workers and payload as 3., with
# Alephant-Cache-Enabled: true; one priming request saves the answer, every measured one is a hit.
log "5. gateway, exact cache hits: wrk -c1, -c32"
start_lighttpd gateway "$B/alephant-gateway" "$GW_PORT" "$THREADS" || exit 1
for _ in 1 2; do
  curl -s -o /dev/null -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -H 'Alephant-Cache-Enabled: true' -d "$BODY" "http://127.0.0.1:$GW_PORT$PATHQ"
done
HIT_CHECK=$(curl -s -o /dev/null -D - -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -H 'Alephant-Cache-Enabled: true' -d "$BODY" "http://127.0.0.1:$GW_PORT$PATHQ" | tr -d '\r' |
  awk -F': ' 'tolower($1) == "alephant-cache" {print $2}')
[ "$HIT_CHECK" = HIT ] || { echo "make bench: the cache did not answer a hit ($HIT_CHECK)" >&2; exit 1; }
BENCH_CACHE=1 wrk_run 32 2 2 "http://127.0.0.1:$GW_PORT$PATHQ" "$TOKEN" >/dev/null # warm-up
HIT_C1=$(BENCH_CACHE=1 wrk_run 1 1 "$DUR" "http://127.0.0.1:$GW_PORT$PATHQ" "$TOKEN")
HIT_C32=$(BENCH_CACHE=1 wrk_run 32 2 "$DUR" "http://127.0.0.1:$GW_PORT$PATHQ" "$TOKEN")
stop_lighttpd
# ---- end cache ----

# 7. limit checks in isolation
log "7. rate limit and budget in isolation"
RL=$("$B/bench/rlbench")
log "7b. response cache: exact hit lookup, semantic search over 100,000 vectors"
CACHE=$("$B/bench/cachebench")

# 8. concurrency
log "8. $CONC simultaneous ${SLOW_MS} ms streams ($PROCS x $CONC_THREADS threads)"
start_lighttpd gateway "$B/alephant-gateway" "$GW_PORT" "$CONC_THREADS" || exit 1
CW=$(workers_of "$LT_PID")
RSS_IDLE=$(rss_kib $CW)
echo 0 > "$W/peak"
( peak=0; while :; do r=$(rss_kib $CW); r=${r%% *}; [ "$r" -gt "$peak" ] && { peak=$r; echo $peak > "$W/peak"; }; sleep 0.1; done ) &
SAMPLER=$!
CONC_OUT=$("$B/bench/sseclient" "http://127.0.0.1:$GW_PORT$PATHQ" "$TOKEN_SLOW" "$CONC" "$CONC")
kill "$SAMPLER" 2>/dev/null; wait "$SAMPLER" 2>/dev/null
PEAK=$(cat "$W/peak")
stop_lighttpd

# ---- report ----
JSON=$(jq -n --arg stamp "$STAMP" --arg host "$(uname -n)" --argjson cores "$(nproc)" \
  --argjson procs "$PROCS" --argjson threads "$THREADS" --arg body "$BODY" \
  --argjson up_c1 "$UP_C1" --argjson up_c32 "$UP_C32" --argjson up_stream "$UP_STREAM" \
  --argjson pt "$PT" --argjson gw "$GW" --argjson rl "$RL" --argjson cache "$CACHE" --argjson conc "$CONC_OUT" \
  --argjson hit_c1 "$HIT_C1" --argjson hit_c32 "$HIT_C32" \
  --argjson peak "$PEAK" --arg idle "$RSS_IDLE" --argjson cthreads "$CONC_THREADS" \
  --argjson chunks "$CHUNKS" --argjson cdelay "$CHUNK_DELAY_US" --argjson slow "$SLOW_MS" \
  '{timestamp:$stamp, host:$host, cores:$cores, worker_processes:$procs, threads:$threads,
    payload:$body, stream_chunks:$chunks, stream_chunk_delay_us:$cdelay,
    upstream:{c1:$up_c1, c32:$up_c32, stream:$up_stream},
    passthrough:$pt, gateway:$gw,
    added_latency_us:{c1_p50:($gw.c1.p50_us - $pt.c1.p50_us), c1_p99:($gw.c1.p99_us - $pt.c1.p99_us),
                      c32_p50:($gw.c32.p50_us - $pt.c32.p50_us), c32_p99:($gw.c32.p99_us - $pt.c32.p99_us)},
    throughput_ratio_c32:($gw.c32.rps / $pt.c32.rps),
    exact_cache:{c1:$hit_c1, c32:$hit_c32, throughput_ratio_c32_to_passthrough:($hit_c32.rps / $pt.c32.rps),
                 throughput_ratio_c32_to_gateway:($hit_c32.rps / $gw.c32.rps)},
    semantic_cache:"see cache_in_isolation",
    limits_in_isolation:$rl,
    cache_in_isolation:$cache,
    concurrency:($conc + {threads_per_process:$cthreads, stream_ms:$slow, rss_idle_kib_sum:($idle|split(" ")[0]|tonumber),
                 rss_peak_kib_sum:$peak})}')
echo "$JSON" > "$RESULTS/$STAMP.json"

JQDEFS='def r1($x): (($x*10|round)/10); def mib($k): (r1($k/1024)|tostring) + " MiB";
  def row($n; $d; $add1; $add32; $cpu; $rw; $re):
    [$n, ($d.c1.rps|round|tostring), ($d.c1.p50_us|tostring), ($d.c1.p99_us|tostring),
     ($d.c32.rps|round|tostring), ($d.c32.p50_us|tostring), ($d.c32.p99_us|tostring),
     $add1, $add32, $cpu, $rw, $re] | @tsv;'
F=$RESULTS/$STAMP.json
echo
jq -r "$JQDEFS"' "Alephant Gateway benchmark \(.timestamp) — \(.cores) cores, \(.worker_processes) worker processes x \(.threads) threads, wrk keep-alive (-c1 -t1 / -c32 -t2)"' "$F"
jq -r "$JQDEFS"'
  (["", "c1 req/s", "c1 p50 µs", "c1 p99 µs", "c32 req/s", "c32 p50 µs", "c32 p99 µs", "+p50 c1 µs", "+p50 c32 µs",
    "CPU ms/req", "RSS/worker warm", "RSS/worker @\(.gateway.requests_total)"] | @tsv),
  row("1. upstream (direct)"; .upstream; "-"; "-"; "-"; "-"; "-"),
  row("2. pass-through"; .passthrough; "0"; "0"; (.passthrough.cpu_ms_per_req|tostring);
      mib(.passthrough.rss_warm_kib_max); mib(.passthrough.rss_end_kib_max)),
  row("3. gateway"; .gateway; (.added_latency_us.c1_p50|tostring); (.added_latency_us.c32_p50|tostring);
      (.gateway.cpu_ms_per_req|tostring); mib(.gateway.rss_warm_kib_max); mib(.gateway.rss_end_kib_max)),
  row("5. gateway, exact cache hit"; .exact_cache; ((.exact_cache.c1.p50_us - .passthrough.c1.p50_us)|tostring);
      ((.exact_cache.c32.p50_us - .passthrough.c32.p50_us)|tostring); "-"; "-"; "-")' "$F" |
  column -t -s $'\t'
jq -r "$JQDEFS"'
  "gateway / pass-through throughput at c32: \((.throughput_ratio_c32*1000|round)/10) %   (target ≥ 85 %)",
  "added p50 at c1: \(.added_latency_us.c1_p50) µs (target ≤ 100 µs); p99: \(.added_latency_us.c1_p99) µs",
  "RSS columns: largest worker; sums — pass-through \(mib(.passthrough.rss_end_kib_sum)), gateway \(mib(.gateway.rss_end_kib_sum)) (warm \(mib(.gateway.rss_warm_kib_sum)))",
  "",
  "4. streaming (\(.stream_chunks) chunks, \(.stream_chunk_delay_us) µs apart, sequential; arrival − upstream send time):"' "$F"
jq -r '
  (["", "first chunk p50 µs", "first chunk p99 µs", "chunk p50 µs", "chunk p99 µs", "complete"] | @tsv),
  (["upstream direct", "pass-through", "gateway"] as $n | [.upstream.stream, .passthrough.stream, .gateway.stream] | to_entries[] |
    [$n[.key], (.value.first_chunk_delay_p50_us|tostring), (.value.first_chunk_delay_p99_us|tostring),
     (.value.chunk_delay_p50_us|tostring), (.value.chunk_delay_p99_us|tostring), "\(.value.completed)/\(.value.requests)"] | @tsv)' "$F" |
  column -t -s $'\t'
jq -r "$JQDEFS"'
  "5. exact cache hit / pass-through throughput at c32: \((.exact_cache.throughput_ratio_c32_to_passthrough*100|round)/100)x (target ≥ 1.5x); / the gateway without cache: \((.exact_cache.throughput_ratio_c32_to_gateway*100|round)/100)x; key derivation + lookup in isolation \(.cache_in_isolation.exact_hit_lookup_us) µs",
  "6. semantic cache search over \(.cache_in_isolation.semantic_vectors) vectors (int8 scan + exact re-rank), ms p50/p99: 384d \(.cache_in_isolation.semantic_search_384d.ms_p50)/\(.cache_in_isolation.semantic_search_384d.ms_p99), 768d \(.cache_in_isolation.semantic_search_768d.ms_p50)/\(.cache_in_isolation.semantic_search_768d.ms_p99), 1536d \(.cache_in_isolation.semantic_search_1536d.ms_p50)/\(.cache_in_isolation.semantic_search_1536d.ms_p99) (target ≤ 10 ms; float32 scan 1536d p50 \(.cache_in_isolation.semantic_search_1536d.float32_scan_ms_p50))",
  "7. rate-limit take: \(.limits_in_isolation.ratelimit_take_ns) ns/call (token check+charge \(.limits_in_isolation.ratelimit_token_check_charge_ns) ns); budget reserve: \(.limits_in_isolation.budget_reserve_ns) ns, settle: \(.limits_in_isolation.budget_settle_ns) ns",
  "8. \(.concurrency.requests) simultaneous \(.concurrency.stream_ms) ms streams (\(.worker_processes) x \(.concurrency.threads_per_process) threads): completed \(.concurrency.completed)/\(.concurrency.requests) (failed \(.concurrency.failed), non-200 \(.concurrency.bad_status), truncated \(.concurrency.truncated)), wall \(.concurrency.wall_s) s, gateway RSS idle \(mib(.concurrency.rss_idle_kib_sum)), peak \(mib(.concurrency.rss_peak_kib_sum)) (target ≤ 1 GiB)"' "$F"
echo
echo "JSON: $RESULTS/$STAMP.json"
