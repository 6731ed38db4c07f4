#!/bin/sh
# Integration tests: real lighttpd + alephant-gateway workers + a mock upstream, driven by Node's
# test runner. Run by `make check` (TESTS_ENVIRONMENT gives top_srcdir, top_builddir, LIGHTTPD,
# NODE); by hand:
#   top_srcdir=$PWD top_builddir=$PWD LIGHTTPD=/usr/sbin/lighttpd sh tests/integration/run.sh [FILE.test.mjs ...]
# npm dependencies go to $top_builddir/tests/node_modules (the source tree may be read-only).
set -eu

fail() { echo "run.sh: $*" >&2; exit 1; }

: "${top_srcdir:?top_srcdir is not set (run through make check)}"
: "${top_builddir:?top_builddir is not set (run through make check)}"
NODE=${NODE:-}
[ -n "$NODE" ] || NODE=$(command -v node || true)
[ -n "$NODE" ] && [ -x "$NODE" ] || fail "node not found (install Node.js >= 20; configure looks for it)"
LIGHTTPD=${LIGHTTPD:-}
[ -n "$LIGHTTPD" ] || fail "lighttpd not found: configure did not find it (apt-get install lighttpd); the integration tests need it"
[ -x "$LIGHTTPD" ] || fail "lighttpd not executable: $LIGHTTPD"
export LIGHTTPD

for b in alephant-gateway alephantctl; do
  [ -x "$top_builddir/$b" ] || fail "$top_builddir/$b is not built"
done

node_major=$("$NODE" -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || fail "Node.js >= 20 is needed, $NODE is $("$NODE" --version)"

# ---- npm dependencies (the official SDKs), pinned by tests/package-lock.json ----
. "$top_srcdir/tests/npm-deps.sh"
export top_srcdir top_builddir

# ---- the tests: one file at a time, each starts its own lighttpd + gateway ----
if [ $# -gt 0 ]; then
  files=
  for f in "$@"; do
    case $f in */*) ;; *) f=$top_srcdir/tests/integration/$f ;; esac
    files="$files $f"
  done
else
  files=$(ls "$top_srcdir"/tests/integration/*.test.mjs)
fi
[ -n "$files" ] || fail "no test files in $top_srcdir/tests/integration"

# A whole-suite guard (the suite takes about 1-3 minutes); per-test timeouts are in the files.
guard=
if command -v timeout >/dev/null 2>&1; then guard="timeout -k 15 900"; fi

# shellcheck disable=SC2086
exec $guard "$NODE" --test --test-concurrency=1 --test-reporter=spec $files
