#!/bin/sh
# test_inrtrain_plot.sh: inrtrain-plot, the curves of inrtrain's logs: its
# help, version and usage errors, a malformed log, and (with gnuplot) a PNG
# from two logs, one without a test set; run by `make check`.
#
# shellcheck disable=SC2016 # conditions run by eval

: "${top_srcdir:=.}"
: "${top_builddir:=.}"
plot="$top_builddir/trainer/inrtrain-plot"
. "$top_srcdir/tests/testlib.sh" test_inrtrain_plot

command -v bash >/dev/null 2>&1 || { echo "SKIP: no bash"; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "SKIP: no python3"; exit 77; }

run "$plot" --help
check "--help: exit 0, the usage on stdout" '[ "$rc" -eq 0 ] && grep -q "^Usage: inrtrain-plot " "$tmp/out"'
run "$plot" --version
check "--version: the package's" '[ "$rc" -eq 0 ] && grep -q "^inrtrain-plot (inrf) [0-9]" "$tmp/out"'
run "$plot" "$tmp/a.jsonl"
check "one argument: exit 2" '[ "$rc" -eq 2 ] && grep -q "Try .inrtrain-plot --help." "$tmp/err"'
run "$plot" "$tmp/a.jsonl" "$tmp/b.jsonl"
check "an output that is not .png (a forgotten OUT): exit 2" '[ "$rc" -eq 2 ]'
run "$plot" --width 3 "$tmp/a.jsonl" "$tmp/a.png"
check "an unknown option: exit 2" '[ "$rc" -eq 2 ]'

# two logs as inrtrain --log writes them: with a test set, and without
cat >"$tmp/a.jsonl" <<'LOG'
{"epoch": 1, "lr": 0.05, "train_loss": 0.9, "train_acc": 0.5, "test_loss": 0.8, "test_acc": 0.55, "images_per_s": 10, "seconds": 1, "data_seconds": 0.1, "compute_seconds": 0.9, "peak_mib": 50}
{"epoch": 2, "lr": 0.04, "train_loss": 0.6, "train_acc": 0.7, "test_loss": 0.5, "test_acc": 0.75, "images_per_s": 10, "seconds": 1, "data_seconds": 0.1, "compute_seconds": 0.9, "peak_mib": 50}
LOG
cat >"$tmp/b.jsonl" <<'LOG'
{"epoch": 1, "lr": 0.05, "train_loss": 1.0, "train_acc": 0.4, "test_loss": null, "test_acc": null, "images_per_s": 10, "seconds": 1, "data_seconds": 0.1, "compute_seconds": 0.9, "peak_mib": 50}
LOG
echo "not json" >"$tmp/bad.jsonl"
if command -v "${GNUPLOT:-gnuplot}" >/dev/null 2>&1; then
    run "$plot" "$tmp/bad.jsonl" "$tmp/bad.png"
    check "a malformed log: exit 1, the file and line named" \
        '[ "$rc" -eq 1 ] && grep -q "bad.jsonl:1: not an inrtrain log line" "$tmp/err" && [ ! -e "$tmp/bad.png" ]'
    run "$plot" "$tmp/a.jsonl" "$tmp/b.jsonl" "$tmp/curves.png"
    check "two logs: a PNG" \
        '[ "$rc" -eq 0 ] && [ "$(head -c 4 "$tmp/curves.png" | od -An -tx1 | tr -d " ")" = 89504e47 ]'
else
    run env GNUPLOT=gnuplot-that-is-not-there "$plot" "$tmp/a.jsonl" "$tmp/curves.png"
    check "without gnuplot: exit 1, saying what to install" \
        '[ "$rc" -eq 1 ] && grep -q "install gnuplot" "$tmp/err" && [ ! -e "$tmp/curves.png" ]'
    echo "(gnuplot not installed: the plots themselves are not checked)"
fi

finish
