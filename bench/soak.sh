#!/bin/bash
# bench/soak.sh — `make soak`: load held for a long time (not part of make check).
#
# The canned upstream (bench/upstream) behind the full gateway under real lighttpd, driven by
# bench/loadgen (closed loop, keep-alive, a mix of streamed and buffered chat completions) for
# SOAK_DURATION seconds. Every SOAK_SAMPLE seconds the RSS and open file descriptors of each
# worker process (/proc) and the size of the database's WAL are sampled. Afterwards it proves:
#   - the load held: at least SOAK_MIN_RPS requests per second on average;
#   - zero 5xx made by the gateway (the upstream never fails) and no transport error, every
#     stream complete;
#   - log rows = requests sent (loadgen drains what is in flight before it stops);
#   - worker RSS and open fds flat after warm-up (SOAK_WARMUP seconds): the mean of the last third
#     of the samples is within SOAK_RSS_GROWTH_PCT (5 %) of the mean of the first third, fds at
#     most SOAK_FD_SLACK (16) above the first post-warm-up sample, the same worker processes
#     from start to end (none died);
#   - PRAGMA integrity_check is ok, and the WAL never exceeded SOAK_WAL_MAX_MB (64).
# Knobs: SOAK_DURATION (600) SOAK_CONNECTIONS (32) SOAK_STREAM_PCT (20) SOAK_PROCESSES (2)
#   SOAK_THREADS (64) SOAK_SAMPLE (10) SOAK_WARMUP (60) SOAK_MIN_RPS (1000) SOAK_PORT_BASE (18200)
#   SOAK_KEEP (set: keep the work dir). Results: bench/results/soak-<UTC timestamp>.json.
set -u

S=${top_srcdir:?}
B=${top_builddir:?}
LIGHTTPD=${LIGHTTPD:-$(command -v lighttpd || echo /usr/sbin/lighttpd)}
DUR=${SOAK_DURATION:-600}
CONNS=${SOAK_CONNECTIONS:-32}
STREAM_PCT=${SOAK_STREAM_PCT:-20}
PROCS=${SOAK_PROCESSES:-2}
THREADS=${SOAK_THREADS:-64}
SAMPLE=${SOAK_SAMPLE:-10}
WARMUP=${SOAK_WARMUP:-60}
MIN_RPS=${SOAK_MIN_RPS:-1000}
RSS_GROWTH_PCT=${SOAK_RSS_GROWTH_PCT:-5}
FD_SLACK=${SOAK_FD_SLACK:-16}
WAL_MAX_MB=${SOAK_WAL_MAX_MB:-64}
PB=${SOAK_PORT_BASE:-18200}
UP_PORT=$PB; GW_PORT=$((PB + 1))

for t in jq sqlite3 "$LIGHTTPD" "$B/bench/loadgen" "$B/bench/upstream"; do
  command -v "$t" >/dev/null 2>&1 || { echo "make soak: $t not found (apt-get install -y jq sqlite3 lighttpd)" >&2; exit 1; }
done
[ "$WARMUP" -lt "$DUR" ] || { echo "make soak: SOAK_WARMUP ($WARMUP) must be below SOAK_DURATION ($DUR)" >&2; exit 1; }

W=$(mktemp -d /tmp/alephant-soak-XXXXXX)
RESULTS=$S/bench/results
mkdir -p "$RESULTS"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  if [ -n "${SOAK_KEEP:-}" ]; then echo "work dir kept: $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
log() { printf '[soak %s] %s\n' "$(date +%T)" "$*" >&2; }
ulimit -n 65536 2>/dev/null || true

