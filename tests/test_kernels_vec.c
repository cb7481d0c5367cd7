/*
 * ReLU forward/backward, the bias gradient (colsum), SGD (with the largest magnitudes it
 * returns) and the largest magnitude (abs_max) of each ISA against the scalar reference.
 * These kernels keep the reference's arithmetic, so results must be bitwise equal — special values (NaN, ±0, ±inf) included — for every length, which
 * covers the vector body and each tail length.  FLOP counts must equal the reference's.
 * The optimizer's copy aside (copy_aside: streaming stores, short copies through the
 * caches) is a bitwise copy for every length and every alignment of source and
 * destination, and writes nothing past them.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "align.h"
#include "elementwise.h"   /* FZ_STREAM_MIN_FLOATS */
#include "kernels.h"
#include "rng.h"
#include "isa_testutil.h"

#define MAXN 1100

static fz_rng rng = { 2463534242ull };

static float uniform(void) { return rng_uniform(&rng, -1.0f, 1.0f); }

/* Random data with the special values sprinkled in. */
static void fill(float *x, size_t n)
{
    static const float special[] = { NAN, 0.0f, -0.0f, INFINITY, -INFINITY, 1e-40f };
    for (size_t i = 0; i < n; i++)
        x[i] = i % 11 == 5 ? special[(i / 11) % 6] : uniform();
}

static float *vec(size_t n)
{
    float *x = malloc((n + 1) * sizeof(float));
    assert_non_null(x);
    fill(x, n + 1);
    return x;
}

/* Lengths 0..70 (every tail length of every vector width here), then long ones. */
static size_t length(size_t i) { return i <= 70 ? i : i == 71 ? 1000 : 1027; }
#define LENGTHS 73

static fz_counter *counter(void)
{
    fz_counter *c = calloc(1, sizeof *c);
    assert_non_null(c);
    return c;
}

static void relu_fwd_equals_scalar_bitwise(void **state)
{
    const fz_kernels *isa = isa_table_or_skip(state), *ref = kernels_scalar();
    fz_counter *fr = counter(), *fi = counter();
    for (size_t t = 0; t < LENGTHS; t++) {
        size_t n = length(t);
        float *x = vec(n), *yr = vec(n), *yi = vec(n);
        memcpy(yi + n, yr + n, sizeof(float));   /* the float past the end: a guard */
        ref->relu_fwd(yr, x, n, fr);
        isa->relu_fwd(yi, x, n, fi);
        assert_memory_equal(yr, yi, (n + 1) * sizeof(float));
        isa->relu_fwd(x, x, n, fi);   /* in place */
        assert_memory_equal(x, yr, n * sizeof(float));
        free(x);
        free(yr);
        free(yi);
    }
    assert_int_equal(2 * counter_total(fr), counter_total(fi));
    free(fr);
    free(fi);
}

static void relu_bwd_equals_scalar_bitwise(void **state)
{
    const fz_kernels *isa = isa_table_or_skip(state), *ref = kernels_scalar();
    fz_counter *fr = counter(), *fi = counter();
    for (size_t t = 0; t < LENGTHS; t++) {
        size_t n = length(t);
        float *dy = vec(n), *y = vec(n), *dr = vec(n), *di = vec(n);
        memcpy(di + n, dr + n, sizeof(float));
        ref->relu_bwd(dr, dy, y, n, fr);
        isa->relu_bwd(di, dy, y, n, fi);
        assert_memory_equal(dr, di, (n + 1) * sizeof(float));
        isa->relu_bwd(dy, dy, y, n, fi);   /* in place */
        assert_memory_equal(dy, dr, n * sizeof(float));
        free(dy);
        free(y);
        free(dr);
        free(di);
    }
    assert_int_equal(2 * counter_total(fr), counter_total(fi));
    free(fr);
    free(fi);
}

/* Finite data here: the column sums run in the reference's order, so they match
 * exactly; a leading dimension larger than n leaves the padding unread. */
