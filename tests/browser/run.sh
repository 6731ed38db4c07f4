#!/bin/sh
# Browser tests: the admin pages in headless Chromium (Debian package `chromium`) driven by
# playwright-core (npm, pinned in tests/package.json), against real lighttpd + gateway + admin
# program + a mock upstream. Run by `make check` (TESTS_ENVIRONMENT gives top_srcdir,
# top_builddir, LIGHTTPD, NODE); by hand after a build:
#   top_srcdir=$PWD top_builddir=$PWD LIGHTTPD=/usr/sbin/lighttpd sh tests/browser/run.sh [FILE.test.mjs ...]
# Skips (exit 77) without Chromium (CHROMIUM, default /usr/bin/chromium) or playwright-core.
# Chromium's sandbox is on unless run as root (where Chromium cannot use it) or CHROMIUM_NO_SANDBOX=1.
# Full-page screenshots of every page visited go to $top_builddir/tests/browser-screenshots/.
set -eu

fail() { echo "browser/run.sh: $*" >&2; exit 1; }
skip() { echo "browser/run.sh: SKIP: $*" >&2; exit 77; }

: "${top_srcdir:?top_srcdir is not set (run through make check)}"
: "${top_builddir:?top_builddir is not set (run through make check)}"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || skip "$CHROMIUM not found: the browser tests need Chromium (apt-get install chromium)"
export CHROMIUM
NODE=${NODE:-}
[ -n "$NODE" ] || NODE=$(command -v node || true)
[ -n "$NODE" ] && [ -x "$NODE" ] || fail "node not found (install Node.js >= 20; configure looks for it)"
LIGHTTPD=${LIGHTTPD:-}
[ -n "$LIGHTTPD" ] || fail "lighttpd not found: configure did not find it (apt-get install lighttpd)"
[ -x "$LIGHTTPD" ] || fail "lighttpd not executable: $LIGHTTPD"
export LIGHTTPD
for b in alephant-gateway alephantctl alephant-admin; do
  [ -x "$top_builddir/$b" ] || fail "$top_builddir/$b is not built"
done
node_major=$("$NODE" -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || fail "Node.js >= 20 is needed, $NODE is $("$NODE" --version)"

# ---- npm dependencies (playwright-core among them); without them there is nothing to drive ----
# Chromium with: an install failure here is a skip (the integration tests report it as a failure).
(
  fail() { echo "browser/run.sh: $*" >&2; exit 1; }
  . "$top_srcdir/tests/npm-deps.sh"
) || skip "the npm test dependencies (playwright-core) could not be installed"
GW_NODE_MODULES=$(cd "$top_builddir/tests/node_modules" && pwd -P)
[ -f "$GW_NODE_MODULES/playwright-core/package.json" ] \
  || skip "playwright-core is not installed in $GW_NODE_MODULES (npm ci in $top_builddir/tests)"
export GW_NODE_MODULES top_srcdir top_builddir

# Screenshots of this run only: all of them go before a whole run, failure shots before any run.
GW_SCREENSHOTS=$top_builddir/tests/browser-screenshots
if [ $# -eq 0 ]; then rm -rf "$GW_SCREENSHOTS"; else rm -f "$GW_SCREENSHOTS"/FAILED-*.png "$GW_SCREENSHOTS"/TODO-*.png; fi
mkdir -p "$GW_SCREENSHOTS"
export GW_SCREENSHOTS

if [ $# -gt 0 ]; then
  files=
  for f in "$@"; do
    case $f in */*) ;; *) f=$top_srcdir/tests/browser/$f ;; esac
    files="$files $f"
  done
else
  files=$(ls "$top_srcdir"/tests/browser/*.test.mjs)
fi
[ -n "$files" ] || fail "no test files in $top_srcdir/tests/browser"

# A whole-suite guard (the suite takes well under 2 minutes); per-test timeouts are in the files.
guard=
if command -v timeout >/dev/null 2>&1; then guard="timeout -k 15 300"; fi

# shellcheck disable=SC2086
exec $guard "$NODE" --test --test-concurrency=1 --test-reporter=spec $files
