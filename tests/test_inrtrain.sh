#!/bin/sh
# test_inrtrain.sh: end-to-end checks of inrtrain on a small generated data
# set: training lowers the loss, the JSONL log, resume equals an
# uninterrupted run bit for bit, what it may overwrite (-f, --resume),
# --eval and --predict (and their --json), the conventional pipeline, a
# pack with a bad record (--skip-bad), a folder with a file that is not an
# image, the --help defaults, and the errors (mismatched checkpoint, other
# classes, a non-finite loss, usage); run by `make check`.
#
# shellcheck disable=SC2016,SC2086 # conditions run by eval; option lists split

: "${top_srcdir:=.}"
: "${top_builddir:=.}"
inrtrain="$top_builddir/trainer/inrtrain"
inrpack="$top_builddir/tools/inrpack"
inrdec="$top_builddir/tools/inrdec"
golden="$top_srcdir/tests/golden"

[ -f "$golden/cifar.inrf" ] || { echo "SKIP: no golden files"; exit 77; }
. "$top_srcdir/tests/testlib.sh" test_inrtrain

# Two classes that a network can tell apart: crops of two different golden
# images, 16x16, six of each (flips and crops make them differ).
src="$tmp/src"
mkdir -p "$src/cars" "$src/dots"
k=0
for off in 0,0 2,2 4,4 6,0 0,6 8,8; do
    "$inrdec" --size 24 --crop "$off,16,16" "$golden/cifar.inrf" -o "$src/cars/c$k.png" 2>/dev/null
    "$inrdec" --size 24 --crop "$off,16,16" "$golden/imagenet.inrf" -o "$src/dots/d$k.png" 2>/dev/null
    k=$((k + 1))
done
"$inrpack" create "$src" -o "$tmp/train.inrpack" --effort 1 --preset cifar10 -q 2>"$tmp/err" ||
    fail "making the pack"
small="--width 4 --batch 4 --threads 2 --lr 0.05 -q"
# a folder of other classes
mkdir -p "$tmp/other/zebra"
cp "$src/cars/c0.png" "$tmp/other/zebra/"

run "$inrtrain" --train "$tmp/train.inrpack" --test "$tmp/train.inrpack" --epochs 6 $small \
    -o "$tmp/a.model" --log "$tmp/a.jsonl"
check "train: exit 0, a model, a checkpoint, a log line per epoch" \
    '[ "$rc" -eq 0 ] && [ -s "$tmp/a.model" ] && [ -s "$tmp/a.model.ckpt" ] &&
     [ "$(wc -l <"$tmp/a.jsonl")" -eq 6 ]'
first=$(sed -n '1s/.*"train_loss": \([0-9.e+-]*\).*/\1/p' "$tmp/a.jsonl")
last=$(sed -n '6s/.*"train_loss": \([0-9.e+-]*\).*/\1/p' "$tmp/a.jsonl")
check "train: the loss goes down ($first -> $last)" \
    '[ -n "$first" ] && [ -n "$last" ] && awk "BEGIN{exit !($last < 0.8 * $first)}"'
if command -v python3 >/dev/null 2>&1; then
    check "the log is JSON with every field" \
        'python3 -c "import json,sys
