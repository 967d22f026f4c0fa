/* grid_gpu.cu compiled as C++ for the kernel emulator (cuda_runtime.h). */
#include "grid_gpu.cu"
