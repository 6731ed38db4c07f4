#!/bin/bash
# bench/peers.sh — `make bench-peers` (optional): Portkey's open-source gateway
# (@portkey-ai/gateway from npm, installed into bench/node_modules, not committed) in front of the
# same canned upstream, same payload, same wrk runs as `make bench`. Skips with a reason when it
# cannot be installed or started offline.
set -u
S=${top_srcdir:?}; B=${top_builddir:?}
NODE=${NODE:-node}
DUR=${BENCH_DURATION:-10}
PB=${BENCH_PORT_BASE:-18100}
UP_PORT=$((PB + 10)); PK_PORT=$((PB + 11))
export BENCH_BODY='{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello, how are you today?"}]}'
skip() { echo "bench-peers: Portkey skipped: $*"; exit 0; }
command -v npm >/dev/null || skip "npm not found"
command -v wrk >/dev/null || skip "wrk not found"
if [ ! -d "$S/bench/node_modules/@portkey-ai/gateway" ]; then
  echo "bench-peers: installing @portkey-ai/gateway into $S/bench/node_modules"
  timeout 300 npm install --prefix "$S/bench" --no-save --no-package-lock --no-audit --no-fund \
    @portkey-ai/gateway >/dev/null 2>"$S/bench/.npm-install.log" ||
    skip "npm install failed (see bench/.npm-install.log)"
fi
PKG=$S/bench/node_modules/@portkey-ai/gateway
ENTRY=$(cd "$PKG" && "$NODE" -e 'const p=require("./package.json");const b=p.bin;console.log(typeof b==="string"?b:Object.values(b||{})[0]||p.main||"")')
[ -n "$ENTRY" ] && [ -f "$PKG/$ENTRY" ] || skip "no runnable entry point in the package"
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null' EXIT
"$B/bench/upstream" --port "$UP_PORT" 2>/dev/null & PIDS+=($!)
"$NODE" "$PKG/$ENTRY" --port="$PK_PORT" >/tmp/bench-portkey.log 2>&1 & PIDS+=($!)
for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/$PK_PORT) 2>/dev/null && break; sleep 0.1; done
(exec 3<>/dev/tcp/127.0.0.1/$PK_PORT) 2>/dev/null || skip "it did not listen on $PK_PORT (log: /tmp/bench-portkey.log)"
URL=http://127.0.0.1:$PK_PORT/v1/chat/completions
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
  -H 'Authorization: Bearer sk-bench' -H 'x-portkey-provider: openai' \
  -H "x-portkey-custom-host: http://127.0.0.1:$UP_PORT/v1" -d "$BENCH_BODY" "$URL")
[ "$code" = 200 ] || skip "a test request answered HTTP $code"
# wrk's post.lua sets Authorization from BENCH_TOKEN; Portkey's routing headers via a wrapper.
LUA=$(mktemp /tmp/bench-portkey-XXXX.lua)
{ cat "$S/bench/post.lua"; printf 'wrk.headers["x-portkey-provider"] = "openai"\nwrk.headers["x-portkey-custom-host"] = "http://127.0.0.1:%s/v1"\n' "$UP_PORT"; } > "$LUA"
for c in "1 1" "32 2"; do
  set -- $c
  printf 'Portkey (1 node process) -c%s: ' "$1"
  BENCH_TOKEN=sk-bench wrk -c"$1" -t"$2" -d"${DUR}"s -s "$LUA" "$URL" | sed -n 's/^BENCH //p'
done
rm -f "$LUA"
