#!/bin/sh
# test_gpu_kit.sh: the GPU kit's run script (bench/gpu_kit_run) on a fake
# kit whose programs are shell scripts: without a GPU every step says so
# and run all exits 0; with one (forced), tests that pass, skip and fail,
# tools the runtime refuses or lacks, a step cut by its time limit that
# keeps its figures, and cuDNN found in a wheel-like site-packages.
# shellcheck disable=SC2016 # the checks are evaluated later
top_srcdir=${top_srcdir:-.}
. "$top_srcdir/tests/testlib.sh" test_gpu_kit

kit=$tmp/kit
mkdir -p "$kit/bin" "$kit/bench" "$kit/tests" "$kit/lib" "$tmp/path"
cp "$top_srcdir/bench/gpu_kit_run" "$kit/run"
fake() { printf '#!/bin/sh\n%s\n' "$2" >"$1"; chmod +x "$1"; }
fake "$kit/tests/test_cuda_math" 'echo "math: 12 checks passed"'
fake "$kit/tests/test_cuda_decode" 'exit 77'
fake "$kit/tests/test_cuda_encode" 'echo "encode: PSNR below the CPU" >&2; exit 1'
fake "$kit/bench/gpu_decode" 'echo "decode: 123456 images/s"; [ -z "${SLOW:-}" ] || sleep 30'
fake "$kit/bench/gpu_encode" 'echo "encode: 789 images/s"'
fake "$kit/bin/inrtrain" 'echo "--device cuda: this build has no CUDA backend yet"'
printf 'print("torch: 42 images/s")\n' >"$kit/bench/gpu_torch.py"
# A compute-sanitizer that the driver refuses, no ncu, no nvidia-smi.
fake "$tmp/path/compute-sanitizer" 'echo "========= Error: Target application is not supported"; exit 1'
export CUDA_HOME="$tmp/nocuda"
P=$tmp/path:/usr/bin:/bin

run env PATH="$P" INRF_KIT_GPU=0 "$kit/run" all "$tmp/none"
check "no GPU: run all exits 0" '[ $rc -eq 0 ]'
check "no GPU: every GPU step says so" \
    '[ "$(grep -c "no GPU" "$tmp/none/summary.tsv")" -eq 15 ]'
check "no GPU: the train stage is not available" \
    'grep -q "train	not available: no CUDA trainer backend yet" "$tmp/none/summary.tsv"'
check "no GPU: the summary names the device" 'grep -q "^## summary: no GPU" "$tmp/none/summary.md"'
check "no GPU: a kit without the Python package says so in the torch stage" \
    'grep -q "^torch	not available: the kit has no Python module" "$tmp/none/summary.tsv"'
cp -R "$kit" "$tmp/kit77"
fake "$tmp/kit77/tests/test_cuda_math" 'exit 77'
if ! command -v nvidia-smi >/dev/null 2>&1; then
    check "no GPU: without nvidia-smi the math test asks the device" \
        'env PATH="$P" "$tmp/kit77/run" smoke "$tmp/none2" >/dev/null 2>&1 &&
         grep -q "^## summary: no GPU" "$tmp/none2/summary.md"'
fi

run env PATH="$P" INRF_KIT_GPU=1 "$kit/run" all "$tmp/gpu"
s=$tmp/gpu/summary.tsv
check "GPU: a failing test fails the run" '[ $rc -eq 1 ]'
check "GPU: a passing test is ok" 'grep -q "^test_cuda_math	ok" "$s"'
check "GPU: exit 77 is a skip" 'grep -q "^test_cuda_decode	skipped" "$s"'
check "GPU: a failing test is named" 'grep -q "^test_cuda_encode	FAIL (exit 1)" "$s"'
check "GPU: its messages are in the results" 'grep -q "PSNR below the CPU" "$tmp/gpu/results.md"'
check "GPU: a refused sanitizer is unavailable" 'grep -q "^memcheck test_cuda_math	unavailable" "$s"'
check "GPU: a missing ncu is unavailable" 'grep -q "^ncu decode_batch_kernel	unavailable (no ncu)" "$s"'
check "GPU: the benchmarks' figures are in the results" \
    'grep -q "123456 images/s" "$tmp/gpu/results.md" && grep -q "42 images/s" "$tmp/gpu/results.md"'
check "GPU: the train stage is not available" 'grep -q "^train	not available" "$s"'
check "GPU: a kit without data says so" \
    'grep -q "^gpu_encode train effort 9	not run: the kit carries no CIFAR-10 images" "$s"'
