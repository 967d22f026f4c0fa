# trainer/local.mk: build rules of inrtrain, its tests and benchmarks;
# included by the top-level Makefile.am (one non-recursive build).
