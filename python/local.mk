# python/local.mk: the inrf Python package built in the tree: the
# extension module inrf._inrf (python/src/inrf/*.c, CPython's stable ABI)
# linked to the build's libinrf, staged with the package's .py files in
# python/stage, the folder that PYTHONPATH names (tests/test_python.sh).
# pip builds the same sources against an installed libinrf (python/setup.py).
PY_C_SOURCES = python/src/inrf/_inrf.h python/src/inrf/_inrf.c python/src/inrf/_loader.c \
	python/src/inrf/_cuda.c
# The sources go out whole (the parts of the package add files); what a
# build in the tree or pip left there does not.
EXTRA_DIST += python/pyproject.toml python/setup.py python/src python/tests tests/test_python.sh
dist-hook: dist-python
.PHONY: dist-python
dist-python:
	cd $(distdir)/python && rm -rf build stage src/*.egg-info && \
	find src tests \( -name '*.o' -o -name '*.lo' -o -name '.deps' -o -name '.libs' \
	  -o -name '.dirstamp' -o -name '__pycache__' -o -name '*.pyc' \) -prune \
	  -exec rm -rf {} +
TESTS += tests/test_python.sh
# The runner's interpreter (configure: --with-python), and the stage.
AM_TESTS_ENVIRONMENT += INRF_PYTHON='$(PYTHON_FOR_INRF)'; export INRF_PYTHON;

if BUILD_PYTHON
# A loadable module, not a library: shared only, no version, built (not
# installed) here; -rpath makes libtool build it shared. The run path
# finds the build's libinrf (the module is loaded from python/stage).
noinst_LTLIBRARIES += python/_inrf.la
python__inrf_la_SOURCES = $(PY_C_SOURCES)
python__inrf_la_CPPFLAGS = $(AM_CPPFLAGS) $(PYTHON_CPPFLAGS)
if HAVE_CUDA
# The build's libinrf_cuda, which _cuda.c opens at first use (pip bakes in
# the installed one's folder the same way).
python__inrf_la_CPPFLAGS += -DINRFPY_CUDA_LIBDIR='"$(abs_top_builddir)/kernels/.libs"'
endif
# No -O3 vectoriser flags needed, no OpenMP, no sanitizers (Python cannot
# load an ASan build): the loops are libinrf's.
python__inrf_la_CFLAGS = -std=gnu11 $(WARN_CFLAGS) -fvisibility=hidden
python__inrf_la_LIBADD = libinrf/libinrf.la
python__inrf_la_LDFLAGS = -module -avoid-version -shared -rpath '$(abs_builddir)/python' \
	-Wl,-rpath,'$(abs_top_builddir)/libinrf/.libs'

PY_STAGE = python/stage/inrf
noinst_DATA = $(PY_STAGE)/_inrf.abi3.so python-stage-py
$(PY_STAGE)/_inrf.abi3.so: python/_inrf.la
	$(AM_V_GEN)$(MKDIR_P) $(PY_STAGE) && cp python/.libs/_inrf.so $@.tmp && mv $@.tmp $@
# Every .py of the package, copied again when it changed (each part of
# the package adds its own modules).
python-stage-py:
	@$(MKDIR_P) $(PY_STAGE) && for f in $(srcdir)/python/src/inrf/*.py; do \
	  t=$(PY_STAGE)/$${f##*/}; \
	  cmp -s "$$f" "$$t" || { echo "  STAGE    $$t"; cp "$$f" "$$t" && chmod u+w "$$t"; } || \
	  exit 1; \
	done
endif

clean-local: clean-python
.PHONY: clean-python python-stage-py
clean-python:
	-rm -rf python/stage
