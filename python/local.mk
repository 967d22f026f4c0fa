# python/local.mk: the inrf Python package built in the tree: the
# extension module inrf._inrf (python/src/inrf/*.c, CPython's stable ABI)
# linked to the build's libinrf, staged with the package's .py files in
# python/stage, the folder that PYTHONPATH names (tests/test_python.sh).
# pip builds the same sources against an installed libinrf (python/setup.py).
PY_C_SOURCES = python/src/inrf/_inrf.h python/src/inrf/_inrf.c python/src/inrf/_loader.c \
	python/src/inrf/_cuda.c
# The package's modules and tests; each part of the package adds its own.
PY_MODULES = python/src/inrf/__init__.py
PY_TESTS = python/tests/conftest.py python/tests/test_core.py
EXTRA_DIST += python/pyproject.toml python/setup.py $(PY_C_SOURCES) \
	$(PY_MODULES) $(PY_TESTS) tests/test_python.sh
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
# No -O3 vectoriser flags needed, no OpenMP, no sanitizers (Python cannot
# load an ASan build): the loops are libinrf's.
python__inrf_la_CFLAGS = -std=gnu11 $(WARN_CFLAGS) -fvisibility=hidden
python__inrf_la_LIBADD = libinrf/libinrf.la
python__inrf_la_LDFLAGS = -module -avoid-version -shared -rpath '$(abs_builddir)/python' \
	-Wl,-rpath,'$(abs_top_builddir)/libinrf/.libs'

PY_STAGE = python/stage/inrf
noinst_DATA = $(PY_STAGE)/_inrf.abi3.so
$(PY_STAGE)/_inrf.abi3.so: python/_inrf.la $(PY_MODULES)
	$(AM_V_GEN)$(MKDIR_P) $(PY_STAGE) && \
	for f in $(srcdir)/python/src/inrf/*.py; do cp "$$f" $(PY_STAGE)/ || exit 1; done && \
	chmod u+w $(PY_STAGE)/*.py && \
	cp python/.libs/_inrf.so $@.tmp && mv $@.tmp $@
endif

clean-local: clean-python
.PHONY: clean-python
clean-python:
	-rm -rf python/stage