static void colsum_equals_scalar_bitwise(void **state)
{
    const fz_kernels *isa = isa_table_or_skip(state), *ref = kernels_scalar();
    fz_counter *fr = counter(), *fi = counter();
    const size_t ms[] = { 1, 2, 7, 64, 257 };
    for (size_t im = 0; im < 5; im++)
        for (size_t n = 1; n <= 70; n += (n < 40 ? 1 : 9)) {
            size_t m = ms[im], ld = n + 5;
            float *dy = malloc(m * ld * sizeof(float)), *br = vec(n), *bi = vec(n);
            assert_non_null(dy);
            for (size_t i = 0; i < m * ld; i++)
                dy[i] = i % ld >= n ? NAN : uniform();
            memcpy(bi + n, br + n, sizeof(float));
            ref->colsum(br, dy, m, n, ld, fr);
            isa->colsum(bi, dy, m, n, ld, fi);
            assert_memory_equal(br, bi, (n + 1) * sizeof(float));
            free(dy);
            free(br);
            free(bi);
        }
    assert_int_equal(counter_total(fr), counter_total(fi));
    free(fr);
    free(fi);
}

/* Plain, momentum, weight decay and both, over every tail length: p and the momentum
 * buffer bitwise equal to the reference's after three steps, and so the largest
 * magnitudes each step returns (the special values in p and g make some of them Inf or
 * NaN, which must come back as such). */
static void sgd_equals_scalar_bitwise(void **state)
{
    const fz_kernels *isa = isa_table_or_skip(state), *ref = kernels_scalar();
    fz_counter *fr = counter(), *fi = counter();
    const float mom[2] = { 0.0f, 0.9f }, wd[2] = { 0.0f, 1e-2f };
    for (size_t variant = 0; variant < 4; variant++)
        for (size_t t = 0; t < LENGTHS; t++) {
            size_t n = length(t);
            float m = mom[variant & 1], w = wd[variant >> 1];
            float *g = vec(n), *pr = vec(n), *pi = malloc((n + 1) * sizeof(float));
            float *br = calloc(n + 1, sizeof(float)), *bi = calloc(n + 1, sizeof(float));
            /* sgd_plain's copies: the same update without the maxima, bitwise. */
            float *pp = malloc((n + 1) * sizeof(float)), *bp = calloc(n + 1, sizeof(float));
            assert_non_null(pi);
            assert_non_null(br);
            assert_non_null(bi);
            assert_true(pp && bp);
            memcpy(pi, pr, (n + 1) * sizeof(float));
            memcpy(pp, pr, (n + 1) * sizeof(float));
            for (int step = 0; step < 3; step++) {
                sgd_maxima xr = ref->sgd(pr, g, m != 0.0f ? br : NULL, n, 0.05f, m, w, fr);
                sgd_maxima xi = isa->sgd(pi, g, m != 0.0f ? bi : NULL, n, 0.05f, m, w, fi);
                isa->sgd_plain(pp, g, m != 0.0f ? bp : NULL, n, 0.05f, m, w, NULL);
                assert_memory_equal(&xr, &xi, sizeof xr);
                assert_true(xr.p == ref->abs_max(pr, n) || isnan(xr.p));
                assert_true(isnan(xr.p) == isnan(ref->abs_max(pr, n)));
                if (m != 0.0f)
                    assert_memory_equal(&xr.buf, &(float){ ref->abs_max(br, n) },
                                        sizeof xr.buf);
                else
                    assert_true(xr.buf == 0.0f);
            }
            assert_memory_equal(pr, pi, (n + 1) * sizeof(float));
            assert_memory_equal(br, bi, (n + 1) * sizeof(float));
            assert_memory_equal(pr, pp, (n + 1) * sizeof(float));
            assert_memory_equal(br, bp, (n + 1) * sizeof(float));
            free(pp);
            free(bp);
            free(g);
            free(pr);
            free(pi);
            free(br);
            free(bi);
        }
    assert_int_equal(counter_total(fr), counter_total(fi));
    free(fr);
    free(fi);
}

/* sgd_rows on a block (rows ld apart, every tail width) is sgd row by row, bitwise,
 * its maxima those of the rows' maxima, on the ISA and on the reference. */
