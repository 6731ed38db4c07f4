#!/bin/sh
# `make run`: prepare the state directory (database, migrations, master key), render lighttpd.conf
# from the template, and run lighttpd in the foreground with the gateway workers. Ctrl-C stops it
# all. Environment: PORT (8080), ALEPHANT_HOME (./var), ALEPHANT_PROCESSES (cores),
# ALEPHANT_THREADS (64), ALEPHANT_ALLOW_PRIVATE_UPSTREAMS, ALEPHANT_BIND (127.0.0.1).
set -eu

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
LIGHTTPD=${LIGHTTPD:-$(command -v lighttpd || echo /usr/sbin/lighttpd)}
if [ ! -x "$LIGHTTPD" ]; then
  echo "make run: lighttpd not found; install it with: sudo apt-get install -y lighttpd" >&2
  exit 1
fi

ALEPHANT_HOME=${ALEPHANT_HOME:-$PWD/var}
mkdir -p "$ALEPHANT_HOME"
ALEPHANT_HOME=$(cd "$ALEPHANT_HOME" && pwd)
export ALEPHANT_HOME
chmod 700 "$ALEPHANT_HOME"
mkdir -p "$ALEPHANT_HOME/run"

PORT=${PORT:-8080}
BIND=${ALEPHANT_BIND:-127.0.0.1}
PROCESSES=${ALEPHANT_PROCESSES:-$(nproc 2>/dev/null || echo 2)}
[ "$PROCESSES" -ge 1 ] 2>/dev/null || PROCESSES=1
MAX_BYTES=${ALEPHANT_GATEWAY_MAX_REQUEST_BYTES:-10485760}
MAX_KB=$(( MAX_BYTES / 1024 + 1024 ))

ctl="$top_builddir/alephantctl"
first_run=no
[ -f "$ALEPHANT_HOME/alephant.db" ] || first_run=yes
"$ctl" init

token=""
if [ "$first_run" = yes ]; then
  "$ctl" provider-key add --name demo-mock --provider mock >/dev/null
  token=$("$ctl" vk create --name demo --provider-key demo-mock)
fi

conf="$ALEPHANT_HOME/lighttpd.conf"
sed -e "s|@BIND@|$BIND|g" -e "s|@PORT@|$PORT|g" -e "s|@STATE_DIR@|$ALEPHANT_HOME|g" \
    -e "s|@WWW_DIR@|$top_srcdir/www|g" -e "s|@GATEWAY_BIN@|$top_builddir/alephant-gateway|g" \
    -e "s|@PROCESSES@|$PROCESSES|g" -e "s|@MAX_REQUEST_KB@|$MAX_KB|g" \
    "$top_srcdir/lighttpd.conf" > "$conf"

echo "Alephant Gateway on http://$BIND:$PORT/v1/ ($PROCESSES worker processes, ${ALEPHANT_THREADS:-64} threads each)"
echo "  state: $ALEPHANT_HOME   errors: $ALEPHANT_HOME/lighttpd-error.log"
echo "  manage keys: $ctl --help"
if [ -n "$token" ]; then
  cat <<MSG

First run: created the demo provider key 'demo-mock' (the built-in mock provider: canned
answers, no internet) and the virtual key 'demo'. Its token is shown only now:

  curl http://$BIND:$PORT/v1/chat/completions \\
    -H "Authorization: Bearer $token" \\
    -H "Content-Type: application/json" \\
    -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello"}]}'

MSG
fi
echo "Press Ctrl-C to stop."
exec "$LIGHTTPD" -D -f "$conf"
