# tools/local.mk: the application layer that the tools, the trainer and
# the benchmarks share, and inrinfo, inrdec, inrenc and inrpack.

# The application layer, built once (uninstalled): messages, option
# parsing, JSON output and files (cli.c), the encoder's options
# (cli_encode.c), and an ImageFolder or list of images (pack_source.c).
noinst_LTLIBRARIES += tools/libcli.la
tools_libcli_la_SOURCES = tools/cli.c tools/cli.h tools/cli_encode.c \
	tools/pack_source.c tools/pack_source.h
# --device: whether the CUDA kernels are linked decides what it does, so it
# is its own small library; the emulated tools build it again
# (tests/local.mk).
noinst_LTLIBRARIES += tools/libcli_device.la
tools_libcli_device_la_SOURCES = tools/cli_device.c
CLI_LIBS = tools/libcli.la
TOOL_LIBS = libinrf/libinrf.la

# The per-target flags of the tools that use kernels/ are set either way: a
# conditional one would replace AM_CPPFLAGS with nothing without CUDA.
TOOL_CUDA_LIBS =
if HAVE_CUDA
TOOL_CUDA_INCLUDES = -I$(CUDA_HOME)/include
TOOL_CUDA_RPATH = $(CUDA_RPATH)
TOOL_CUDA_LIBS += kernels/libinrf_cuda.la $(CUDA_LIBS)
endif

# Built --without-image-io too: PNM stays, and PNG or JPEG is refused with
# a message that says why.
bin_PROGRAMS += tools/inrinfo tools/inrdec tools/inrenc tools/inrpack
tools_inrinfo_SOURCES = tools/inrinfo.c
tools_inrinfo_LDADD = $(CLI_LIBS) $(TOOL_LIBS)
tools_inrdec_SOURCES = tools/inrdec.c
# --device cuda: the GPU batch decoder (kernels/), when it is built.
tools_inrdec_CPPFLAGS = $(AM_CPPFLAGS) $(TOOL_CUDA_INCLUDES)
tools_inrdec_LDFLAGS = $(AM_LDFLAGS) $(TOOL_CUDA_RPATH)
tools_inrdec_LDADD = $(CLI_LIBS) tools/libcli_device.la $(TOOL_CUDA_LIBS) $(TOOL_LIBS)

tools_inrenc_SOURCES = tools/inrenc.c
tools_inrenc_CPPFLAGS = $(AM_CPPFLAGS) $(TOOL_CUDA_INCLUDES)
tools_inrenc_LDFLAGS = $(AM_LDFLAGS) $(TOOL_CUDA_RPATH)
# --device cuda: the batched GPU encoder (kernels/)
tools_inrenc_LDADD = $(CLI_LIBS) tools/libcli_device.la $(TOOL_CUDA_LIBS) $(TOOL_LIBS) -lpthread
# create runs its images on libinrf's thread pool, built in (the library
# hides it); each image's encode is single-threaded, so the two pools in
# the program never nest.
tools_inrpack_SOURCES = tools/inrpack.c tools/inrpack.h tools/pack_create.c tools/pack_journal.c \
	libinrf/pool.c libinrf/pool.h
tools_inrpack_CFLAGS = $(AM_CFLAGS) $(XXHASH_CFLAGS)
tools_inrpack_CPPFLAGS = $(AM_CPPFLAGS) $(TOOL_CUDA_INCLUDES)
tools_inrpack_LDFLAGS = $(AM_LDFLAGS) $(TOOL_CUDA_RPATH)
# create --device cuda: the batched GPU encoder (kernels/)
tools_inrpack_LDADD = $(CLI_LIBS) tools/libcli_device.la $(TOOL_CUDA_LIBS) $(TOOL_LIBS) \
	$(XXHASH_LIBS)
