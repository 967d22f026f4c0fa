# libinrf/local.mk: the library (libinrf.la), its per-instruction-set
# kernels and its pkg-config file.
lib_LTLIBRARIES = libinrf/libinrf.la
inrfincludedir = $(includedir)/inrf
# The public headers (tests/test_install.sh checks the list); inrf/cuda.h
# only with libinrf_cuda. libinrf/private/inrf/ holds the math and layouts
# that the library, the CUDA kernels and the tests share, installed nowhere.
inrfinclude_HEADERS = \
	libinrf/include/inrf/types.h \
	libinrf/include/inrf/model.h \
	libinrf/include/inrf/image.h \
	libinrf/include/inrf/encode.h \
	libinrf/include/inrf/pack.h \
	libinrf/include/inrf/sampler.h \
	libinrf/include/inrf/inrf.h
INRF_CUDA_H = libinrf/include/inrf/cuda.h
INRF_PUB_H = $(inrfinclude_HEADERS) $(INRF_CUDA_H)
INRF_PRIV_H = \
	libinrf/private/inrf/siren_math.h \
	libinrf/private/inrf/record.h \
	libinrf/private/inrf/train_math.h \
	libinrf/private/inrf/kind.h \
	libinrf/private/inrf/le.h
noinst_HEADERS = $(INRF_PRIV_H)
if HAVE_CUDA
inrfinclude_HEADERS += $(INRF_CUDA_H)
else
noinst_HEADERS += $(INRF_CUDA_H)
endif

LIB_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden -DINRF_BUILDING_LIBRARY \
	$(PNG_CFLAGS) $(ZSTD_CFLAGS) $(TURBOJPEG_CFLAGS) $(XXHASH_CFLAGS)

libinrf_libinrf_la_SOURCES = \
	libinrf/internal.h \
	libinrf/format.h \
	libinrf/bytes.h \
	libinrf/status.c \
	libinrf/kinds.c \
	libinrf/model.c \
	libinrf/read.c \
	libinrf/write.c \
	libinrf/fileio.c \
	libinrf/decode.c \
	libinrf/cpu.c \
	libinrf/cpu.h \
	libinrf/simd.h \
	libinrf/train.h \
	libinrf/encode.c \
	libinrf/encode_internal.h \
	libinrf/encode_batch.c \
	libinrf/encode_cpu.c \
	libinrf/quality.c \
	libinrf/pack_read.c \
	libinrf/pack_verify.c \
	libinrf/pack_decode.c \
	libinrf/pack_write.c \
	libinrf/sampler.c \
	libinrf/pack_internal.h \
	libinrf/image.c \
	libinrf/resize.c \
	libinrf/pool.c \
	libinrf/pool.h \
	$(SIREN_SOURCES)
libinrf_libinrf_la_CFLAGS = $(LIB_CFLAGS)
libinrf_libinrf_la_LDFLAGS = $(AM_LDFLAGS) -version-info $(INRF_LT_VERSION) -no-undefined
libinrf_libinrf_la_LIBADD = libinrf/libtile_generic.la \
	$(PNG_LIBS) $(ZSTD_LIBS) $(TURBOJPEG_LIBS) $(XXHASH_LIBS) $(OPENMP_CFLAGS) $(LIBM)

# SIREN, kind 0: its own folder (libinrf/kinds.c lists the kinds).
SIREN_SOURCES = \
	libinrf/siren/siren.h \
	libinrf/siren/kind.c \
	libinrf/siren/model.c \
	libinrf/siren/format.c \
	libinrf/siren/eval.c \
	libinrf/siren/decode_tile.h

# The SIMD tile kernel: one source, built once per instruction set and
# chosen at run time (decode.c).
noinst_LTLIBRARIES += libinrf/libtile_generic.la
libinrf_libtile_generic_la_SOURCES = libinrf/siren/decode_tile.c
libinrf_libtile_generic_la_CFLAGS = $(LIB_CFLAGS) -DINRF_TILE_SUFFIX=generic
if SIMD_X86
noinst_LTLIBRARIES += libinrf/libtile_avx2.la libinrf/libtile_avx512.la
libinrf_libtile_avx2_la_SOURCES = libinrf/siren/decode_tile.c
libinrf_libtile_avx2_la_CFLAGS = $(LIB_CFLAGS) -DINRF_TILE_SUFFIX=avx2 -mavx2 -mfma
libinrf_libtile_avx512_la_SOURCES = libinrf/siren/decode_tile.c
libinrf_libtile_avx512_la_CFLAGS = $(LIB_CFLAGS) -DINRF_TILE_SUFFIX=avx512 \
	-mavx512f -mavx512vl -mavx512dq -mavx2 -mfma -mprefer-vector-width=512
libinrf_libinrf_la_LIBADD += libinrf/libtile_avx2.la libinrf/libtile_avx512.la
endif

# The training kernel, likewise per instruction set, with explicit FMAs
# only: every copy gives the same bits (libinrf/train.h).
TRAIN_CFLAGS = $(LIB_CFLAGS) -Wno-psabi
noinst_LTLIBRARIES += libinrf/libtrain_generic.la
libinrf_libtrain_generic_la_SOURCES = libinrf/train_kernel.c
libinrf_libtrain_generic_la_CFLAGS = $(TRAIN_CFLAGS) -DINRF_TILE_SUFFIX=generic
libinrf_libinrf_la_LIBADD += libinrf/libtrain_generic.la
if SIMD_X86
noinst_LTLIBRARIES += libinrf/libtrain_avx2.la libinrf/libtrain_avx512.la
libinrf_libtrain_avx2_la_SOURCES = libinrf/train_kernel.c
libinrf_libtrain_avx2_la_CFLAGS = $(TRAIN_CFLAGS) -DINRF_TILE_SUFFIX=avx2 -mavx2 -mfma
libinrf_libtrain_avx512_la_SOURCES = libinrf/train_kernel.c
libinrf_libtrain_avx512_la_CFLAGS = $(TRAIN_CFLAGS) -DINRF_TILE_SUFFIX=avx512 \
	-mavx512f -mavx512vl -mavx512dq -mavx2 -mfma -mprefer-vector-width=512
libinrf_libinrf_la_LIBADD += libinrf/libtrain_avx2.la libinrf/libtrain_avx512.la
endif

pkgconfigdir = $(libdir)/pkgconfig
pkgconfig_DATA = libinrf/libinrf.pc