static void sgd_rows_equals_sgd_by_row(void **state)
{
    const fz_kernels *isa = isa_table_or_skip(state), *ref = kernels_scalar();
    const fz_kernels *tables[2] = { ref, isa };
    for (int tb = 0; tb < 2; tb++)
        for (size_t cols = 1; cols <= 70; cols += cols < 20 ? 1 : 17)
            for (int mom = 0; mom < 2; mom++) {
                const fz_kernels *k = tables[tb];
                size_t rows = 6, ld = cols + 3, n = rows * ld;
                float *g = vec(n), *p1 = vec(n), *p2 = malloc((n + 1) * sizeof(float));
                float *b1 = calloc(n + 1, sizeof(float)), *b2 = calloc(n + 1, sizeof(float));
                assert_true(p2 && b1 && b2);
                memcpy(p2, p1, (n + 1) * sizeof(float));
                float m = mom ? 0.9f : 0.0f;
                sgd_maxima whole = k->sgd_rows(p1, ld, g, ld, mom ? b1 : NULL, rows, cols,
                                               0.05f, m, 1e-2f, NULL);
                uint32_t mp = 0, mb = 0;
                for (size_t r = 0; r < rows; r++) {
                    sgd_maxima w = k->sgd(p2 + r * ld, g + r * ld, mom ? b2 + r * ld : NULL,
                                          cols, 0.05f, m, 1e-2f, NULL);
                    mp = mp > magnitude_bits(w.p) ? mp : magnitude_bits(w.p);
                    mb = mb > magnitude_bits(w.buf) ? mb : magnitude_bits(w.buf);
                }
                assert_memory_equal(p1, p2, (n + 1) * sizeof(float));
                assert_memory_equal(b1, b2, (n + 1) * sizeof(float));
                assert_int_equal(magnitude_bits(whole.p), mp);
                assert_int_equal(magnitude_bits(whole.buf), mb);
                free(g); free(p1); free(p2); free(b1); free(b2);
            }
}

/* a[i] and b[i] bitwise equal, or both NaN: which NaN an operation with a NaN operand
 * returns (its sign, its payload) IEEE 754 leaves to the machine, and a compiler may
 * order a commutative operation's operands either way (aarch64 gave +NaN on one side
 * and -NaN on the other where eps 0 made 0/0). */
static void assert_same_or_both_nan(const float *a, const float *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof(float)) != 0 && !(isnan(a[i]) && isnan(b[i])))
            fail_msg("element %zu: %a against %a", i, (double)a[i], (double)b[i]);
}

/* AdamW with and without weight decay, eps 1e-8 and 0 (then 0/0 where v is 0: NaN in
 * live lanes, never from a tail's dead ones), over every tail length: p, m and v
 * bitwise the reference's after three steps (a NaN only as a NaN), and so the maxima
 * of p and v each step returns. */
static void adamw_equals_scalar_bitwise(void **state)
{
    const fz_kernels *isa = isa_table_or_skip(state), *ref = kernels_scalar();
    fz_counter *fr = counter(), *fi = counter();
    const float wds[2] = { 0.0f, 1e-2f }, epss[2] = { 1e-8f, 0.0f };
    for (size_t variant = 0; variant < 4; variant++)
        for (size_t t = 0; t < LENGTHS; t++) {
            size_t n = length(t);
            float wd = wds[variant & 1], eps = epss[variant >> 1];
            float *g = vec(n), *p[2], *m[2], *v[2];
            for (int side = 0; side < 2; side++) {
                p[side] = malloc((n + 1) * sizeof(float));
                m[side] = calloc(n + 1, sizeof(float));
                v[side] = calloc(n + 1, sizeof(float));
                assert_true(p[side] && m[side] && v[side]);
            }
            memcpy(p[0], g, (n + 1) * sizeof(float));   /* any finite start */
            memcpy(p[1], g, (n + 1) * sizeof(float));
            if (eps == 0.0f)
                g[0] = 0.0f;   /* v stays 0 there: 0/0 in a live lane */
            for (uint64_t step = 1; step <= 3; step++) {
                adamw_step s = adamw_step_make(1e-3f, 0.9f, 0.999f, eps, wd, step);
                sgd_maxima xr = ref->adamw(p[0], g, m[0], v[0], n, &s, fr);
                sgd_maxima xi = isa->adamw(p[1], g, m[1], v[1], n, &s, fi);
                assert_memory_equal(&xr, &xi, sizeof xr);
                assert_true(isnan(xr.p) == isnan(ref->abs_max(p[0], n)));
                assert_memory_equal(&xr.buf, &(float){ ref->abs_max(v[0], n) }, sizeof xr.buf);
            }
            assert_same_or_both_nan(p[0], p[1], n + 1);
            assert_same_or_both_nan(m[0], m[1], n + 1);
            assert_same_or_both_nan(v[0], v[1], n + 1);
            free(g);
            for (int side = 0; side < 2; side++) {
                free(p[side]);
                free(m[side]);
                free(v[side]);
            }
        }
    assert_int_equal(counter_total(fr), counter_total(fi));
    free(fr);
    free(fi);
}

/* The largest |x| by bits: the reference's own definition checked on finite data (the
 * numeric max of fabsf), then each ISA bitwise equal to the reference with NaN, ±Inf,
 * ±0 and subnormals at every position a vector or a tail puts them, a lone NaN or Inf
 * never missed (a float max would drop a NaN), and the float past the end never read
 * into the result. */
