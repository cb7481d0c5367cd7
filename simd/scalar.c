/*
 * The scalar reference kernels: plain loops, clear before clever.  They are what runs on
 * a CPU without a faster ISA and the oracle every other ISA is tested against, so each
 * one computes its result in the order its definition states (a GEMM element is the dot
 * product over k in ascending order, then the epilogue stages one after another).
 */
#include <string.h>

#include "cpu.h"
#include "elementwise.h"
#include "kernels.h"

/* Columns of C accumulated at once: keeps the accumulators on the stack while B is
 * walked row by row. */
#define SCALAR_COLS 256

static inline float elem(const float *x, size_t ld, fz_trans t, size_t r, size_t c)
{
    return t == FZ_NOTRANS ? x[r * ld + c] : x[c * ld + r];
}

static void sgemm_scalar(const fz_gemm_op *op, fz_counter *flops)
{
    size_t m = op->m, n = op->n, k = op->k;
    float acc[SCALAR_COLS];

    for (size_t i = 0; i < m; i++) {
        for (size_t j0 = 0; j0 < n; j0 += SCALAR_COLS) {
            size_t nb = n - j0 < SCALAR_COLS ? n - j0 : SCALAR_COLS;
            for (size_t jj = 0; jj < nb; jj++)
                acc[jj] = 0.0f;
            for (size_t p = 0; p < k; p++) {
                float a = elem(op->a, op->lda, op->ta, i, p);
                for (size_t jj = 0; jj < nb; jj++)
                    acc[jj] += a * elem(op->b, op->ldb, op->tb, p, j0 + jj);
            }
            float *c = op->c + i * op->ldc + j0;
            for (size_t jj = 0; jj < nb; jj++) {
                float v = op->alpha * acc[jj];
                if (op->beta != 0.0f)
                    v += op->beta * c[jj];
                if (op->bias)
                    v += op->bias[j0 + jj];
                if (op->relu)
                    v = v > 0.0f ? v : 0.0f;
                if (op->mask && !(op->mask[i * op->ldmask + j0 + jj] > 0.0f))
                    v = 0.0f;
                c[jj] = v;
            }
        }
    }
    /* The reference has no tiles: all of C is one block. */
    if (op->after_tile && m && n)
        op->after_tile->fn(op->after_tile->ctx, op->c, op->ldc, 0, 0, m, n);
    uint64_t mn = (uint64_t)m * n;
    counter_add(flops, 2 * mn * k + mn * (!!op->bias + !!op->relu + !!op->mask));
}

static void relu_fwd_scalar(float *y, const float *x, size_t n, fz_counter *flops)
{
    for (size_t i = 0; i < n; i++)
        y[i] = relu_fwd_elem(x[i]);
    counter_add(flops, n);
}

static void relu_bwd_scalar(float *dx, const float *dy, const float *y, size_t n,
                            fz_counter *flops)
{
    for (size_t i = 0; i < n; i++)
        dx[i] = relu_bwd_elem(dy[i], y[i]);
    counter_add(flops, n);
}

static void colsum_scalar(float *db, const float *dy, size_t m, size_t n, size_t ld,
                          fz_counter *flops)
{
    for (size_t j = 0; j < n; j++)
        db[j] = 0.0f;
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++)
            db[j] += dy[i * ld + j];
    counter_add(flops, (uint64_t)m * n);
}

static void sgd_plain_scalar(float *p, const float *g, float *buf, size_t n,
                             float lr, float momentum, float wd, fz_counter *flops)
{
    for (size_t i = 0; i < n; i++)
        sgd_elem(p, g, buf, i, lr, momentum, wd);
    counter_add(flops, sgd_flops(n, buf, wd));
}

static sgd_maxima adamw_scalar(float *p, const float *g, float *m, float *v, size_t n,
                               const adamw_step *s, fz_counter *flops)
{
    uint32_t max_p = 0, max_v = 0;
    for (size_t i = 0; i < n; i++) {
        adamw_elem(p, g, m, v, i, s);
        max_p = max_bits(max_p, magnitude_bits(p[i]));
        max_v = max_bits(max_v, magnitude_bits(v[i]));
    }
    counter_add(flops, adamw_flops(n, s->decays));
    return (sgd_maxima){ float_of_bits(max_p), float_of_bits(max_v) };
}

static sgd_maxima sgd_rows_scalar(float *p, size_t ldp, const float *g, size_t ldg,
                                  float *buf, size_t rows, size_t cols, float lr,
                                  float momentum, float wd, fz_counter *flops)
{
    uint32_t max_p = 0, max_buf = 0;
    for (size_t r = 0; r < rows; r++) {
        float *pr = p + r * ldp, *br = buf ? buf + r * ldp : NULL;
        for (size_t i = 0; i < cols; i++) {
            sgd_elem(pr, g + r * ldg, br, i, lr, momentum, wd);
            max_p = max_bits(max_p, magnitude_bits(pr[i]));
            if (br)
                max_buf = max_bits(max_buf, magnitude_bits(br[i]));
        }
    }
    counter_add(flops, sgd_flops(rows * cols, buf, wd));
    return (sgd_maxima){ float_of_bits(max_p), float_of_bits(max_buf) };
}

static sgd_maxima sgd_scalar(float *p, const float *g, float *buf, size_t n,
                             float lr, float momentum, float wd, fz_counter *flops)
{
    uint32_t max_p = 0, max_buf = 0;
    for (size_t i = 0; i < n; i++) {
        sgd_elem(p, g, buf, i, lr, momentum, wd);
        max_p = max_bits(max_p, magnitude_bits(p[i]));
        if (buf)
            max_buf = max_bits(max_buf, magnitude_bits(buf[i]));
    }
    counter_add(flops, sgd_flops(n, buf, wd));
    return (sgd_maxima){ float_of_bits(max_p), float_of_bits(max_buf) };
}

static float abs_max_scalar(const float *x, size_t n)
{
    uint32_t max = 0;
    for (size_t i = 0; i < n; i++)
        max = max_bits(max, magnitude_bits(x[i]));
    return float_of_bits(max);
}

/* One thread, no blocking: the plan has nothing to tell the reference. */
static void sgemm_ctx_scalar(const fz_gemm_op *op, const fz_gemm_ctx *ctx, fz_counter *flops)
{
    (void)ctx;
    sgemm_scalar(op, flops);
}

/* The reference copies through the caches: C has no other store. */
static void copy_aside_scalar(float *dst, const float *src, size_t n)
{
    memcpy(dst, src, n * sizeof(float));
}

static const fz_kernels scalar_table = {
    .isa = "scalar",
    .sgemm_ctx = sgemm_ctx_scalar,
    .microkernel = NULL,
    .relu_fwd = relu_fwd_scalar,
    .relu_bwd = relu_bwd_scalar,
    .colsum = colsum_scalar,
    .sgd = sgd_scalar,
    .adamw = adamw_scalar,
    .sgd_rows = sgd_rows_scalar,
    .sgd_plain = sgd_plain_scalar,
    .abs_max = abs_max_scalar,
    .copy_aside = copy_aside_scalar,
};

const fz_kernels *kernels_scalar(void) { return &scalar_table; }

void kernels_init_scalar(fz_kernels *t) { *t = scalar_table; }