wait_port() {
  for _ in $(seq 1 200); do
    (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "make soak: nothing listening on port $1" >&2; return 1
}

# ---- state: a virtual key on the canned upstream, with a rate limit and a budget ----
GW_HOME=$W/gateway
mkdir -p "$GW_HOME/run" && chmod 700 "$GW_HOME"
cat > "$GW_HOME/alephant.conf" <<EOF
[logging]
bodies = true
[upstream]
allow_private = true
EOF
DB=$GW_HOME/alephant.db
CTL=$B/alephantctl
(
  export ALEPHANT_HOME=$GW_HOME ALEPHANT_ALLOW_PRIVATE_UPSTREAMS=1
  set -e
  "$CTL" init >/dev/null
  printf 'sk-soak' | "$CTL" provider-key add --name canned --provider openai-compatible \
    --base-url "http://127.0.0.1:$UP_PORT/v1" --key-stdin >/dev/null
  "$CTL" vk create --name soak --provider-key canned > "$W/token"
  "$CTL" vk update soak --rpm 1000000000 --window 60 --budget 1000000 --budget-period monthly >/dev/null
) || { echo "make soak: could not prepare the gateway state" >&2; exit 1; }
TOKEN=$(tr -d '\n' < "$W/token")

"$B/bench/upstream" --port "$UP_PORT" --chunks 10 --chunk-delay-us 1000 2>>"$W/upstream.log" &
PIDS+=($!)
wait_port "$UP_PORT" || exit 1

sed -e "s|@BIND@|127.0.0.1|g" -e "s|@PORT@|$GW_PORT|g" -e "s|@STATE_DIR@|$GW_HOME|g" \
    -e "s|@WWW_DIR@|$S/www|g" -e "s|@GATEWAY_BIN@|$B/alephant-gateway|g" \
    -e "s|@PROCESSES@|$PROCS|g" -e "s|@MAX_REQUEST_KB@|11264|g" \
    "$S/lighttpd.conf" > "$W/lighttpd.conf"
ALEPHANT_HOME=$GW_HOME ALEPHANT_THREADS=$THREADS ALEPHANT_ALLOW_PRIVATE_UPSTREAMS=1 \
  "$LIGHTTPD" -D -f "$W/lighttpd.conf" >>"$W/lighttpd.out" 2>&1 &
LT_PID=$!
PIDS+=($LT_PID)
wait_port "$GW_PORT" || exit 1
for _ in $(seq 1 100); do [ "$(pgrep -P "$LT_PID" | wc -l)" -ge "$PROCS" ] && break; sleep 0.05; done
WORKERS=$(pgrep -P "$LT_PID" | sort -n | tr '\n' ' ')
URL=http://127.0.0.1:$GW_PORT/v1/chat/completions
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' -d '{"model":"gpt-4o-mini","messages":[]}' "$URL")
[ "$code" = 200 ] || { echo "make soak: the gateway answered HTTP $code" >&2; tail -5 "$GW_HOME/lighttpd-error.log" >&2; exit 1; }

# ---- sampler: elapsed_s rss_kib_sum fds_sum wal_bytes, one line per SOAK_SAMPLE ----
SAMPLES=$W/samples.tsv
(
  t0=$(date +%s)
  while :; do
    rss=0; fds=0
    for p in $WORKERS; do
      r=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null) || r=0
      f=$(ls "/proc/$p/fd" 2>/dev/null | wc -l)
      rss=$((rss + ${r:-0})); fds=$((fds + f))
    done
    wal=$(stat -c %s "$DB-wal" 2>/dev/null || echo 0)
    printf '%s\t%s\t%s\t%s\n' "$(( $(date +%s) - t0 ))" "$rss" "$fds" "$wal" >> "$SAMPLES"
    sleep "$SAMPLE"
  done
) &
SAMPLER=$!
PIDS+=($SAMPLER)

log "work dir $W; $PROCS workers x $THREADS threads; $CONNS connections, $STREAM_PCT % streamed, ${DUR} s"
LOAD=$("$B/bench/loadgen" "$URL" "$TOKEN" "$DUR" "$CONNS" "$STREAM_PCT") || { echo "make soak: loadgen failed" >&2; exit 1; }
kill "$SAMPLER" 2>/dev/null; wait "$SAMPLER" 2>/dev/null
log "load: $LOAD"
ALIVE=$(pgrep -P "$LT_PID" | sort -n | tr '\n' ' ')

# ---- rows: the writer commits asynchronously; wait until every request has its row ----
SENT=$(jq .sent <<<"$LOAD")
EXPECTED=$((SENT + 1)) # + the check request above
ROWS=0
for _ in $(seq 1 120); do
  ROWS=$(sqlite3 -readonly "$DB" 'SELECT count(*) FROM request_logs;')
  [ "$ROWS" -ge "$EXPECTED" ] && break
  sleep 0.5
done
sleep 1
ROWS=$(sqlite3 -readonly "$DB" 'SELECT count(*) FROM request_logs;')
GW5XX=$(sqlite3 -readonly "$DB" 'SELECT count(*) FROM request_logs WHERE status >= 500;')
INTEGRITY=$(sqlite3 "$DB" 'PRAGMA integrity_check;')
RESERVED=$(sqlite3 -readonly "$DB" 'SELECT count(*) FROM budget_reservations;')
kill "$LT_PID" 2>/dev/null; wait "$LT_PID" 2>/dev/null