static void abs_max_equals_scalar_bitwise(void **state)
{
    const fz_kernels *isa = isa_table_or_skip(state), *ref = kernels_scalar();
    for (size_t t = 0; t < LENGTHS; t++) {
        size_t n = length(t);
        float *x = malloc((n + 1) * sizeof(float));
        assert_non_null(x);
        float expect = 0.0f;
        for (size_t i = 0; i < n; i++) {
            x[i] = uniform() * (float)(i % 7 + 1);
            expect = fabsf(x[i]) > expect ? fabsf(x[i]) : expect;
        }
        x[n] = NAN;   /* past the end: must not count */
        float got = ref->abs_max(x, n), got_isa = isa->abs_max(x, n);
        assert_true(got == expect);
        assert_memory_equal(&got, &got_isa, sizeof got);
        for (size_t at = 0; at < n; at++) {
            static const float special[] = { NAN, -NAN, INFINITY, -INFINITY, -0.0f, 1e-40f,
                                             -3e38f };
            for (size_t s = 0; s < sizeof special / sizeof special[0]; s++) {
                float keep = x[at];
                x[at] = special[s];
                float r = ref->abs_max(x, n), v = isa->abs_max(x, n);
                assert_memory_equal(&r, &v, sizeof r);
                if (!isfinite(special[s]))
                    assert_false(isfinite(v));
                x[at] = keep;
            }
        }
        free(x);
    }
}

/* Every length, and those around FZ_STREAM_MIN_FLOATS, where the copy switches from
 * the caches to streaming stores; the destination at each float offset within a
 * 64-byte line (the streaming body starts at the next line, so each head length is
 * reached) and the source unaligned too; the floats around the destination stay as
 * they were. */
static void copy_aside_is_a_bitwise_copy(void **state)
{
    const fz_kernels *isa = isa_table_or_skip(state);
    enum { PAD = 16 };
    float *src = vec(MAXN + PAD);
    float *dst = aligned_calloc(64, MAXN + 3 * PAD, sizeof(float));   /* free() frees it */
    float *guard = malloc((MAXN + 3 * PAD) * sizeof(float));
    assert_non_null(dst);
    assert_non_null(guard);
    const size_t at_switch[] = { FZ_STREAM_MIN_FLOATS - 1, FZ_STREAM_MIN_FLOATS,
                                 FZ_STREAM_MIN_FLOATS + 1, FZ_STREAM_MIN_FLOATS + 17 };
    const size_t n_switch = sizeof at_switch / sizeof at_switch[0];
    for (size_t t = 0; t < LENGTHS + n_switch; t++) {
        size_t n = t < LENGTHS ? length(t) : at_switch[t - LENGTHS];
        for (size_t off = 0; off < PAD; off++) {
            fill(guard, MAXN + 3 * PAD);
            memcpy(dst, guard, (MAXN + 3 * PAD) * sizeof(float));
            const float *from = src + (off * 7 + 3) % PAD;
            isa->copy_aside(dst + PAD + off, from, n);
            assert_memory_equal(dst + PAD + off, from, n * sizeof(float));
            assert_memory_equal(dst, guard, (PAD + off) * sizeof(float));
            size_t after = PAD + off + n;
            assert_memory_equal(dst + after, guard + after,
                                (MAXN + 3 * PAD - after) * sizeof(float));
        }
    }
    free(src);
    free(dst);
    free(guard);
}

#define ISA_TESTS(isa)                               \
    ISA_TEST(isa, relu_fwd_equals_scalar_bitwise),   \
    ISA_TEST(isa, relu_bwd_equals_scalar_bitwise),   \
    ISA_TEST(isa, colsum_equals_scalar_bitwise),     \
    ISA_TEST(isa, sgd_equals_scalar_bitwise),        \
    ISA_TEST(isa, adamw_equals_scalar_bitwise),      \
    ISA_TEST(isa, sgd_rows_equals_sgd_by_row),       \
    ISA_TEST(isa, abs_max_equals_scalar_bitwise),    \
    ISA_TEST(isa, copy_aside_is_a_bitwise_copy)

int main(void)
{
    const struct CMUnitTest tests[] = { ISA_TEST("scalar", copy_aside_is_a_bitwise_copy),
                                        ISA_TEST("scalar", abs_max_equals_scalar_bitwise),
                                        ISA_TESTS("avx2"), ISA_TESTS("avx512"),
                                        ISA_TESTS("neon") };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
