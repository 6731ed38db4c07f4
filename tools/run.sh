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

ctl="$top_builddir/alephantctl"
. "$top_srcdir/tools/state.sh"
alephant_state_prepare
MAX_KB=$(( MAX_BYTES / 1024 + 1024 ))

conf="$ALEPHANT_HOME/lighttpd.conf"
sed -e "s|@BIND@|$BIND|g" -e "s|@PORT@|$PORT|g" -e "s|@STATE_DIR@|$ALEPHANT_HOME|g" \
    -e "s|@WWW_DIR@|$top_srcdir/www|g" -e "s|@GATEWAY_BIN@|$top_builddir/alephant-gateway|g" \
    -e "s|@ADMIN_BIN@|$top_builddir/alephant-admin|g" \
    -e "s|@PROCESSES@|$PROCESSES|g" -e "s|@MAX_REQUEST_KB@|$MAX_KB|g" \
    "$top_srcdir/lighttpd.conf" > "$conf"

echo "Alephant Gateway on http://$BIND:$PORT/v1/ ($PROCESSES worker processes, ${ALEPHANT_THREADS:-64} threads each)"
echo "  state: $ALEPHANT_HOME   errors: $ALEPHANT_HOME/lighttpd-error.log"
echo "  manage keys: $ctl --help"
alephant_first_run_message
echo "Press Ctrl-C to stop."
exec "$LIGHTTPD" -D -f "$conf"