for l in open(sys.argv[1]):
    v=json.loads(l)
    assert set(v)>={\"epoch\",\"lr\",\"train_loss\",\"train_acc\",\"test_loss\",\"test_acc\",\"images_per_s\",\"seconds\",\"data_seconds\",\"compute_seconds\",\"peak_mib\"}" "$tmp/a.jsonl"'
fi

# resume: stop after 3 epochs, go on, compare with the uninterrupted run;
# the resumed run rewrites its own checkpoint and appends to its log
# without -f
run "$inrtrain" --train "$tmp/train.inrpack" --test "$tmp/train.inrpack" --epochs 6 $small \
    -o "$tmp/b.model" --checkpoint "$tmp/b.ckpt" --stop-after 3 --log "$tmp/b.jsonl"
check "--stop-after: a checkpoint and no model" '[ "$rc" -eq 0 ] && [ -s "$tmp/b.ckpt" ] && [ ! -e "$tmp/b.model" ]'
cp "$tmp/b.ckpt" "$tmp/b3.ckpt"
run "$inrtrain" --train "$tmp/train.inrpack" --test "$tmp/train.inrpack" --epochs 6 $small \
    -o "$tmp/b.model" --checkpoint "$tmp/b.ckpt" --log "$tmp/b.jsonl"
check "a fresh run onto a stopped run's checkpoint: refused, saying how to go on, the checkpoint kept" \
    '[ "$rc" -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
     grep -q "b.ckpt: already exists, the checkpoint of a run at epoch 3 of 6: --resume .*b.ckpt goes on with it, -f starts again" "$tmp/err" &&
     cmp -s "$tmp/b.ckpt" "$tmp/b3.ckpt"'
run "$inrtrain" --train "$tmp/train.inrpack" --test "$tmp/train.inrpack" --epochs 6 $small \
    -o "$tmp/b.model" --checkpoint "$tmp/b.ckpt" --resume "$tmp/b.ckpt" --log "$tmp/b.jsonl"
check "resume equals the uninterrupted run, bit for bit; no -f needed; the log appended to" \
    '[ "$rc" -eq 0 ] && cmp -s "$tmp/a.model" "$tmp/b.model" && [ "$(wc -l <"$tmp/b.jsonl")" -eq 6 ]'
run "$inrtrain" --train "$tmp/train.inrpack" --test "$tmp/train.inrpack" --epochs 6 $small \
    -o "$tmp/b.model" --checkpoint "$tmp/b.ckpt" --resume "$tmp/b.ckpt"
check "resuming a finished run: the model it completed written again, without -f" \
    '[ "$rc" -eq 0 ] && cmp -s "$tmp/a.model" "$tmp/b.model"'

# Overwriting: an existing model, checkpoint or log only with -f; a data
# set or the checkpoint resumed never, -f or not; all checked before the
# data is read.
cp "$tmp/train.inrpack" "$tmp/keep.inrpack"
echo keep >"$tmp/x.model"
run "$inrtrain" --train "$tmp/train.inrpack" --epochs 1 $small -o "$tmp/x.model"
check "an existing model: refused without -f, kept, nothing written" \
    '[ "$rc" -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
     grep -q "x.model: already exists; not overwritten (-f overwrites it)" "$tmp/err" &&
     [ "$(cat "$tmp/x.model")" = keep ] && [ ! -e "$tmp/x.model.ckpt" ]'
run "$inrtrain" --train "$tmp/train.inrpack" --test "$tmp/train.inrpack" --epochs 6 $small \
    -o "$tmp/x.model" --resume "$tmp/b3.ckpt"
check "a resumed run onto a file that is not its own: refused without -f" \
    '[ "$rc" -eq 1 ] && grep -q "x.model: already exists; not overwritten" "$tmp/err" &&
     [ "$(cat "$tmp/x.model")" = keep ]'
echo keep >"$tmp/x.jsonl"
run "$inrtrain" --train "$tmp/train.inrpack" --epochs 1 $small -o "$tmp/y.model" --log "$tmp/x.jsonl"
check "an existing log: refused without -f, kept" \
    '[ "$rc" -eq 1 ] && grep -q "x.jsonl: already exists; not overwritten (-f overwrites it)" "$tmp/err" &&
     [ "$(cat "$tmp/x.jsonl")" = keep ]'
run "$inrtrain" --train "$tmp/train.inrpack" --epochs 1 $small -o "$tmp/x.model" --log "$tmp/x.jsonl" -f
check "-f: the model and the log overwritten" \
    '[ "$rc" -eq 0 ] && [ "$(cat "$tmp/x.model")" != keep ] && [ "$(wc -l <"$tmp/x.jsonl")" -eq 1 ] &&
     grep -q "^{\"epoch\": 1," "$tmp/x.jsonl"'
for what in "-o" "--checkpoint" "--log"; do
    case $what in -o) rest="--log $tmp/z.jsonl" ;; *) rest="-o $tmp/z.model" ;; esac
    run "$inrtrain" --train "$tmp/train.inrpack" --test "$tmp/train.inrpack" --epochs 1 $small -f \
        $rest "$what" "$tmp/train.inrpack"
    check "$what onto the training pack: refused even with -f, the pack unchanged" \
        '[ "$rc" -eq 1 ] && grep -q "train.inrpack: is also an input; refusing to overwrite it" "$tmp/err" &&
         cmp -s "$tmp/train.inrpack" "$tmp/keep.inrpack"'
