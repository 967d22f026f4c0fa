/* test_rate.c: the encoder's rate control on small generated images: a
 * byte budget (max_bytes, bpp) is never exceeded by the file as written,
 * down to the smallest file the encoder makes; a target PSNR finds a file
 * no larger than the budget-driven encodes that reach it; an unreachable
 * target returns the best file made. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "inrf/inrf.h"

/* Generated pictures: k = 0 smooth (gradients and a disc), 1 textured
 * (fine stripes and a checker), 2 noisy (a gradient with hashed noise). */
static inrf_image picture(uint32_t w, uint32_t h, int k)
{
    inrf_image img;
    assert_int_equal(inrf_image_alloc(&img, w, h, 3), INRF_OK);
    for (uint32_t j = 0; j < h; j++)
        for (uint32_t i = 0; i < w; i++) {
            double x = (i + 0.5) / w, y = (j + 0.5) / h, v[3];
            double disc = (x - 0.4) * (x - 0.4) + (y - 0.55) * (y - 0.55) < 0.06 ? 1 : 0;
            uint32_t hash = (i * 73856093u) ^ (j * 19349663u);
            hash = (hash ^ (hash >> 13)) * 0x5bd1e995u;
            double noise = ((hash >> 8) & 255) / 255.0 - 0.5;
            if (k == 0) {
                v[0] = 0.2 + 0.6 * x, v[1] = 0.3 + 0.5 * y * disc + 0.1 * sin(12 * x);
                v[2] = 0.5 + 0.3 * sin(6 * (x + y)) * (1 - disc);
            } else if (k == 1) {
                double check = ((i / 4 + j / 4) & 1) ? 0.2 : -0.2;
                v[0] = 0.5 + 0.3 * sin(40 * x + 9 * y), v[1] = 0.5 + check;
                v[2] = 0.5 + 0.25 * sin(30 * y) * cos(17 * x);
            } else {
                v[0] = 0.3 + 0.4 * x + 0.2 * noise, v[1] = 0.6 - 0.3 * y + 0.15 * noise;
                v[2] = 0.4 + 0.2 * disc + 0.1 * noise;
            }
            for (unsigned c = 0; c < 3; c++)
                img.pixels[((size_t)j * w + i) * 3 + c] =
                    (uint8_t)lrint(255 * fmin(fmax(v[c], 0), 1));
        }
    return img;
}

static inrf_encode_options quick(int steps)
{
    inrf_encode_options o;
    inrf_encode_options_init(&o);
    o.steps = steps;
    o.threads = 1;
    return o;
}

/* The file as written: its size is stats.bytes, it reads back with the
 * PSNR of the stats stored, and a decode measures that PSNR. */
static size_t written(const inrf_model *m, const inrf_encode_stats *s, const inrf_image *img)
{
    void *d;
    size_t n;
    assert_int_equal(inrf_write_memory(m, NULL, &d, &n), INRF_OK);
    assert_int_equal(n, s->bytes);
    inrf_model *r;
    assert_int_equal(inrf_read_memory(d, n, NULL, &r), INRF_OK);
    assert_true(fabs(r->psnr - s->psnr) < 1e-3);
    size_t px = (size_t)img->width * img->height * 3;
    uint8_t *out = malloc(px);
    assert_non_null(out);
    inrf_decode_options dopt;
    inrf_decode_options_init(&dopt);
    assert_int_equal(inrf_decode_u8(r, &dopt, out, 0), INRF_OK);
    assert_true(fabs(inrf_psnr_u8(out, img->pixels, px) - s->psnr) < 1e-9);
    free(out);
    inrf_model_free(r);
    free(d);
    return n;
}

/* The smallest file the encoder makes of img with o: what the message of
 * a budget of 1 byte names. */
static size_t smallest_file(const inrf_image *img, inrf_encode_options o)
{
    inrf_model *m;
    o.max_bytes = 1;
    o.bpp = 0;
    assert_int_equal(inrf_encode(img, &o, &m, NULL), INRF_E_LIMIT);
    assert_null(m);
    const char *at = strstr(inrf_last_error(), "smallest made: ");
    assert_non_null(at);
    return (size_t)strtoul(at + strlen("smallest made: "), NULL, 10);
}

