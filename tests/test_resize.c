/* test_resize.c: cmocka suite for libinrf/resize.c, area-average shrinking:
 * block means, fractional coverage, aspect and channel handling, refusals. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "inrf/inrf.h"

static inrf_image make(uint32_t w, uint32_t h, uint8_t c, uint32_t seed)
{
    inrf_image img;
    assert_int_equal(inrf_image_alloc(&img, w, h, c), INRF_OK);
    uint32_t s = seed * 2654435761u + 1;
    for (size_t i = 0; i < (size_t)w * h * c; i++) {
        s = s * 1103515245u + 12345u;
        img.pixels[i] = (uint8_t)(s >> 24);
    }
    return img;
}

/* An integer factor: every output pixel is its block's mean, rounded. */
static void test_integer_factor(void **state)
{
    (void)state;
    for (uint8_t c = 1; c <= 3; c += 2) {
        inrf_image a = make(12, 9, c, 3), b;
        assert_int_equal(inrf_image_resize_area(&a, 4, 3, &b), INRF_OK);
        assert_int_equal(b.width, 4);
        assert_int_equal(b.height, 3);
        assert_int_equal(b.channels, c);
        for (uint32_t y = 0; y < 3; y++)
            for (uint32_t x = 0; x < 4; x++)
                for (unsigned k = 0; k < c; k++) {
                    unsigned sum = 0;
                    for (uint32_t j = 0; j < 3; j++)
                        for (uint32_t i = 0; i < 3; i++)
                            sum += a.pixels[((3 * y + j) * 12 + 3 * x + i) * c + k];
                    assert_int_equal(b.pixels[(y * 4 + x) * c + k], (sum + 4) / 9);
                }
        inrf_image_free(&a);
        inrf_image_free(&b);
    }
}

/* 3 -> 2: the middle source pixel is shared half and half. */
static void test_fractional(void **state)
{
    (void)state;
    inrf_image a, b;
    assert_int_equal(inrf_image_alloc(&a, 3, 1, 1), INRF_OK);
    a.pixels[0] = 0, a.pixels[1] = 90, a.pixels[2] = 200;
    assert_int_equal(inrf_image_resize_area(&a, 2, 1, &b), INRF_OK);
    /* (0 * 2 + 90 * 1) / 3 = 30; (90 * 1 + 200 * 2) / 3 = 163.3 */
    assert_int_equal(b.pixels[0], 30);
    assert_int_equal(b.pixels[1], 163);
    inrf_image_free(&a);
    inrf_image_free(&b);
}

/* A flat image stays flat at any size; the same size is a copy. */
static void test_flat_and_identity(void **state)
{
    (void)state;
    inrf_image a, b;
    assert_int_equal(inrf_image_alloc(&a, 37, 23, 3), INRF_OK);
    memset(a.pixels, 117, (size_t)37 * 23 * 3);
    assert_int_equal(inrf_image_resize_area(&a, 11, 7, &b), INRF_OK);
    for (size_t i = 0; i < (size_t)11 * 7 * 3; i++)
        assert_int_equal(b.pixels[i], 117);
    inrf_image_free(&a);
    inrf_image_free(&b);
    a = make(13, 5, 3, 9);
    assert_int_equal(inrf_image_resize_area(&a, 13, 5, &b), INRF_OK);
    assert_memory_equal(a.pixels, b.pixels, (size_t)13 * 5 * 3);
    inrf_image_free(&a);
    inrf_image_free(&b);
}

/* The mean of the whole image is kept to within rounding. */
static void test_mean_kept(void **state)
{
    (void)state;
    inrf_image a = make(101, 67, 1, 5), b;
    assert_int_equal(inrf_image_resize_area(&a, 32, 21, &b), INRF_OK);
    double ma = 0, mb = 0;
    for (size_t i = 0; i < (size_t)101 * 67; i++)
        ma += a.pixels[i];
    for (size_t i = 0; i < (size_t)32 * 21; i++)
        mb += b.pixels[i];
    ma /= 101.0 * 67, mb /= 32.0 * 21;
    assert_true(mb > ma - 1.0 && mb < ma + 1.0);
    inrf_image_free(&a);
    inrf_image_free(&b);
}

static void test_refusals(void **state)
{
    (void)state;
    inrf_image a = make(8, 8, 3, 1), b;
    assert_int_equal(inrf_image_resize_area(&a, 9, 8, &b), INRF_E_INVALID_ARG);
    assert_null(b.pixels);
    assert_int_equal(inrf_image_resize_area(&a, 8, 0, &b), INRF_E_INVALID_ARG);
    assert_int_equal(inrf_image_resize_area(NULL, 4, 4, &b), INRF_E_INVALID_ARG);
    assert_int_equal(inrf_image_resize_area(&a, 4, 4, NULL), INRF_E_INVALID_ARG);
    inrf_image_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_integer_factor),
        cmocka_unit_test(test_fractional),
        cmocka_unit_test(test_flat_and_identity),
        cmocka_unit_test(test_mean_kept),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