done
run "$inrtrain" --train "$tmp/train.inrpack" --epochs 1 $small -o "$tmp/z.model" --log "$tmp/z.model"
check "the log and the model one file: refused" \
    '[ "$rc" -eq 1 ] && grep -q "z.model: both the log and the model" "$tmp/err" && [ ! -e "$tmp/z.model" ]'
run "$inrtrain" --train "$tmp/train.inrpack" --epochs 1 $small -o "$tmp/nowhere/m.model"
check "a model in a missing folder: one line naming the folder" \
    '[ "$rc" -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "folder .*nowhere: No such file or directory" "$tmp/err"'
run "$inrtrain" --train "$tmp/train.inrpack" --epochs 1 $small -o "$tmp/w.model" --log "$tmp/nowhere/w.jsonl"
check "a log in a missing folder: refused before training" \
    '[ "$rc" -eq 1 ] && grep -q "folder .*nowhere" "$tmp/err" && [ ! -e "$tmp/w.model.ckpt" ]'

# The --help defaults are the run's: epochs, batch, size (the first
# image's width, a folder's too) and learning rate.
run "$inrtrain" --help
check "--help states the defaults" \
    'grep -q -- "--epochs N .*default 30" "$tmp/out" && grep -q -- "--batch N .*default 128 up to 64 px, else 64" "$tmp/out" &&
     grep -q -- "--lr X .*default 0.01" "$tmp/out" && grep -q -- "--width N .*default 64" "$tmp/out" &&
     grep -q -- "--seed N .*default 1" "$tmp/out"'
run "$inrtrain" --train "$tmp/train.inrpack" --width 4 --threads 2 --stop-after 1 -o "$tmp/h.model"
check "defaults: 30 epochs, batch 128, the first image's size, lr 0.01" \
    '[ "$rc" -eq 0 ] && grep -q "12 inrpack images, 2 classes, no test set, 16x16, batch 128, 30 epoch(s)" "$tmp/err" &&
     grep -q "^epoch 1/30  lr 0.01000 " "$tmp/err"'
run "$inrtrain" --train-dir "$src" --width 4 --threads 2 --stop-after 1 -o "$tmp/h2.model"
check "defaults with --train-dir: the first image's size" \
    '[ "$rc" -eq 0 ] && grep -q "12 folder images, 2 classes, no test set, 16x16, batch 128" "$tmp/err"'

# A pack with a bad record: an error naming it and --skip-bad; with
# --skip-bad, training and evaluation on the others, the count said.
cp "$tmp/train.inrpack" "$tmp/bad.inrpack"
printf '\377' | dd of="$tmp/bad.inrpack" bs=1 seek=1000 conv=notrunc 2>/dev/null
"$inrpack" verify "$tmp/bad.inrpack" 2>"$tmp/err"
grep -q "1 of 12 records bad" "$tmp/err" || fail "the fixture: one bad record"
run "$inrtrain" --train "$tmp/bad.inrpack" --epochs 1 $small -o "$tmp/s.model"
check "a bad record: exit 1, one line naming the pack, the record and --skip-bad" \
    '[ "$rc" -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
     grep -q "bad.inrpack: record [0-9]* (class [a-z]*, offset [0-9]*): checksum mismatch (1 bad record of 12; --skip-bad leaves it out)" "$tmp/err" &&
     [ ! -e "$tmp/s.model.ckpt" ]'
run "$inrtrain" --train "$tmp/bad.inrpack" --epochs 2 --width 4 --batch 4 --threads 2 --skip-bad -o "$tmp/s.model"
check "--skip-bad: trains on the 11 others, says it left one out" \
    '[ "$rc" -eq 0 ] && [ -s "$tmp/s.model" ] &&
     grep -q "warning: left out 1 bad record of 12 (--skip-bad), the first .*bad.inrpack: record [0-9]*" "$tmp/err" &&
     grep -q "inrtrain: 11 inrpack images (1 left out), 2 classes" "$tmp/err"'
run "$inrtrain" --train "$tmp/bad.inrpack" --epochs 1 $small -q --skip-bad -o "$tmp/s2.model"
check "--skip-bad -q: the warning still said" '[ "$rc" -eq 0 ] && grep -q "warning: left out 1 bad record" "$tmp/err"'
run "$inrtrain" --train "$tmp/bad.inrpack" --test-dir "$tmp/other" --epochs 1 $small -o "$tmp/s3.model"
check "the test set's classes are checked before the training pack's records" \
    '[ "$rc" -eq 1 ] && grep -q "the test set has 1 classes" "$tmp/err"'

