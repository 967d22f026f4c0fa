/* winograd.c: the CPU backend's 3x3 stride-1 convolutions as Winograd's
 * F(2x2,3x3): forward, backward-data and weight gradient (winograd.h). */
#include <string.h>

#include "cpu_internal.h"
#include "winograd.h"

int conv_winograd(const trn_window *win)
{
    return win->kh == 3 && win->kw == 3 && win->stride == 1 && win->pad == 1;
}

/* The split of a Winograd pass into chunks of T tiles, across images. */
typedef struct wino_plan {
    size_t tiles; /* N * ceil(H/2) * ceil(W/2) */
    size_t T;     /* tiles per chunk, the last one may have fewer */
    int chunks;
} wino_plan;

static wino_plan wino_plan_make(const trn_tensor *x, int threads)
{
    wino_plan p;
    p.tiles = (size_t)x->n * ((x->h + 1) / 2) * ((x->w + 1) / 2);
    size_t share = (p.tiles + threads - 1) / threads; /* keep every thread busy */
    p.T = share < WINO_TILES ? share : WINO_TILES;
    p.chunks = (int)((p.tiles + p.T - 1) / p.T);
    return p;
}

/* Chunk ci's first tile and its tile count. */
static size_t wino_chunk(const wino_plan *p, int ci, size_t *t)
{
    size_t t0 = (size_t)ci * p->T;
    *t = p->tiles - t0 < p->T ? p->tiles - t0 : p->T;
    return t0;
}

/* Channels per pass of the transforms: the local tiles stay in registers
 * and each of the 16 output streams gets whole cache lines. */
#define WINO_CH 16

/* G g G^T for channels c0..c0+cn of the 9 taps g[kh*3+kw]. */
static inline __attribute__((always_inline)) void
wino_filter_chunk(const float *const *g, int c0, int cn, float *restrict dst, size_t plane)
{
    float t[4][3][WINO_CH];
    for (int j = 0; j < 3; j++)
        for (int c = 0; c < cn; c++) {
            float g0 = g[j][c0 + c], g1 = g[3 + j][c0 + c], g2 = g[6 + j][c0 + c];
            t[0][j][c] = g0;
            t[1][j][c] = 0.5f * (g0 + g1 + g2);
            t[2][j][c] = 0.5f * (g0 - g1 + g2);
            t[3][j][c] = g2;
        }
    for (int i = 0; i < 4; i++)
        for (int c = 0; c < cn; c++) {
            dst[(4 * i + 0) * plane + c0 + c] = t[i][0][c];
            dst[(4 * i + 1) * plane + c0 + c] = 0.5f * (t[i][0][c] + t[i][1][c] + t[i][2][c]);
            dst[(4 * i + 2) * plane + c0 + c] = 0.5f * (t[i][0][c] - t[i][1][c] + t[i][2][c]);
            dst[(4 * i + 3) * plane + c0 + c] = t[i][2][c];
        }
}

// u (16, Cout, Cin) = G g G^T per (co,ci) of w (Cout,3,3,Cin); flip takes
// g(kh,kw) = w(co,2-kh,2-kw,ci), the filter of the backward-data pass
TRN_SIMD static void wino_filter_rows(const float *restrict w, int co0, int co1, int Cout,
                                      int Cin, int flip, float *restrict u)
{
    const size_t plane = (size_t)Cout * Cin;
    for (int co = co0; co < co1; co++) {
        const float *g[9];
        for (int k = 0; k < 9; k++)
            g[k] = w + ((size_t)co * 9 + (size_t)(flip ? 8 - k : k)) * Cin;
        float *dst = u + (size_t)co * Cin;
        int c0 = 0;
        for (; c0 + WINO_CH <= Cin; c0 += WINO_CH)
            wino_filter_chunk(g, c0, WINO_CH, dst, plane);
        if (c0 < Cin)
            wino_filter_chunk(g, c0, Cin - c0, dst, plane);
    }
}

