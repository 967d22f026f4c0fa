/* cuda_runtime_api.h of the kernel emulator: see cuda_runtime.h. */
#include "cuda_runtime.h"