/* One budget: the encode succeeds at or above the smallest file and the
 * file as written fits; below it, INRF_E_LIMIT naming the smallest. */
static int one_budget(const inrf_image *img, inrf_encode_options o, size_t smallest)
{
    inrf_model *m;
    inrf_encode_stats s;
    size_t budget = o.max_bytes;
    if (o.bpp > 0) {
        size_t b = (size_t)floor(o.bpp * img->width * img->height / 8.0);
        budget = budget && budget < b ? budget : b;
    }
    inrf_status st = inrf_encode(img, &o, &m, &s);
    if (budget < smallest) {
        assert_int_equal(st, INRF_E_LIMIT);
        assert_null(m);
        char want[64];
        snprintf(want, sizeof want, "smallest made: %zu", smallest);
        assert_non_null(strstr(inrf_last_error(), want));
        return 1;
    }
    if (st != INRF_OK)
        print_message("budget %zu (smallest %zu): %s\n", budget, smallest, inrf_last_error());
    assert_int_equal(st, INRF_OK);
    assert_true(written(m, &s, img) <= budget);
    assert_int_equal(s.target_reached, -1);
    inrf_model_free(m);
    return 1;
}

/* max_bytes and bpp over 3 pictures x 3 sizes: budgets from just below
 * the smallest file to above the free encode's, many a few bytes above
 * the smallest. */
static void test_budget_holds(void **state)
{
    (void)state;
    static const struct {
        uint32_t w, h;
        int layers, hidden, steps;
    } sizes[] = {{32, 32, 0, 0, 60}, {24, 20, 0, 0, 60}, {72, 56, 3, 24, 30}};
    int pairs = 0;
    for (int z = 0; z < 3; z++)
        for (int k = 0; k < 3; k++) {
            inrf_image img = picture(sizes[z].w, sizes[z].h, k);
            inrf_encode_options o = quick(sizes[z].steps);
            o.layers = sizes[z].layers, o.hidden = sizes[z].hidden;
            inrf_model *m;
            inrf_encode_stats s;
            assert_int_equal(inrf_encode(&img, &o, &m, &s), INRF_OK);
            size_t free_size = written(m, &s, &img);
            inrf_model_free(m);
            size_t lo = smallest_file(&img, o);
            assert_true(lo < free_size);
            static const long near[] = {-3, -1, 0, 1, 2, 3, 5, 8, 13};
            for (size_t i = 0; i < sizeof near / sizeof *near; i++) {
                o.max_bytes = (size_t)((long)lo + near[i]);
                pairs += one_budget(&img, o, lo);
            }
            for (int i = 1; i <= 12; i++) { /* across the range, and past the free size */
                o.max_bytes = lo + (free_size + 40 - lo) * (size_t)i / 12;
                pairs += one_budget(&img, o, lo);
            }
            o.max_bytes = 0;
            for (int i = 0; i < 3; i++) { /* bits per pixel, alone and under max_bytes */
                o.bpp = 8.0 * ((double)lo + 1 + (double)(free_size - lo) * i / 3.0) /
                        ((double)img.width * img.height);
                pairs += one_budget(&img, o, lo);
            }
            o.max_bytes = lo + 2;
            pairs += one_budget(&img, o, lo);
            inrf_image_free(&img);
        }
    print_message("%d (image, budget) pairs\n", pairs);
    assert_true(pairs >= 200);
}

/* A target PSNR against budget-driven encodes of the same picture (the
 * case of a photo where --target-psnr 25 gave 6,744 bytes at 25.75 dB and
 * --max-bytes 6000 5,889 bytes at 26.28 dB): the file reaches the target
 * and no budget-driven file that reaches it by 0.5 dB is smaller. */