/* B^T d B of one tile for channels c0..c0+cn of its 16 input rows. */
static inline __attribute__((always_inline)) void
wino_input_chunk(const float *const *row, int c0, int cn, float *restrict dst, size_t plane)
{
    float t[4][4][WINO_CH];
    for (int j = 0; j < 4; j++)
        for (int c = 0; c < cn; c++) {
            float d0 = row[j][c0 + c], d1 = row[4 + j][c0 + c], d2 = row[8 + j][c0 + c],
                  d3 = row[12 + j][c0 + c];
            t[0][j][c] = d0 - d2;
            t[1][j][c] = d1 + d2;
            t[2][j][c] = d2 - d1;
            t[3][j][c] = d1 - d3;
        }
    for (int i = 0; i < 4; i++)
        for (int c = 0; c < cn; c++) {
            dst[(4 * i + 0) * plane + c0 + c] = t[i][0][c] - t[i][2][c];
            dst[(4 * i + 1) * plane + c0 + c] = t[i][1][c] + t[i][2][c];
            dst[(4 * i + 2) * plane + c0 + c] = t[i][2][c] - t[i][1][c];
            dst[(4 * i + 3) * plane + c0 + c] = t[i][1][c] - t[i][3][c];
        }
}

/* Tile t0 + k of an (N,H,W) map cut into 2x2 tiles, numbered image by
 * image, row by row. */
typedef struct wino_tile {
    int n, th, tw;
} wino_tile;

static wino_tile wino_tile_at(size_t t, int H, int W)
{
    const size_t th_n = (size_t)(H + 1) / 2, tw_n = (size_t)(W + 1) / 2;
    wino_tile p = {(int)(t / (th_n * tw_n)), (int)(t % (th_n * tw_n) / tw_n), (int)(t % tw_n)};
    return p;
}

// v (16, T, C) = B^T d B for tiles t0..t0+T of x (N,H,W,C)
TRN_SIMD static void wino_input(const trn_tensor *x, size_t t0, size_t T, const float *zero,
                                float *restrict v)
{
    const int H = x->h, W = x->w, C = x->c;
    const size_t plane = T * C;
    for (size_t tile = 0; tile < T; tile++) {
        const wino_tile q = wino_tile_at(t0 + tile, H, W);
        const int n = q.n, th = q.th, tw = q.tw;
        const float *row[16];
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) {
                int ih = 2 * th - 1 + i, iw = 2 * tw - 1 + j;
                row[4 * i + j] = ih < 0 || ih >= H || iw < 0 || iw >= W
                                     ? zero
                                     : x->data + (((size_t)n * H + ih) * W + iw) * C;
            }
        float *dst = v + tile * C;
        int c0 = 0;
        for (; c0 + WINO_CH <= C; c0 += WINO_CH)
            wino_input_chunk(row, c0, WINO_CH, dst, plane);
        if (c0 < C)
            wino_input_chunk(row, c0, C - c0, dst, plane);
    }
}

/* A^T m A of one tile for channels c0..c0+cn: out0..out3 its 2x2 outputs
 * (NULL past an odd border). */
static inline __attribute__((always_inline)) void
wino_output_chunk(const float *restrict src, size_t plane, int c0, int cn, float *const *out)
{
    float t[2][4][WINO_CH];
    for (int j = 0; j < 4; j++)
        for (int c = 0; c < cn; c++) {
            float m0 = src[(0 + j) * plane + c0 + c], m1 = src[(4 + j) * plane + c0 + c],
                  m2 = src[(8 + j) * plane + c0 + c], m3 = src[(12 + j) * plane + c0 + c];
            t[0][j][c] = m0 + m1 + m2;
            t[1][j][c] = m1 - m2 - m3;
        }
    for (int i = 0; i < 2; i++) {
        float *o0 = out[2 * i], *o1 = out[2 * i + 1];
        if (o0)
            for (int c = 0; c < cn; c++)
                o0[c0 + c] = t[i][0][c] + t[i][1][c] + t[i][2][c];
        if (o1)
            for (int c = 0; c < cn; c++)
                o1[c0 + c] = t[i][1][c] - t[i][2][c] - t[i][3][c];
    }
}

