/*
 * The GEMM's progress call (fz_gemm_ctx.progress), on which data-parallel training
 * relies to advance its non-blocking allreduce during the backward: a blocked product
 * calls it, only from the team's thread 0 (the caller's thread, the one MPI allows to
 * call), about once per M block rather than once per product, and a product with it
 * gives bitwise the result of one without.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "core_testutil.h"
#include "freezebench.h"
#include "gemm.h"
#include "kernels.h"
#include "kernels_active.h"
#include "team.h"
#include "trainer_hooks.h"

typedef struct {
    int calls, off_thread0;
} progress_log;

static void count_progress(void *arg)
{
    progress_log *log = arg;
#ifdef _OPENMP
    if (omp_get_thread_num() != 0) {
#pragma omp atomic
        log->off_thread0++;
        return;
    }
#endif
    log->calls++;
}

/* Layer-sized products in the three training layouts (the backward's wgrad and dgrad,
 * and the forward), on 1 and 2 threads. */
static void progress_is_called_by_thread_0_per_block_and_changes_nothing(void **state)
{
    (void)state;
    const fz_kernels *k = kernels_get();
    if (!k->microkernel) {
        print_message("  %s has no blocked GEMM (no progress calls): skipped\n", k->isa);
        skip();
    }
    enum { M = 192, N = 320, K = 384 };
    float *a = random_floats(M * K, 31), *b = random_floats(K * N, 32);
    float *ref = malloc(M * N * sizeof(float)), *c = malloc(M * N * sizeof(float));
    assert_true(a && b && ref && c);
    for (int threads = 1; threads <= 2; threads++) {
        fz_set_threads(threads);
        for (int l = 0; l < 3; l++) {
            training_layout t = training_layout_of(l);
            fz_gemm_op op = { .ta = t.ta, .tb = t.tb, .m = M, .n = N, .k = K, .alpha = 1.0f,
                              .a = a, .lda = t.ta == FZ_NOTRANS ? K : M, .b = b,
                              .ldb = t.tb == FZ_NOTRANS ? N : K, .c = ref, .ldc = N };
            fz_gemm_ctx ctx = team_gemm_ctx();
            k->sgemm_ctx(&op, &ctx, NULL);

            progress_log log = { 0, 0 };
            ctx.progress = count_progress;
            ctx.progress_arg = &log;
            op.c = c;
            k->sgemm_ctx(&op, &ctx, NULL);
            if (memcmp(c, ref, M * N * sizeof(float)))
                fail_msg("layout %d, %d threads: the result changed with progress calls",
                         l, threads);
            assert_int_equal(log.off_thread0, 0);
            /* At least one call per K block: K = 384 spans several KC blocks. */
            fz_blocking blk = sgemm_blocking(k->microkernel, &ctx);
            int k_blocks = (int)((K + blk.kc - 1) / blk.kc);
            if (log.calls < k_blocks)
                fail_msg("layout %d, %d threads: %d progress calls for %d K blocks", l,
                         threads, log.calls, k_blocks);
        }
    }
    fz_set_threads(0);
    free(a);
    free(b);
    free(ref);
    free(c);
}

/* A training step hands its listener's progress call to its GEMMs through the step's
 * execution context, and the team's own plan carries none: no global hook, so a GEMM
 * outside the step (fz_sgemm) never calls a listener that is not its caller's. */
static void a_step_carries_its_hooks_progress_call_and_the_team_none(void **state)
{
    (void)state;
    if (!kernels_get()->microkernel) {
        print_message("  %s has no blocked GEMM (no progress calls): skipped\n",
                      kernels_get()->isa);
        skip();
    }
    enum { B = 192, W = 384 };
    const size_t widths[] = { W, W, W };
    fz_model *m = fz_mlp_create(widths, 3, 5);
    assert_non_null(m);
    fz_trainer *t = fz_trainer_create(m, B, (fz_sgd){ .lr = 0.01f });
    assert_non_null(t);
    float *x = random_floats(B * W, 41), *y = random_floats(B * W, 42);
    float *c = malloc(B * W * sizeof(float));
    assert_true(x && y && c);
    progress_log log = { 0, 0 };
    trainer_set_hooks(t, &(trainer_hooks){ .ctx = &log, .progress = count_progress });
    assert_int_equal(fz_train_step(t, x, y, NULL), FZ_OK);
    assert_true(log.calls > 0);
    assert_int_equal(log.off_thread0, 0);

    assert_null(team_gemm_ctx().progress);
    int before = log.calls;
    /* op(B) is W×W: y, B×W, would be read past its end. */
    float *w = random_floats(W * W, 43);
    assert_non_null(w);
    fz_sgemm(FZ_NOTRANS, FZ_NOTRANS, B, W, W, 1.0f, x, W, w, W, 0.0f, c, W);
    free(w);
    assert_int_equal(log.calls, before);
    trainer_set_hooks(t, NULL);
    assert_int_equal(fz_train_step(t, x, y, NULL), FZ_OK);
    assert_int_equal(log.calls, before);
    free(x);
    free(y);
    free(c);
    fz_trainer_free(t);
    fz_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(progress_is_called_by_thread_0_per_block_and_changes_nothing),
        cmocka_unit_test(a_step_carries_its_hooks_progress_call_and_the_team_none),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
