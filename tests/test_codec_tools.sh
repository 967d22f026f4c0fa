#!/bin/sh
# test_codec_tools.sh: inrenc and inrdec as users of other codecs expect
# them: outputs refused unless -f and checked before any work, many files
# with -d, PNM in and out (and hostile PNM refused), rate control with
# --bpp and --strict, --json arrays, the progress bar; run by `make check`.
# Encodes tiny images at --effort 1 to stay fast.
#
# Needs top_srcdir and top_builddir (set by the Makefile). python3, when
# present, parses the JSON; without it those checks look at the text.
#
# shellcheck disable=SC2016,SC2034 # check conditions: single-quoted, run by eval

: "${top_srcdir:=.}"
: "${top_builddir:=.}"
inrdec="$top_builddir/tools/inrdec"
inrenc="$top_builddir/tools/inrenc"
inrinfo="$top_builddir/tools/inrinfo"
golden="$top_srcdir/tests/golden"

for t in "$inrdec" "$inrenc" "$inrinfo"; do
    if [ ! -x "$t" ]; then
        echo "FAIL: $t is not built"
        exit 1
    fi
done

. "$top_srcdir/tests/testlib.sh" test_codec_tools

have_python=no
if command -v python3 >/dev/null 2>&1; then
    have_python=yes
fi

# Exactly one line on stderr, and it names $1.
one_line() {
    [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -F -q -- "$1" "$tmp/err"
}
sum() { cksum <"$1"; }
file_size() { wc -c <"$1" | tr -d ' '; }

# json_check FILE PYTHON-EXPRESSION [TEXT...]: the JSON in FILE, as v,
# satisfies the expression; without python3, FILE holds each TEXT.
json_check() {
    f=$1 expr=$2
    shift 2
    if [ "$have_python" = yes ]; then
        python3 -c '
import json, sys
v = json.load(open(sys.argv[1]))
sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)' "$f" "$expr"
    else
        for t in "$@"; do grep -F -q -- "$t" "$f" || return 1; done
    fi
}

# noise_ppm W H SEED: a binary PPM of pseudo-random pixels on stdout, which
# no small network reproduces well.
noise_ppm() {
    LC_ALL=C awk -v w="$1" -v h="$2" -v s="$3" 'BEGIN {
        printf "P6\n%d %d\n255\n", w, h
        for (y = 0; y < h; y++) for (x = 0; x < w; x++) for (c = 0; c < 3; c++) {
            s = (s * 1103515245 + 12345) % 2147483648
            printf "%c", int((x * 7 + y * 3 + c * 50) % 256 / 2 + s % 128)
        }
    }'
}

enc="--effort 1 --threads 1"
src="$tmp/src"
mkdir "$src"
# Sources: three small images decoded from the golden files, one grey.
"$inrdec" --size 32x32 "$golden/cifar.inrf" -o "$src/a.png" 2>"$tmp/err" &&
    "$inrdec" --size 24x20 "$golden/imagenet.inrf" -o "$src/b.png" 2>>"$tmp/err" &&
    "$inrdec" --size 20x20 "$golden/grey.inrf" -o "$src/c.png" 2>>"$tmp/err" ||
    fail "making the source images"

# ----------------------------------------------------------- overwrites
w="$tmp/ow"
mkdir "$w"
# shellcheck disable=SC2086
"$inrenc" -q $enc "$src/a.png" "$w/a.inrf" 2>"$tmp/err" || fail "first encode"
echo old >"$w/old.inrf"
before=$(sum "$w/old.inrf")
# shellcheck disable=SC2086
run "$inrenc" $enc "$src/a.png" "$w/old.inrf"
check "inrenc onto an existing file: exit 1, one line naming it and -f, untouched" \
    '[ "$rc" -eq 1 ] && one_line "$w/old.inrf" && grep -q "(-f overwrites it)" "$tmp/err" &&
     [ "$(sum "$w/old.inrf")" = "$before" ]'
# shellcheck disable=SC2086
run "$inrenc" -q -f $enc "$src/a.png" "$w/old.inrf"
check "inrenc -f replaces it" '[ "$rc" -eq 0 ] && cmp -s "$w/old.inrf" "$w/a.inrf"'
# shellcheck disable=SC2086
run "$inrenc" -q --force $enc "$src/a.png" -o "$w/old.inrf"
check "inrenc --force -o replaces it" '[ "$rc" -eq 0 ] && cmp -s "$w/old.inrf" "$w/a.inrf"'
cp "$src/a.png" "$w/in.png"
before=$(sum "$w/in.png")
# shellcheck disable=SC2086
run "$inrenc" -f $enc "$w/in.png" "$w/in.png"
check "inrenc -f IN IN: refused, the input untouched" \
    '[ "$rc" -eq 1 ] && one_line "$w/in.png" && [ "$(sum "$w/in.png")" = "$before" ]'