// y (N,H,W,C) at tiles t0..t0+T = A^T m A from m (16, T, C); outputs past
// an odd border are dropped
TRN_SIMD static void wino_output(const float *restrict m, size_t t0, size_t T,
                                 const trn_tensor *y)
{
    const int H = y->h, W = y->w, C = y->c;
    const size_t plane = T * C;
    for (size_t tile = 0; tile < T; tile++) {
        const wino_tile q = wino_tile_at(t0 + tile, H, W);
        const int n = q.n, th = q.th, tw = q.tw;
        const int oh = 2 * th, ow = 2 * tw;
        float *base = y->data + (((size_t)n * H + oh) * W + ow) * C;
        float *out[4] = {base, ow + 1 < W ? base + C : NULL,
                         oh + 1 < H ? base + (size_t)W * C : NULL,
                         oh + 1 < H && ow + 1 < W ? base + (size_t)W * C + C : NULL};
        const float *src = m + tile * C;
        int c0 = 0;
        for (; c0 + WINO_CH <= C; c0 += WINO_CH)
            wino_output_chunk(src, plane, c0, WINO_CH, out);
        if (c0 < C)
            wino_output_chunk(src, plane, c0, C - c0, out);
    }
}

// y (N,H,W,Cout) = x (N,H,W,Cin) conv the filter whose transform is u:
// u (16,Cout,Cin) when trans_u (the forward), (16,Cin,Cout) when not (the
// backward-data pass, u of the flipped filter)
static void wino_conv(cpu_backend *cb, const trn_tensor *x, const trn_tensor *y, int trans_u,
                      const float *u)
{
    const int Cin = x->c, Cout = y->c;
    const wino_plan p = wino_plan_make(x, cb->threads);
    const size_t T = p.T;
    const size_t u_floats = (size_t)16 * Cin * Cout;
    const size_t per_thread = 16 * T * ((size_t)Cin + Cout) + (size_t)Cin + 16;
    /* u sits in the same workspace: the caller passes it at its start */
    float *ws = cb->col;
#pragma omp parallel num_threads(cb->threads)
    {
        float *v = ws + u_floats + (size_t)thread_id() * per_thread;
        float *mm = v + 16 * T * Cin, *zero = mm + 16 * T * Cout;
        memset(zero, 0, (size_t)Cin * sizeof(float));
#pragma omp for schedule(static)
        for (int ci = 0; ci < p.chunks; ci++) {
            size_t t, t0 = wino_chunk(&p, ci, &t);
            wino_input(x, t0, t, zero, v);
            for (int xi = 0; xi < 16; xi++) {
                const float *uu = u + (size_t)xi * Cin * Cout;
                if (trans_u)
                    gemm(0, 1, (int)t, Cout, Cin, v + xi * t * Cin, Cin, uu, Cin, 0,
                         mm + xi * t * Cout, Cout);
                else
                    gemm(0, 0, (int)t, Cout, Cin, v + xi * t * Cin, Cin, uu, Cout, 0,
                         mm + xi * t * Cout, Cout);
            }
            wino_output(mm, t0, t, y);
        }
    }
}

/* The workspace of wino_conv, u at its start; NULL when it cannot be had. */
static float *wino_workspace(cpu_backend *cb, const trn_tensor *x, int Cout)
{
    const int Cin = x->c;
    const size_t T = wino_plan_make(x, cb->threads).T;
    const size_t per_thread = 16 * T * ((size_t)Cin + Cout) + (size_t)Cin + 16;
    return cpu_col(cb, (size_t)16 * Cin * Cout + (size_t)cb->threads * per_thread);
}

