/* quality.c: mean squared error and PSNR between 8-bit buffers, the
 * quality figures used by the encoder, the tools and the benchmarks. */
#include <math.h>

#include "internal.h"

double inrf_mse_u8(const uint8_t *a, const uint8_t *b, size_t n)
{
    if (n == 0)
        return 0.0;
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        int d = (int)a[i] - (int)b[i];
        sum += (uint64_t)(d * d);
    }
    return (double)sum / (double)n;
}

double inrf_psnr_from_mse(double mse)
{
    if (mse <= 0.0)
        return INFINITY;
    return 10.0 * log10(255.0 * 255.0 / mse);
}

double inrf_psnr_u8(const uint8_t *a, const uint8_t *b, size_t n)
{
    return inrf_psnr_from_mse(inrf_mse_u8(a, b, n));
}
