/* sampler.c: the epoch sampler (inrf/sampler.h): each rank's batches of a
 * seeded epoch order and each sample's augmentation window. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "inrf/sampler.h"
#include "internal.h"

/* Limits of the options (beyond them no job exists, and every count below
 * stays far from overflowing 64 bits). */
#define MAX_BATCH INRF_PACK_MAX_IMAGES
#define MAX_WORLD (1u << 20)
#define MAX_SIDE 65536u
/* An image of unknown size: square, at a resolution where rounding is nil. */
#define UNKNOWN_SIDE 65536u

struct inrf_sampler {
    inrf_sampler_options o;
    uint32_t count;
    uint32_t *sizes;           /* 2 x count, or NULL: all unknown */
    uint32_t *order;           /* the current epoch's order of the images */
    uint64_t epoch;
    uint64_t samples, batches; /* per rank */
};

/* ---------------------------------------------------------------- random */

/* splitmix64's finaliser: a bijection of 64 bits that mixes them all. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* splitmix64: a seeded stream, the same on every platform. */
static uint64_t next64(uint64_t *s) { return mix64(*s += 0x9e3779b97f4a7c15ull); }

static double uniform(uint64_t *s) { return (double)(next64(s) >> 11) * 0x1p-53; } /* [0, 1) */

/* The start of the window stream of a position: seed, epoch and position
 * each mixed into the key before the next joins it (so that no two of
 * them share a stream in practice), and any position's stream comes
 * without the others'. */
static uint64_t window_key(uint64_t seed, uint64_t epoch, uint64_t pos)
{
    /* the constant keeps the streams apart from the permutation's */
    return mix64(mix64(mix64(seed ^ 0x5851f42d4c957f2dull) ^ epoch) ^ pos);
}

/* ---------------------------------------------------------------- options */

void inrf_sampler_options_init_(inrf_sampler_options *opt, int abi)
{
    if (!inrf_abi_init_ok(abi)) {
        opt->abi = abi; /* another layout: nothing else is written */
        return;
    }
    memset(opt, 0, sizeof *opt);
    opt->abi = abi;
    opt->shuffle = 1;
    opt->world_size = 1;
    opt->augment = INRF_AUGMENT_NONE;
    opt->scale[0] = 0.08f, opt->scale[1] = 1.0f;
    opt->ratio[0] = 3.0f / 4.0f, opt->ratio[1] = 4.0f / 3.0f;
}

static inrf_status check_options(const inrf_sampler_options *o)
{
    if (!o)
        return inrf_fail(INRF_E_INVALID_ARG, "sampler: NULL options");
    inrf_status st = inrf_check_abi(o->abi, o->reserved_, INRF_RESERVED_COUNT(o),
                                    "sampler options", "inrf_sampler_options_init");
    if (st != INRF_OK)
        return st;
    if (o->batch_size < 1 || o->batch_size > MAX_BATCH)
        return inrf_fail(INRF_E_INVALID_ARG, "sampler options: batch_size %u outside 1..%u",
                         o->batch_size, MAX_BATCH);
    if (o->shuffle != 0 && o->shuffle != 1)
        return inrf_fail(INRF_E_INVALID_ARG, "sampler options: shuffle %d is not 0 or 1",
                         o->shuffle);
    if (o->drop_last != 0 && o->drop_last != 1)
        return inrf_fail(INRF_E_INVALID_ARG, "sampler options: drop_last %d is not 0 or 1",
                         o->drop_last);
    if (o->world_size < 1 || o->world_size > MAX_WORLD)
        return inrf_fail(INRF_E_INVALID_ARG, "sampler options: world_size %u outside 1..%u",
                         o->world_size, MAX_WORLD);
    if (o->rank >= o->world_size)
        return inrf_fail(INRF_E_INVALID_ARG, "sampler options: rank %u not below world_size %u",
                         o->rank, o->world_size);
    if (o->augment != INRF_AUGMENT_NONE && o->augment != INRF_AUGMENT_CROP_FLIP &&
        o->augment != INRF_AUGMENT_RRC_FLIP)
        return inrf_fail(INRF_E_INVALID_ARG, "sampler options: augment %d unknown", o->augment);
    if (o->pad > MAX_SIDE)
        return inrf_fail(INRF_E_INVALID_ARG, "sampler options: pad %u above %u", o->pad,
                         MAX_SIDE);
    if (!(isfinite(o->scale[0]) && isfinite(o->scale[1]) && o->scale[0] > 0 &&
          o->scale[0] <= o->scale[1] && o->scale[1] <= 1))
        return inrf_fail(INRF_E_INVALID_ARG,
                         "sampler options: scale %g..%g is not a range within (0, 1]",
                         (double)o->scale[0], (double)o->scale[1]);
    if (!(isfinite(o->ratio[0]) && isfinite(o->ratio[1]) && o->ratio[0] > 0 &&
          o->ratio[0] <= o->ratio[1]))
        return inrf_fail(INRF_E_INVALID_ARG,
                         "sampler options: ratio %g..%g is not a positive finite range",
                         (double)o->ratio[0], (double)o->ratio[1]);
    return INRF_OK;
}