// y = conv(x, w) by Winograd; flip: the backward-data pass, x = dy,
// y = dx, w (Cout_fwd,3,3,Cin_fwd) used as (Cin_fwd,3,3,Cout_fwd) flipped
void wino_run(cpu_backend *cb, const trn_tensor *x, const trn_tensor *w,
              const trn_tensor *y, int flip)
{
    float *ws = wino_workspace(cb, x, y->c);
    if (ws == NULL)
        return;
    const int Cout = w->n, Cin = w->c;
#pragma omp parallel num_threads(cb->threads)
    {
        size_t c0, c1;
        thread_range((size_t)Cout, thread_id(), thread_count(), &c0, &c1);
        wino_filter_rows(w->data, (int)c0, (int)c1, Cout, Cin, flip, ws);
    }
    wino_conv(cb, x, y, !flip, ws);
}

/* A g A^T of one tile of dy for channels c0..c0+cn (the adjoint of
 * wino_output_chunk): in[0..3] its 2x2 gradients, a zero row past an odd
 * border. */
static inline __attribute__((always_inline)) void
wino_grad_chunk(const float *const *in, int c0, int cn, float *restrict dst, size_t plane)
{
    float t[4][2][WINO_CH];
    for (int j = 0; j < 2; j++)
        for (int c = 0; c < cn; c++) {
            float y0 = in[j][c0 + c], y1 = in[2 + j][c0 + c];
            t[0][j][c] = y0;
            t[1][j][c] = y0 + y1;
            t[2][j][c] = y0 - y1;
            t[3][j][c] = -y1;
        }
    for (int i = 0; i < 4; i++)
        for (int c = 0; c < cn; c++) {
            dst[(4 * i + 0) * plane + c0 + c] = t[i][0][c];
            dst[(4 * i + 1) * plane + c0 + c] = t[i][0][c] + t[i][1][c];
            dst[(4 * i + 2) * plane + c0 + c] = t[i][0][c] - t[i][1][c];
            dst[(4 * i + 3) * plane + c0 + c] = -t[i][1][c];
        }
}

// dm (16, T, C) = A g A^T for tiles t0..t0+T of dy (N,H,W,C)
TRN_SIMD static void wino_grad(const trn_tensor *dy, size_t t0, size_t T, const float *zero,
                               float *restrict dm)
{
    const int H = dy->h, W = dy->w, C = dy->c;
    const size_t plane = T * C;
    for (size_t tile = 0; tile < T; tile++) {
        const wino_tile q = wino_tile_at(t0 + tile, H, W);
        const int n = q.n, th = q.th, tw = q.tw;
        const int oh = 2 * th, ow = 2 * tw;
        const float *base = dy->data + (((size_t)n * H + oh) * W + ow) * C;
        const float *in[4] = {base, ow + 1 < W ? base + C : zero,
                              oh + 1 < H ? base + (size_t)W * C : zero,
                              oh + 1 < H && ow + 1 < W ? base + (size_t)W * C + C : zero};
        float *dst = dm + tile * C;
        int c0 = 0;
        for (; c0 + WINO_CH <= C; c0 += WINO_CH)
            wino_grad_chunk(in, c0, WINO_CH, dst, plane);
        if (c0 < C)
            wino_grad_chunk(in, c0, C - c0, dst, plane);
    }
}

/* G^T du G for channels c0..c0+cn: du[xi] the summed partials' rows, out[k]
 * the 9 taps' rows (the adjoint of wino_filter_chunk). */
static inline __attribute__((always_inline)) void
wino_dfilter_chunk(const float *const *du, int c0, int cn, float *const *out)
{
    float t[3][4][WINO_CH];
    for (int j = 0; j < 4; j++)
        for (int c = 0; c < cn; c++) {
            float u0 = du[j][c0 + c], u1 = du[4 + j][c0 + c], u2 = du[8 + j][c0 + c],
                  u3 = du[12 + j][c0 + c];
            t[0][j][c] = u0 + 0.5f * (u1 + u2);
            t[1][j][c] = 0.5f * (u1 - u2);
            t[2][j][c] = 0.5f * (u1 + u2) + u3;
        }
    for (int i = 0; i < 3; i++)
        for (int c = 0; c < cn; c++) {
            out[3 * i + 0][c0 + c] = t[i][0][c] + 0.5f * (t[i][1][c] + t[i][2][c]);
            out[3 * i + 1][c0 + c] = 0.5f * (t[i][1][c] - t[i][2][c]);
            out[3 * i + 2][c0 + c] = 0.5f * (t[i][1][c] + t[i][2][c]) + t[i][3][c];
        }
}

