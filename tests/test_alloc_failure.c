/*
 * Every allocation the library makes can fail: for each n, the n-th allocation of a call
 * fails, and the call must return FZ_ENOMEM (or NULL) with a message, leak nothing, and
 * leave the objects the caller holds usable.  Built with the alloc_fail.h wrappers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "alloc_fail.h"
#include "freezebench.h"

enum { B = 8 };
static const size_t widths[] = { 6, 7, 5, 3 };

static void fill(float *x, size_t n, float scale)
{
    for (size_t i = 0; i < n; i++)
        x[i] = scale * (float)((int)(i * 7 % 13) - 6);
}

static void assert_enomem_message(void)
{
    const char *msg = fz_last_error();
    assert_non_null(strstr(msg, "out of memory"));
}

/* Runs `n_max` injections over the sequence `body`, which returns 1 on success and 0 on
 * an allocation failure it reported properly. */
static long injections;

static void model_create_fails_cleanly(void **state)
{
    (void)state;
    long n;
    for (n = 0;; n++) {
        long live = alloc_live();
        alloc_fail_at(n);
        fz_model *m = fz_mlp_create(widths, 4, 1);
        int failed = alloc_failed();
        alloc_fail_at(-1);
        if (!failed) {
            assert_non_null(m);
            fz_model_free(m);
            assert_int_equal(alloc_live(), live);
            break;
        }
        injections++;
        assert_null(m);
        assert_enomem_message();
        assert_int_equal(alloc_live(), live);
    }
    assert_true(n >= 3);   /* the model does allocate: the loop exercised failures */
}

static void trainer_create_fails_cleanly_and_model_stays_usable(void **state)
{
    (void)state;
    float x[B * 6], y[B * 3];
    fill(x, B * 6, 0.1f);
    fill(y, B * 3, 0.05f);
    fz_sgd opt = { .lr = 0.01f, .momentum = 0.9f, .weight_decay = 0.01f };
    long n;
    for (n = 0;; n++) {
        fz_model *m = fz_mlp_create(widths, 4, 2);
        assert_non_null(m);
        assert_int_equal(fz_freeze(m, "fc1.weight"), FZ_OK);
        long live = alloc_live();
        alloc_fail_at(n);
        fz_trainer *t = fz_trainer_create(m, B, opt);
        int failed = alloc_failed();
        alloc_fail_at(-1);
        if (failed) {
            injections++;
            assert_null(t);
            assert_enomem_message();
            assert_int_equal(alloc_live(), live);
            /* The model is still whole: a new trainer trains it. */
            t = fz_trainer_create(m, B, opt);
            assert_non_null(t);
        }
        assert_non_null(t);
        assert_int_equal(fz_train_step(t, x, y, NULL), FZ_OK);
        fz_trainer_free(t);
        fz_model_free(m);
        if (!failed)
            break;
    }
    assert_true(n >= 5);
}

/* A step after a freeze change re-plans and allocates; a failure there must leave the
 * trainer on its old plan, the parameters untouched, and the next step working. */
static void replanning_step_fails_cleanly_and_trainer_stays_usable(void **state)
{
    (void)state;
    float x[B * 6], y[B * 3];
    fill(x, B * 6, 0.1f);
    fill(y, B * 3, 0.05f);
    fz_sgd opt = { .lr = 0.01f, .momentum = 0.9f };
    long n;
    for (n = 0;; n++) {
        fz_model *m = fz_mlp_create(widths, 4, 3);
        assert_int_equal(fz_freeze(m, "prefix:2"), FZ_OK);
        fz_trainer *t = fz_trainer_create(m, B, opt);
        assert_non_null(t);
        assert_int_equal(fz_train_step(t, x, y, NULL), FZ_OK);
        assert_int_equal(fz_unfreeze(m, "fc1.*"), FZ_OK);

        size_t np;
        float *p = fz_param_data(m, "fc1.weight", &np);
        float before[7 * 6];
        memcpy(before, p, sizeof before);
        long live = alloc_live();
        alloc_fail_at(n);
        fz_status st = fz_train_step(t, x, y, NULL);
        int failed = alloc_failed();
        alloc_fail_at(-1);
        if (failed) {
            injections++;
            assert_int_equal(st, FZ_ENOMEM);
            assert_enomem_message();
            assert_memory_equal(before, p, sizeof before);
            assert_int_equal(alloc_live(), live);
            assert_int_equal(fz_train_step(t, x, y, NULL), FZ_OK);
        } else {
            assert_int_equal(st, FZ_OK);
        }
        assert_memory_not_equal(before, p, sizeof before);   /* fc1 now trains */
        fz_trainer_free(t);
        fz_model_free(m);
        if (!failed)
            break;
    }
    assert_true(n >= 2);
}

