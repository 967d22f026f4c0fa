#!/bin/sh
# test_kind_tools.sh: the installed tools refuse a network kind they do not
# implement: a file and a pack of the testing kind (255, spec/inrf.md
# "Network kinds"), written by tests/test_kind (which registers it), make
# inrinfo, inrdec and inrpack fail with one line naming the file and the
# kind; run by `make check`.
#
# shellcheck disable=SC2016 # check conditions: single-quoted, run by eval

: "${top_srcdir:=.}"
: "${top_builddir:=.}"
inrinfo="$top_builddir/tools/inrinfo"
inrdec="$top_builddir/tools/inrdec"
inrpack="$top_builddir/tools/inrpack"
writer="$top_builddir/tests/test_kind"
. "$top_srcdir/tests/testlib.sh" test_kind_tools

"$writer" --write "$tmp/grid.inrf" "$tmp/grid.inrpack" 2>"$tmp/err" ||
    { fail "test_kind --write makes the files"; finish; exit 1; }

# one_line_error FILE: exit 1, one line on stderr, naming FILE and kind 255
one_line_error() {
    [ "$rc" -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -qF "$1" "$tmp/err" &&
        grep -q "network kind 255 unknown" "$tmp/err"
}

run "$inrinfo" "$tmp/grid.inrf"
check "inrinfo refuses kind 255 in one line naming the file and the kind" \
    'one_line_error "$tmp/grid.inrf" && [ ! -s "$tmp/out" ]'
run "$inrinfo" --json "$tmp/grid.inrf"
check "inrinfo --json: the file's object says why" \
    '[ "$rc" -eq 1 ] && grep -q "network kind 255 unknown" "$tmp/out"'
run "$inrdec" "$tmp/grid.inrf" -o "$tmp/grid.png"
check "inrdec refuses kind 255 and writes nothing" \
    'one_line_error "$tmp/grid.inrf" && [ ! -e "$tmp/grid.png" ]'
run "$inrpack" info "$tmp/grid.inrpack"
check "inrpack info refuses a pack of kind 255" '[ "$rc" -eq 1 ] &&
    grep -qF "$tmp/grid.inrpack" "$tmp/err" && grep -q "network kind 255 unknown" "$tmp/err"'

finish