/* ----------------------------------------------------------------- create */

inrf_status inrf_sampler_create(uint32_t count, const uint32_t *sizes,
                                const inrf_sampler_options *opt, inrf_sampler **out)
{
    if (!out)
        return inrf_fail(INRF_E_INVALID_ARG, "sampler: NULL output");
    *out = NULL;
    inrf_status st = check_options(opt);
    if (st != INRF_OK)
        return st;
    if (count < 1 || count > INRF_PACK_MAX_IMAGES)
        return inrf_fail(INRF_E_INVALID_ARG, "sampler: count %u outside 1..%u", count,
                         INRF_PACK_MAX_IMAGES);
    for (uint32_t i = 0; sizes && i < count; i++)
        if (sizes[2 * i] > MAX_SIDE || sizes[2 * i + 1] > MAX_SIDE)
            return inrf_fail(INRF_E_INVALID_ARG, "sampler: sizes of image %u (%ux%u) above %u",
                             i, sizes[2 * i], sizes[2 * i + 1], MAX_SIDE);
    inrf_sampler *s = calloc(1, sizeof *s);
    if (!s)
        return inrf_fail(INRF_E_NOMEM, "sampler: out of memory");
    s->o = *opt;
    s->count = count;
    s->order = malloc((size_t)count * sizeof *s->order);
    if (sizes)
        s->sizes = malloc((size_t)count * 2 * sizeof *s->sizes);
    if (!s->order || (sizes && !s->sizes)) {
        inrf_sampler_free(s);
        return inrf_fail(INRF_E_NOMEM, "sampler: out of memory for %u images", count);
    }
    if (sizes)
        memcpy(s->sizes, sizes, (size_t)count * 2 * sizeof *s->sizes);
    uint64_t n = count, B = opt->batch_size, W = opt->world_size;
    if (opt->drop_last) {
        s->batches = n / (W * B);
        s->samples = s->batches * B;
    } else {
        s->samples = (n + W - 1) / W;
        s->batches = (s->samples + B - 1) / B;
    }
    st = inrf_sampler_set_epoch(s, 0);
    if (st != INRF_OK) {
        inrf_sampler_free(s);
        return st;
    }
    *out = s;
    return INRF_OK;
}

inrf_status inrf_sampler_create_pack(const inrf_pack *pack, const inrf_sampler_options *opt,
                                     inrf_sampler **out)
{
    if (!pack || !out)
        return inrf_fail(INRF_E_INVALID_ARG, "sampler: NULL argument");
    *out = NULL;
    uint32_t n = inrf_pack_count(pack);
    if (n < 1)
        return inrf_fail(INRF_E_INVALID_ARG, "sampler: the pack holds no image");
    uint32_t *sizes = malloc((size_t)n * 2 * sizeof *sizes);
    if (!sizes)
        return inrf_fail(INRF_E_NOMEM, "sampler: out of memory for %u images", n);
    for (uint32_t i = 0; i < n; i++) {
        const inrf_pack_item *it = inrf_pack_get(pack, i);
        sizes[2 * i] = it->width;
        sizes[2 * i + 1] = it->height;
    }
    inrf_status st = inrf_sampler_create(n, sizes, opt, out);
    free(sizes);
    return st;
}

void inrf_sampler_free(inrf_sampler *s)
{
    if (!s)
        return;
    free(s->order);
    free(s->sizes);
    free(s);
}

uint64_t inrf_sampler_samples(const inrf_sampler *s) { return s ? s->samples : 0; }
uint64_t inrf_sampler_batches(const inrf_sampler *s) { return s ? s->batches : 0; }

uint64_t inrf_sampler_padded(const inrf_sampler *s)
{
    return s && !s->o.drop_last ? s->samples * s->o.world_size - s->count : 0;
}

uint64_t inrf_sampler_dropped(const inrf_sampler *s)
{
    return s && s->o.drop_last ? s->count - s->samples * s->o.world_size : 0;
}

uint64_t inrf_sampler_epoch(const inrf_sampler *s) { return s ? s->epoch : 0; }

/* ------------------------------------------------------------------ epoch */

inrf_status inrf_sampler_set_epoch(inrf_sampler *s, uint64_t epoch)
{
    if (!s)
        return inrf_fail(INRF_E_INVALID_ARG, "sampler: NULL sampler");
    uint32_t n = s->count, *perm = s->order;
    for (uint32_t i = 0; i < n; i++)
        perm[i] = i;
    if (s->o.shuffle) {
        /* Fisher-Yates from splitmix64 keyed by (seed, epoch) */
        uint64_t r = s->o.seed * 0x9e3779b97f4a7c15ull + epoch + 1;
        for (uint32_t i = n; i > 1; i--) {
            uint32_t j = (uint32_t)(next64(&r) % i);
            uint32_t t = perm[i - 1];
            perm[i - 1] = perm[j];
            perm[j] = t;
        }
    }
    s->epoch = epoch;
    return INRF_OK;
}

/* ----------------------------------------------------------------- windows */