# Ctrl-C: the last finished epoch stays in the checkpoint, no model
"$inrtrain" --train "$tmp/train.inrpack" --epochs 100000 $small -o "$tmp/i.model" 2>"$tmp/err" &
pid=$!
waited=0
while [ ! -s "$tmp/i.model.ckpt" ] && [ $waited -lt 300 ]; do
    sleep 0.05
    waited=$((waited + 1))
done
kill -INT $pid
wait $pid
rc=$?
check "Ctrl-C: exit 1, the checkpoint kept, no model, how to resume" \
    '[ "$rc" -eq 1 ] && [ -s "$tmp/i.model.ckpt" ] && [ ! -e "$tmp/i.model" ] &&
     grep -q "interrupted; .* rerun with --resume" "$tmp/err"'

# Memory: a run that cannot fit is refused before anything is allocated,
# with the figure and the options to change; -v prints the estimate, which
# stays near the real peak (the JSON log's peak_mib) on a small run.
run "$inrtrain" --train "$tmp/train.inrpack" --batch 65536 --size 4096 --width 512 --threads 2 \
    -o "$tmp/m.model"
check "absurd --batch/--size/--width: exit 1, one line with the figure and what to lower" \
    '[ "$rc" -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
     grep -q "batch 65536 at size 4096 and width 512 needs [0-9.]* [PE]iB of memory, .* [0-9.]* [KMGT]iB: lower --batch, --size or --width" "$tmp/err" &&
     [ ! -e "$tmp/m.model.ckpt" ]'
run "$inrtrain" --train "$tmp/train.inrpack" --test "$tmp/train.inrpack" --epochs 1 --width 16 \
    --size 64 --batch 4 --threads 2 -v -o "$tmp/m.model" --log "$tmp/m.jsonl"
est=$(sed -n 's/^inrtrain: memory estimate \([0-9.]*\) MiB.*/\1/p' "$tmp/err")
peak=$(sed -n 's/.*"peak_mib": \([0-9.]*\).*/\1/p' "$tmp/m.jsonl")
# (AddressSanitizer's shadow memory raises the peak: there only the upper side)
low=3
for f in "$inrtrain" "$top_builddir/trainer/.libs/inrtrain"; do
    if [ -f "$f" ] && grep -qa AddressSanitizer "$f"; then low=1000000; fi
done
check "-v: the memory estimate ($est MiB) is within a factor 3 of the peak ($peak MiB)" \
    '[ "$rc" -eq 0 ] && [ -n "$est" ] && [ -n "$peak" ] &&
     awk "BEGIN{exit !($est > $peak / $low && $est < 3 * $peak)}"'

# A pack cut or rewritten by another program while inrtrain maps it: one
# line naming it and exit 1, not a SIGBUS death (135) or a read past a record.
# train_until_ckpt NAME: a long run on a copy of the pack, in the background,
# until its first checkpoint is written (the pack is being read).
train_until_ckpt() {
    cp "$tmp/train.inrpack" "$tmp/$1.inrpack"
    "$inrtrain" --train "$tmp/$1.inrpack" --epochs 100000 $small -o "$tmp/$1.model" 2>"$tmp/err" &
    pid=$!
    waited=0
    while [ ! -s "$tmp/$1.model.ckpt" ] && [ $waited -lt 300 ]; do
        sleep 0.05
        waited=$((waited + 1))
    done
}
train_until_ckpt cut
truncate -s 0 "$tmp/cut.inrpack"
wait $pid
rc=$?
check "a pack truncated while training: exit 1, not a SIGBUS death; one line naming it" \
    '[ "$rc" -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
     grep -q "cut.inrpack: the file changed or was truncated while in use" "$tmp/err"'
train_until_ckpt rewritten
head -c 8000 /dev/zero | tr '\0' '\377' |
    dd of="$tmp/rewritten.inrpack" bs=1000 seek=1 conv=notrunc 2>/dev/null
wait $pid
rc=$?
check "a pack rewritten in place while training: exit 1, the record named" \
    '[ "$rc" -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
     grep -q "record [0-9]* .*changed after it was verified" "$tmp/err"'

