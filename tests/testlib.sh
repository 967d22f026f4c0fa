# testlib.sh: what the shell suites (test_tools.sh, test_inrpack.sh,
# test_inrtrain.sh) share: a temporary folder removed at exit, and the
# counting of checks. Sourced: . "$top_srcdir/tests/testlib.sh" NAME
#
# shellcheck shell=sh disable=SC2034 # rc and tmp are read by the suites

tmp=$(mktemp -d "${TMPDIR:-/tmp}/${1:-test}.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok: $1"; }
fail() {
    failed=$((failed + 1))
    echo "FAIL: $1"
    if [ -s "$tmp/err" ]; then
        sed 's/^/    stderr: /' "$tmp/err" | head -n 5
    fi
}
# check DESCRIPTION CONDITION: passes when the shell text CONDITION (run
# with eval, so it may hold && and ||) succeeds.
check() {
    if eval "$2"; then pass "$1"; else fail "$1"; fi
}

# run COMMAND...: standard output to $tmp/out, standard error to $tmp/err,
# exit status in $rc.
run() {
    "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
}

# wait_journal FILE [SECONDS]: until the journal FILE holds a finished
# image (at most SECONDS, default 15).
jsize() { if [ -f "$1" ]; then wc -c <"$1"; else echo 0; fi; }
wait_journal() {
    waited=0
    while [ "$(jsize "$1")" -lt 200 ] && [ $waited -lt $((${2:-15} * 20)) ]; do
        sleep 0.05
        waited=$((waited + 1))
    done
}

# inrpack_usage INRPACK [COMMAND ...]: exit 2, pointing at the command's
# own help (inrpack's suites).
inrpack_usage() {
    "$@" >/dev/null 2>"$tmp/err"
    [ $? -eq 2 ] || return 1
    case ${2-} in
    create | info | verify | extract | merge) grep -q "Try 'inrpack $2 --help'" "$tmp/err" ;;
    *) grep -q "Try 'inrpack --help'" "$tmp/err" ;;
    esac
}

# finish: the closing line and the suite's exit status.
finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}
