# npm-deps.sh — sourced by tests/integration/run.sh and tests/browser/run.sh: installs the npm
# test dependencies pinned by tests/package-lock.json into $top_builddir/tests/node_modules (the
# source tree may be read-only) unless that lock file is already installed there, and exports
# GW_NODE_MODULES. Needs top_srcdir, top_builddir and a fail() function.

src_tests=$top_srcdir/tests
dep_dir=$top_builddir/tests
mkdir -p "$dep_dir"
for f in package.json package-lock.json; do
  [ -f "$src_tests/$f" ] || fail "$src_tests/$f is missing"
  if [ "$(cd "$src_tests" && pwd -P)" != "$(cd "$dep_dir" && pwd -P)" ]; then
    cmp -s "$src_tests/$f" "$dep_dir/$f" 2>/dev/null || cp "$src_tests/$f" "$dep_dir/$f"
    chmod u+w "$dep_dir/$f"
  fi
done
stamp=$dep_dir/node_modules/.alephant-package-lock
# make -j check runs the integration and browser runners at once: one installs, the other waits.
if command -v flock >/dev/null 2>&1; then exec 9>"$dep_dir/.npm-deps.lock" && flock 9; fi
if [ ! -d "$dep_dir/node_modules" ] || ! cmp -s "$dep_dir/package-lock.json" "$stamp" 2>/dev/null; then
  NPM=${NPM:-$(command -v npm || true)}
  [ -n "$NPM" ] || fail "npm not found (needed once to install the test dependencies)"
  echo "$0: installing test dependencies into $dep_dir/node_modules"
  (cd "$dep_dir" && "$NPM" ci --no-audit --no-fund --loglevel=error) || fail "npm ci failed in $dep_dir"
  cp "$dep_dir/package-lock.json" "$stamp"
fi
exec 9>&-
GW_NODE_MODULES=$(cd "$dep_dir/node_modules" && pwd -P)
export GW_NODE_MODULES
