/*
 * The layer functions (src/train/linear.h): linear_forward equals a plain loop, and
 * linear_backward computes exactly the gradients it is given an output for, leaves every
 * other byte alone and counts FLOPs only for the work that ran.  Run with every kernel
 * table this build and CPU offer.  Also: the model's per-layer view points at the
 * state_dict tensors, the plan's per-tensor plan_trains equals need_dW / need_db,
 * and aligned_calloc returns aligned, zeroed memory.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "align.h"
#include "core_testutil.h"
#include "counter.h"
#include "exec_testutil.h"
#include "kernels.h"
#include "linear.h"
#include "model.h"
#include "plan.h"
#include "isa_testutil.h"

/* Odd sizes, so every ISA runs partial tiles at each edge. */
enum { B = 7, I = 19, O = 13 };
/* Operands are in [-1, 1) and a sum has at most 19 terms, each rounded in float. */
#define TOL 1e-4f
/* Fills the bytes of outputs that must not be written: a NaN no kernel produces. */
#define SENTINEL_BITS 0x7fc0dead

static void fill_sentinel(float *x, size_t n)
{
    uint32_t bits = SENTINEL_BITS;
    for (size_t i = 0; i < n; i++)
        memcpy(&x[i], &bits, sizeof bits);
}

static bool is_sentinel(float v)
{
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    return bits == SENTINEL_BITS;
}

static void assert_near(const float *got, const double *want, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        if (!(fabs((double)got[i] - want[i]) <= TOL)) {
            print_error("%s[%zu] = %.9g, expected %.9g\n", what, i, (double)got[i], want[i]);
            fail();
        }
    }
}

/* A layer with random W and b, and a batch of inputs in [-1, 1). */
typedef struct {
    float W[O * I], b[O], X[B * I], dY[B * O];
    fz_linear layer;
} fixture;

static void fixture_fill(fixture *f, bool X_from_relu)
{
    fill_uniform(f->W, O * I, 1, -1.0f, 1.0f);
    fill_uniform(f->b, O, 2, -1.0f, 1.0f);
    fill_uniform(f->X, B * I, 3, -1.0f, 1.0f);
    fill_uniform(f->dY, B * O, 4, -1.0f, 1.0f);
    if (X_from_relu)   /* as a ReLU leaves it: about half the entries exactly 0 */
        for (size_t i = 0; i < B * I; i++)
            f->X[i] = f->X[i] > 0.0f ? f->X[i] : 0.0f;
    f->layer = (fz_linear){ .W = f->W, .b = f->b, .in = I, .out = O };
}

static void forward_matches_a_plain_loop(void **state)
{
    const fz_kernels *k = isa_table_or_skip(state);
    fz_exec x = exec_single(k);
    for (int relu = 0; relu <= 1; relu++) {
        fixture f;
        fixture_fill(&f, false);
        double want[B * O];
        for (size_t r = 0; r < B; r++) {
            for (size_t j = 0; j < O; j++) {
                double s = f.b[j];
                for (size_t c = 0; c < I; c++)
                    s += (double)f.X[r * I + c] * f.W[j * I + c];
                want[r * O + j] = relu && s < 0 ? 0.0 : s;
            }
        }
        float Y[B * O];
        fz_counter *cnt = counter_new();
        assert_non_null(cnt);
        linear_forward(&x, &f.layer, NULL, B, f.X, Y, relu, cnt);
        assert_near(Y, want, B * O, relu ? "relu(Y)" : "Y");
        assert_int_equal(counter_total(cnt), 2 * B * I * O + B * O + (relu ? B * O : 0));
        free(cnt);
    }
}

/* Every combination of present and NULL outputs, with and without the ReLU below. */
static void backward_computes_exactly_the_outputs_given(void **state)
{
    const fz_kernels *k = isa_table_or_skip(state);
    fz_exec x = exec_single(k);
    for (int relu_below = 0; relu_below <= 1; relu_below++) {
        fixture f;
        fixture_fill(&f, relu_below);
        double want_dW[O * I], want_db[O], want_dX[B * I];
        for (size_t j = 0; j < O; j++) {
            for (size_t c = 0; c < I; c++) {
                double s = 0;
                for (size_t r = 0; r < B; r++)
                    s += (double)f.dY[r * O + j] * f.X[r * I + c];
                want_dW[j * I + c] = s;
            }
            double s = 0;
            for (size_t r = 0; r < B; r++)
                s += f.dY[r * O + j];
            want_db[j] = s;
        }
        for (size_t r = 0; r < B; r++) {
            for (size_t c = 0; c < I; c++) {
                double s = 0;
                for (size_t j = 0; j < O; j++)
                    s += (double)f.dY[r * O + j] * f.W[j * I + c];
                want_dX[r * I + c] = relu_below && f.X[r * I + c] <= 0.0f ? 0.0 : s;
            }
        }

        for (unsigned which = 0; which < 8; which++) {
            bool dW_on = which & 1, db_on = which & 2, dX_on = which & 4;
            /* All three outputs live in one buffer, so a write through a NULL output's
             * neighbour, or into a skipped one, shows as a lost sentinel. */
            float out[O * I + O + B * I];
            fill_sentinel(out, sizeof out / sizeof *out);
            float *dW = out, *db = out + O * I, *dX = db + O;
            fz_counter *wgrad = counter_new(), *dgrad = counter_new();
            assert_true(wgrad && dgrad);
            /* X is only read for dW and for the mask, so it may be NULL otherwise. */
            const float *X = dW_on || (dX_on && relu_below) ? f.X : NULL;
            linear_backward(&x, &f.layer, NULL, B, X, f.dY, relu_below, dW_on ? dW : NULL,
                            db_on ? db : NULL, dX_on ? dX : NULL, wgrad, dgrad);

            if (dW_on)
                assert_near(dW, want_dW, O * I, "dW");
            if (db_on)
                assert_near(db, want_db, O, "db");
            if (dX_on)
                assert_near(dX, want_dX, B * I, "dX");
            const struct { bool on; const float *p; size_t n; } outs[] = {
                { dW_on, dW, O * I }, { db_on, db, O }, { dX_on, dX, B * I },
            };
            for (size_t o = 0; o < 3; o++)
                for (size_t i = 0; !outs[o].on && i < outs[o].n; i++)
                    assert_true(is_sentinel(outs[o].p[i]));

            uint64_t want_wgrad = (dW_on ? 2 * B * I * O : 0) + (db_on ? B * O : 0);
            uint64_t want_dgrad = dX_on ? 2 * B * I * O + (relu_below ? B * I : 0) : 0;
            assert_int_equal(counter_total(wgrad), want_wgrad);
            assert_int_equal(counter_total(dgrad), want_dgrad);
            free(wgrad);
            free(dgrad);
        }
    }
}

