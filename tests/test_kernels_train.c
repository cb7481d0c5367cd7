/*
 * Whole training runs under each ISA's table against the same run under the scalar
 * reference (switched with the test-only kernels_override): losses and trained
 * parameters agree within float rounding, and the executed FLOPs agree exactly.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "core_testutil.h"
#include "freezebench.h"
#include "kernels.h"
#include "kernels_active.h"
#include "isa_testutil.h"

#define STEPS 6

typedef struct {
    size_t widths[4], n_widths, batch;
    const char *freeze;
} net_case;

/* Trains a fresh model with table `k`; returns it, with the losses and FLOPs. */
static fz_model *train(const fz_kernels *k, const net_case *nc, float *losses,
                       fz_flops *flops)
{
    kernels_override(k);
    fz_model *m = fz_mlp_create(nc->widths, nc->n_widths, 42);
    assert_non_null(m);
    if (nc->freeze)
        assert_int_equal(fz_freeze(m, nc->freeze), FZ_OK);
    fz_trainer *t = fz_trainer_create(m, nc->batch,
                                      (fz_sgd){ .lr = 0.05f, .momentum = 0.9f,
                                                .weight_decay = 1e-3f });
    assert_non_null(t);
    size_t in = nc->widths[0], out = nc->widths[nc->n_widths - 1];
    float *x = random_floats(nc->batch * in, 1), *y = random_floats(nc->batch * out, 2);
    assert_true(x && y);
    for (int s = 0; s < STEPS; s++)
        assert_int_equal(fz_train_step(t, x, y, &losses[s]), FZ_OK);
    *flops = fz_flops_executed(t);
    fz_trainer_free(t);
    free(x);
    free(y);
    kernels_override(NULL);
    return m;
}

static void training_matches_scalar_reference(void **state)
{
    const fz_kernels *isa = isa_table_or_skip(state);
    const net_case cases[] = {
        { { 10, 5, 1 }, 3, 64, NULL },          /* the seed network */
        { { 12, 33, 17, 3 }, 4, 20, NULL },
        { { 12, 33, 17, 3 }, 4, 20, "fc1.*" },  /* frozen prefix: no dX below fc2 */
        { { 40, 70, 9 }, 3, 130, "bitfit" },
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        float lr[STEPS], li[STEPS];
        fz_flops fr, fi;
        fz_model *mr = train(kernels_scalar(), &cases[c], lr, &fr);
        fz_model *mi = train(isa, &cases[c], li, &fi);
        for (int s = 0; s < STEPS; s++)
            assert_true(fabsf(lr[s] - li[s]) <= 1e-5f * (1.0f + fabsf(lr[s])));
        assert_true(fr.fwd == fi.fwd && fr.bwd == fi.bwd && fr.opt == fi.opt);
        for (size_t p = 0; p < fz_param_count(mr); p++) {
            size_t n;
            const char *name = fz_param_name(mr, p);
            float *pr = fz_param_data(mr, name, &n), *pi = fz_param_data(mi, name, &n);
            for (size_t i = 0; i < n; i++)
                if (!(fabsf(pr[i] - pi[i]) <= 1e-5f * (1.0f + fabsf(pr[i]))))
                    fail_msg("case %zu %s[%zu]: %.9g vs reference %.9g", c, name, i,
                             (double)pi[i], (double)pr[i]);
        }
        fz_model_free(mr);
        fz_model_free(mi);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        ISA_TEST("avx2", training_matches_scalar_reference),
        ISA_TEST("avx512", training_matches_scalar_reference),
        ISA_TEST("neon", training_matches_scalar_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
