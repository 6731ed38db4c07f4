#!/bin/sh
# Bootstrap the build: install missing Debian packages (when root), run autoreconf, then configure.
# GNOME convention: NOCONFIGURE=1 skips configure; arguments are passed to configure.
set -e
srcdir=$(dirname "$0")
test -n "$srcdir" || srcdir=.

# Debian packages the build needs, and those `make run` and `make check` need on top (lighttpd,
# the integration tests' Node.js, the browser tests' Chromium). As root, missing ones of both
# are installed; otherwise missing build packages stop here and missing test packages are named.
BUILD_PACKAGES="autoconf automake libtool pkg-config make gcc libfcgi-dev libcurl4-openssl-dev \
libjansson-dev libsqlite3-dev libglib2.0-dev libglib2.0-dev-bin libssl-dev libcrypt-dev"
TEST_PACKAGES="lighttpd sqlite3 curl nodejs npm chromium"

missing_of() {
  command -v dpkg-query >/dev/null 2>&1 || return 0
  for p in "$@"; do
    st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    if [ "$st" != "installed" ]; then
      # nodejs may come from another repository that also provides npm.
      if [ "$p" = npm ] && command -v npm >/dev/null 2>&1; then continue; fi
      if [ "$p" = nodejs ] && command -v node >/dev/null 2>&1; then continue; fi
      printf ' %s' "$p"
    fi
  done
}
missing_build=$(missing_of $BUILD_PACKAGES)
missing_test=$(missing_of $TEST_PACKAGES)
missing="$missing_build$missing_test"
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "autogen.sh: installing missing Debian packages:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || true
    apt-get install -y -qq --no-install-recommends $missing
  elif [ -n "$missing_build" ]; then
    echo "autogen.sh: missing Debian packages. Install them with:" >&2
    echo "  sudo apt-get install -y$missing" >&2
    exit 1
  else
    echo "autogen.sh: make run / make check also need:$missing_test (sudo apt-get install -y$missing_test)" >&2
  fi
fi

(cd "$srcdir" && autoreconf --force --install --verbose) || exit 1

if [ -z "$NOCONFIGURE" ]; then
  "$srcdir/configure" "$@"
fi
