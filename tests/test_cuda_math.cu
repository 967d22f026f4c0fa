// test_cuda_math.cu: the shared per-pixel math (siren_math.h) compiled by
// nvcc and run on the GPU gives the host's bits. Exit 77 without a GPU.
#include <cstdio>
#include <cstring>
#include <cuda_runtime.h>

#include "inrf/siren_math.h"

__global__ void eval(const float *x, float *s, float *c, unsigned char *u, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n)
        return;
    s[i] = inrf_sin(x[i]);
    c[i] = inrf_coord((uint32_t)i, (uint32_t)n, -1.0, 1.0);
    u[i] = inrf_unit_to_u8(inrf_output_unit(x[i] * 1e-3f, 0));
}

int main()
{
    int devices = 0;
    if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
        std::printf("no GPU: skipped\n");
        return 77;
    }
    const int n = 1 << 20;
    float *hx = new float[n], *hs = new float[n], *hc = new float[n];
    unsigned char *hu = new unsigned char[n];
    for (int i = 0; i < n; i++)
        hx[i] = (float)(i - n / 2) * 0.0137f;
    float *dx, *ds, *dc;
    unsigned char *du;
    cudaMalloc(&dx, n * sizeof(float));
    cudaMalloc(&ds, n * sizeof(float));
    cudaMalloc(&dc, n * sizeof(float));
    cudaMalloc(&du, n);
    cudaMemcpy(dx, hx, n * sizeof(float), cudaMemcpyHostToDevice);
    eval<<<(n + 255) / 256, 256>>>(dx, ds, dc, du, n);
    cudaError_t e = cudaDeviceSynchronize();
    if (e != cudaSuccess) {
        std::fprintf(stderr, "test_cuda_math: %s\n", cudaGetErrorString(e));
        return 1;
    }
    cudaMemcpy(hs, ds, n * sizeof(float), cudaMemcpyDeviceToHost);
    cudaMemcpy(hc, dc, n * sizeof(float), cudaMemcpyDeviceToHost);
    cudaMemcpy(hu, du, n, cudaMemcpyDeviceToHost);
    int bad = 0;
    for (int i = 0; i < n; i++) {
        float s = inrf_sin(hx[i]), c = inrf_coord((uint32_t)i, (uint32_t)n, -1.0, 1.0);
        unsigned char u = inrf_unit_to_u8(inrf_output_unit(hx[i] * 1e-3f, 0));
        bad += std::memcmp(&s, &hs[i], 4) != 0 || std::memcmp(&c, &hc[i], 4) != 0 || u != hu[i];
    }
    std::printf("%d passed, %d failed\n", n - bad, bad);
    return bad != 0;
}
