# tests/local.mk: the test suite (make check): cmocka suites, the fuzz
# corpora replayed, the emulated GPU paths and the tools' scripts.
AM_TESTS_ENVIRONMENT = top_srcdir='$(top_srcdir)'; top_builddir='$(top_builddir)'; \
	export top_srcdir top_builddir;
if HAVE_CMOCKA
TEST_LIBS = libinrf/libinrf.la $(CMOCKA_LIBS) $(LIBM)
TEST_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(PNG_CFLAGS) $(TURBOJPEG_CFLAGS) $(XXHASH_CFLAGS) $(ZSTD_CFLAGS)
check_PROGRAMS += tests/test_math tests/test_format tests/test_decode \
	tests/test_encode tests/test_rate tests/test_pack tests/test_record
tests_test_math_SOURCES = tests/test_math.c
tests_test_math_CFLAGS = $(TEST_CFLAGS)
tests_test_math_LDADD = $(TEST_LIBS)
# simd.h's vector sine, built per instruction set for test_math
if SIMD_X86
check_LTLIBRARIES += tests/libsine_avx2.la tests/libsine_avx512.la
tests_libsine_avx2_la_SOURCES = tests/sine_simd.c
tests_libsine_avx2_la_CFLAGS = $(AM_CFLAGS) -DSINE_SUFFIX=avx2 -mavx2 -mfma
tests_libsine_avx512_la_SOURCES = tests/sine_simd.c
tests_libsine_avx512_la_CFLAGS = $(AM_CFLAGS) -DSINE_SUFFIX=avx512 \
	-mavx512f -mavx512vl -mavx512dq -mavx2 -mfma
tests_test_math_LDADD += tests/libsine_avx2.la tests/libsine_avx512.la
endif
tests_test_format_SOURCES = tests/test_format.c tests/golden.c tests/golden.h
tests_test_format_CFLAGS = $(TEST_CFLAGS)
tests_test_format_LDADD = $(TEST_LIBS) $(XXHASH_LIBS) $(ZSTD_LIBS)
tests_test_decode_SOURCES = tests/test_decode.c tests/golden.c tests/golden.h tests/threads.h
tests_test_decode_CFLAGS = $(TEST_CFLAGS)
tests_test_decode_LDADD = $(TEST_LIBS) $(XXHASH_LIBS)
tests_test_image_SOURCES = tests/test_image.c
tests_test_image_CFLAGS = $(TEST_CFLAGS)
tests_test_image_LDADD = $(TEST_LIBS) $(PNG_LIBS) $(TURBOJPEG_LIBS)
tests_test_encode_SOURCES = tests/test_encode.c
tests_test_encode_CFLAGS = $(TEST_CFLAGS)
tests_test_encode_LDADD = $(TEST_LIBS)
tests_test_rate_SOURCES = tests/test_rate.c
tests_test_rate_CFLAGS = $(TEST_CFLAGS)
tests_test_rate_LDADD = $(TEST_LIBS)
tests_test_pack_SOURCES = tests/test_pack.c tests/golden.c tests/golden.h tests/threads.h
tests_test_pack_CFLAGS = $(TEST_CFLAGS)
tests_test_pack_LDADD = $(TEST_LIBS) $(XXHASH_LIBS)
tests_test_record_SOURCES = tests/test_record.c tests/golden.c tests/golden.h
tests_test_record_CFLAGS = $(TEST_CFLAGS)
tests_test_record_LDADD = $(TEST_LIBS)
check_PROGRAMS += tests/test_resize
tests_test_resize_SOURCES = tests/test_resize.c
tests_test_resize_CFLAGS = $(TEST_CFLAGS)
tests_test_resize_LDADD = $(TEST_LIBS)
TESTS += tests/test_resize
TESTS += tests/test_math tests/test_format tests/test_decode tests/test_encode \
	tests/test_rate tests/test_pack tests/test_record