static void freeze_fails_cleanly_and_flags_stay(void **state)
{
    (void)state;
    fz_model *m = fz_mlp_create(widths, 4, 4);
    long n;
    for (n = 0;; n++) {
        long live = alloc_live();
        alloc_fail_at(n);
        fz_status st = fz_freeze(m, "bitfit");
        int failed = alloc_failed();
        alloc_fail_at(-1);
        assert_int_equal(alloc_live(), live);
        if (!failed) {
            assert_int_equal(st, FZ_OK);
            break;
        }
        injections++;
        assert_int_equal(st, FZ_ENOMEM);
        assert_true(fz_requires_grad(m, "fc1.weight"));
    }
    assert_false(fz_requires_grad(m, "fc1.weight"));
    fz_model_free(m);
}

/* Loading parameters: each failure leaves the model as it was; saving: each failure
 * leaves an existing file as it was and no temporary file behind. */
static void npz_load_and_save_fail_cleanly(void **state)
{
    (void)state;
    const size_t w[] = { 4, 3, 2 };   /* the shapes of tests/data/good_savez*.npz */
    const char *inputs[] = { FZ_TEST_DATA "/good_savez.npz",
                             FZ_TEST_DATA "/good_savez_compressed.npz" };
    char dir[] = "/tmp/fz_alloc_XXXXXX", out[64];
    assert_non_null(mkdtemp(dir));
    snprintf(out, sizeof out, "%s/out.npz", dir);
    long loads = 0, saves = 0;

    for (size_t f = 0; f < 2; f++) {
        for (long n = 0;; n++) {
            fz_model *m = fz_mlp_create(w, 3, 9);
            size_t np;
            float *p = fz_param_data(m, "fc1.weight", &np), before[12];
            memcpy(before, p, sizeof before);
            long live = alloc_live();
            alloc_fail_at(n);
            fz_status st = fz_load_npz(m, inputs[f]);
            int failed = alloc_failed();
            alloc_fail_at(-1);
            assert_int_equal(alloc_live(), live);
            if (failed) {
                loads++;
                assert_int_equal(st, FZ_ENOMEM);
                assert_memory_equal(before, p, sizeof before);
            } else {
                assert_int_equal(st, FZ_OK);
            }
            fz_model_free(m);
            if (!failed)
                break;
        }
    }

    fz_model *m = fz_mlp_create(w, 3, 10);
    assert_int_equal(fz_save_npz(m, out), FZ_OK);
    fz_model *other = fz_mlp_create(w, 3, 11);
    for (long n = 0;; n++) {
        long live = alloc_live();
        alloc_fail_at(n);
        fz_status st = fz_save_npz(other, out);
        int failed = alloc_failed();
        alloc_fail_at(-1);
        assert_int_equal(alloc_live(), live);
        if (!failed) {
            assert_int_equal(st, FZ_OK);
            break;
        }
        saves++;
        assert_int_equal(st, FZ_ENOMEM);
        /* The file still holds the first model, whole. */
        fz_model *back = fz_mlp_from_npz(out);
        assert_non_null(back);
        assert_memory_equal(fz_param_data(back, "fc2.weight", NULL),
                            fz_param_data(m, "fc2.weight", NULL), 6 * sizeof(float));
        fz_model_free(back);
    }
    fz_model_free(other);
    fz_model_free(m);
    unlink(out);
    assert_int_equal(rmdir(dir), 0);   /* empty: no temporary file was left behind */
    injections += loads + saves;
    assert_true(loads >= 2);
}

static int report(void **state)
{
    (void)state;
    printf("# allocation failures injected: %ld\n", injections);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(model_create_fails_cleanly),
        cmocka_unit_test(trainer_create_fails_cleanly_and_model_stays_usable),
        cmocka_unit_test(replanning_step_fails_cleanly_and_trainer_stays_usable),
        cmocka_unit_test(freeze_fails_cleanly_and_flags_stay),
        cmocka_unit_test(npz_load_and_save_fail_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, report);
}
