#!/bin/sh
# `make run-apache`: like `make run` (tools/run.sh), but behind Apache 2.4 with mod_proxy_fcgi.
# Prepares the state directory (database, migrations, master key; a demo key on the first run),
# starts the gateway workers with spawn-fcgi on a unix socket, renders apache/standalone.conf and
# apache/alephant.conf into $ALEPHANT_HOME/apache/ and runs Apache in the foreground with that
# configuration only (never /etc/apache2, never the system's apache2 service). Ctrl-C (or SIGTERM
# to this script) stops Apache and the workers.
#
# Environment: PORT (8080), ALEPHANT_HOME (./var), ALEPHANT_PROCESSES (cores), ALEPHANT_THREADS
# (64), ALEPHANT_BIND (127.0.0.1), ALEPHANT_ALLOW_PRIVATE_UPSTREAMS, ALEPHANT_NO_DEMO=1 (no demo
# key on the first run), ALEPHANT_PROXY_TIMEOUT (3600 s), APACHE2 (/usr/sbin/apache2),
# APACHE_MODULES (/usr/lib/apache2/modules), SPAWN_FCGI (spawn-fcgi), APACHE_RUN_USER and
# APACHE_RUN_GROUP (www-data; the user Apache's children run as when started as root).
set -eu

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
APACHE2=${APACHE2:-$(command -v apache2 || echo /usr/sbin/apache2)}
APACHE_MODULES=${APACHE_MODULES:-/usr/lib/apache2/modules}
SPAWN_FCGI=${SPAWN_FCGI:-$(command -v spawn-fcgi || echo /usr/bin/spawn-fcgi)}
if [ ! -x "$APACHE2" ] || [ ! -f "$APACHE_MODULES/mod_proxy_fcgi.so" ]; then
  echo "make run-apache: Apache 2.4 with mod_proxy_fcgi not found ($APACHE2, $APACHE_MODULES);" >&2
  echo "  install it with: sudo apt-get install -y apache2 (the apache2 service need not run)" >&2
  exit 1
fi
if [ ! -x "$SPAWN_FCGI" ]; then
  echo "make run-apache: spawn-fcgi not found; install it with: sudo apt-get install -y spawn-fcgi" >&2
  exit 1
fi
gateway="$top_builddir/alephant-gateway"
ctl="$top_builddir/alephantctl"
admin="$top_builddir/alephant-admin"
for b in "$gateway" "$ctl" "$admin"; do
  [ -x "$b" ] || { echo "make run-apache: $b is not built (run make)" >&2; exit 1; }
done

. "$top_srcdir/tools/state.sh"
alephant_state_prepare
LIMIT_BODY=$(( MAX_BYTES + 1048576 ))
PROXY_TIMEOUT=${ALEPHANT_PROXY_TIMEOUT:-3600}

# Apache's children run as APACHE_RUN_USER when Apache starts as root (it refuses to serve as
# root), as the current user otherwise. They must reach the gateway socket but not the state
# directory (database, master key), so the socket gets a directory of its own: private to the
# current user, or (as root) searchable by Apache's group, with the socket owned by Apache's user.
if [ "$(id -u)" = 0 ]; then
  ap_user=${APACHE_RUN_USER:-www-data}
  ap_group=${APACHE_RUN_GROUP:-$(id -gn "$ap_user")}
else
  ap_user=$(id -un)
  ap_group=$(id -gn)
fi
sock_dir=$(mktemp -d "${TMPDIR:-/tmp}/alephant-apache.XXXXXX")
socket="$sock_dir/gateway.sock"
admin_socket="$sock_dir/admin.sock"
sock_owner=""
if [ "$(id -u)" = 0 ]; then
  chgrp "$ap_group" "$sock_dir"
  chmod 0710 "$sock_dir"
  sock_owner="-U $ap_user -G $ap_group"
fi

apache_dir="$ALEPHANT_HOME/apache"
mkdir -p "$apache_dir"
rm -f "$apache_dir/apache2.pid"
mime_types=/etc/mime.types
[ -r "$mime_types" ] || mime_types=/dev/null
render() {
  sed -e "s|@BIND@|$BIND|g" -e "s|@PORT@|$PORT|g" -e "s|@STATE_DIR@|$ALEPHANT_HOME|g" \
      -e "s|@APACHE_DIR@|$apache_dir|g" -e "s|@MODULES_DIR@|$APACHE_MODULES|g" \
      -e "s|@WWW_DIR@|$top_srcdir/www|g" -e "s|@SOCKET@|$socket|g" \
      -e "s|@ADMIN_SOCKET@|$admin_socket|g" \
      -e "s|@LIMIT_REQUEST_BODY@|$LIMIT_BODY|g" -e "s|@PROXY_TIMEOUT@|$PROXY_TIMEOUT|g" \
      -e "s|@USER@|$ap_user|g" -e "s|@GROUP@|$ap_group|g" -e "s|@MIME_TYPES@|$mime_types|g" \
      "$1" > "$2"
}
render "$top_srcdir/apache/alephant.conf" "$apache_dir/alephant.conf"
render "$top_srcdir/apache/standalone.conf" "$apache_dir/httpd.conf"
conf="$apache_dir/httpd.conf"

