/* cli_device.c: --device for the tools that can use the CUDA kernels
 * (inrenc, inrpack, inrdec): parsing, and choosing the device to use. */
#include <string.h>

#include "cli.h"
#include "config.h"
#ifdef INRF_HAVE_CUDA
#include "inrf/cuda.h"
#endif

int cli_parse_device(const char *s, int *device)
{
    if (strcmp(s, "cpu") == 0)
        *device = CLI_DEVICE_CPU;
    else if (strcmp(s, "auto") == 0)
        *device = CLI_DEVICE_AUTO;
    else if (strcmp(s, "cuda") == 0)
        *device = CLI_DEVICE_CUDA;
    else
        return cli_usage_error("--device: 'auto', 'cpu' or 'cuda', not '%s'", s), 0;
    return 1;
}

int cli_use_gpu(int device)
{
    if (device == CLI_DEVICE_CPU)
        return 0;
#ifdef INRF_HAVE_CUDA
    int n;
    if (inrf_cuda_devices(&n) == INRF_OK)
        return 1;
    if (device == CLI_DEVICE_CUDA)
        cli_error("--device cuda: %s", inrf_last_error());
#else
    if (device == CLI_DEVICE_CUDA)
        cli_error("--device cuda: this build has no CUDA kernels (configure found no nvcc)");
#endif
    return device == CLI_DEVICE_CUDA ? -1 : 0;
}
