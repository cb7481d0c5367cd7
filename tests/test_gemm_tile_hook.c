/*
 * The GEMM's tile hook (fz_gemm_op.after_tile, kernels.h), which the trainer folds the
 * optimizer into: on every path (the small one, its transposed form, the blocked one
 * with one K block and with several, the short path and the narrow tile, one and two
 * threads) and every ISA, each element
 * of C is handed to the hook exactly once, already final (bitwise what the same product
 * without a hook leaves in C), and the hook's blocks never reach outside C.  The hook
 * here rewrites each block (c = -c) as the trainer's may, and C must end up so; a hook
 * that consumes C (the trainer's, which alone reads dW) may be handed a scratch copy of
 * a tile instead, which must hold the same final values.
 *
 * A hook may also name the lines it will touch (lines_for), which the loop nest has
 * the microkernel of the tile before fetch: each block it asks about must be the very
 * next one the same thread hands to the hook (else the fetch is wasted, or worse,
 * evicts what the hook needs), and asking must not change any result.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "core_testutil.h"
#include "gemm.h"
#include "kernels.h"
#include "kernels_active.h"
#include "isa_testutil.h"

typedef struct {
    size_t m, n;
    const float *expect;     /* C as the product without a hook leaves it (ld n) */
    const float *c;          /* C itself */
    _Atomic int *visits;     /* per element of C */
    _Atomic int wrong;       /* elements not final when handed over, or out of C */
    bool consumes;
    _Atomic int scratch_blocks;   /* blocks handed over in a scratch, not in C */
    /* lines_for's requests per thread, oldest first, not yet followed by their block */
    struct { size_t block[2][4]; int n; } asked[2];
    _Atomic int fetched;     /* blocks handed over whose lines were asked for first */
    _Atomic int wasted;      /* requests whose block the thread did not hand over next */
} hook_probe;

static int thread_index(void)
{
#ifdef _OPENMP
    int t = omp_get_thread_num();
    return t < 2 ? t : 1;
#else
    return 0;
#endif
}

static size_t probe_lines(void *ctx, size_t i, size_t j, size_t rows, size_t cols,
                          const void **lines, size_t max)
{
    hook_probe *p = ctx;
    __typeof__(p->asked[0]) *mine = &p->asked[thread_index()];
    if (mine->n == 2) {   /* the oldest was never handed over */
        atomic_fetch_add(&p->wasted, 1);
        memmove(mine->block[0], mine->block[1], sizeof mine->block[0]);
        mine->n = 1;
    }
    size_t *b = mine->block[mine->n++];
    b[0] = i, b[1] = j, b[2] = rows, b[3] = cols;
    size_t n = 0;
    for (size_t r = 0; r < rows && n < max && i + r < p->m; r++)
        lines[n++] = p->expect + (i + r) * p->n;
    return n;
}

/* Whether block (i, j, rows, cols) was asked for on this thread: taken off its list. */
static bool was_asked(hook_probe *p, size_t i, size_t j, size_t rows, size_t cols)
{
    __typeof__(p->asked[0]) *mine = &p->asked[thread_index()];
    for (int q = 0; q < mine->n; q++) {
        const size_t *b = mine->block[q];
        if (b[0] == i && b[1] == j && b[2] == rows && b[3] == cols) {
            if (q == 1)   /* the older request was skipped */
                atomic_fetch_add(&p->wasted, 1);
            mine->n = 0;
            return true;
        }
    }
    return false;
}

static void probe_tile(void *ctx, float *c, size_t ldc, size_t i, size_t j, size_t rows,
                       size_t cols)
{
    hook_probe *p = ctx;
    /* The block lies in C (ld n), or in a scratch of at most a tile's width when the
     * hook consumes C. */
    if ((ldc != p->n && (!p->consumes || ldc < cols)) || i + rows > p->m || j + cols > p->n || !rows || !cols) {
        atomic_fetch_add(&p->wrong, 1);
        return;
    }
    if (c < p->c || c >= p->c + p->m * p->n)
        atomic_fetch_add(&p->scratch_blocks, 1);
    if (was_asked(p, i, j, rows, cols))
        atomic_fetch_add(&p->fetched, 1);
    for (size_t r = 0; r < rows; r++)
        for (size_t q = 0; q < cols; q++) {
            size_t at = (i + r) * p->n + j + q;
            if (memcmp(&c[r * ldc + q], &p->expect[at], sizeof(float)) != 0)
                atomic_fetch_add(&p->wrong, 1);
            atomic_fetch_add(&p->visits[at], 1);
            c[r * ldc + q] = -c[r * ldc + q];
        }
}

/* {m, n, k}: the small path (10×5×4), its transposed form (a tall C 5 wide), the
 * blocked path with K in one block and (k 1500) in several, edges in both directions. */