# PNG and JPEG through libpng and libjpeg-turbo themselves.
if IMAGE_IO
check_PROGRAMS += tests/test_image
TESTS += tests/test_image
endif
# The options structs' ABI version and reserved fields (inrf/types.h).
check_PROGRAMS += tests/test_abi
tests_test_abi_SOURCES = tests/test_abi.c
tests_test_abi_CFLAGS = $(TEST_CFLAGS)
tests_test_abi_LDADD = $(TEST_LIBS)
TESTS += tests/test_abi
# libinrf/fileio.c: links, FIFOs and folders as outputs, devices as inputs.
check_PROGRAMS += tests/test_fileio
tests_test_fileio_SOURCES = tests/test_fileio.c
tests_test_fileio_CFLAGS = $(TEST_CFLAGS)
tests_test_fileio_LDADD = $(TEST_LIBS)
TESTS += tests/test_fileio
# libinrf/pool.c, built into the test (libinrf's symbols are hidden).
check_PROGRAMS += tests/test_pool
tests_test_pool_SOURCES = tests/test_pool.c libinrf/pool.c libinrf/pool.h
tests_test_pool_CFLAGS = $(TEST_CFLAGS)
tests_test_pool_LDADD = $(CMOCKA_LIBS) -lpthread
TESTS += tests/test_pool
# libinrf/sampler.c: the epoch order over ranks and the augmentation windows.
check_PROGRAMS += tests/test_sampler
tests_test_sampler_SOURCES = tests/test_sampler.c tests/golden.c tests/golden.h
tests_test_sampler_CFLAGS = $(TEST_CFLAGS)
tests_test_sampler_LDADD = $(TEST_LIBS)
TESTS += tests/test_sampler
# train_math.h against the CPU training passes, every instruction set's
# copy linked into the test (libinrf's symbols are hidden).
check_PROGRAMS += tests/test_train_math
tests_test_train_math_SOURCES = tests/test_train_math.c
tests_test_train_math_CFLAGS = $(TEST_CFLAGS)
tests_test_train_math_LDADD = libinrf/libtrain_generic.la $(TEST_LIBS)
if SIMD_X86
tests_test_train_math_LDADD += libinrf/libtrain_avx2.la libinrf/libtrain_avx512.la
endif
TESTS += tests/test_train_math
endif

# The fuzz corpus is replayed as an ordinary test; with --enable-fuzz the
# same harness is also built as a libFuzzer binary.
check_PROGRAMS += tests/fuzz/replay_read
tests_fuzz_replay_read_SOURCES = tests/fuzz/fuzz_read.c tests/fuzz/replay.c tests/fuzz/harness.h
tests_fuzz_replay_read_LDADD = libinrf/libinrf.la $(XXHASH_LIBS)
tests_fuzz_replay_read_CFLAGS = $(AM_CFLAGS) $(XXHASH_CFLAGS)
TESTS += tests/fuzz/replay_read
check_PROGRAMS += tests/fuzz/replay_pack
tests_fuzz_replay_pack_SOURCES = tests/fuzz/fuzz_pack.c tests/fuzz/replay.c tests/fuzz/harness.h
tests_fuzz_replay_pack_LDADD = libinrf/libinrf.la $(XXHASH_LIBS)
tests_fuzz_replay_pack_CFLAGS = $(AM_CFLAGS) $(XXHASH_CFLAGS) -DREPLAY_CORPUS='"corpus_pack"'
TESTS += tests/fuzz/replay_pack
# PNG and JPEG through the reader inrenc and inrpack use, and the journal
# of inrpack create (the checkpoint harness is in trainer/local.mk).
check_PROGRAMS += tests/fuzz/replay_image
tests_fuzz_replay_image_SOURCES = tests/fuzz/fuzz_image.c tests/fuzz/replay.c tests/fuzz/harness.h
tests_fuzz_replay_image_LDADD = libinrf/libinrf.la
tests_fuzz_replay_image_CFLAGS = $(AM_CFLAGS) -DREPLAY_CORPUS='"corpus_image"'
TESTS += tests/fuzz/replay_image
FUZZ_JOURNAL_SOURCES = tests/fuzz/fuzz_journal.c tools/pack_journal.c tools/inrpack.h \
	tests/fuzz/harness.h