# Temporary files of a run killed while it wrote (kill -9): the next run
# that writes the same checkpoint and model holds them (a lock every run
# takes), so it removes theirs, saying so, and nothing else.
: >"$tmp/k.model.ckpt.tmp-AbC123"
: >"$tmp/k.model.tmp-x9Y8z7"
: >"$tmp/k.model.ckpt.tmp-AbC1234"
: >"$tmp/k.model.ckpt.tmp-mine"
run "$inrtrain" --train "$tmp/train.inrpack" --epochs 1 --width 4 --batch 4 --threads 2 -o "$tmp/k.model"
check "temporary files a killed run left: removed and named; other files kept; no lock left" \
    '[ "$rc" -eq 0 ] && [ ! -e "$tmp/k.model.ckpt.tmp-AbC123" ] && [ ! -e "$tmp/k.model.tmp-x9Y8z7" ] &&
     grep -q "removed .*k.model.ckpt.tmp-AbC123, a temporary file left by an interrupted run" "$tmp/err" &&
     grep -q "removed .*k.model.tmp-x9Y8z7" "$tmp/err" &&
     [ -e "$tmp/k.model.ckpt.tmp-AbC1234" ] && [ -e "$tmp/k.model.ckpt.tmp-mine" ] &&
     [ ! -e "$tmp/k.model.ckpt.lock" ] && [ ! -e "$tmp/k.model.lock" ]'
# a second run into the same files while the first goes on: refused, and
# the first's files untouched
train_until_ckpt both
"$inrtrain" --train "$tmp/train.inrpack" --epochs 1 $small -o "$tmp/both.model" 2>"$tmp/err2"
rc2=$?
kill -INT $pid
wait $pid
check "a second run writing the same checkpoint: exit 1, another run named" \
    '[ "$rc2" -eq 1 ] && [ "$(wc -l <"$tmp/err2")" -eq 1 ] &&
     grep -q "both.model.ckpt: another run writes it now" "$tmp/err2" && [ -s "$tmp/both.model.ckpt" ]'

run "$inrtrain" --eval "$tmp/a.model" --test "$tmp/train.inrpack" --threads 2
check "--eval prints the accuracy" '[ "$rc" -eq 0 ] && grep -q "12 images, accuracy [0-9.]*%" "$tmp/out"'
run "$inrtrain" --predict "$tmp/a.model" "$src/cars/c0.png" "$src/dots/d1.png"
check "--predict prints the top classes of each image" \
    '[ "$rc" -eq 0 ] && [ "$(wc -l <"$tmp/out")" -eq 2 ] && grep -q "c0.png: [a-z]* [0-9.]*% [a-z]* [0-9.]*%" "$tmp/out"'

# --json (man/inrf-json.7): --eval one object, --predict one array
run "$inrtrain" --eval "$tmp/a.model" --test "$tmp/train.inrpack" --threads 2 --json
cp "$tmp/out" "$tmp/eval.json"
run "$inrtrain" --eval "$tmp/s.model" --test "$tmp/bad.inrpack" --threads 2 --json --skip-bad
cp "$tmp/out" "$tmp/eval-bad.json"
run "$inrtrain" --predict "$tmp/a.model" "$src/cars/c0.png" "$tmp/nothing.png" --json
cp "$tmp/out" "$tmp/predict.json"
predict_rc=$rc
run "$inrtrain" --eval "$tmp/cut-model-missing.model" --test "$tmp/train.inrpack" --json
cp "$tmp/out" "$tmp/eval-err.json"
eval_err_rc=$rc
if command -v python3 >/dev/null 2>&1; then
    check "--eval --json: path, test, images, accuracy, loss, per-class accuracy, seconds" \
        'python3 -c "import json,sys
