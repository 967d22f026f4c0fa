/* libinrf/siren/decode.cu (SIREN's GPU evaluator) compiled as C++ for the
 * kernel emulator (cuda_runtime.h). */
#include "../../libinrf/siren/decode.cu"
