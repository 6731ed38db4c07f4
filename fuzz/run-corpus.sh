#!/bin/sh
# run-corpus.sh — make check: replays every fuzz target over its seed corpus, fuzz/corpus/<name>/.
# The targets are fuzz/fuzz_<name> in the build tree, linked either with fuzz/replay.c (default
# build) or with libFuzzer (--enable-fuzzers); both run every file given on the command line once.
# Fails when a target is missing, a corpus is missing or empty, or a target fails on any input
# (crash, sanitizer report, leak, abort). Crash reproducers of known bugs live in the corpora as
# crash-* files, so they fail this test until the bug is fixed.
# Environment (from TESTS_ENVIRONMENT): top_srcdir, top_builddir; FUZZ_ONLY="sse uuid" to limit.
set -u

srcdir_top=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
builddir_top=${top_builddir:-.}

targets=${FUZZ_ONLY:-}
if [ -z "$targets" ]; then
    for src in "$srcdir_top"/fuzz/fuzz_*.c; do
        [ -f "$src" ] || continue
        name=$(basename "$src" .c)
        targets="$targets ${name#fuzz_}"
    done
fi
if [ -z "$targets" ]; then
    echo "run-corpus: no fuzz targets found under $srcdir_top/fuzz" >&2
    exit 1
fi

# libFuzzer binaries: no leak check per input is needed beyond LSan at exit; keep output short.
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export ASAN_OPTIONS

failed=0
for name in $targets; do
    bin=$builddir_top/fuzz/fuzz_$name
    corpus=$srcdir_top/fuzz/corpus/$name
    if [ ! -x "$bin" ]; then
        echo "FAIL: $name: $bin was not built" >&2
        failed=1
        continue
    fi
    # Files only (a directory argument would make a libFuzzer binary start fuzzing).
    set --
    for f in "$corpus"/*; do
        [ -f "$f" ] && set -- "$@" "$f"
    done
    if [ $# -eq 0 ]; then
        echo "FAIL: $name: empty or missing corpus $corpus" >&2
        failed=1
        continue
    fi
    log=$builddir_top/fuzz/run-corpus-$name.out
    if "$bin" "$@" >"$log" 2>&1; then
        echo "PASS: $name ($# inputs)"
    else
        echo "FAIL: $name (exit status $?); output:" >&2
        tail -n 60 "$log" >&2
        failed=1
    fi
done
exit $failed