# an image named q.inrf: -d makes q.inrf of it, the input itself
cp "$src/a.png" "$w/q.inrf"
before=$(sum "$w/q.inrf")
# shellcheck disable=SC2086
run "$inrenc" -f $enc "$src/b.png" "$w/q.inrf" -d "$w"
check "inrenc -f -d onto an input: refused before any encoding, nothing written" \
    '[ "$rc" -eq 1 ] && one_line "$w/q.inrf" && [ "$(sum "$w/q.inrf")" = "$before" ] &&
     [ ! -e "$w/b.inrf" ]' 
echo old >"$w/old.png"
before=$(sum "$w/old.png")
run "$inrdec" "$w/a.inrf" "$w/old.png"
check "inrdec onto an existing file: exit 1, one line naming it, untouched" \
    '[ "$rc" -eq 1 ] && one_line "$w/old.png" && [ "$(sum "$w/old.png")" = "$before" ]'
run "$inrdec" -f "$w/a.inrf" "$w/old.png"
check "inrdec -f replaces it" '[ "$rc" -eq 0 ] && [ "$(sum "$w/old.png")" != "$before" ]'

# Cheap checks before the expensive work: 20,000 steps would take many
# seconds; the refusal comes at once.
start=$(date +%s)
run timeout 20 "$inrenc" --steps 20000 "$src/a.png" "$src/b.png" -d "$w/missing/"
check "inrenc -d a missing folder: exit 1, one line naming it, before encoding" \
    '[ "$rc" -eq 1 ] && one_line "$w/missing/" && grep -q "No such file or directory" "$tmp/err" &&
     [ $(($(date +%s) - start)) -lt 5 ] && [ ! -e "$w/missing" ]'
run timeout 20 "$inrenc" --steps 20000 "$src/a.png" -d "$w/a.inrf/"
check "inrenc -d a file: exit 1, 'Not a directory' naming it, before encoding" \
    '[ "$rc" -eq 1 ] && one_line "$w/a.inrf/" && grep -q "Not a directory" "$tmp/err"'
start=$(date +%s)
run timeout 20 "$inrenc" --steps 20000 "$src/a.png" -o "$w/missing/x.inrf"
check "inrenc -o into a missing folder: one line, before encoding" \
    '[ "$rc" -eq 1 ] && one_line "$w/missing/x.inrf" && [ $(($(date +%s) - start)) -lt 5 ]'
run "$inrdec" "$w/a.inrf" -d "$w/missing"
check "inrdec -d a missing folder: exit 1, one line naming it" \
    '[ "$rc" -eq 1 ] && one_line "$w/missing" && [ ! -e "$w/missing" ]'

# ---------------------------------------------------------------- batches
w="$tmp/batch"
mkdir "$w" "$w/out" "$w/one"
cp "$src/a.png" "$src/b.png" "$w/"
# shellcheck disable=SC2086
run "$inrenc" --effort 1 "$w/a.png" "$w/b.png" "$src/c.png" -d "$w/out/" --threads 2
check "inrenc A B C -d DIR: exit 0, DIR/A.inrf DIR/B.inrf DIR/C.inrf" \
    '[ "$rc" -eq 0 ] && "$inrinfo" -q "$w/out/a.inrf" && "$inrinfo" -q "$w/out/b.inrf" &&
     "$inrinfo" -q "$w/out/c.inrf" && [ "$(ls "$w/out" | wc -l)" -eq 3 ]'
# shellcheck disable=SC2086
"$inrenc" -q $enc "$w/b.png" "$w/one/b.inrf" 2>"$tmp/err"
check "a file of a batch has the bytes of --threads 1 alone" 'cmp -s "$w/out/b.inrf" "$w/one/b.inrf"'
# shellcheck disable=SC2086
run "$inrenc" --effort 1 "$w/a.png" "$w/a.png" -d "$w/one"
check "inrenc: two inputs onto one output: exit 2, nothing written" \
    '[ "$rc" -eq 2 ] && [ ! -e "$w/one/a.inrf" ]'
