# bench/local.mk: the benchmarks (run by hand, see bench/RESULTS.md) and
# make gpu-kit.
noinst_PROGRAMS += bench/decode
bench_decode_SOURCES = bench/decode.c bench/fma_peak.c bench/fma_peak.h
bench_decode_LDADD = $(TOOL_LIBS)
# fma_peak.c is built per instruction set like the tile kernel.
if SIMD_X86
noinst_LTLIBRARIES += bench/libpeak_avx512.la bench/libpeak_avx2.la
bench_libpeak_avx512_la_SOURCES = bench/fma_peak_kernel.c
bench_libpeak_avx512_la_CFLAGS = $(AM_CFLAGS) -DPEAK_SUFFIX=avx512 -mavx512f -mavx512vl -mavx2 -mfma
bench_libpeak_avx2_la_SOURCES = bench/fma_peak_kernel.c
bench_libpeak_avx2_la_CFLAGS = $(AM_CFLAGS) -DPEAK_SUFFIX=avx2 -mavx2 -mfma
bench_decode_LDADD += bench/libpeak_avx512.la bench/libpeak_avx2.la
endif
noinst_LTLIBRARIES += bench/libpeak_generic.la
bench_libpeak_generic_la_SOURCES = bench/fma_peak_kernel.c
bench_libpeak_generic_la_CFLAGS = $(AM_CFLAGS) -DPEAK_SUFFIX=generic
bench_decode_LDADD += bench/libpeak_generic.la
# bench/codec (a script) runs these two: inrf against JPEG and WebP.
noinst_PROGRAMS += bench/codec_inrf
bench_codec_inrf_SOURCES = bench/codec_inrf.c
bench_codec_inrf_LDADD = $(CLI_LIBS) $(TOOL_LIBS)
# The two that call libjpeg-turbo themselves: not built --without-image-io.
if IMAGE_IO
noinst_PROGRAMS += bench/codec_jpeg
bench_codec_jpeg_SOURCES = bench/codec_jpeg.c
bench_codec_jpeg_CFLAGS = $(AM_CFLAGS) $(TURBOJPEG_CFLAGS)
bench_codec_jpeg_LDADD = $(CLI_LIBS) $(TOOL_LIBS) $(TURBOJPEG_LIBS)
# bench/pack (a script) runs this one: the CPU data path against JPEG;
# bench/torch-loader (bench/torch_loader.py) its --sampler mode, the
# epoch loop of inrf.torch.Loader in C.
noinst_PROGRAMS += bench/pack_decode
bench_pack_decode_SOURCES = bench/pack_decode.c
bench_pack_decode_CFLAGS = $(AM_CFLAGS) $(TURBOJPEG_CFLAGS)
bench_pack_decode_LDADD = $(CLI_LIBS) $(TOOL_LIBS) $(TURBOJPEG_LIBS)
endif


if HAVE_CMOCKA
# bench/gpu_encode on the emulator (make bench/gpu_encode_emu): the GPU
# encoder's quality against the CPU's on real images, without a GPU.
EXTRA_PROGRAMS = bench/gpu_encode_emu
bench_gpu_encode_emu_SOURCES = bench/gpu_encode.c
nodist_EXTRA_bench_gpu_encode_emu_SOURCES = kernels/emu/cxx_link.cpp
bench_gpu_encode_emu_CPPFLAGS = $(EMU_CPPFLAGS)
bench_gpu_encode_emu_LDADD = $(CLI_LIBS) $(EMU_LIBS)
bench_gpu_encode_emu_LDFLAGS = $(AM_LDFLAGS) $(SAN_CXXFLAGS)
endif

if HAVE_CUDA
# bench/gpu_decode: GPU batch decode throughput (run where a GPU is).
noinst_PROGRAMS += bench/gpu_decode
bench_gpu_decode_SOURCES = bench/gpu_decode.c
bench_gpu_decode_CPPFLAGS = $(AM_CPPFLAGS) -I$(CUDA_HOME)/include
bench_gpu_decode_LDADD = $(CLI_LIBS) $(CUDA_KIT_LIBS)
bench_gpu_decode_LDFLAGS = $(AM_LDFLAGS) $(CUDA_RPATH)
noinst_PROGRAMS += bench/gpu_encode
bench_gpu_encode_SOURCES = bench/gpu_encode.c
bench_gpu_encode_CPPFLAGS = $(AM_CPPFLAGS) -I$(CUDA_HOME)/include
bench_gpu_encode_LDADD = $(CLI_LIBS) $(CUDA_KIT_LIBS)
bench_gpu_encode_LDFLAGS = $(AM_LDFLAGS) $(CUDA_RPATH)
endif

# make gpu-kit: gpu-kit/, the GPU tests, benchmarks and tools linked
# statically, a data subset and the run script, for GPU machines that have
# no build tools (bench/gpu_kit.sh; README, GPU). It builds a clean copy of
# the checkout out of the way, so it needs git, autotools and nvcc.
EXTRA_DIST += bench/gpu_kit.sh bench/gpu_kit_run bench/torch-loader bench/torch_loader.py
.PHONY: gpu-kit
gpu-kit:
	NVCC='$(NVCC)' $(SHELL) $(srcdir)/bench/gpu_kit.sh $(srcdir) gpu-kit