v=json.load(open(sys.argv[1]))
assert v[\"path\"].endswith(\"a.model\") and v[\"test\"].endswith(\"train.inrpack\"), v
assert v[\"images\"]==12 and v[\"skipped\"]==0 and 0<=v[\"accuracy\"]<=1 and v[\"loss\"]>0 and v[\"seconds\"]>=0, v
pc=v[\"per_class\"]
assert [c[\"class\"] for c in pc]==[\"cars\",\"dots\"] and [c[\"label\"] for c in pc]==[0,1], pc
assert sum(c[\"images\"] for c in pc)==12, pc
right=sum(round(c[\"accuracy\"]*c[\"images\"]) for c in pc)
assert right==round(v[\"accuracy\"]*12), v" "$tmp/eval.json"'
    check "--eval --json --skip-bad: 11 images, 1 skipped" \
        'python3 -c "import json,sys
v=json.load(open(sys.argv[1]))
assert v[\"images\"]==11 and v[\"skipped\"]==1, v" "$tmp/eval-bad.json"'
    check "--predict --json: one object per image, in order; a failed one with error; exit 1" \
        '[ "$predict_rc" -eq 1 ] && python3 -c "import json,sys
v=json.load(open(sys.argv[1]))
assert isinstance(v,list) and len(v)==2, v
a,b=v
assert a[\"path\"].endswith(\"c0.png\") and a[\"class\"] in (\"cars\",\"dots\") and a[\"label\"] in (0,1), a
assert a[\"top\"][0][\"class\"]==a[\"class\"] and a[\"top\"][0][\"probability\"]==a[\"probability\"], a
assert len(a[\"top\"])==2 and abs(sum(t[\"probability\"] for t in a[\"top\"])-1)<1e-5, a
assert b[\"path\"].endswith(\"nothing.png\") and \"error\" in b and \"class\" not in b, b" "$tmp/predict.json"'
    check "--eval --json on a missing model: the object with error, exit 1" \
        '[ "$eval_err_rc" -eq 1 ] && python3 -c "import json,sys
v=json.load(open(sys.argv[1]))
assert v[\"path\"].endswith(\"cut-model-missing.model\") and \"missing.model\" in v[\"error\"], v" "$tmp/eval-err.json"'
fi

run "$inrtrain" --train-dir "$src" --test-dir "$src" --epochs 2 $small -o "$tmp/j.model"
check "--train-dir (JPEG/PNG decoded by CPU threads) trains" '[ "$rc" -eq 0 ] && [ -s "$tmp/j.model" ]'

# A file that is not an image in a folder: skipped before training, as
# inrpack create skips it, with one warning naming it and the count
cp -r "$src" "$tmp/stray"
echo "notes" >"$tmp/stray/cars/README.txt"
: >"$tmp/stray/dots/empty.png"
run "$inrtrain" --train "$tmp/train.inrpack" --test-dir "$tmp/stray" --epochs 1 $small -o "$tmp/t.model"
check "--test-dir with files that are not images: skipped, one warning with the count and the first" \
    '[ "$rc" -eq 0 ] && [ -s "$tmp/t.model" ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
     grep -q "warning: skipped 2 files of .*stray, not PNG or JPEG images (the first .*stray/cars/README.txt: not a PNG or JPEG file)" "$tmp/err"'
run "$inrtrain" --eval "$tmp/t.model" --test-dir "$tmp/stray" --threads 2
check "--eval --test-dir with them: 12 images, the warning" \
    '[ "$rc" -eq 0 ] && grep -q "12 images, accuracy" "$tmp/out" && grep -q "warning: skipped 2 files" "$tmp/err"'
run "$inrtrain" --train-dir "$tmp/stray" --epochs 1 $small -o "$tmp/t2.model"
check "--train-dir with them: trains on the images" \
    '[ "$rc" -eq 0 ] && grep -q "warning: skipped 2 files" "$tmp/err" && [ -s "$tmp/t2.model" ]'

# errors
run "$inrtrain" --train "$tmp/train.inrpack" --epochs 6 --width 8 --batch 4 --threads 2 -q \
    -o "$tmp/c.model" --resume "$tmp/b.ckpt"
check "a checkpoint of another width is refused" '[ "$rc" -eq 1 ] && grep -q "width" "$tmp/err"'
mkdir -p "$tmp/src8/cars" "$tmp/src8/dots"
cp "$src"/cars/c[0-3].png "$tmp/src8/cars/"
cp "$src"/dots/d[0-3].png "$tmp/src8/dots/"
"$inrpack" create "$tmp/src8" -o "$tmp/train8.inrpack" --effort 1 --preset cifar10 -q 2>"$tmp/err" ||
    fail "making the second pack"
run "$inrtrain" --train "$tmp/train8.inrpack" --epochs 6 $small -o "$tmp/c.model" --resume "$tmp/b.ckpt"
check "a checkpoint of another training set (its step count) is refused, naming the field" \
    '[ "$rc" -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
     grep -q "b.ckpt: checkpoint step 18, but 6 epochs of this training set at batch 4 make 12 steps" "$tmp/err"'
run "$inrtrain" --train "$tmp/train.inrpack" --test-dir "$tmp/other" --epochs 1 $small -o "$tmp/d.model"
check "a test set with other classes is refused" \
    '[ "$rc" -eq 1 ] && grep -q "test set" "$tmp/err" && [ ! -e "$tmp/d.model" ]'
run "$inrtrain" --eval "$tmp/a.model" --test-dir "$tmp/other"
check "--eval: other classes refused" '[ "$rc" -eq 1 ] && grep -q "classes" "$tmp/err"'
run "$inrtrain" --train "$tmp/train.inrpack" --epochs 20 --width 4 --batch 4 --threads 2 -q \
    --lr 100 -o "$tmp/e.model"
check "a non-finite loss stops training with a message" \
    '[ "$rc" -eq 1 ] && grep -q "not finite" "$tmp/err" && [ ! -e "$tmp/e.model" ]'
run "$inrtrain" --train "$tmp/nowhere.inrpack" --epochs 1 -o "$tmp/f.model"
check "a missing pack: exit 1, named once" \
    '[ "$rc" -eq 1 ] && [ "$(grep -o "nowhere.inrpack" "$tmp/err" | wc -l)" -eq 1 ]'
run "$inrtrain" --train "$tmp/train.inrpack" --test-dir "$tmp/nowhere" --epochs 1 -o "$tmp/f.model"
check "a missing test folder: exit 1, one line" '[ "$rc" -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ]'
mkdir -p "$tmp/bad/a" "$tmp/bad/b"
cp "$src/cars/c0.png" "$tmp/bad/a/"
cp "$src/cars/c1.png" "$tmp/bad/b/"
printf '\211PNG\r\n\032\nnot the rest of a PNG' >"$tmp/bad/b/x.png"
run "$inrtrain" --train-dir "$tmp/bad" --epochs 1 $small -o "$tmp/f.model"
check "a PNG that cannot be decoded: exit 1, its path and the decoder's reason" \
    '[ "$rc" -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "x.png: cannot be decoded: " "$tmp/err"'
head -c 300 "$tmp/train.inrpack" >"$tmp/cut.inrpack"
run "$inrtrain" --train "$tmp/cut.inrpack" --epochs 1 -o "$tmp/f2.model"
check "a truncated pack: exit 1" '[ "$rc" -eq 1 ] && grep -q "truncated" "$tmp/err"'
head -c 1000 "$tmp/a.model" >"$tmp/cut.model"
run "$inrtrain" --eval "$tmp/cut.model" --test "$tmp/train.inrpack"
check "a damaged model file: exit 1" '[ "$rc" -eq 1 ] && grep -q "checksum\|not an inrtrain" "$tmp/err"'
run "$inrtrain" --train "$tmp/train.inrpack" --device cuda --epochs 1 $small -o "$tmp/g.model"
check "--device cuda without the CUDA backend: a clear error" '[ "$rc" -eq 1 ] && grep -q "CUDA" "$tmp/err"'

usage() { "$@" >/dev/null 2>"$tmp/err"; [ $? -eq 2 ] && grep -q "Try 'inrtrain --help'" "$tmp/err"; }
check "no training data: exit 2" 'usage "$inrtrain" -o "$tmp/u.model"'
check "both --train and --train-dir: exit 2" 'usage "$inrtrain" --train a --train-dir b -o "$tmp/u.model"'
check "no -o: exit 2" 'usage "$inrtrain" --train "$tmp/train.inrpack"'
check "--width 1024 (above the model's 512): exit 2" 'usage "$inrtrain" --train "$tmp/train.inrpack" --width 1024 -o "$tmp/u.model"'
check "--epochs 0: exit 2" 'usage "$inrtrain" --train "$tmp/train.inrpack" --epochs 0 -o "$tmp/u.model"'
check "--device tpu: exit 2" 'usage "$inrtrain" --train "$tmp/train.inrpack" --device tpu -o "$tmp/u.model"'
check "--eval without a test set: exit 2" 'usage "$inrtrain" --eval "$tmp/a.model"'
check "--json when training: exit 2" 'usage "$inrtrain" --train "$tmp/train.inrpack" --json -o "$tmp/u.model"'
run "$inrtrain" --help
check "--help" '[ "$rc" -eq 0 ] && grep -q "^Usage: inrtrain" "$tmp/out"'

finish