head -c "$(($(file_size "$w/a.png") / 2))" "$w/a.png" >"$w/cut.png"
mkdir "$w/out2"
run "$inrenc" --effort 1 "$w/a.png" "$w/cut.png" "$w/none.png" "$w/b.png" -d "$w/out2"
check "inrenc -d with a cut and a missing file: the others written, one line each, exit 1" \
    '[ "$rc" -eq 1 ] && [ -s "$w/out2/a.inrf" ] && [ -s "$w/out2/b.inrf" ] &&
     [ ! -e "$w/out2/cut.inrf" ] && [ ! -e "$w/out2/none.inrf" ] &&
     [ "$(grep -c "cut.png" "$tmp/err")" -eq 1 ] && [ "$(grep -c "none.png" "$tmp/err")" -eq 1 ]'
run "$inrenc" a b c
check "inrenc with three files and no -d: exit 2" '[ "$rc" -eq 2 ]'
mkdir "$w/dec"
run "$inrdec" "$w/out/a.inrf" "$w/out/b.inrf" -d "$w/dec"
check "inrdec A B -d DIR: DIR/A.png DIR/B.png at the source size" \
    '[ "$rc" -eq 0 ] && [ -s "$w/dec/a.png" ] && [ -s "$w/dec/b.png" ] &&
     [ "$(od -An -tx1 -N4 "$w/dec/a.png" | tr -d " ")" = 89504e47 ]'
run "$inrdec" "$w/out/a.inrf" "$w/dec/a2.png"
check "inrdec IN OUT (positional output) writes what -o writes" \
    '[ "$rc" -eq 0 ] && cmp -s "$w/dec/a.png" "$w/dec/a2.png"'
run "$inrdec" --format jpeg "$w/out/a.inrf" "$w/missing.inrf" -d "$w/dec"
check "inrdec -d --format jpeg, one input missing: DIR/A.jpg, one line, exit 1" \
    '[ "$rc" -eq 1 ] && [ -s "$w/dec/a.jpg" ] && [ "$(grep -c "missing.inrf" "$tmp/err")" -eq 1 ]'

# Ctrl-C in a batch: exit 1, "interrupted", no partial or temporary file
# (a file finished before the signal stays, whole: a small image may).
mkdir "$w/sig"
"$inrenc" --steps 20000 "$w/a.png" "$w/b.png" -d "$w/sig" 2>"$tmp/err" &
pid=$!
sleep 1
kill -s INT "$pid" 2>/dev/null
wait "$pid"
rc=$?
sig_left_whole() {
    for f in "$w/sig"/* "$w/sig"/.*; do
        case $f in */. | */.. | *'/*' | *'/.*') continue ;; esac
        case $f in *.inrf) "$inrinfo" -q "$f" || return 1 ;; *) return 1 ;; esac
    done
}
check "inrenc -d stopped by SIGINT: exit 1, 'interrupted', only whole files in DIR" \
    '[ "$rc" -eq 1 ] && grep -q "^inrenc: interrupted$" "$tmp/err" && sig_left_whole'

# -------------------------------------------------------------------- PNM
w="$tmp/pnm"
mkdir "$w"
"$inrdec" "$golden/cifar.inrf" --size 32x32 -o "$w/a.ppm" 2>"$tmp/err"
check "inrdec -o X.ppm writes a binary PPM (P6, maxval 255)" \
    '[ "$(head -c 13 "$w/a.ppm" | od -An -c | tr -d " \n")" = "P6\\n3232\\n255\\n" ] &&
     [ "$(file_size "$w/a.ppm")" -eq $((13 + 32 * 32 * 3)) ]'
"$inrdec" "$golden/grey.inrf" --size 20x20 -o "$w/c.pgm" 2>"$tmp/err"
check "inrdec -o X.pgm of a grey image writes P5" '[ "$(head -c 2 "$w/c.pgm")" = P5 ]'
sig=$("$inrdec" "$golden/cifar.inrf" --size 8 --format ppm -o - 2>"$tmp/err" | head -c 2)
check "inrdec --format ppm -o - writes PPM to standard output" '[ "$sig" = P6 ]'
# shellcheck disable=SC2086
run "$inrenc" -q $enc "$w/a.ppm" "$w/from-ppm.inrf"
# shellcheck disable=SC2086
"$inrenc" -q $enc "$src/a.png" "$w/from-png.inrf" 2>/dev/null
check "inrenc X.ppm: the bytes of the same pixels as PNG" \
    '[ "$rc" -eq 0 ] && cmp -s "$w/from-ppm.inrf" "$w/from-png.inrf"'
# shellcheck disable=SC2086
run sh -c 'cat "$1" | "$2" -q $3 - "$4"' sh "$w/a.ppm" "$inrenc" "$enc" "$w/piped.inrf"
check "inrenc - reads PPM from a pipe (found by its magic)" \
    '[ "$rc" -eq 0 ] && cmp -s "$w/piped.inrf" "$w/from-png.inrf"'
