/* test_math.c: the shared per-pixel math (siren_math.h) and the binary16
 * and quality helpers, checked against libm and exact arithmetic. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "../libinrf/bytes.h"
#include "inrf/inrf.h"
#include "inrf/siren_math.h"

/* siren_math.h promises 2.5e-7 for |x| <= 8192. */
static void test_sin_error(void **state)
{
    (void)state;
    double worst = 0.0;
    for (double xd = -8192.0; xd <= 8192.0; xd += 0.000731) {
        float x = (float)xd;
        double e = fabs((double)inrf_sin(x) - sin((double)x));
        if (e > worst)
            worst = e;
    }
    assert_true(worst <= 2.5e-7);
    assert_true(worst > 0.0); /* it is an approximation: a zero means the test is broken */
    /* exact at the points the reduction makes exact */
    assert_true(inrf_sin(0.0f) == 0.0f);
    assert_true(fabsf(inrf_sin(1.57079632679f) - 1.0f) < 1e-7f);
    assert_true(fabsf(inrf_sin(-1.57079632679f) + 1.0f) < 1e-7f);
    /* odd symmetry and bounded beyond the stated range */
    for (float x = 0.1f; x < 1e6f; x *= 1.37f)
        assert_true(inrf_sin(-x) == -inrf_sin(x));
    for (float x = 1e6f; x < 1e30f; x *= 9.1f)
        assert_true(fabsf(inrf_sin(x)) <= 1.0f + 1e-6f);
    assert_true(fabsf(inrf_sin(INFINITY)) <= 1.0f + 1e-6f);
    assert_true(inrf_sin(NAN) == 0.0f);
}

static void test_sincos(void **state)
{
    (void)state;
    double worst = 0.0;
    for (double xd = -8192.0; xd <= 8192.0; xd += 0.000731) {
        float x = (float)xd, s, c;
        inrf_sincos(x, &s, &c);
        assert_true(s == inrf_sin(x)); /* the same sine, bit for bit */
        double e = fabs((double)c - cos((double)x));
        if (e > worst)
            worst = e;
    }
    assert_true(worst <= 2.5e-7);
    assert_true(worst > 0.0);
}

#ifdef INRF_SIMD_X86
/* simd.h's vector sine, built per instruction set (tests/sine_simd.c) */
void sine_lanes_avx2(const float *x, size_t n, float *sn, float *s, float *c);
void sine_lanes_avx512(const float *x, size_t n, float *sn, float *s, float *c);
#endif