static void test_target_smallest(void **state)
{
    (void)state;
    inrf_image img = picture(32, 32, 0);
    inrf_encode_options o = quick(300);
    inrf_model *m;
    inrf_encode_stats free_run, t, b;
    assert_int_equal(inrf_encode(&img, &o, &m, &free_run), INRF_OK);
    inrf_model_free(m);
    o.target_psnr = free_run.psnr - 4.0;
    assert_int_equal(inrf_encode(&img, &o, &m, &t), INRF_OK);
    written(m, &t, &img);
    inrf_model_free(m);
    print_message("free %.2f dB %zu bytes; target %.2f dB: %.2f dB %zu bytes, %.0f %% pruned\n",
                  free_run.psnr, free_run.bytes, o.target_psnr, t.psnr, t.bytes,
                  100.0 * t.prune_ratio);
    assert_int_equal(t.target_reached, 1);
    assert_true(t.psnr >= o.target_psnr);
    assert_true(t.bytes < free_run.bytes);
    assert_true(t.prune_ratio > free_run.prune_ratio);
    double target = o.target_psnr;
    o.target_psnr = 0;
    int reached = 0;
    for (size_t budget = free_run.bytes - 10; budget > t.bytes / 2; budget -= 12) {
        o.max_bytes = budget;
        if (inrf_encode(&img, &o, &m, &b) != INRF_OK)
            break;
        inrf_model_free(m);
        if (b.psnr >= target + 0.5) {
            if (t.bytes > b.bytes)
                print_message("max_bytes %zu: %.2f dB %zu bytes, smaller\n", budget, b.psnr,
                              b.bytes);
            assert_true(t.bytes <= b.bytes);
            reached++;
        }
    }
    assert_true(reached >= 2);
    inrf_image_free(&img);
}

/* A target just below the free encode's PSNR is reached (the fit is not
 * cut short of it); a target above what the encoder reaches returns the
 * best file made (the schedule's, as without a target) with
 * target_reached 0, and under a budget the file that fits it. */
static void test_target_unreachable(void **state)
{
    (void)state;
    inrf_image img = picture(24, 20, 1);
    inrf_encode_options o = quick(100);
    inrf_model *m;
    inrf_encode_stats free_run, s;
    assert_int_equal(inrf_encode(&img, &o, &m, &free_run), INRF_OK);
    inrf_model_free(m);
    assert_int_equal(free_run.target_reached, -1);
    o.target_psnr = free_run.psnr - 0.05;
    assert_int_equal(inrf_encode(&img, &o, &m, &s), INRF_OK);
    written(m, &s, &img);
    inrf_model_free(m);
    print_message("free %.2f dB %zu bytes; target %.2f dB: %.2f dB %zu bytes\n", free_run.psnr,
                  free_run.bytes, o.target_psnr, s.psnr, s.bytes);
    assert_int_equal(s.target_reached, 1);
    assert_true(s.psnr >= o.target_psnr);
    assert_true(s.bytes <= free_run.bytes);
    o.target_psnr = free_run.psnr + 10.0;
    assert_int_equal(inrf_encode(&img, &o, &m, &s), INRF_OK);
    written(m, &s, &img);
    inrf_model_free(m);
    assert_int_equal(s.target_reached, 0);
    assert_int_equal(s.bytes, free_run.bytes);
    assert_true(fabs(s.psnr - free_run.psnr) < 1e-9);
    assert_true(s.prune_ratio == free_run.prune_ratio);
    size_t lo = smallest_file(&img, o);
    for (int i = 0; i < 2; i++) {
        o.max_bytes = i == 0 ? free_run.bytes - 60 : lo + 4;
        assert_int_equal(inrf_encode(&img, &o, &m, &s), INRF_OK);
        assert_true(written(m, &s, &img) <= o.max_bytes);
        assert_int_equal(s.target_reached, 0);
        assert_true(s.prune_ratio > free_run.prune_ratio);
        /* the stats' pruning is the file's */
        size_t zeros = 0, all = 0;
        for (unsigned l = 1; l < m->arch.layers; l++) {
            const inrf_layer *L = &m->layer[l];
            all += (size_t)L->in * L->out;
            for (size_t k = 0; k < (size_t)L->in * L->out; k++)
                zeros += L->w[k] == 0.0f;
        }
        assert_true(fabs((double)zeros / all - s.prune_ratio) < 0.02);
        inrf_model_free(m);
    }
    inrf_image_free(&img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_budget_holds),
        cmocka_unit_test(test_target_smallest),
        cmocka_unit_test(test_target_unreachable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