# shellcheck disable=SC2086
run "$inrenc" -q $enc "$w/c.pgm" "$w/grey.inrf"
check "inrenc X.pgm: a grey .inrf" \
    '[ "$rc" -eq 0 ] && "$inrinfo" "$w/grey.inrf" | grep -q "1 channel (grey)"'
# 16-bit samples (maxval 65535) are scaled to 8 bits
printf 'P5\n2 2\n65535\n\377\377\200\000\000\000\100\000' >"$w/deep.pgm"
# shellcheck disable=SC2086
run "$inrenc" -q $enc "$w/deep.pgm" "$w/deep.inrf"
check "inrenc reads a 16-bit PGM" '[ "$rc" -eq 0 ] && "$inrinfo" -q "$w/deep.inrf"'

# Hostile PNM: one line naming the file and the field, exit 1, no output.
printf 'P3\n2 2\n255\n0 0 0 0 0 0 0 0 0 0 0 0\n' >"$w/plain.ppm"
printf 'P6\n99999999 99999999\n255\n' >"$w/huge.ppm"
printf 'P6\n4294967296 1\n255\n' >"$w/wide.ppm"
printf 'P6\n4 4\n255\nabc' >"$w/cut.ppm"
printf 'P6\n4 4\n0\n' >"$w/maxval0.ppm"
printf 'P6\n4 4\n70000\n' >"$w/maxval70000.ppm"
printf 'P5\n2 1\n100\n\145\000' >"$w/above.pgm"
printf 'P6\n4 4' >"$w/header.ppm"
printf 'P6\n4x 4\n255\n' >"$w/notnum.ppm"
for spec in plain.ppm:"PNM: P3" huge.ppm:max_pixels wide.ppm:"PNM: width" cut.ppm:"cut short" \
    maxval0.ppm:"PNM: maxval" maxval70000.ppm:"PNM: maxval" above.pgm:"exceeds maxval" \
    header.ppm:"cut short" notnum.ppm:"PNM: width"; do
    f=${spec%%:*}
    what=${spec#*:}
    # shellcheck disable=SC2086
    run timeout 10 "$inrenc" $enc "$w/$f" "$w/bad.inrf"
    check "inrenc $f: exit 1, one line naming it and '$what', nothing written" \
        '[ "$rc" -eq 1 ] && one_line "$w/$f" && grep -q "$what" "$tmp/err" && [ ! -e "$w/bad.inrf" ]'
done

# ---------------------------------------------------------- rate control
w="$tmp/rate"
mkdir "$w"
noise_ppm 32 32 7 >"$w/noise.ppm"
# shellcheck disable=SC2086
run "$inrenc" -q $enc --bpp 7 "$src/a.png" "$w/bpp.inrf"
check "inrenc --bpp 7 on 32x32: at most 896 bytes" \
    '[ "$rc" -eq 0 ] && [ "$(file_size "$w/bpp.inrf")" -le 896 ]'
# shellcheck disable=SC2086
run "$inrenc" $enc --bpp 0.5 "$src/a.png" "$w/tiny.inrf"
check "inrenc --bpp 0.5: impossible, exit 1, one line, no file" \
    '[ "$rc" -eq 1 ] && one_line "a.png" && [ ! -e "$w/tiny.inrf" ]'
check "inrenc --bpp 0: exit 2" \
    '"$inrenc" --bpp 0 "$src/a.png" "$w/z.inrf" 2>/dev/null; [ $? -eq 2 ]'
# shellcheck disable=SC2086
run "$inrenc" $enc --target-psnr 60 --json "$w/noise.ppm" "$w/t.inrf"
check "inrenc --target-psnr not reached: written, exit 0, one warning line with the PSNR" \
    '[ "$rc" -eq 0 ] && [ -s "$w/t.inrf" ] &&
     [ "$(grep -c "target-psnr 60.00 dB not reached (PSNR [0-9.]* dB)" "$tmp/err")" -eq 1 ]'
check "inrenc --json: target_reached false" \
    'json_check "$tmp/out" "v[0][\"target_reached\"] is False and v[0][\"target_psnr\"] == 60" \
        "\"target_reached\": false"'
# shellcheck disable=SC2086
run "$inrenc" $enc --target-psnr 60 --strict "$w/noise.ppm" "$w/strict.inrf"
check "inrenc --strict, target not reached: exit 1, one line, nothing written" \
    '[ "$rc" -eq 1 ] && one_line "noise.ppm" && grep -q "not reached" "$tmp/err" &&
     [ ! -e "$w/strict.inrf" ]'
# shellcheck disable=SC2086
run "$inrenc" -q $enc --target-psnr 10 --strict "$w/noise.ppm" "$w/easy.inrf"
check "inrenc --strict, target reached: exit 0" '[ "$rc" -eq 0 ] && [ -s "$w/easy.inrf" ]'
check "inrenc --strict without --target-psnr: exit 2" \
    '"$inrenc" --strict "$src/a.png" "$w/z.inrf" 2>/dev/null; [ $? -eq 2 ]'

# ------------------------------------------------------------------- JSON
w="$tmp/js"
mkdir "$w"
# shellcheck disable=SC2086
run "$inrenc" -q $enc --json "$src/a.png" "$w/a.inrf"
check "inrenc --json: an array of one object with the common keys" \
    'json_check "$tmp/out" "len(v) == 1 and all(k in v[0] for k in (\"path\", \"output\",
        \"width\", \"height\", \"channels\", \"layers\", \"widths\", \"bytes\",
        \"bits_per_pixel\", \"psnr\", \"seconds\")) and v[0][\"bytes\"] == $(file_size "$w/a.inrf")
        and len(v[0][\"widths\"]) == v[0][\"layers\"]" "\"path\": " "\"widths\": ["'
# shellcheck disable=SC2086
"$inrenc" -q $enc --json "$src/a.png" - >"$w/stdout.inrf" 2>"$tmp/json"
check "inrenc --json with OUT -: JSON on standard error" \
    'json_check "$tmp/json" "v[0][\"output\"] == \"-\"" "\"output\": \"-\""'
run "$inrenc" -q --effort 1 --json "$src/b.png" "$src/none.png" -d "$w"
check "inrenc --json -d with a missing file: two objects, the second with error" \
    '[ "$rc" -eq 1 ] && json_check "$tmp/out" "len(v) == 2 and \"error\" not in v[0] and
        \"none.png\" in v[1][\"error\"]" "\"error\": "'
run "$inrdec" --json "$w/a.inrf" "$w/b.inrf" -d "$w"
check "inrdec --json -d: two objects with path, output, width, layers, psnr" \
    '[ "$rc" -eq 0 ] && json_check "$tmp/out" "len(v) == 2 and v[1][\"output\"].endswith(\"b.png\")
        and all(k in o for o in v for k in (\"path\", \"width\", \"layers\", \"widths\", \"bytes\",
        \"psnr\", \"seconds\"))" "\"output\": "'
"$inrdec" --json "$w/a.inrf" -o - >/dev/null 2>"$tmp/json"
check "inrdec --json -o -: JSON on standard error" \
    'json_check "$tmp/json" "v[0][\"output\"] == \"-\"" "\"output\": \"-\""'

# --------------------------------------------------------------- progress
# A terminal is needed: script(1) gives one, where it runs.
if script -qc true /dev/null >/dev/null 2>&1; then
    # shellcheck disable=SC2086
    # stage 1 only, long enough to be drawn on a busy machine
    script -qc "\"$inrenc\" --no-prune --steps 20000 \"$src/a.png\" \"$tmp/p.inrf\"" /dev/null \
        >"$tmp/tty" 2>&1 </dev/null
    check "inrenc on a terminal: a progress bar with the stage" \
        'tr "\r" "\n" <"$tmp/tty" | grep -q "^\[[#.]*\] stage 1, step [0-9]*/"'
    script -qc "\"$inrenc\" -q --effort 1 --steps 3000 \"$src/a.png\" \"$tmp/p2.inrf\"" /dev/null \
        >"$tmp/tty" 2>&1 </dev/null
    check "inrenc -q on a terminal: no progress" '! grep -q "\[" "$tmp/tty"'
else
    echo "skip: no script(1) for a terminal"
fi
# shellcheck disable=SC2086
run "$inrenc" $enc --steps 500 "$src/a.png" "$tmp/np.inrf"
check "inrenc without a terminal: no progress line, no carriage return" \
    '[ "$rc" -eq 0 ] && ! grep -q "$(printf "\r")" "$tmp/err"'

# ------------------------------------------------------------------- help
run "$inrenc" --help
check "inrenc --help: the --batch default the code has (all up to 16384 pixels, else 4096)" \
    '[ "$rc" -eq 0 ] && grep -A1 -e "--batch N" "$tmp/out" | grep -q "16384" &&
     grep -A1 -e "--batch N" "$tmp/out" | grep -q "4096"'

finish