// dw (Cout,3,3,Cin) rows co0..co1 = G^T (sum over nt partials of du
// (16,Cout,Cin)) G; sum is scratch of 16*Cin floats
TRN_SIMD static void wino_dfilter_rows(const float *restrict part, int nt, int co0, int co1,
                                       int Cout, int Cin, float *restrict sum,
                                       float *restrict dw)
{
    const size_t plane = (size_t)Cout * Cin, psize = 16 * plane;
    for (int co = co0; co < co1; co++) {
        for (int xi = 0; xi < 16; xi++) {
            const float *p = part + xi * plane + (size_t)co * Cin;
            float *s = sum + (size_t)xi * Cin;
            for (int c = 0; c < Cin; c++)
                s[c] = p[c];
            for (int t = 1; t < nt; t++)
                for (int c = 0; c < Cin; c++)
                    s[c] += p[(size_t)t * psize + c];
        }
        const float *du[16];
        float *out[9];
        for (int xi = 0; xi < 16; xi++)
            du[xi] = sum + (size_t)xi * Cin;
        for (int k = 0; k < 9; k++)
            out[k] = dw + ((size_t)co * 9 + k) * Cin;
        int c0 = 0;
        for (; c0 + WINO_CH <= Cin; c0 += WINO_CH)
            wino_dfilter_chunk(du, c0, WINO_CH, out);
        if (c0 < Cin)
            wino_dfilter_chunk(du, c0, Cin - c0, out);
    }
}

// dw (Cout,3,3,Cin) by Winograd: du[xi] (Cout,Cin) = sum over tiles of
// (A dy A^T)[xi]^T (T,Cout) . (B^T x B)[xi] (T,Cin), per thread, then summed
// over the threads in a fixed order and taken back through G
void wino_dweights(cpu_backend *cb, const trn_tensor *x, const trn_tensor *dy,
                   const trn_tensor *dw)
{
    const int Cin = x->c, Cout = dy->c;
    const wino_plan p = wino_plan_make(x, cb->threads);
    const size_t T = p.T, psize = (size_t)16 * Cout * Cin;
    const size_t zc = (size_t)(Cin > Cout ? Cin : Cout) + 16;
    const size_t per_thread = psize + 16 * T * ((size_t)Cin + Cout) + zc;
    float *ws = cpu_col(cb, (size_t)cb->threads * per_thread);
    if (ws == NULL)
        return;
#pragma omp parallel num_threads(cb->threads)
    {
        float *part = ws + (size_t)thread_id() * psize;
        float *v = ws + (size_t)cb->threads * psize +
                   (size_t)thread_id() * (16 * T * ((size_t)Cin + Cout) + zc);
        float *dm = v + 16 * T * Cin, *zero = dm + 16 * T * Cout;
        memset(zero, 0, zc * sizeof(float));
        int first = 1;
#pragma omp for schedule(static) nowait
        for (int ci = 0; ci < p.chunks; ci++) {
            size_t t, t0 = wino_chunk(&p, ci, &t);
            wino_input(x, t0, t, zero, v);
            wino_grad(dy, t0, t, zero, dm);
            for (int xi = 0; xi < 16; xi++)
                gemm(1, 0, Cout, Cin, (int)t, dm + xi * t * Cout, Cout, v + xi * t * Cin, Cin,
                     !first, part + xi * (size_t)Cout * Cin, Cin);
            first = 0;
        }
        if (first) /* no chunk came to this thread */
            memset(part, 0, psize * sizeof(float));
#pragma omp barrier
        size_t c0, c1;
        const int nt = thread_count();
        thread_range((size_t)Cout, thread_id(), nt, &c0, &c1);
        /* the sum's scratch: this thread's spent columns */
        wino_dfilter_rows(ws, nt, (int)c0, (int)c1, Cout, Cin, v, dw->data);
    }
}