static const size_t shapes[][3] = {
    { 10, 5, 4 }, { 64, 5, 10 }, { 200, 3, 7 }, { 130, 70, 90 }, { 97, 301, 64 },
    { 37, 45, 1500 }, { 300, 260, 33 },
    /* AVX-512's short path (3..14 rows: a classifier head's wgrad) and narrow tile (C
     * at most 16 wide), each on one thread and split over two */
    { 10, 1024, 64 }, { 5, 700, 33 }, { 300, 16, 200 }, { 1000, 13, 300 },
};

typedef struct { int scratch_blocks, fetched; } check_counts;

/* With `ask`, the hook names its lines (lines_for). */
static check_counts check(const fz_kernels *k, const fz_gemm_ctx *ctx, const size_t *shape,
                          fz_trans ta, bool epilogue, bool consumes, bool ask)
{
    size_t m = shape[0], n = shape[1], kk = shape[2];
    uint64_t seed = m * 1000003u + n * 1009u + kk;
    float *a = random_floats(m * kk, seed), *b = random_floats(kk * n, seed + 1);
    float *bias = random_floats(n, seed + 2);
    float *expect = malloc(m * n * sizeof(float)), *c = malloc(m * n * sizeof(float));
    _Atomic int *visits = calloc(m * n, sizeof *visits);
    assert_true(a && b && bias && expect && c && visits);
    fz_gemm_op op = { .ta = ta, .tb = FZ_NOTRANS, .m = m, .n = n, .k = kk, .alpha = 1.0f,
                      .a = a, .lda = ta == FZ_NOTRANS ? kk : m, .b = b, .ldb = n,
                      .beta = 0.0f, .c = expect, .ldc = n,
                      .bias = epilogue ? bias : NULL, .relu = epilogue };
    k->sgemm_ctx(&op, ctx, NULL);

    hook_probe probe = { .m = m, .n = n, .expect = expect, .c = c, .visits = visits,
                         .consumes = consumes };
    fz_tile_hook hook = { .fn = probe_tile, .ctx = &probe, .consumes_c = consumes,
                          .lines_for = ask ? probe_lines : NULL };
    op.c = c;
    op.after_tile = &hook;
    k->sgemm_ctx(&op, ctx, NULL);
    if (atomic_load(&probe.wrong))
        fail_msg("%s %zux%zux%zu: %d elements handed over not final or out of C", k->isa,
                 m, n, kk, atomic_load(&probe.wrong));
    for (size_t e = 0; e < m * n; e++) {
        if (atomic_load(&visits[e]) != 1)
            fail_msg("%s %zux%zux%zu: element %zu handed to the hook %d times", k->isa, m,
                     n, kk, e, atomic_load(&visits[e]));
        float neg = -expect[e];
        if (!consumes)   /* consumed, C's contents are unspecified */
            assert_memory_equal(&c[e], &neg, sizeof(float));
    }
    int wasted = atomic_load(&probe.wasted) + probe.asked[0].n + probe.asked[1].n;
    if (wasted)
        fail_msg("%s %zux%zux%zu: %d blocks asked for (lines_for) and not handed over "
                 "next on the same thread", k->isa, m, n, kk, wasted);
    free(a);
    free(b);
    free(bias);
    free(expect);
    free(c);
    free(visits);
    return (check_counts){ atomic_load(&probe.scratch_blocks), atomic_load(&probe.fetched) };
}

static void every_element_reaches_the_hook_once_and_final(void **state)
{
    const fz_kernels *k = isa_table_or_skip(state);
    /* A 64 KiB L2 and a 32 KiB L1 keep KC small, so k 1500 spans several blocks. */
    int scratch_blocks = 0, fetched = 0;
    for (int threads = 1; threads <= 2; threads++) {
        fz_gemm_ctx ctx = { .caches = { .l1d = 32 << 10, .l2 = 64 << 10, .l3 = 1 << 20 },
                            .threads = threads, .groups = 1 };
        for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
            for (int t = 0; t < 2; t++)
                for (int e = 0; e < 2; e++)
                    for (int consumes = 0; consumes < 2; consumes++)
                        for (int ask = 0; ask < 2; ask++) {
                            check_counts got = check(k, &ctx, shapes[s],
                                                     t ? FZ_TRANS : FZ_NOTRANS, e, consumes,
                                                     ask);
                            scratch_blocks += got.scratch_blocks;
                            fetched += got.fetched;
                        }
    }
    /* The loop nest does keep consumed tiles of one K block out of C, and does fetch
     * the lines of the next tile (the scalar reference, without tiles, does neither). */
    if (k->microkernel) {
        assert_true(scratch_blocks > 0);
        assert_true(fetched > 0);
    } else {
        assert_int_equal(scratch_blocks, 0);
        assert_int_equal(fetched, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        ISA_TEST("scalar", every_element_reaches_the_hook_once_and_final),
        ISA_TEST("avx2", every_element_reaches_the_hook_once_and_final),
        ISA_TEST("avx512", every_element_reaches_the_hook_once_and_final),
        ISA_TEST("neon", every_element_reaches_the_hook_once_and_final),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
