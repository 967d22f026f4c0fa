#!/bin/sh
# test_tools.sh: end-to-end checks of inrinfo and inrdec on the golden files
# (sizes, crops, errors, exit statuses) and of inrenc on images decoded from
# them (round trips, determinism, rate control, errors, signals); run by
# `make check`.
#
# Needs top_srcdir and top_builddir (set by the Makefile). Exits 77 (skipped)
# when there are no golden files. python3, when present, parses the JSON
# and decodes PNG pixels; without it those checks fall back or are skipped.
#
# shellcheck disable=SC2016,SC2034 # check conditions: single-quoted, run by eval

: "${top_srcdir:=.}"
: "${top_builddir:=.}"
inrinfo="$top_builddir/tools/inrinfo"
inrdec="$top_builddir/tools/inrdec"
inrenc="$top_builddir/tools/inrenc"
golden_dir="$top_srcdir/tests/golden"

if ! ls "$golden_dir"/*.inrf >/dev/null 2>&1; then
    echo "SKIP: no golden files in $golden_dir"
    exit 77
fi
for t in "$inrinfo" "$inrdec" "$inrenc"; do
    if [ ! -x "$t" ]; then
        echo "FAIL: $t is not built"
        exit 1
    fi
done

. "$top_srcdir/tests/testlib.sh" test_tools

have_python=no
if command -v python3 >/dev/null 2>&1; then
    have_python=yes
fi


# Exactly one line on stderr, and it names $1.
one_line_naming() {
    [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -F -q -- "$1" "$tmp/err"
}

# png_size FILE: prints WIDTHxHEIGHT from the IHDR chunk (bytes 16..23,
# big-endian), or fails if FILE does not start like a PNG.
png_size() {
    sig=$(od -An -tx1 -N8 "$1" | tr -d ' \n')
    [ "$sig" = 89504e470d0a1a0a ] || return 1
    # shellcheck disable=SC2046
    set -- $(od -An -tu1 -j16 -N8 "$1")
    [ $# -eq 8 ] || return 1
    echo "$(($1 * 16777216 + $2 * 65536 + $3 * 256 + $4))x$(($5 * 16777216 + $6 * 65536 + $7 * 256 + $8))"
}

# expect_png FILE WxH
expect_png() {
    got=$(png_size "$1") || return 1
    [ "$got" = "$2" ] || { echo "    $1 is $got, expected $2"; return 1; }
}

# flip_byte FILE OFFSET: inverts every bit of one byte in place.
flip_byte() {
    b=$(od -An -tu1 -j"$2" -N1 "$1" | tr -d ' \n')
    # shellcheck disable=SC2059 # the format is the octal escape itself
    printf "\\$(printf %03o $((b ^ 255)))" |
        dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

file_size() { wc -c <"$1" | tr -d ' '; }

# shorter_side N: the size --size N gives for the input: the shorter side
# N, the other rounded to nearest (halves up).
shorter_side() {
    if [ "$width" -le "$height" ]; then
        echo "$1x$(((2 * height * $1 + width) / (2 * width)))"
    else
        echo "$(((2 * width * $1 + height) / (2 * height)))x$1"
    fi
}

# json_objects FILE object|N: FILE is one JSON object, or an array of N
# objects. Without python3, a rough look at the shape.
json_objects() {
    if [ "$have_python" = yes ]; then
        python3 -c '
import json, sys
v = json.load(open(sys.argv[1]))
if sys.argv[2] == "object":
    ok = isinstance(v, dict)
else:
    ok = isinstance(v, list) and len(v) == int(sys.argv[2]) and all(isinstance(o, dict) for o in v)
sys.exit(0 if ok else 1)' "$1" "$2"
    elif [ "$2" = object ]; then
        [ "$(head -c 1 "$1")" = "{" ] && [ "$(tail -n 1 "$1")" = "}" ]
    else
        [ "$(head -n 1 "$1")" = "[" ] && [ "$(tail -n 1 "$1")" = "]" ] &&
            [ "$(grep -c '^  {' "$1")" -eq "$2" ]
    fi
}

# A PNG reader (8-bit, not interlaced) to compare pixels without any
# imaging library: png.py FULL CROP X Y checks that CROP equals the region
# of FULL at X,Y.
cat >"$tmp/png.py" <<'EOF'
import struct, sys, zlib

def load(path):
    d = open(path, 'rb').read()
    assert d[:8] == b'\x89PNG\r\n\x1a\n'
    pos, idat = 8, b''
    while pos < len(d):
        n, t = struct.unpack('>I4s', d[pos:pos + 8])
        body = d[pos + 8:pos + 8 + n]
        pos += 12 + n
        if t == b'IHDR':
            w, h, depth, ctype, _, _, interlace = struct.unpack('>IIBBBBB', body)
        elif t == b'IDAT':
            idat += body
        elif t == b'IEND':
            break
    assert depth == 8 and interlace == 0
    ch = {0: 1, 2: 3, 4: 2, 6: 4}[ctype]
    raw, stride = zlib.decompress(idat), w * ch
    rows, prev, i = [], bytearray(stride), 0
    for _ in range(h):
        f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - ch] if x >= ch else 0
            b = prev[x]
            c = prev[x - ch] if x >= ch else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[x] = (line[x] + pr) & 255
        rows.append(line)
        prev = line
    return w, h, ch, rows

fw, fh, fch, full = load(sys.argv[1])
cw, chh, cch, crop = load(sys.argv[2])
x0, y0 = int(sys.argv[3]), int(sys.argv[4])
if fch != cch or x0 + cw > fw or y0 + chh > fh:
    print('    crop and full decode do not match in shape')
    sys.exit(1)
diff = 0
for y in range(chh):
    a = full[y0 + y][x0 * fch:(x0 + cw) * fch]
    diff = max([diff] + [abs(p - q) for p, q in zip(a, crop[y])])
if diff:
    print('    the crop differs from the full decode by up to %d' % diff)
sys.exit(1 if diff else 0)
EOF

# --------------------------------------------------------------- the input
# The smallest golden file that inrinfo accepts keeps the test fast.
input=
input_size=
for f in "$golden_dir"/*.inrf; do
    n=$(file_size "$f")
    if { [ -z "$input" ] || [ "$n" -lt "$input_size" ]; } &&
        "$inrinfo" -q "$f" 2>/dev/null; then
        input=$f
        input_size=$n
    fi
done
if [ -z "$input" ]; then
    echo "FAIL: inrinfo accepts none of $golden_dir/*.inrf"
    echo "0 passed, 1 failed"
    exit 1
fi
cp "$input" "$tmp/in.inrf"
in="$tmp/in.inrf"
: >"$tmp/err"
echo "input: $input"

# ----------------------------------------------------------------- inrinfo
run "$inrinfo" "$in"
check "inrinfo exits 0" '[ "$rc" -eq 0 ]'
check "inrinfo prints nothing on stderr" '[ ! -s "$tmp/err" ]'
cp "$tmp/out" "$tmp/info.txt"

run "$inrinfo" --json "$in"
check "inrinfo --json exits 0" '[ "$rc" -eq 0 ]'
cp "$tmp/out" "$tmp/info.json"
width=$(sed -n 's/^ *"width": *\([0-9][0-9]*\),*$/\1/p' "$tmp/info.json" | head -n 1)
height=$(sed -n 's/^ *"height": *\([0-9][0-9]*\),*$/\1/p' "$tmp/info.json" | head -n 1)
if [ -n "$width" ] && [ -n "$height" ]; then
    pass "inrinfo --json gives width $width and height $height"
else
    fail "inrinfo --json gives width and height"
    width=1
    height=1
fi
check "inrinfo prints the dimensions" 'grep -q "$width x $height" "$tmp/info.txt"'
check "inrinfo --json of one file: an array of one object" 'json_objects "$tmp/info.json" 1'

run "$inrinfo" --json "$in" "$in"
check "inrinfo --json with two files is an array of two" 'json_objects "$tmp/out" 2'
if [ "$have_python" = yes ]; then
    check "inrinfo --json: the keys of inrf-json(7) (path, kind, layers, widths, layer_table)" \
        'python3 -c "import json, sys; o = json.load(open(sys.argv[1]))[0]; sys.exit(not (o[\"path\"] == sys.argv[2] and o[\"kind\"] == \"siren\" and o[\"layers\"] == len(o[\"widths\"]) and len(o[\"layer_table\"]) == o[\"layers\"] + 1 and \"file\" not in o and \"network\" not in o))" "$tmp/info.json" "$in"'
fi

run "$inrinfo" - <"$in"
check "inrinfo - reads standard input" '[ "$rc" -eq 0 ] && grep -q "$width x $height" "$tmp/out"'

run "$inrinfo" -q "$in"
check "inrinfo -q prints nothing and exits 0" '[ "$rc" -eq 0 ] && [ ! -s "$tmp/out" ]'

# Every golden file is reported, valid or not, without a crash.
for f in "$golden_dir"/*.inrf; do
    run "$inrinfo" "$f"
    check "inrinfo $(basename "$f") (exit $rc)" \
        '[ "$rc" -eq 0 ] || { [ "$rc" -eq 1 ] && one_line_naming "$f"; }'
done

# The per-layer record sizes inrinfo computes add up to the WGHT payload.
layer_bytes_add_up() {
    python3 -c '
import json, sys
v = json.load(open(sys.argv[1]))[0]
total = sum(l["bytes"] for l in v["layer_table"])
if total != v["wght"]["raw_bytes"]:
    print("    layers %d bytes, WGHT %d" % (total, v["wght"]["raw_bytes"]))
    sys.exit(1)' "$1"
}
if [ "$have_python" = yes ]; then
    for f in "$golden_dir"/*.inrf; do
        if "$inrinfo" --json "$f" >"$tmp/layers.json" 2>/dev/null; then
            check "inrinfo $(basename "$f"): layer bytes add up to the WGHT payload" \
                'layer_bytes_add_up "$tmp/layers.json"'
        fi
    done
fi

# ------------------------------------------------------------ inrdec sizes
# dims FILE: sets width and height from inrinfo --json.
dims() {
    "$inrinfo" --json "$1" >"$tmp/dims.json" 2>/dev/null || return 1
    width=$(sed -n 's/^ *"width": *\([0-9][0-9]*\),*$/\1/p' "$tmp/dims.json")
    height=$(sed -n 's/^ *"height": *\([0-9][0-9]*\),*$/\1/p' "$tmp/dims.json")
    [ -n "$width" ] && [ -n "$height" ]
}

# crop_check NAME FILE FULLSIZE X,Y,W,H: the crop has W x H pixels equal to
# the same region of the full decode at FULLSIZE.
crop_check() {
    name=$1 f=$2 full=$3 rect=$4
    cx=${rect%%,*} rest=${rect#*,}
    cy=${rest%%,*} rest=${rest#*,}
    cw=${rest%%,*} chh=${rest#*,}
    run "$inrdec" -f "$f" --size "$full" -o "$tmp/full.png"
    check "$name: inrdec --size $full" '[ "$rc" -eq 0 ] && expect_png "$tmp/full.png" "$full"'
    run "$inrdec" -f "$f" --size "$full" --crop "$rect" -o "$tmp/crop.png"
    check "$name: inrdec --size $full --crop $rect gives ${cw}x$chh" \
        '[ "$rc" -eq 0 ] && expect_png "$tmp/crop.png" "${cw}x$chh"'
    if [ "$have_python" = yes ]; then
        check "$name: the crop $rect equals that region of the full decode" \
            'python3 "$tmp/png.py" "$tmp/full.png" "$tmp/crop.png" "$cx" "$cy"'
    else
        echo "skip: $name: crop pixel comparison (no python3)"
    fi
}

# size_checks FILE: every way of choosing the output size.
size_checks() {
    f=$1
    name=$(basename "$f" .inrf)
    if ! dims "$f"; then
        fail "$name: inrinfo --json gives the dimensions"
        return
    fi
    for n in 64 16 1; do
        exp=$(shorter_side "$n")
        run "$inrdec" -f "$f" --size "$n" -o "$tmp/s.png"
        check "$name (${width}x$height): inrdec --size $n gives $exp" \
            '[ "$rc" -eq 0 ] && expect_png "$tmp/s.png" "$exp"'
    done
    run "$inrdec" -f "$f" --size 40x30 -o "$tmp/s.png"
    check "$name: inrdec --size 40x30 gives 40x30" \
        '[ "$rc" -eq 0 ] && expect_png "$tmp/s.png" 40x30'
    exp="$((2 * width))x$((2 * height))"
    run "$inrdec" -f "$f" --scale 2 -o "$tmp/s.png"
    check "$name: inrdec --scale 2 gives $exp" '[ "$rc" -eq 0 ] && expect_png "$tmp/s.png" "$exp"'
    exp="$(((3 * width + 1) / 2))x$(((3 * height + 1) / 2))"
    run "$inrdec" -f "$f" --scale 1.5 -o "$tmp/s.png"
    check "$name: inrdec --scale 1.5 gives $exp" '[ "$rc" -eq 0 ] && expect_png "$tmp/s.png" "$exp"'
    run "$inrdec" -f "$f" --scale 0.001 -o "$tmp/s.png"
    check "$name: inrdec --scale 0.001 gives 1x1" '[ "$rc" -eq 0 ] && expect_png "$tmp/s.png" 1x1'
    run "$inrdec" -f "$f" -o "$tmp/s.png"
    check "$name: inrdec without a size gives ${width}x$height" \
        '[ "$rc" -eq 0 ] && expect_png "$tmp/s.png" "${width}x$height"'
    crop_check "$name" "$f" 64x64 16,16,32,32
    crop_check "$name" "$f" 50x30 7,3,20,11
    crop_check "$name" "$f" 50x30 0,0,50,30
}

for f in "$golden_dir"/*.inrf; do
    if "$inrinfo" -q "$f"; then
        size_checks "$f"
    fi
done
# Back to the test input.
dims "$in" || fail "inrinfo --json gives the dimensions"

run "$inrdec" "$in" --size 40x30 -o "$tmp/out.jpg"
check "inrdec -o .jpg writes JPEG" \
    '[ "$rc" -eq 0 ] && [ "$(od -An -tx1 -N3 "$tmp/out.jpg" | tr -d " \n")" = ffd8ff ]'

sig=$("$inrdec" "$in" --size 16 -o - 2>"$tmp/err" | head -c 8 | od -An -tx1 | tr -d ' \n')
check "inrdec -o - writes PNG to a pipe" '[ "$sig" = 89504e470d0a1a0a ]'

run "$inrdec" - --size 16 -o "$tmp/stdin.png" <"$in"
check "inrdec - reads standard input" \
    '[ "$rc" -eq 0 ] && expect_png "$tmp/stdin.png" "$(shorter_side 16)"'

run "$inrdec" "$in" --size 16 -v -o "$tmp/v.png"
check "inrdec -v reports speed on stderr" '[ "$rc" -eq 0 ] && grep -q "Mpixels/s" "$tmp/err"'
# --device cuda: the GPU's pixels are the CPU's, or (no GPU, no CUDA build)
# a one-line error naming CUDA and no file
"$inrdec" -f "$input" --size 37 -o "$tmp/cpu.png" 2>/dev/null
run "$inrdec" -f "$input" --size 37 --device cuda -o "$tmp/gpu.png"
check "inrdec --device cuda equals the CPU decode, or fails clearly" \
    '{ [ "$rc" -eq 0 ] && cmp -s "$tmp/cpu.png" "$tmp/gpu.png"; } ||
     { [ "$rc" -eq 1 ] && grep -q "CUDA" "$tmp/err" && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
       [ ! -e "$tmp/gpu.png" ]; }'
run "$inrdec" -f "$input" --device cuda --crop 0,0,2,2 -o "$tmp/gpu.png"
check "inrdec --device cuda --crop: exit 2" '[ "$rc" -eq 2 ] && grep -q "CPU only" "$tmp/err"'

run "$inrdec" --version
check "inrdec --version" '[ "$rc" -eq 0 ] && grep -q "^inrdec (inrf) " "$tmp/out"'
run "$inrinfo" --version
check "inrinfo --version" '[ "$rc" -eq 0 ] && grep -q "^inrinfo (inrf) " "$tmp/out"'
run "$inrdec" --help
check "inrdec --help" '[ "$rc" -eq 0 ] && grep -q "^Usage: inrdec" "$tmp/out"'
run "$inrinfo" --help
check "inrinfo --help" '[ "$rc" -eq 0 ] && grep -q "^Usage: inrinfo" "$tmp/out"'

# ------------------------------------------------------------ usage errors
# usage_error TOOL ARGS...: exit 2 and the hint.
usage_error() {
    tool=$(basename "$1")
    run "$@"
    [ "$rc" -eq 2 ] && grep -q "Try '$tool --help'" "$tmp/err"
}
x="$tmp/x.png"
check "inrdec bad option: exit 2" 'usage_error "$inrdec" --bogus "$in" -o "$x"'
check "inrdec bad short option: exit 2" 'usage_error "$inrdec" -Z "$in" -o "$x"'
check "inrinfo bad option: exit 2" 'usage_error "$inrinfo" --bogus "$in"'
check "inrinfo without a file: exit 2" 'usage_error "$inrinfo"'
check "inrdec without -o: exit 2" 'usage_error "$inrdec" "$in"'
check "inrdec -o without argument: exit 2" 'usage_error "$inrdec" "$in" -o'
check "inrdec --size 0: exit 2" 'usage_error "$inrdec" "$in" --size 0 -o "$x"'
check "inrdec --size 12y3: exit 2" 'usage_error "$inrdec" "$in" --size 12y3 -o "$x"'
check "inrdec --size and --scale: exit 2" 'usage_error "$inrdec" "$in" --size 8 --scale 2 -o "$x"'
check "inrdec --scale -1: exit 2" 'usage_error "$inrdec" "$in" --scale -1 -o "$x"'
check "inrdec --quality 101: exit 2" 'usage_error "$inrdec" "$in" --quality 101 -o "$tmp/x.jpg"'
check "inrdec --format gif: exit 2" 'usage_error "$inrdec" "$in" --format gif -o "$x"'
check "inrdec unknown extension: exit 2" 'usage_error "$inrdec" "$in" -o "$tmp/x.bmp"'
check "inrdec --crop outside the image: exit 2" \
    'usage_error "$inrdec" "$in" --size 64x64 --crop 40,40,32,32 -o "$x"'
check "inrdec two inputs: exit 2" 'usage_error "$inrdec" "$in" "$in" -o "$x"'
check "usage errors leave no output file" \
    '[ ! -e "$x" ] && [ ! -e "$tmp/x.jpg" ] && [ ! -e "$tmp/x.bmp" ]'

run "$inrdec" "$in" --size 20000x20000 -o "$tmp/huge.png"
check "inrdec refuses more than 2^28 pixels: exit 1" \
    '[ "$rc" -eq 1 ] && grep -q "2^28" "$tmp/err" && [ ! -e "$tmp/huge.png" ]'

# ------------------------------------------------------------- bad inputs
size=$(file_size "$in")
for off in 0 9 $((size / 2)) $((size - 1)); do
    bad="$tmp/bad$off.inrf"
    cp "$in" "$bad"
    flip_byte "$bad" "$off"
    run "$inrinfo" "$bad"
    check "inrinfo, byte $off flipped: exit 1, one line naming the file" \
        '[ "$rc" -eq 1 ] && one_line_naming "$bad"'
    run "$inrdec" "$bad" -o "$tmp/bad.png"
    check "inrdec, byte $off flipped: exit 1, one line naming the file, no output" \
        '[ "$rc" -eq 1 ] && one_line_naming "$bad" && [ ! -e "$tmp/bad.png" ]'
done

for len in 0 10 $((size / 2)) $((size - 1)); do
    short="$tmp/short$len.inrf"
    head -c "$len" "$in" >"$short"
    run "$inrinfo" "$short"
    check "inrinfo, truncated to $len bytes: exit 1, one line naming the file" \
        '[ "$rc" -eq 1 ] && one_line_naming "$short"'
    run "$inrdec" "$short" -o "$tmp/short.png"
    check "inrdec, truncated to $len bytes: exit 1, one line naming the file, no output" \
        '[ "$rc" -eq 1 ] && one_line_naming "$short" && [ ! -e "$tmp/short.png" ]'
done

missing="$tmp/missing.inrf"
run "$inrinfo" "$missing"
check "inrinfo, missing file: exit 1" '[ "$rc" -eq 1 ] && one_line_naming "$missing"'
run "$inrdec" "$missing" -o "$tmp/missing.png"
check "inrdec, missing file: exit 1" \
    '[ "$rc" -eq 1 ] && one_line_naming "$missing" && [ ! -e "$tmp/missing.png" ]'

run "$inrinfo" --json "$in" "$missing" "$in"
check "inrinfo goes on after a bad file (exit 1, three objects, the bad one with its error)" \
    '[ "$rc" -eq 1 ] && one_line_naming "$missing" && json_objects "$tmp/out" 3 &&
     grep -q "\"error\": \".*missing.inrf: " "$tmp/out"'

# ------------------------------------------------------------ bad outputs
mkdir "$tmp/outdir"
# Root ignores permissions; the checks below use paths no one can create.
if [ "$(id -u)" -ne 0 ]; then
    chmod a-w "$tmp/outdir"
    run "$inrdec" "$in" --size 16 -o "$tmp/outdir/x.png"
    chmod u+w "$tmp/outdir"
    check "inrdec into a read-only folder: exit 1, folder left empty" \
        '[ "$rc" -eq 1 ] && one_line_naming "$tmp/outdir/x.png" && [ -z "$(ls -A "$tmp/outdir")" ]'
fi
: >"$tmp/notadir"
run "$inrdec" "$in" --size 16 -o "$tmp/notadir/x.png"
check "inrdec into a path under a plain file: exit 1" \
    '[ "$rc" -eq 1 ] && one_line_naming "$tmp/notadir/x.png"'
run "$inrdec" "$in" --size 16 -o "$tmp/nodir/x.png"
check "inrdec into a missing folder: exit 1" '[ "$rc" -eq 1 ] && [ ! -e "$tmp/nodir" ]'
# Here the rename fails at the very end: the temporary file must go too.
mkdir "$tmp/outdir/isdir.png"
run "$inrdec" "$in" --size 16 -o "$tmp/outdir/isdir.png"
check "inrdec onto a folder: exit 1, nothing left behind" \
    '[ "$rc" -eq 1 ] && [ "$(ls -A "$tmp/outdir")" = isdir.png ] && [ -z "$(ls -A "$tmp/outdir/isdir.png")" ]'


# ----------------------------------------------------------------- inrenc
# The test image is made with the tools themselves: each valid golden file
# decoded at 32x32, keeping the largest PNG (the one with most detail;
# some golden networks decode to a flat colour). --steps 200 keeps every
# encode near 0.1 s; one thread and a seed make the bytes reproducible.
enc_opts="--steps 200 --threads 1 --seed 3"
img=
img_size=0
for f in "$golden_dir"/*.inrf; do
    if "$inrdec" -f -q --size 32x32 "$f" -o "$tmp/cand.png" 2>/dev/null &&
        [ "$(file_size "$tmp/cand.png")" -gt "$img_size" ]; then
        mv "$tmp/cand.png" "$tmp/img.png"
        img="$tmp/img.png"
        img_size=$(file_size "$img")
    fi
done
if [ -z "$img" ]; then
    fail "inrdec makes a 32x32 test image for inrenc"
else
    pass "inrdec makes a 32x32 test image for inrenc ($img_size bytes)"
fi
enc="$tmp/enc"
mkdir "$enc"

# shellcheck disable=SC2086 # enc_opts is a list of words
run "$inrenc" $enc_opts "$img" "$enc/a.inrf"
check "inrenc exits 0 and prints one summary line" \
    '[ "$rc" -eq 0 ] && [ ! -s "$tmp/out" ] && one_line_naming "$enc/a.inrf: 32 x 32, "'
check "inrenc summary has bytes, bpp and PSNR" \
    'grep -q " bytes ([0-9.]* bpp), PSNR [0-9.]* dB, [0-9.]* s$" "$tmp/err"'
run "$inrinfo" "$enc/a.inrf"
check "inrinfo reads what inrenc wrote" \
    '[ "$rc" -eq 0 ] && grep -q "32 x 32, 3 channels" "$tmp/out" && grep -q "int8" "$tmp/out"'
run "$inrdec" "$enc/a.inrf" -o "$tmp/enc_dec.png"
check "inrdec decodes what inrenc wrote" '[ "$rc" -eq 0 ] && expect_png "$tmp/enc_dec.png" 32x32'

# A network the readers' default limits refuse is an option error, said
# before any training, and nothing is written.
run "$inrenc" --layers 5 --hidden 1024 "$img" "$enc/big.inrf"
check "inrenc: a network over the readers' parameter limit is a usage error, no file" \
    '[ "$rc" -eq 2 ] && grep -q "4204547 parameters.*(max_params)" "$tmp/err" && [ ! -e "$enc/big.inrf" ]'

# Same seed and threads: same bytes, whichever way in and out.
# shellcheck disable=SC2086
run "$inrenc" -q $enc_opts "$img" -o "$enc/b.inrf"
check "inrenc -q -o: exit 0, silent, the same bytes again" \
    '[ "$rc" -eq 0 ] && [ ! -s "$tmp/err" ] && [ ! -s "$tmp/out" ] && cmp -s "$enc/a.inrf" "$enc/b.inrf"'
# shellcheck disable=SC2086
"$inrenc" -q $enc_opts "$img" - >"$tmp/stdout.inrf" 2>"$tmp/err"
rc=$?
check "inrenc IN - writes the same bytes to standard output" \
    '[ "$rc" -eq 0 ] && cmp -s "$enc/a.inrf" "$tmp/stdout.inrf"'
# shellcheck disable=SC2086
run "$inrenc" -q $enc_opts - "$enc/c.inrf" <"$img"
check "inrenc - OUT reads standard input, the same bytes" \
    '[ "$rc" -eq 0 ] && cmp -s "$enc/a.inrf" "$enc/c.inrf"'
run "$inrenc" -q --steps 200 --threads 1 --seed 4 "$img" "$enc/d.inrf"
check "inrenc with another seed gives other bytes" \
    '[ "$rc" -eq 0 ] && ! cmp -s "$enc/a.inrf" "$enc/d.inrf"'

# --stats json: an array of one object with psnr and bytes (the file's size).
stats_ok() {
    if [ "$have_python" = yes ]; then
        python3 -c '
import json, math, sys
a = json.load(open(sys.argv[1]))
v = a[0] if isinstance(a, list) and len(a) == 1 else None
ok = (isinstance(v, dict) and v["bytes"] == int(sys.argv[2]) and v["width"] == 32 and
      isinstance(v["psnr"], float) and math.isfinite(v["psnr"]) and v["psnr"] > 0 and
      abs(v["bits_per_pixel"] - v["bytes"] * 8 / 1024) < 1e-6)
sys.exit(0 if ok else 1)' "$1" "$2"
    else
        json_objects "$1" 1 && grep -q '"psnr": [0-9]' "$1" &&
            grep -q "\"bytes\": $2," "$1"
    fi
}
# shellcheck disable=SC2086
run "$inrenc" -q $enc_opts --stats json "$img" "$enc/e.inrf"
check "inrenc --stats json prints psnr and bytes" \
    '[ "$rc" -eq 0 ] && stats_ok "$tmp/out" "$(file_size "$enc/e.inrf")"'
# shellcheck disable=SC2086
"$inrenc" -q $enc_opts --stats json "$img" - >"$tmp/stdout.inrf" 2>"$tmp/stats.json"
rc=$?
check "inrenc --stats json with OUT - prints on standard error" \
    '[ "$rc" -eq 0 ] && cmp -s "$enc/a.inrf" "$tmp/stdout.inrf" && stats_ok "$tmp/stats.json" "$(file_size "$tmp/stdout.inrf")"'
# shellcheck disable=SC2086
run "$inrenc" $enc_opts --compare-jpeg "$img" "$enc/f.inrf"
check "inrenc --compare-jpeg reports JPEG at the same budget" \
    '[ "$rc" -eq 0 ] && grep -q "^inrenc: jpeg at the same budget: " "$tmp/err"'

# Rate control: an impossible budget fails and writes nothing.
# shellcheck disable=SC2086
run "$inrenc" $enc_opts --max-bytes 100 "$img" "$enc/g.inrf"
check "inrenc --max-bytes 100: exit 1, one line, no file" \
    '[ "$rc" -eq 1 ] && one_line_naming "100 bytes" && [ ! -e "$enc/g.inrf" ]'
# shellcheck disable=SC2086
run "$inrenc" -q $enc_opts --max-bytes 2000 "$img" "$enc/h.inrf"
check "inrenc --max-bytes 2000: at most 2000 bytes" \
    '[ "$rc" -eq 0 ] && [ "$(file_size "$enc/h.inrf")" -le 2000 ]'

# A grey golden file gives a grey test image, encoded with one channel.
if "$inrdec" -q --size 32x32 "$golden_dir/grey.inrf" -o "$tmp/grey.png" 2>/dev/null; then
    # shellcheck disable=SC2086
    run "$inrenc" -q $enc_opts "$tmp/grey.png" "$enc/grey.inrf"
    check "inrenc keeps a grey image grey" \
        '[ "$rc" -eq 0 ] && "$inrinfo" "$enc/grey.inrf" | grep -q "32 x 32, 1 channel (grey)"'
fi

# Bad inputs: one line naming the file, exit 1, nothing written.
head -c "$((img_size / 2))" "$img" >"$tmp/half.png"
for bad in "$tmp/half.png" "$enc/a.inrf" "$tmp/missing.png"; do
    # shellcheck disable=SC2086
    run "$inrenc" $enc_opts "$bad" "$tmp/bad.inrf"
    check "inrenc $(basename "$bad"): exit 1, one line naming the file, no output" \
        '[ "$rc" -eq 1 ] && one_line_naming "$bad" && [ ! -e "$tmp/bad.inrf" ]'
done
# Bad outputs: nothing created, nothing left behind.
# shellcheck disable=SC2086
run "$inrenc" $enc_opts "$img" "$tmp/nodir/x.inrf"
check "inrenc into a missing folder: exit 1, one line, nothing created" \
    '[ "$rc" -eq 1 ] && one_line_naming "$tmp/nodir/x.inrf" && [ ! -e "$tmp/nodir" ]'
mkdir "$tmp/encout" "$tmp/encout/isdir.inrf"
# shellcheck disable=SC2086
run "$inrenc" $enc_opts "$img" "$tmp/encout/isdir.inrf"
check "inrenc onto a folder: exit 1, nothing left behind" \
    '[ "$rc" -eq 1 ] && [ "$(ls -A "$tmp/encout")" = isdir.inrf ] && [ -z "$(ls -A "$tmp/encout/isdir.inrf")" ]'

# Signals: the encode stops, "interrupted", exit 1, no file. 20,000 fit
# steps last several seconds; the signal comes after one.
for sig in INT TERM; do
    mkdir "$tmp/sig$sig"
    "$inrenc" --steps 20000 --threads 1 "$img" "$tmp/sig$sig/x.inrf" 2>"$tmp/err" &
    pid=$!
    sleep 1
    kill -s "$sig" "$pid" 2>/dev/null
    wait "$pid"
    rc=$?
    check "inrenc stopped by SIG$sig: exit 1, 'interrupted', no file" \
        '[ "$rc" -eq 1 ] && grep -q "^inrenc: interrupted$" "$tmp/err" && [ -z "$(ls -A "$tmp/sig$sig")" ]'
done

run "$inrenc" --version
check "inrenc --version" '[ "$rc" -eq 0 ] && grep -q "^inrenc (inrf) " "$tmp/out"'
run "$inrenc" --help
check "inrenc --help" '[ "$rc" -eq 0 ] && grep -q "^Usage: inrenc" "$tmp/out"'

# --device cuda: a file that reads, or a one-line error naming the device
run "$inrenc" --device cuda --effort 1 "$img" "$tmp/gpu.inrf"
check "inrenc --device cuda: a file, or a clear error" \
    '{ [ "$rc" -eq 0 ] && "$inrinfo" -q "$tmp/gpu.inrf"; } ||
     { [ "$rc" -eq 1 ] && grep -q "^inrenc: --device cuda: " "$tmp/err" && [ ! -e "$tmp/gpu.inrf" ]; }'

run "$inrenc" --device cuda --effort 1 --max-bytes 900 "$img" "$tmp/gpu.inrf"
check "inrenc --device cuda --max-bytes: a file that fits, or a clear error" \
    '{ [ "$rc" -eq 0 ] && [ "$(wc -c <"$tmp/gpu.inrf")" -le 900 ]; } ||
     { [ "$rc" -eq 1 ] && grep -q "^inrenc: --device cuda: " "$tmp/err" && [ ! -e "$tmp/gpu.inrf" ]; }'

y="$tmp/y.inrf"
check "inrenc --device tpu: exit 2" 'usage_error "$inrenc" --device tpu "$img" "$y"'
check "inrenc bad option: exit 2" 'usage_error "$inrenc" --bogus "$img" "$y"'
check "inrenc without an output: exit 2" 'usage_error "$inrenc" "$img"'
check "inrenc without arguments: exit 2" 'usage_error "$inrenc"'
check "inrenc two outputs: exit 2" 'usage_error "$inrenc" "$img" "$y" -o "$tmp/z.inrf"'
check "inrenc three files: exit 2" 'usage_error "$inrenc" "$img" "$y" "$tmp/z.inrf"'
check "inrenc --effort 0: exit 2" 'usage_error "$inrenc" --effort 0 "$img" "$y"'
check "inrenc --effort 10: exit 2" 'usage_error "$inrenc" --effort 10 "$img" "$y"'
check "inrenc --preset foo: exit 2" 'usage_error "$inrenc" --preset foo "$img" "$y"'
check "inrenc --quant int4: exit 2" 'usage_error "$inrenc" --quant int4 "$img" "$y"'
check "inrenc --stats xml: exit 2" 'usage_error "$inrenc" --stats xml "$img" "$y"'
check "inrenc --lr 0: exit 2" 'usage_error "$inrenc" --lr 0 "$img" "$y"'
check "inrenc --w0 -1: exit 2" 'usage_error "$inrenc" --w0 -1 "$img" "$y"'
check "inrenc --hidden 1025: exit 2" 'usage_error "$inrenc" --hidden 1025 "$img" "$y"'
check "inrenc --max-bytes 0: exit 2" 'usage_error "$inrenc" --max-bytes 0 "$img" "$y"'
check "inrenc --threads x: exit 2" 'usage_error "$inrenc" --threads x "$img" "$y"'
check "inrenc --steps without argument: exit 2" 'usage_error "$inrenc" "$img" "$y" --steps'
check "inrenc usage errors leave no output file" '[ ! -e "$y" ] && [ ! -e "$tmp/z.inrf" ]'

finish
