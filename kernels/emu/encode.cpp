/* kernels/encode.cu compiled as C++ for the kernel emulator (cuda_runtime.h). */
#include "../encode.cu"