check_PROGRAMS += tests/fuzz/replay_journal
tests_fuzz_replay_journal_SOURCES = $(FUZZ_JOURNAL_SOURCES) tests/fuzz/replay.c
tests_fuzz_replay_journal_LDADD = $(CLI_LIBS) libinrf/libinrf.la $(XXHASH_LIBS)
tests_fuzz_replay_journal_CFLAGS = $(AM_CFLAGS) $(XXHASH_CFLAGS) -DREPLAY_CORPUS='"corpus_journal"'
TESTS += tests/fuzz/replay_journal
if ENABLE_FUZZ
noinst_PROGRAMS += tests/fuzz/fuzz_read
tests_fuzz_fuzz_read_SOURCES = tests/fuzz/fuzz_read.c
tests_fuzz_fuzz_read_CFLAGS = $(AM_CFLAGS) $(XXHASH_CFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_read_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_read_LDADD = libinrf/libinrf.la $(XXHASH_LIBS)
noinst_PROGRAMS += tests/fuzz/fuzz_pack
tests_fuzz_fuzz_pack_SOURCES = tests/fuzz/fuzz_pack.c
tests_fuzz_fuzz_pack_CFLAGS = $(AM_CFLAGS) $(XXHASH_CFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_pack_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_pack_LDADD = libinrf/libinrf.la $(XXHASH_LIBS)
noinst_PROGRAMS += tests/fuzz/fuzz_image
tests_fuzz_fuzz_image_SOURCES = tests/fuzz/fuzz_image.c
tests_fuzz_fuzz_image_CFLAGS = $(AM_CFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_image_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_image_LDADD = libinrf/libinrf.la
noinst_PROGRAMS += tests/fuzz/fuzz_journal
tests_fuzz_fuzz_journal_SOURCES = $(FUZZ_JOURNAL_SOURCES)
tests_fuzz_fuzz_journal_CFLAGS = $(AM_CFLAGS) $(XXHASH_CFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_journal_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_journal_LDADD = $(CLI_LIBS) libinrf/libinrf.la $(XXHASH_LIBS)
FUZZ_HARNESSES = tests/fuzz/fuzz_read tests/fuzz/fuzz_pack tests/fuzz/fuzz_image \
	tests/fuzz/fuzz_journal
endif


# The kernels on the emulator (kernels/local.mk).
if HAVE_CMOCKA
check_PROGRAMS += tests/test_cuda_decode_emu tests/test_cuda_encode_emu
tests_test_cuda_decode_emu_SOURCES = tests/test_cuda_decode.c tests/golden.c tests/golden.h \
	tests/check.h
nodist_EXTRA_tests_test_cuda_decode_emu_SOURCES = kernels/emu/cxx_link.cpp
tests_test_cuda_decode_emu_CPPFLAGS = $(EMU_CPPFLAGS)
tests_test_cuda_decode_emu_LDADD = $(EMU_LIBS)
tests_test_cuda_decode_emu_LDFLAGS = $(AM_LDFLAGS) $(SAN_CXXFLAGS)
tests_test_cuda_encode_emu_SOURCES = tests/test_cuda_encode.c tests/check.h
nodist_EXTRA_tests_test_cuda_encode_emu_SOURCES = kernels/emu/cxx_link.cpp
tests_test_cuda_encode_emu_CPPFLAGS = $(EMU_CPPFLAGS)
tests_test_cuda_encode_emu_LDADD = $(EMU_LIBS)
tests_test_cuda_encode_emu_LDFLAGS = $(AM_LDFLAGS) $(SAN_CXXFLAGS)
TESTS += tests/test_cuda_decode_emu tests/test_cuda_encode_emu
# The network-kind seam with the testing kind (tests/kinds/grid, kind 255),
# registered in this program only: CPU, packs and the emulated GPU decoder;
# the tools refuse its files (tests/test_kind_tools.sh).
GRID_KIND_SOURCES = tests/kinds/grid/grid.h tests/kinds/grid/grid_math.h \
	tests/kinds/grid/grid.c tests/kinds/grid/grid_gpu_emu.cpp
check_PROGRAMS += tests/test_kind
tests_test_kind_SOURCES = tests/test_kind.c $(GRID_KIND_SOURCES)
tests_test_kind_CPPFLAGS = $(EMU_CPPFLAGS) -I$(srcdir)/tests -I$(srcdir)/kernels -I$(srcdir)/libinrf
tests_test_kind_CFLAGS = $(TEST_CFLAGS)
tests_test_kind_CXXFLAGS = $(EMU_CXXFLAGS)
tests_test_kind_LDADD = $(EMU_LIBS) $(CMOCKA_LIBS)
tests_test_kind_LDFLAGS = $(AM_LDFLAGS) $(SAN_CXXFLAGS)
TESTS += tests/test_kind tests/test_kind_tools.sh
EXTRA_DIST += tests/kinds/grid/grid_gpu.cu tests/test_kind_tools.sh
# The tools built with the emulated kernels, for their --device cuda paths
# (tests/test_gpu_tools_emu.sh): the application layer, and --device's
# choice built again for kernels that are there.
check_PROGRAMS += tests/emu/inrdec tests/emu/inrenc tests/emu/inrpack
check_LTLIBRARIES += tests/emu/libcli_device.la
EMU_TOOL_CPPFLAGS = $(EMU_CPPFLAGS) -DINRF_HAVE_CUDA=1
tests_emu_libcli_device_la_SOURCES = tools/cli_device.c
tests_emu_libcli_device_la_CPPFLAGS = $(EMU_TOOL_CPPFLAGS)
EMU_TOOL_LIBS = $(CLI_LIBS) tests/emu/libcli_device.la $(EMU_LIBS)
tests_emu_inrdec_SOURCES = $(tools_inrdec_SOURCES)
tests_emu_inrdec_CPPFLAGS = $(EMU_TOOL_CPPFLAGS)
nodist_EXTRA_tests_emu_inrdec_SOURCES = kernels/emu/cxx_link.cpp
tests_emu_inrdec_LDADD = $(EMU_TOOL_LIBS)
tests_emu_inrdec_LDFLAGS = $(AM_LDFLAGS) $(SAN_CXXFLAGS)
tests_emu_inrenc_SOURCES = $(tools_inrenc_SOURCES)
tests_emu_inrenc_CPPFLAGS = $(EMU_TOOL_CPPFLAGS)
nodist_EXTRA_tests_emu_inrenc_SOURCES = kernels/emu/cxx_link.cpp
tests_emu_inrenc_LDADD = $(EMU_TOOL_LIBS) -lpthread
tests_emu_inrenc_LDFLAGS = $(AM_LDFLAGS) $(SAN_CXXFLAGS)
tests_emu_inrpack_SOURCES = $(tools_inrpack_SOURCES)
tests_emu_inrpack_CFLAGS = $(AM_CFLAGS) $(XXHASH_CFLAGS)
tests_emu_inrpack_CPPFLAGS = $(EMU_TOOL_CPPFLAGS)
nodist_EXTRA_tests_emu_inrpack_SOURCES = kernels/emu/cxx_link.cpp
tests_emu_inrpack_LDADD = $(EMU_TOOL_LIBS) $(XXHASH_LIBS)
tests_emu_inrpack_LDFLAGS = $(AM_LDFLAGS) $(SAN_CXXFLAGS)
TESTS += tests/test_gpu_tools_emu.sh
endif

# The shared math under nvcc, run on the GPU when there is one (else 77).
if HAVE_CUDA
check_DATA = tests/test_cuda_math
tests/test_cuda_math: $(srcdir)/tests/test_cuda_math.cu $(INRF_PUB_H) $(INRF_PRIV_H)
	$(AM_V_GEN)$(MKDIR_P) tests && $(NVCC) $(NVCC_FLAGS) -o $@ $(srcdir)/tests/test_cuda_math.cu
TESTS += tests/test_cuda_math
CLEANFILES += tests/test_cuda_math
if HAVE_CMOCKA
check_PROGRAMS += tests/test_cuda_decode
tests_test_cuda_decode_SOURCES = tests/test_cuda_decode.c tests/golden.c tests/golden.h tests/check.h
tests_test_cuda_decode_CPPFLAGS = $(AM_CPPFLAGS) -I$(CUDA_HOME)/include
tests_test_cuda_decode_LDADD = $(CUDA_KIT_LIBS)
tests_test_cuda_decode_LDFLAGS = $(AM_LDFLAGS) $(CUDA_RPATH)
TESTS += tests/test_cuda_decode
# The GPU batch encoder against the CPU encoder (77 without a device).
check_PROGRAMS += tests/test_cuda_encode
tests_test_cuda_encode_SOURCES = tests/test_cuda_encode.c tests/check.h
tests_test_cuda_encode_CPPFLAGS = $(AM_CPPFLAGS) -I$(CUDA_HOME)/include
tests_test_cuda_encode_LDADD = $(CUDA_KIT_LIBS)
tests_test_cuda_encode_LDFLAGS = $(AM_LDFLAGS) $(CUDA_RPATH)
TESTS += tests/test_cuda_encode
endif
endif

# The emulated kernels as a shared libinrf_cuda for the Python package's
# tests (tests/test_python.sh points INRF_TEST_CUDA_EMU at tests/.libs/
# libinrf_cuda_emu.so): the sources of kernels/libinrf_cuda_emu.a, linked
# to the shared libinrf as libinrf_cuda is, exporting inrf/cuda.h only.
# Built with the module only, so never sanitized (Python cannot load an
# ASan library).
if HAVE_CMOCKA
if BUILD_PYTHON
check_LTLIBRARIES += tests/libinrf_cuda_emu.la
tests_libinrf_cuda_emu_la_SOURCES = $(kernels_libinrf_cuda_emu_a_SOURCES)
tests_libinrf_cuda_emu_la_CPPFLAGS = $(EMU_CPPFLAGS) -I$(srcdir)/kernels -DINRF_BUILDING_LIBRARY
tests_libinrf_cuda_emu_la_CXXFLAGS = -std=c++17 -O2 -ffp-contract=off -pthread $(WARN_CXXFLAGS) \
	-Wno-unknown-pragmas $(EMU_ARCH_CXXFLAGS) -fvisibility=hidden
tests_libinrf_cuda_emu_la_LIBADD = libinrf/libinrf.la -lpthread
tests_libinrf_cuda_emu_la_LDFLAGS = -rpath '$(abs_builddir)/tests' -avoid-version -no-undefined \
	-Wl,--version-script=$(srcdir)/tests/libinrf_cuda_emu.map
EXTRA_tests_libinrf_cuda_emu_la_DEPENDENCIES = tests/libinrf_cuda_emu.map
endif
endif
# (python/local.mk distributes the package's sources and tests whole.)
EXTRA_DIST += tests/libinrf_cuda_emu.map examples/train_resnet18.py

TESTS += tests/test_tools.sh tests/test_inrpack.sh tests/test_inrpack_cli.sh
TEST_EXTENSIONS = .sh
SH_LOG_COMPILER = $(SHELL)
EXTRA_DIST += spec tests/golden tests/fuzz/corpus tests/fuzz/corpus_pack tests/test_tools.sh tests/test_inrpack.sh tests/test_inrpack_cli.sh tests/test_gpu_tools_emu.sh tests/testlib.sh tests/test_cuda_math.cu \
	README.md bench/RESULTS.md bench/gpu bench/gpu_torch.py

# Outputs that are links, FIFOs, devices or inputs; inputs that are pipes.
TESTS += tests/test_outputs.sh
EXTRA_DIST += tests/test_outputs.sh

# inrenc and inrdec as codec users expect them: -f, -d, PNM, --bpp, --json.
TESTS += tests/test_codec_tools.sh
EXTRA_DIST += tests/test_codec_tools.sh
# the encoder's bytes for every thread count and CPU kernel
TESTS += tests/test_encode_kernels.sh
EXTRA_DIST += tests/test_encode_kernels.sh

# make install DESTDIR=...: the public surface and nothing else, and a
# program built against it with pkg-config.
TESTS += tests/test_install.sh
EXTRA_DIST += tests/test_install.sh
# It runs last: installing relinks libinrf_cuda in the build tree (libtool
# relinks a library that depends on another uninstalled one), which the
# other tests' programs load.
tests/test_install.log: $(TEST_LOGS:tests/test_install.log=)

# The run script's stages on a fake kit (no GPU or nvcc needed).
TESTS += tests/test_gpu_kit.sh
EXTRA_DIST += tests/test_gpu_kit.sh


# make fuzz-smoke: every libFuzzer harness for a bounded time (2 minutes
# in all) on a copy of its corpus; any crash fails (tests/fuzz/smoke.sh).
# It needs a fuzzing build: CC=clang ./configure --enable-fuzz.
EXTRA_DIST += tests/fuzz/corpus_image tests/fuzz/corpus_journal tests/fuzz/corpus_checkpoint \
	tests/fuzz/smoke.sh tests/fuzz/gen_corpus.sh tests/fuzz/gen_image_seeds.c
.PHONY: fuzz-smoke
if ENABLE_FUZZ
fuzz-smoke: $(FUZZ_HARNESSES)
	$(SHELL) $(srcdir)/tests/fuzz/smoke.sh $(srcdir)/tests/fuzz $(FUZZ_HARNESSES)
else
fuzz-smoke:
	@echo "fuzz-smoke: this build has no fuzz harnesses; make one with" \
		"CC=clang ./configure --enable-fuzz (in a clean tree or a build folder)" >&2; exit 1
endif