# ---- verdicts ----
STATS=$(awk -v warm="$WARMUP" '
  $1 >= warm { n++; t[n]=$1; r[n]=$2; f[n]=$3 }
  { if ($4 > walmax) walmax = $4 }
  END {
    k = int(n / 3); if (k < 1) k = 1
    for (i = 1; i <= k; i++) { a += r[i] } for (i = n - k + 1; i <= n; i++) { z += r[i] }
    fmax = 0; for (i = 1; i <= n; i++) if (f[i] > fmax) fmax = f[i]
    printf "{\"samples_after_warmup\":%d,\"rss_first_third_kib\":%d,\"rss_last_third_kib\":%d,\"rss_growth_pct\":%.2f,\"fds_first\":%d,\"fds_max\":%d,\"fds_last\":%d,\"wal_max_bytes\":%d}\n",
      n, a / k, z / k, (a > 0 ? (z - a) * 100.0 / a : 0), f[1], fmax, f[n], walmax }' "$SAMPLES")
FAIL=()
rps=$(jq .rps <<<"$LOAD")
awk -v r="$rps" -v m="$MIN_RPS" 'BEGIN { exit !(r >= m) }' || FAIL+=("throughput $rps req/s < $MIN_RPS")
[ "$(jq '.status_5xx + .transport_errors + .status_other' <<<"$LOAD")" = 0 ] || FAIL+=("client saw 5xx, other statuses or transport errors")
[ "$(jq .status_4xx <<<"$LOAD")" = 0 ] || FAIL+=("client saw 4xx")
[ "$(jq .streams_incomplete <<<"$LOAD")" = 0 ] || FAIL+=("incomplete streams")
[ "$GW5XX" = 0 ] || FAIL+=("$GW5XX log rows with status >= 500")
[ "$ROWS" = "$EXPECTED" ] || FAIL+=("log rows $ROWS != requests $EXPECTED")
[ "$INTEGRITY" = ok ] || FAIL+=("integrity_check: $INTEGRITY")
[ "$RESERVED" = 0 ] || FAIL+=("$RESERVED budget reservations left")
[ "$WORKERS" = "$ALIVE" ] || FAIL+=("worker processes changed: '$WORKERS' → '$ALIVE'")
awk -v g="$(jq .rss_growth_pct <<<"$STATS")" -v m="$RSS_GROWTH_PCT" 'BEGIN { exit !(g <= m) }' ||
  FAIL+=("worker RSS grew $(jq .rss_growth_pct <<<"$STATS") % after warm-up")
[ "$(jq ".fds_max - .fds_first <= $FD_SLACK" <<<"$STATS")" = true ] || FAIL+=("open fds grew after warm-up")
[ "$(jq ".wal_max_bytes <= $WAL_MAX_MB * 1048576" <<<"$STATS")" = true ] || FAIL+=("WAL exceeded $WAL_MAX_MB MiB")

JSON=$(jq -n --arg stamp "$STAMP" --argjson cores "$(nproc)" --argjson procs "$PROCS" \
  --argjson threads "$THREADS" --argjson load "$LOAD" --argjson stats "$STATS" \
  --argjson rows "$ROWS" --argjson expected "$EXPECTED" --argjson gw5xx "$GW5XX" \
  --arg integrity "$INTEGRITY" --argjson reserved "$RESERVED" --arg workers "$WORKERS" --arg alive "$ALIVE" \
  --argjson warmup "$WARMUP" --argjson sample "$SAMPLE" --rawfile samples "$SAMPLES" \
  --arg fail "$(printf '%s; ' "${FAIL[@]+"${FAIL[@]}"}")" \
  '{timestamp:$stamp, cores:$cores, worker_processes:$procs, threads:$threads, warmup_s:$warmup,
    sample_s:$sample, load:$load, log_rows:$rows, requests_incl_check:$expected,
    gateway_5xx_rows:$gw5xx, integrity_check:$integrity, reservations_left:$reserved,
    workers_start:$workers, workers_end:$alive, after_warmup:$stats,
    samples:($samples | split("\n") | map(select(length > 0) | split("\t") | map(tonumber)
             | {t_s:.[0], rss_kib_sum:.[1], fds_sum:.[2], wal_bytes:.[3]})),
    passed:($fail == ""), failures:$fail}')
echo "$JSON" > "$RESULTS/soak-$STAMP.json"
jq -r '"soak \(.timestamp): \(.load.seconds) s, \(.worker_processes) workers x \(.threads) threads, \(.load.connections) connections, \(.load.stream_percent) % streamed",
  "  requests \(.load.sent) (\(.load.rps) req/s), 2xx \(.load.status_2xx), 4xx \(.load.status_4xx), 5xx \(.load.status_5xx), transport errors \(.load.transport_errors), streams \(.load.streams) (incomplete \(.load.streams_incomplete)), p50 \(.load.p50_us) µs, p99 \(.load.p99_us) µs",
  "  log rows \(.log_rows) for \(.requests_incl_check) requests; rows with status >= 500: \(.gateway_5xx_rows); reservations left: \(.reservations_left); integrity_check: \(.integrity_check)",
  "  after warm-up (\(.after_warmup.samples_after_warmup) samples): worker RSS sum \(.after_warmup.rss_first_third_kib) → \(.after_warmup.rss_last_third_kib) KiB (\(.after_warmup.rss_growth_pct) %), open fds \(.after_warmup.fds_first) → max \(.after_warmup.fds_max), last \(.after_warmup.fds_last); WAL max \((.after_warmup.wal_max_bytes / 1048576 * 10 | round) / 10) MiB",
  "  workers \(.workers_start)→ \(.workers_end)"' "$RESULTS/soak-$STAMP.json"
echo "JSON: $RESULTS/soak-$STAMP.json"
if [ ${#FAIL[@]} -gt 0 ]; then
  printf 'make soak: FAILED: %s\n' "${FAIL[@]}" >&2
  exit 1
fi
echo "make soak: passed"