static float float_of(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* The vector sine of every instruction set this CPU runs, lane by lane,
 * bit for bit against the scalar inrf_sin and inrf_sincos: edge cases (0,
 * -0, the clamp at 2^22 and around it, infinities, NaN, subnormals, odd and
 * even multiples of pi/2 and their neighbours) and a sweep of every 997th
 * float bit pattern. */
static void test_sin_vector_bits(void **state)
{
    (void)state;
#ifdef INRF_SIMD_X86
    static const float edge[] = {0.0f, -0.0f, 4194304.0f, -4194304.0f, 4194305.0f, 4194303.5f,
                                 -4194305.0f, 1e30f, -1e30f, INFINITY, -INFINITY, NAN, -NAN,
                                 1e-45f, -1e-45f, 1.17549435e-38f, 1.5707964f, -1.5707964f,
                                 3.1415927f, -3.1415927f, 4.712389f, 6.2831855f, 3.140625f,
                                 1.5707963f, 1.5707965f, 2097152.5f, -2097151.5f, 8192.0f,
                                 0.5f, -0.5f, 30.0f, 15.0f};
    const size_t ne = sizeof edge / sizeof *edge, nsweep = (1ull << 32) / 997 + 1;
    const size_t n = (ne + nsweep + 15) / 16 * 16;
    float *x = malloc(n * sizeof(float)), *out = malloc(3 * n * sizeof(float));
    assert_non_null(x);
    assert_non_null(out);
    for (size_t i = 0; i < n; i++)
        x[i] = i < ne ? edge[i] : float_of((uint32_t)((uint64_t)(i - ne) * 997));
    struct {
        const char *name;
        void (*fn)(const float *, size_t, float *, float *, float *);
        int ok;
    } isa[] = {{"avx2", sine_lanes_avx2, 0}, {"avx512", sine_lanes_avx512, 0}};
    __builtin_cpu_init();
    isa[0].ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    isa[1].ok = isa[0].ok && __builtin_cpu_supports("avx512f") &&
                __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
    int ran = 0;
    for (size_t k = 0; k < sizeof isa / sizeof *isa; k++) {
        if (!isa[k].ok)
            continue; /* this CPU cannot run it */
        isa[k].fn(x, n, out, out + n, out + 2 * n);
        for (size_t i = 0; i < n; i++) {
            float s, c, sn = inrf_sin(x[i]);
            inrf_sincos(x[i], &s, &c);
            if (memcmp(&out[i], &sn, 4) || memcmp(&out[n + i], &s, 4) ||
                memcmp(&out[2 * n + i], &c, 4))
                fail_msg("%s: x = %a: vsin %a, vsincos %a %a; scalar %a, %a %a", isa[k].name,
                         (double)x[i], (double)out[i], (double)out[n + i],
                         (double)out[2 * n + i], (double)sn, (double)s, (double)c);
        }
        ran++;
    }
    print_message("vector sine checked on %d instruction sets, %zu inputs each\n", ran, n);
    free(x);
    free(out);
#else
    skip();
#endif
}

static void test_coord(void **state)
{
    (void)state;
    /* default window: (2i + 1) / n - 1 within binary32 rounding */
    for (uint32_t n = 1; n < 300; n++)
        for (uint32_t i = 0; i < n; i++) {
            float x = inrf_coord(i, n, -1.0, 1.0);
            double exact = (2.0 * i + 1.0) / n - 1.0;
            assert_true(fabs(x - exact) <= 6e-8);
            assert_true(x > -1.0f && x < 1.0f);
        }
    assert_true(inrf_coord(0, 1, -1.0, 1.0) == 0.0f);
    assert_true(inrf_coord(0, 2, -1.0, 1.0) == -0.5f);
    assert_true(inrf_coord(2, 5, -1.0, 1.0) == 0.0f);
    /* a window maps linearly; a reversed one mirrors */
    assert_true(inrf_coord(0, 4, 0.0, 1.0) == 0.125f);
    assert_true(inrf_coord(0, 4, 1.0, 0.0) == 0.875f);
    /* pixel windows land on the full decode's samples up to rounding */
    double win[4];
    for (uint32_t W = 7; W < 200; W += 13)
        for (uint32_t x = 0; x + 3 <= W; x += 5) {
            inrf_window_from_pixels(win, W, W, x, x, 3, 3);
            for (uint32_t i = 0; i < 3; i++)
                assert_true(fabsf(inrf_coord(i, 3, win[0], win[2]) -
                                  inrf_coord(x + i, W, -1.0, 1.0)) <= 1e-7f);
        }
}

static void test_output_mapping(void **state)
{
    (void)state;
    assert_true(inrf_output_unit(-0.5f, 0) == 0.0f);
    assert_true(inrf_output_unit(1.5f, 0) == 1.0f);
    assert_true(inrf_output_unit(0.25f, 0) == 0.25f);
    assert_true(inrf_output_unit(0.0f, 1) == 0.5f);
    assert_true(inrf_output_unit(-1.0f, 1) == 0.0f);
    assert_true(inrf_output_unit(3.0f, 1) == 1.0f);
    assert_true(inrf_output_unit(NAN, 0) == 0.0f);
    assert_true(inrf_output_unit(INFINITY, 0) == 1.0f);
    assert_int_equal(inrf_unit_to_u8(0.0f), 0);
    assert_int_equal(inrf_unit_to_u8(1.0f), 255);
    for (int v = 0; v < 256; v++) {
        assert_int_equal(inrf_unit_to_u8((float)v / 255.0f), v);
        /* floor(u * 255 + 0.5) */
        if (v < 255) {
            assert_int_equal(inrf_unit_to_u8(((float)v + 0.49f) / 255.0f), v);
            assert_int_equal(inrf_unit_to_u8(((float)v + 0.51f) / 255.0f), v + 1);
        }
    }
}

static void test_neuron_order(void **state)
{
    (void)state;
    /* bias first, then fmaf in k order: a case where the order matters */
    float w[3] = {1.0f, 1.0f, 1.0f}, h[3] = {1e8f, 1.0f, -1e8f};
    assert_true(inrf_neuron(w, h, 3, 0.0f) == 0.0f);   /* (1e8 + 1) - 1e8 loses the 1 */
    float h2[3] = {1e8f, -1e8f, 1.0f};
    assert_true(inrf_neuron(w, h2, 3, 0.0f) == 1.0f);
    float w1[1] = {3.0f}, h1[1] = {1.0f / 3.0f};
    assert_true(inrf_neuron(w1, h1, 1, 0.0f) == fmaf(3.0f, 1.0f / 3.0f, 0.0f));
    assert_true(inrf_activate(0.0f, 30.0f) == 0.0f);
}

static void test_f16(void **state)
{
    (void)state;
    /* every finite binary16 survives f16 -> f32 -> f16 */
    for (uint32_t h = 0; h < 65536; h++) {
        if (((h >> 10) & 0x1f) == 0x1f)
            continue; /* Inf and NaN are outside the format */
        float f = inrf_f16_to_f32((uint16_t)h);
        assert_int_equal(inrf_f32_to_f16(f), h);
        assert_true(isfinite(f));
    }
    assert_true(inrf_f16_to_f32(0x3c00) == 1.0f);
    assert_true(inrf_f16_to_f32(0xc000) == -2.0f);
    assert_true(inrf_f16_to_f32(0x0001) == ldexpf(1.0f, -24));
    assert_true(inrf_f16_to_f32(0x7bff) == 65504.0f);
    /* round to nearest even, and saturation instead of Inf */
    assert_int_equal(inrf_f32_to_f16(1.0f + ldexpf(1.0f, -11)), 0x3c00);              /* tie, even down */
    assert_int_equal(inrf_f32_to_f16(1.0f + 3 * ldexpf(1.0f, -11)), 0x3c02);          /* tie, even up */
    assert_int_equal(inrf_f32_to_f16(1.0f + ldexpf(1.0f, -11) + ldexpf(1.0f, -20)), 0x3c01);
    assert_int_equal(inrf_f32_to_f16(1e9f), 0x7bff);
    assert_int_equal(inrf_f32_to_f16(-1e9f), 0xfbff);
    assert_int_equal(inrf_f32_to_f16(ldexpf(1.0f, -26)), 0x0000);
    assert_int_equal(inrf_f32_to_f16(ldexpf(3.0f, -26)), 0x0001);
    /* the IEEE rounding (the batch decoders' f16 output): the same up to
     * 65520, then infinity, and NaN as CUDA's */
    assert_int_equal(inrf_f32_to_f16_rn(65519.996f), 0x7bff);
    assert_int_equal(inrf_f32_to_f16_rn(65520.0f), 0x7c00);
    assert_int_equal(inrf_f32_to_f16_rn(-1e9f), 0xfc00);
    assert_int_equal(inrf_f32_to_f16_rn(INFINITY), 0x7c00);
    assert_int_equal(inrf_f32_to_f16_rn(NAN), 0x7fff);
    assert_int_equal(inrf_f32_to_f16(-NAN), 0xfbff);
    for (uint32_t h = 0; h < 65536; h++)
        if (((h >> 10) & 0x1f) != 0x1f)
            assert_int_equal(inrf_f32_to_f16_rn(inrf_f16_to_f32((uint16_t)h)), h);
    /* relative error of normal values within 2^-11 */
    for (float x = 1e-4f; x < 6e4f; x *= 1.001f) {
        float r = inrf_f16_to_f32(inrf_f32_to_f16(x));
        assert_true(fabsf(r - x) <= x * ldexpf(1.0f, -11));
    }
}

static void test_psnr(void **state)
{
    (void)state;
    uint8_t a[100], b[100];
    for (int i = 0; i < 100; i++)
        a[i] = b[i] = (uint8_t)(i * 2);
    assert_true(isinf(inrf_psnr_u8(a, b, 100)));
    b[0] += 10; /* MSE = 100 / 100 = 1 */
    assert_true(inrf_mse_u8(a, b, 100) == 1.0);
    assert_true(fabs(inrf_psnr_u8(a, b, 100) - 48.1308036) < 1e-6);
    assert_true(inrf_mse_u8(a, b, 0) == 0.0);
}

static void test_status_texts(void **state)
{
    (void)state;
    for (int s = 0; s < INRF_STATUS_COUNT; s++) {
        const char *t = inrf_strerror((inrf_status)s);
        assert_non_null(t);
        assert_true(strlen(t) > 3);
        assert_string_not_equal(t, "unknown status");
    }
    assert_string_equal(inrf_strerror((inrf_status)999), "unknown status");
    assert_string_equal(inrf_version_string(), INRF_VERSION_STRING);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sin_error),     cmocka_unit_test(test_sincos),
        cmocka_unit_test(test_sin_vector_bits), cmocka_unit_test(test_coord),
        cmocka_unit_test(test_output_mapping), cmocka_unit_test(test_neuron_order),
        cmocka_unit_test(test_f16),           cmocka_unit_test(test_psnr),
        cmocka_unit_test(test_status_texts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