static void model_layer_views_the_state_dict_tensors(void **state)
{
    (void)state;
    const size_t widths[] = { 4, 6, 3 };
    fz_model *m = fz_mlp_create(widths, 3, 7);
    assert_non_null(m);
    for (size_t l = 0; l < 2; l++) {
        fz_linear layer = model_layer(m, l);
        char wname[16], bname[16];
        snprintf(wname, sizeof wname, "fc%zu.weight", l + 1);
        snprintf(bname, sizeof bname, "fc%zu.bias", l + 1);
        size_t nW, nb;
        assert_ptr_equal(layer.W, fz_param_data(m, wname, &nW));
        assert_ptr_equal(layer.b, fz_param_data(m, bname, &nb));
        assert_int_equal(layer.in, widths[l]);
        assert_int_equal(layer.out, widths[l + 1]);
        assert_int_equal(nW, layer.in * layer.out);
        assert_int_equal(nb, layer.out);
        assert_string_equal(fz_param_name(m, layer.W_index), wname);
        assert_string_equal(fz_param_name(m, layer.b_index), bname);
    }
    fz_model_free(m);
}

/* The trainer sizes gradients, momentum and SGD by plan_trains alone, so it must say
 * exactly what the flags say, through need_dW and need_db. */
static void plan_trains_is_need_dW_and_need_db(void **state)
{
    (void)state;
    const size_t widths[] = { 4, 6, 5, 3 };
    const char *specs[] = { "none", "fc1.weight,fc2.bias", "*.bias", "prefix:2", "bitfit" };
    fz_exec x = exec_single(kernels_scalar());
    for (size_t s = 0; s < sizeof specs / sizeof *specs; s++) {
        fz_model *m = fz_mlp_create(widths, 4, 7);
        assert_non_null(m);
        assert_int_equal(fz_freeze(m, specs[s]), FZ_OK);
        fz_plan *plan;
        assert_int_equal(plan_build(m, &(plan_inputs){ .batch = 2, .exec = &x }, &plan),
                         FZ_OK);
        for (size_t l = 0; l < 3; l++) {
            fz_linear layer = model_layer(m, l);
            const fz_tensor *W = &m->tensors[layer.W_index], *b = &m->tensors[layer.b_index];
            assert_int_equal(plan_trains(plan, layer.W_index), plan->layer[l].need_dW);
            assert_int_equal(plan_trains(plan, layer.b_index), plan->layer[l].need_db);
            assert_int_equal(plan_trains(plan, layer.W_index), W->requires_grad);
            assert_int_equal(plan_trains(plan, layer.b_index), b->requires_grad);
        }
        plan_free(plan);
        fz_model_free(m);
    }
}

static void aligned_calloc_is_aligned_and_zeroed(void **state)
{
    (void)state;
    for (size_t align = 16; align <= 4096; align *= 4) {
        unsigned char *p = aligned_calloc(align, 3, 5);   /* 15 bytes, not a multiple */
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % align, 0);
        for (size_t i = 0; i < 15; i++)
            assert_int_equal(p[i], 0);
        free(p);
    }
    fz_counter *c = counter_new();
    assert_non_null(c);
    assert_int_equal((uintptr_t)c % _Alignof(fz_counter), 0);
    assert_int_equal(counter_total(c), 0);
    free(c);
    assert_null(aligned_calloc(64, 0, 4));
    assert_null(aligned_calloc(64, 4, 0));
    assert_null(aligned_calloc(64, SIZE_MAX / 2, 4));
    assert_null(aligned_calloc(64, 1, SIZE_MAX - 8));
}

#define ISA_TESTS(isa)                                                  \
    ISA_TEST(isa, forward_matches_a_plain_loop),                        \
    ISA_TEST(isa, backward_computes_exactly_the_outputs_given)

int main(void)
{
    const struct CMUnitTest tests[] = {
        ISA_TESTS("scalar"),
        ISA_TESTS("avx2"),
        ISA_TESTS("avx512"),
        ISA_TESTS("neon"),
        cmocka_unit_test(model_layer_views_the_state_dict_tensors),
        cmocka_unit_test(plan_trains_is_need_dW_and_need_db),
        cmocka_unit_test(aligned_calloc_is_aligned_and_zeroed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
