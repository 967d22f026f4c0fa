# tools/local.mk: inrinfo, inrdec, inrenc and inrpack.
bin_PROGRAMS += tools/inrinfo tools/inrdec tools/inrenc tools/inrpack
TOOL_LIBS = libinrf/libinrf.la
tools_inrinfo_SOURCES = tools/inrinfo.c tools/cli.c tools/cli.h
tools_inrinfo_LDADD = $(TOOL_LIBS)
tools_inrdec_SOURCES = tools/inrdec.c tools/cli.c tools/cli.h tools/cli_device.c
tools_inrdec_LDADD = $(TOOL_LIBS)
# --device cuda: the GPU batch decoder (kernels/), when it is built. The
# per-target flags of the tools that use kernels/ are set either way: a
# conditional one would replace AM_CPPFLAGS with nothing without CUDA.
tools_inrdec_CPPFLAGS = $(AM_CPPFLAGS) $(TOOL_CUDA_INCLUDES)
tools_inrdec_LDFLAGS = $(AM_LDFLAGS) $(TOOL_CUDA_RPATH)
if HAVE_CUDA
TOOL_CUDA_INCLUDES = -I$(CUDA_HOME)/include
TOOL_CUDA_RPATH = $(CUDA_RPATH)
tools_inrdec_LDADD += kernels/libinrf_cuda.a $(CUDA_LIBS)
EXTRA_tools_inrdec_DEPENDENCIES = kernels/libinrf_cuda.a
endif
tools_inrenc_SOURCES = tools/inrenc.c tools/cli.c tools/cli.h tools/cli_device.c tools/cli_encode.c
tools_inrenc_LDADD = $(TOOL_LIBS) -lpthread
tools_inrenc_CPPFLAGS = $(AM_CPPFLAGS) $(TOOL_CUDA_INCLUDES)
tools_inrenc_LDFLAGS = $(AM_LDFLAGS) $(TOOL_CUDA_RPATH)
if HAVE_CUDA
# --device cuda: the batched GPU encoder (kernels/)
tools_inrenc_LDADD += kernels/libinrf_cuda.a $(CUDA_LIBS)
EXTRA_tools_inrenc_DEPENDENCIES = kernels/libinrf_cuda.a
endif
tools_inrpack_SOURCES = tools/inrpack.c tools/inrpack.h tools/pack_create.c tools/pack_source.c \
	tools/pack_journal.c tools/cli.c tools/cli.h tools/cli_device.c tools/cli_encode.c
tools_inrpack_CFLAGS = $(AM_CFLAGS) $(XXHASH_CFLAGS)
tools_inrpack_CPPFLAGS = $(AM_CPPFLAGS) $(TOOL_CUDA_INCLUDES)
tools_inrpack_LDFLAGS = $(AM_LDFLAGS) $(TOOL_CUDA_RPATH)
tools_inrpack_LDADD = $(TOOL_LIBS) $(XXHASH_LIBS)
if HAVE_CUDA
# create --device cuda: the batched GPU encoder (kernels/)
tools_inrpack_LDADD += kernels/libinrf_cuda.a $(CUDA_LIBS)
EXTRA_tools_inrpack_DEPENDENCIES = kernels/libinrf_cuda.a
endif

