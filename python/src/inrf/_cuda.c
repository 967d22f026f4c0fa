/* _cuda.c: PLACEHOLDER until the CUDA data path lands: adds nothing. */
#include "_inrf.h"

int inrfpy_cuda_add(PyObject *module)
{
    (void)module;
    return 0;
}