/* CIFAR's padded random crop: the whole image shifted by -pad..pad output
 * pixels in x and in y (what falls outside is the crop's zero padding). */
static void window_crop(uint64_t *rng, uint32_t pad, uint32_t width, uint32_t height,
                        double w[4])
{
    uint64_t span = 2 * (uint64_t)pad + 1;
    double dx = (double)(int64_t)(next64(rng) % span) - pad;
    double dy = (double)(int64_t)(next64(rng) % span) - pad;
    w[0] = -1 + 2 * dx / width, w[2] = 1 + 2 * dx / width;
    w[1] = -1 + 2 * dy / height, w[3] = 1 + 2 * dy / height;
}

/* torchvision's RandomResizedCrop.get_params in the source's pixels (W x H),
 * as fractions of the image: ten tries of an area fraction uniform in scale
 * and an aspect ratio log-uniform in ratio, rounded to whole pixels and
 * placed at random; else the centre crop of the aspect nearest to the
 * image's within ratio. */
static void window_rrc(uint64_t *rng, const float scale[2], const float ratio[2], double W,
                       double H, double w[4])
{
    double fw = 1, fh = 1, fx = 0, fy = 0;
    double lr0 = log(ratio[0]), lr1 = log(ratio[1]);
    int found = 0;
    for (int t = 0; t < 10 && !found; t++) {
        double area = W * H * (scale[0] + (scale[1] - scale[0]) * uniform(rng));
        double ar = exp(lr0 + (lr1 - lr0) * uniform(rng));
        double cw = round(sqrt(area * ar)), ch = round(sqrt(area / ar));
        if (cw >= 1 && ch >= 1 && cw <= W && ch <= H) {
            fw = cw / W, fh = ch / H;
            fx = floor(uniform(rng) * (W - cw + 1)) / W;
            fy = floor(uniform(rng) * (H - ch + 1)) / H;
            found = 1;
        }
    }
    if (!found) {
        double r = W / H;
        if (r < ratio[0]) /* too tall: the full width, cut in height */
            fh = fmin(fmax(round(W / ratio[0]), 1), H) / H;
        else if (r > ratio[1]) /* too wide */
            fw = fmin(fmax(round(H * ratio[1]), 1), W) / W;
        fx = (1 - fw) / 2, fy = (1 - fh) / 2;
    }
    w[0] = 2 * fx - 1, w[2] = 2 * (fx + fw) - 1;
    w[1] = 2 * fy - 1, w[3] = 2 * (fy + fh) - 1;
}

/* The window of the sample at position pos of the epoch, showing image i. */
static void window_of(const inrf_sampler *s, uint64_t pos, uint32_t i, uint32_t width,
                      uint32_t height, float out[4])
{
    double w[4] = {-1, -1, 1, 1};
    if (s->o.augment == INRF_AUGMENT_NONE) {
        for (int k = 0; k < 4; k++)
            out[k] = (float)w[k];
        return;
    }
    uint64_t rng = window_key(s->o.seed, s->epoch, pos);
    if (s->o.augment == INRF_AUGMENT_CROP_FLIP) {
        window_crop(&rng, s->o.pad ? s->o.pad : width / 8, width, height, w);
    } else {
        uint32_t sw = s->sizes ? s->sizes[2 * i] : 0, sh = s->sizes ? s->sizes[2 * i + 1] : 0;
        if (!sw || !sh)
            sw = sh = UNKNOWN_SIDE;
        window_rrc(&rng, s->o.scale, s->o.ratio, sw, sh, w);
    }
    int flip = (int)(next64(&rng) & 1);
    out[0] = (float)(flip ? w[2] : w[0]);
    out[1] = (float)w[1];
    out[2] = (float)(flip ? w[0] : w[2]);
    out[3] = (float)w[3];
}

/* ------------------------------------------------------------------ batch */

inrf_status inrf_sampler_batch(const inrf_sampler *s, uint64_t b, uint32_t width,
                               uint32_t height, uint32_t *indices, float *windows, size_t *n)
{
    if (!s || !indices || !n)
        return inrf_fail(INRF_E_INVALID_ARG, "sampler batch: NULL argument");
    *n = 0;
    if (b >= s->batches)
        return inrf_fail(INRF_E_INVALID_ARG, "sampler batch: batch %llu of %llu",
                         (unsigned long long)b, (unsigned long long)s->batches);
    if (width < 1 || width > MAX_SIDE || height < 1 || height > MAX_SIDE)
        return inrf_fail(INRF_E_INVALID_ARG, "sampler batch: output %ux%u outside 1..%u", width,
                         height, MAX_SIDE);
    uint64_t B = s->o.batch_size, W = s->o.world_size, first = b * B;
    uint64_t len = s->samples - first < B ? s->samples - first : B;
    for (uint64_t j = 0; j < len; j++) {
        /* past the images, the order again from its start (drop_last 0) */
        uint64_t pos = (first + j) * W + s->o.rank;
        uint32_t i = s->order[pos % s->count];
        indices[j] = i;
        if (windows)
            window_of(s, pos, i, width, height, windows + 4 * j);
    }
    *n = (size_t)len;
    return INRF_OK;
}
