#!/bin/sh
# smoke.sh: `make fuzz-smoke`: runs every libFuzzer harness given for an
# equal share of FUZZ_SECONDS (default 110, so 2 minutes in all with the
# start-up), each on a copy of its corpus so that the source tree is not
# changed. Any crash, leak, timeout (10 s an input) or memory blow-up
# (2 GiB) fails; the input that did it is kept in tests/fuzz/ of the build
# folder (crash-*, leak-*, timeout-*, oom-*) and named in the last line.
#
# Usage: smoke.sh CORPORA_DIR HARNESS...
# The corpus of fuzz_NAME is CORPORA_DIR/corpus_NAME (fuzz_read: corpus).
set -u
corpora=$1
shift
total=${FUZZ_SECONDS:-110}
each=$((total / $#))
[ "$each" -ge 1 ] || each=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=""
for harness in "$@"; do
    name=$(basename "$harness")
    case $name in
    fuzz_read) corpus=corpus ;;
    *) corpus=corpus_${name#fuzz_} ;;
    esac
    mkdir -p "$tmp/$name"
    cp "$corpora/$corpus"/* "$tmp/$name/"
    # -close_fd_mask=3: the harnesses' own output (libFuzzer and the
    # sanitizers keep theirs)
    "$harness" -max_total_time="$each" -timeout=10 -rss_limit_mb=2048 -close_fd_mask=3 \
        -print_final_stats=1 -artifact_prefix="$tmp/$name-" "$tmp/$name" >"$tmp/$name.log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$tmp/$name.log")
    if [ "$rc" -ne 0 ]; then
        tail -60 "$tmp/$name.log"
        for a in "$tmp/$name"-*; do
            [ -e "$a" ] || continue
            cp "$a" "$(dirname "$harness")/" && echo "fuzz-smoke: kept $(dirname "$harness")/$(basename "$a")"
        done
        echo "fuzz-smoke: $name: FAILED (exit $rc) after ${runs:-?} inputs"
        failed="$failed $name"
    else
        echo "fuzz-smoke: $name: ${runs:-?} inputs in ${each} s, no crash"
    fi
done
if [ -n "$failed" ]; then
    echo "fuzz-smoke: failed:$failed"
    exit 1
fi
echo "fuzz-smoke: $# harnesses, no crash"
