# trainer/local.mk: build rules of inrtrain, its tests and benchmarks;
# included by the top-level Makefile.am (one non-recursive build). None of
# it is built --without-trainer (no CBLAS).
EXTRA_DIST += tests/gen_resnet18_golden.py bench/train_cpu_torch.py tests/test_inrtrain.sh \
	bench/train-cpu trainer/inrtrain-plot.in tests/test_inrtrain_plot.sh
if BUILD_TRAINER

# The model and its backends, linked by inrtrain, the tests and the bench.
# It needs libinrf's headers only (inrf_status), not the library.
noinst_LTLIBRARIES += trainer/libtrainer.la
trainer_libtrainer_la_SOURCES = \
	trainer/backend.h \
	trainer/error.h \
	trainer/error.c \
	trainer/cpu_backend.h \
	trainer/cpu_internal.h \
	trainer/cpu_backend.c \
	trainer/winograd.h \
	trainer/winograd.c \
	trainer/resnet18.h \
	trainer/resnet18.c
# Training tolerates rounding differences, so multiply-adds may contract.
trainer_libtrainer_la_CFLAGS = $(AM_CFLAGS) $(CBLAS_CFLAGS) -ffp-contract=fast
trainer_libtrainer_la_LIBADD = $(CBLAS_LIBS) $(LIBM)
TRAINER_LIBS = trainer/libtrainer.la $(CBLAS_LIBS) $(LIBM)

# Training throughput of the CPU backend (bench/train_cpu_torch.py is the
# PyTorch counterpart).
noinst_PROGRAMS += bench/train_cpu
bench_train_cpu_SOURCES = bench/train_cpu.c
bench_train_cpu_LDADD = $(TRAINER_LIBS) libinrf/libinrf.la
bench_train_cpu_LDFLAGS = $(AM_LDFLAGS) $(OPENMP_CFLAGS)

if HAVE_CMOCKA
check_PROGRAMS += tests/test_layers tests/test_resnet18
tests_test_layers_SOURCES = tests/test_layers.c
tests_test_layers_CFLAGS = $(TEST_CFLAGS)
tests_test_layers_LDADD = $(TRAINER_LIBS) $(TEST_LIBS)
tests_test_layers_LDFLAGS = $(AM_LDFLAGS) $(OPENMP_CFLAGS)
tests_test_resnet18_SOURCES = tests/test_resnet18.c
tests_test_resnet18_CFLAGS = $(TEST_CFLAGS)
tests_test_resnet18_LDADD = $(TRAINER_LIBS) $(TEST_LIBS)
tests_test_resnet18_LDFLAGS = $(AM_LDFLAGS) $(OPENMP_CFLAGS)
TESTS += tests/test_layers tests/test_resnet18
check_PROGRAMS += tests/test_checkpoint
tests_test_checkpoint_SOURCES = tests/test_checkpoint.c trainer/checkpoint.c trainer/checkpoint.h
tests_test_checkpoint_CFLAGS = $(TEST_CFLAGS)
tests_test_checkpoint_LDADD = $(TRAINER_LIBS) $(TEST_LIBS) $(XXHASH_LIBS)
tests_test_checkpoint_LDFLAGS = $(AM_LDFLAGS) $(OPENMP_CFLAGS)
TESTS += tests/test_checkpoint
endif

# tests/golden/resnet18.bin ships with tests/golden; its generator and the
# PyTorch benchmark (both in EXTRA_DIST above) need torch and are never run
# by the build.

# inrtrain: the tool, its data sources and checkpoints; the ImageFolder
# listing is the one inrpack uses (the application layer, tools/libcli.la).
bin_PROGRAMS += trainer/inrtrain
trainer_inrtrain_SOURCES = trainer/inrtrain.c trainer/data.c trainer/data.h \
	trainer/checkpoint.c trainer/checkpoint.h
trainer_inrtrain_CFLAGS = $(AM_CFLAGS) $(XXHASH_CFLAGS)
trainer_inrtrain_LDADD = $(CLI_LIBS) $(TRAINER_LIBS) libinrf/libinrf.la $(XXHASH_LIBS)
trainer_inrtrain_LDFLAGS = $(AM_LDFLAGS) $(OPENMP_CFLAGS)
dist_man_MANS += man/inrtrain.1
TESTS += tests/test_inrtrain.sh

# inrtrain-plot: the curves of inrtrain's logs (gnuplot), installed with it;
# its version is the package's.
bin_SCRIPTS = trainer/inrtrain-plot
dist_man_MANS += man/inrtrain-plot.1
MOSTLYCLEANFILES = trainer/inrtrain-plot
TESTS += tests/test_inrtrain_plot.sh
trainer/inrtrain-plot: $(srcdir)/trainer/inrtrain-plot.in Makefile
	$(AM_V_GEN)$(MKDIR_P) trainer && \
	sed 's|@VERSION[@]|$(PACKAGE_VERSION)|g' $(srcdir)/trainer/inrtrain-plot.in >$@.tmp && \
	chmod +x $@.tmp && mv $@.tmp $@

# The checkpoint reader's fuzz harness: its corpus replayed by make check,
# and with --enable-fuzz a libFuzzer binary (make fuzz-smoke runs it).
FUZZ_CKPT_SOURCES = tests/fuzz/fuzz_checkpoint.c trainer/checkpoint.c trainer/checkpoint.h \
	tests/fuzz/harness.h
check_PROGRAMS += tests/fuzz/replay_checkpoint
tests_fuzz_replay_checkpoint_SOURCES = $(FUZZ_CKPT_SOURCES) tests/fuzz/replay.c
tests_fuzz_replay_checkpoint_CFLAGS = $(AM_CFLAGS) $(XXHASH_CFLAGS) \
	-DREPLAY_CORPUS='"corpus_checkpoint"'
tests_fuzz_replay_checkpoint_LDADD = $(TRAINER_LIBS) libinrf/libinrf.la $(XXHASH_LIBS)
tests_fuzz_replay_checkpoint_LDFLAGS = $(AM_LDFLAGS) $(OPENMP_CFLAGS)
TESTS += tests/fuzz/replay_checkpoint
if ENABLE_FUZZ
noinst_PROGRAMS += tests/fuzz/fuzz_checkpoint
tests_fuzz_fuzz_checkpoint_SOURCES = $(FUZZ_CKPT_SOURCES)
tests_fuzz_fuzz_checkpoint_CFLAGS = $(AM_CFLAGS) $(XXHASH_CFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_checkpoint_LDFLAGS = $(AM_LDFLAGS) $(OPENMP_CFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_checkpoint_LDADD = $(TRAINER_LIBS) libinrf/libinrf.la $(XXHASH_LIBS)
FUZZ_HARNESSES += tests/fuzz/fuzz_checkpoint
endif
endif