# ---- stopping: Apache first (no new requests), then the workers (SIGTERM: in-flight requests
# get a grace period, queued log rows are written), then the socket directory ----
pidfile="$apache_dir/gateway.pids"
admin_pidfile="$apache_dir/admin.pid"
apache_pid=""
alive() { # not gone, not a zombie
  kill -0 "$1" 2>/dev/null || return 1
  ! grep -q '^[0-9]* (.*) Z' "/proc/$1/stat" 2>/dev/null
}
# shellcheck disable=SC2317 # called from the traps
stop_all() {
  trap - EXIT INT TERM HUP
  if [ -n "$apache_pid" ]; then
    kill -TERM "$apache_pid" 2>/dev/null || true
    wait "$apache_pid" 2>/dev/null || true
  fi
  if [ -f "$pidfile" ]; then
    pids=$(cat "$pidfile")
    for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
    n=0
    while [ "$n" -lt 250 ]; do # 25 s: the gateway's grace period is 20 s
      left=""
      for p in $pids; do alive "$p" && left="$left $p"; done
      [ -n "$left" ] || break
      sleep 0.1
      n=$((n + 1))
    done
    for p in $left; do
      echo "run-apache: gateway worker $p did not stop; killing it" >&2
      kill -KILL "$p" 2>/dev/null || true
    done
    rm -f "$pidfile"
  fi
  if [ -f "$admin_pidfile" ]; then
    p=$(cat "$admin_pidfile")
    kill -TERM "$p" 2>/dev/null || true
    n=0
    while alive "$p" && [ "$n" -lt 250 ]; do sleep 0.1; n=$((n + 1)); done
    alive "$p" && kill -KILL "$p" 2>/dev/null || true
    rm -f "$admin_pidfile"
  fi
  rm -rf "$sock_dir"
}
trap stop_all EXIT
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM
trap 'stop_all; exit 129' HUP

if ! out=$("$APACHE2" -t -f "$conf" 2>&1); then
  echo "run-apache: Apache rejects $conf:" >&2
  echo "$out" >&2
  exit 1
fi

# The workers: PROCESSES processes sharing the socket on fd 0, each ALEPHANT_THREADS threads.
# spawn-fcgi points their stderr at /dev/null; the shell wrapper sends it to gateway-error.log.
gw_log="$ALEPHANT_HOME/gateway-error.log"
# shellcheck disable=SC2086,SC2016 # $sock_owner is two words; $0/$1 are the inner shell's
if ! out=$("$SPAWN_FCGI" -s "$socket" -M 0600 $sock_owner -b 4096 -F "$PROCESSES" -P "$pidfile" \
      -- /bin/sh -c 'exec "$0" 2>>"$1"' "$gateway" "$gw_log" 2>&1); then
  echo "run-apache: spawn-fcgi failed:" >&2
  echo "$out" >&2
  exit 1
fi
sleep 0.3
pids=$(cat "$pidfile")
for p in $pids; do
  if ! alive "$p"; then
    echo "run-apache: a gateway worker exited at start; $gw_log says:" >&2
    tail -20 "$gw_log" >&2 || true
    exit 1
  fi
done

# The admin program: one process ([admin] threads threads) on its own socket.
# shellcheck disable=SC2086,SC2016
if ! out=$("$SPAWN_FCGI" -s "$admin_socket" -M 0600 $sock_owner -b 256 -P "$admin_pidfile" \
      -- /bin/sh -c 'exec "$0" 2>>"$1"' "$admin" "$gw_log" 2>&1); then
  echo "run-apache: spawn-fcgi failed for the admin program:" >&2
  echo "$out" >&2
  exit 1
fi

echo "Alephant Gateway behind Apache on http://$BIND:$PORT/v1/ ($PROCESSES worker processes, ${ALEPHANT_THREADS:-64} threads each)"
echo "  state: $ALEPHANT_HOME   errors: $ALEPHANT_HOME/apache-error.log, $gw_log"
echo "  Apache configuration: $conf   gateway socket: $socket"
echo "  admin: http://$BIND:$PORT/admin/"
echo "  manage keys: $ctl --help"
alephant_first_run_message
echo "Press Ctrl-C to stop."

# In the background so that the traps run (and stop the workers) when we are told to stop.
"$APACHE2" -DFOREGROUND -f "$conf" &
apache_pid=$!
status=0
wait "$apache_pid" || status=$?
apache_pid=""
if [ "$status" -ne 0 ]; then
  echo "run-apache: Apache exited with status $status; see $ALEPHANT_HOME/apache-error.log" >&2
fi
exit "$status"
