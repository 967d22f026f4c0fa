/* _loader.c: PLACEHOLDER until the Sampler type lands: adds nothing. */
#include "_inrf.h"

int inrfpy_loader_add(PyObject *module)
{
    (void)module;
    return 0;
}