check "GPU: the summary has a line a step" '[ "$(grep -c "^| " "$tmp/gpu/summary.md")" -eq 19 ]'

# An ncu that the driver refuses the counters exits 0 all the same.
mkdir "$tmp/ncupath"
fake "$tmp/ncupath/ncu" 'echo "==ERROR== ERR_NVGPUCTRPERM - The user does not have permission"; exit 0'
run env PATH="$tmp/ncupath:$P" INRF_KIT_GPU=1 "$kit/run" core "$tmp/ncu"
check "ncu refused the counters: unavailable" \
    'grep -q "^ncu decode_batch_kernel	unavailable (no permission" "$tmp/ncu/summary.tsv"'

# A kit with data: the benchmarks get lists of the images it carries.
cp -R "$kit" "$tmp/kitdata"
mkdir -p "$tmp/d/train/cat" "$tmp/d/test/cat" "$tmp/d/n01/train/n01"
touch "$tmp/d/train/cat/0001.jpg" "$tmp/d/train/cat/0002.jpg" "$tmp/d/test/cat/0000.jpg" \
    "$tmp/d/n01/train/n01/a.JPEG"
mkdir -p "$tmp/kitdata/data"
tar -czf "$tmp/kitdata/data/cifar10.tar.gz" -C "$tmp/d" train test
tar -czf "$tmp/kitdata/data/imagenette.tar.gz" -C "$tmp/d/n01" train
fake "$tmp/kitdata/bench/gpu_encode" 'echo "encode list of $(wc -l <"$1") images, effort $2"
echo "schedule: 1500$2 steps an image (mean over the batch)"'
printf 'import sys\nprint("torch args:", *sys.argv[1:-1], len(open(sys.argv[-1]).readlines()))\n' \
    >"$tmp/kitdata/bench/gpu_torch.py"
run env PATH="$P" INRF_KIT_GPU=1 "$tmp/kitdata/run" core "$tmp/data"
check "data: the training list holds the kit's training images" \
    'grep -q "encode list of 2 images, effort 9" "$tmp/data/results.md"'
check "data: the test list holds its test images" \
    'grep -q "encode list of 1 images, effort 5" "$tmp/data/results.md"'
check "data: PyTorch gets the Imagenette JPEGs and the effort-9 schedule's steps" \
    'grep -q "torch args: --steps 15009 --jpegs 1" "$tmp/data/results.md"'

run env PATH="$P" INRF_KIT_GPU=1 INRF_KIT_CORE_S=8 SLOW=1 "$kit/run" core "$tmp/slow"
s=$tmp/slow/summary.tsv
check "time limit: the stage's limit cuts a step" 'grep -q "^gpu_decode	timeout" "$s"'
check "time limit: a step cut short keeps its figures" 'grep -q "123456 images/s" "$tmp/slow/results.md"'
check "time limit: a spent stage skips what is left" \
    'grep -q "^gpu_torch	skipped: stage time spent" "$s" &&
     grep -q "^memcheck test_cuda_encode	skipped: stage time spent" "$s"'
check "time limit: nothing failed, so run exits 0" '[ $rc -eq 0 ]'

# cuDNN and cuBLAS from a site-packages laid out like PyTorch's wheels.
if command -v python3 >/dev/null 2>&1 && command -v cc >/dev/null 2>&1; then
    site=$tmp/site/nvidia
    mkdir -p "$site/cudnn/lib" "$site/cublas/lib"
    echo 'int inrf_fake_cudnn(void) { return 9; }' >"$tmp/fake.c"
    cc -shared -fPIC -o "$site/cudnn/lib/libcudnn.so.9" "$tmp/fake.c" &&
        cc -shared -fPIC -o "$site/cublas/lib/libcublas.so.13" "$tmp/fake.c"
    run env PATH="$P" PYTHONPATH="$tmp/site" INRF_KIT_GPU=0 "$kit/run" smoke "$tmp/libs"
    check "libraries: the wheels' folders are found" \
        'grep -q "library folders: .*nvidia/cudnn/lib" "$tmp/libs/results.md"'
    check "libraries: cuDNN loads from them" \
        'grep -q "libcudnn.so.9: loaded from $site/cudnn/lib/libcudnn.so.9" "$tmp/libs/results.md"'
    check "libraries: cuBLAS loads from them" \
        'grep -q "libcublas.so.13: loaded from $site/cublas/lib/libcublas.so.13" "$tmp/libs/results.md"'
fi
run "$kit/run" nonsense "$tmp/x"
check "an unknown stage is a usage error" '[ $rc -eq 2 ]'

finish
