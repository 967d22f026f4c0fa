# kernels/local.mk: the CUDA kernels, built by nvcc into libinrf_cuda when
# configure finds it, and on the CPU by the emulator for the tests.
# The CUDA kernels on the CPU: kernels/emu compiles kernels/*.cu as C++
# against its own small CUDA runtime (blocks run one after another, a
# block's threads as fibers, barriers and shared memory checked), so the
# GPU tests run on every machine, with or without nvcc or a GPU.
if HAVE_CMOCKA
check_LIBRARIES += kernels/libinrf_cuda_emu.a
kernels_libinrf_cuda_emu_a_SOURCES = kernels/emu/emu.cpp kernels/emu/decode.cpp \
	kernels/emu/encode.cpp kernels/emu/cuda_runtime.h kernels/emu/cuda_runtime_api.h \
	kernels/emu/cuda_fp16.h
EMU_CPPFLAGS = -I$(srcdir)/kernels/emu $(AM_CPPFLAGS)
EMU_CXXFLAGS = -std=c++17 -O2 -ffp-contract=off -pthread $(WARN_CXXFLAGS) -Wno-unknown-pragmas \
	$(EMU_ARCH_CXXFLAGS) $(SAN_CXXFLAGS)
kernels_libinrf_cuda_emu_a_CPPFLAGS = $(EMU_CPPFLAGS)
kernels_libinrf_cuda_emu_a_CXXFLAGS = $(EMU_CXXFLAGS)
EMU_LIBS = kernels/libinrf_cuda_emu.a libinrf/libinrf.la $(LIBM) -lpthread
endif

if HAVE_CUDA
NVCC_FLAGS = -O3 --fmad=false -I$(top_srcdir)/libinrf/include -I$(top_srcdir)/libinrf/private
# The CUDA kernels (kernels/): a fat binary for Ampere to Hopper plus PTX,
# in a static library that the tools, the trainer and the tests link.
NVCC_ARCH = -gencode arch=compute_80,code=sm_80 -gencode arch=compute_86,code=sm_86 \
	-gencode arch=compute_89,code=sm_89 -gencode arch=compute_90,code=sm_90 \
	-gencode arch=compute_90,code=compute_90
CUDA_LIBS = -L$(CUDA_HOME)/lib64 -lcudart -lstdc++
CUDA_RPATH = -Wl,-rpath,$(CUDA_HOME)/lib64
kernels/libinrf_cuda.a: $(srcdir)/kernels/decode.cu $(srcdir)/kernels/encode.cu \
		$(srcdir)/kernels/cuda_status.h $(inrfinclude_HEADERS) $(INRF_PRIV_H)
	$(AM_V_GEN)$(MKDIR_P) kernels && \
	$(NVCC) $(NVCC_FLAGS) $(NVCC_ARCH) -Xcompiler -fPIC -c $(srcdir)/kernels/decode.cu \
		-o kernels/decode_cu.o && \
	$(NVCC) $(NVCC_FLAGS) $(NVCC_ARCH) -Xcompiler -fPIC -c $(srcdir)/kernels/encode.cu \
		-o kernels/encode_cu.o && \
	rm -f $@ && $(AR) rcs $@ kernels/decode_cu.o kernels/encode_cu.o
CLEANFILES += kernels/decode_cu.o kernels/encode_cu.o kernels/libinrf_cuda.a
endif
EXTRA_DIST += kernels/decode.cu kernels/encode.cu kernels/cuda_status.h
