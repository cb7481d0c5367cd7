/*
 * The trainer's packed frozen weights (src/train/packs.c): training with them gives
 * bitwise the parameters of training without them (FREEZEBENCH_PREPACK=0), for every
 * ISA and one or two threads; a frozen weight written through fz_param_data or
 * fz_load_npz is repacked before the next step; unfreezing drops a pack and freezing
 * again makes it; fz_memory_used counts what the packs hold; a product that would not
 * read a pack (the seed network's tall, narrow forward) gets none; a kernel change
 * between steps repacks for the new kernel.
 */
#define _POSIX_C_SOURCE 200809L   /* setenv, mkdtemp */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core_testutil.h"
#include "freezebench.h"
#include "kernels.h"
#include "kernels_active.h"

/* Wide enough that every layer GEMM takes the blocked path at this batch. */
static const size_t widths[] = { 96, 200, 180, 150, 12 };
enum { LAYERS = 4, BATCH = 40, STEPS = 4 };
static const fz_sgd opt = { .lr = 0.01f, .momentum = 0.9f, .weight_decay = 1e-4f };

static float x[STEPS][BATCH * 96], y[STEPS][BATCH * 12];

static int setup(void **state)
{
    (void)state;
    for (int s = 0; s < STEPS; s++) {
        for (size_t i = 0; i < BATCH * 96; i++)
            x[s][i] = (float)((i * 37 + (size_t)s * 11) % 101) / 50.0f - 1.0f;
        for (size_t i = 0; i < BATCH * 12; i++)
            y[s][i] = (float)((i * 13 + (size_t)s) % 29) / 14.0f - 1.0f;
    }
    return 0;
}

static void prepack(bool on)
{
    assert_int_equal(setenv("FREEZEBENCH_PREPACK", on ? "1" : "0", 1), 0);
}

static fz_model *model(const char *spec)
{
    fz_model *m = fz_mlp_create(widths, LAYERS + 1, 7);
    assert_non_null(m);
    if (spec)
        assert_int_equal(fz_freeze(m, spec), FZ_OK);
    return m;
}

static fz_trainer *trainer(fz_model *m, bool packed, fz_sgd o)
{
    prepack(packed);
    fz_trainer *t = fz_trainer_create(m, BATCH, o);
    assert_non_null(t);
    prepack(true);
    return t;
}

static void steps(fz_trainer *t, int from, int to)
{
    for (int s = from; s < to; s++)
        assert_int_equal(fz_train_step(t, x[s], y[s], NULL), FZ_OK);
}

/* Every parameter of a and b, bitwise. */
static void assert_same_params(fz_model *a, fz_model *b)
{
    const char *differs = first_differing_param(a, b);
    if (differs)
        fail_msg("%s differs", differs);
}

static bool have_microkernel(void) { return kernels_get()->microkernel != NULL; }

/* STEPS steps under `spec`, packed and not: the same parameters, and packs only where
 * the table has a microkernel to pack for. */
static void same_with_and_without(const char *spec)
{
    fz_model *a = model(spec), *b = model(spec);
    fz_trainer *ta = trainer(a, true, opt), *tb = trainer(b, false, opt);
    steps(ta, 0, STEPS);
    steps(tb, 0, STEPS);
    assert_same_params(a, b);
    assert_int_equal(fz_memory_used(tb).packed, 0);
    if (have_microkernel())
        assert_true(fz_memory_used(ta).packed > 0);
    else
        assert_int_equal(fz_memory_used(ta).packed, 0);
    fz_trainer_free(ta);
    fz_trainer_free(tb);
    fz_model_free(a);
    fz_model_free(b);
}

static void frozen_training_matches_prepack_disabled_bitwise(void **state)
{
    (void)state;
    /* A frozen prefix (forward packs), a frozen middle layer under a trainable one
     * (forward and dgrad packs), and linear probing. */
    static const char *const specs[] = { "prefix:2", "fc2.*", "fc3.weight", "last" };
    static const char *const isas[] = { "scalar", "avx2", "avx512", "neon" };
    for (int threads = 1; threads <= 2; threads++) {
        fz_set_threads(threads);
        for (size_t i = 0; i < sizeof isas / sizeof *isas; i++) {
            const fz_kernels *k = kernels_for(isas[i]);
            if (!k)
                continue;
            kernels_override(k);
            for (size_t s = 0; s < sizeof specs / sizeof *specs; s++)
                same_with_and_without(specs[s]);
        }
    }
    kernels_override(NULL);
    fz_set_threads(0);
}

/* Train, write into a frozen weight, train on: the result is a fresh trainer's on the
 * written parameters (momentum 0, so a fresh trainer has the same state). */
static void pack_refreshed_after_param_data_write(void **state)
{
    (void)state;
    fz_sgd plain = { .lr = 0.02f };
    fz_model *a = model("prefix:2"), *b = model("prefix:2");
    fz_trainer *ta = trainer(a, true, plain);
    steps(ta, 0, 2);
    size_t n;
    float *w = fz_param_data(a, "fc1.weight", &n);
    for (size_t i = 0; i < n; i += 3)
        w[i] = 0.5f - w[i];
    for (size_t i = 0; i < fz_param_count(a); i++) {
        const char *name = fz_param_name(a, i);
        float *dst = fz_param_data(b, name, &n);
        memcpy(dst, fz_param_data(a, name, NULL), n * sizeof(float));
    }
    fz_trainer *tb = trainer(b, true, plain);
    steps(ta, 2, STEPS);
    steps(tb, 2, STEPS);
    assert_same_params(a, b);
    fz_trainer_free(ta);
    fz_trainer_free(tb);
    fz_model_free(a);
    fz_model_free(b);
}

/* The same with fz_load_npz rewriting the frozen weights. */
static void pack_refreshed_after_load_npz(void **state)
{
    (void)state;
    char dir[] = "/tmp/fz_prepack_XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/other.npz", dir);
    fz_model *other = fz_mlp_create(widths, LAYERS + 1, 99);
    assert_int_equal(fz_save_npz(other, path), FZ_OK);

    fz_sgd plain = { .lr = 0.02f };
    fz_model *a = model("prefix:3");
    fz_trainer *ta = trainer(a, true, plain);
    steps(ta, 0, 2);
    assert_int_equal(fz_load_npz(a, path), FZ_OK);
    fz_model *b = model("prefix:3");
    assert_int_equal(fz_load_npz(b, path), FZ_OK);
    fz_trainer *tb = trainer(b, true, plain);
    steps(ta, 2, STEPS);
    steps(tb, 2, STEPS);
    assert_same_params(a, b);

    fz_trainer_free(ta);
    fz_trainer_free(tb);
    fz_model_free(a);
    fz_model_free(b);
    fz_model_free(other);
    unlink(path);
    rmdir(dir);
}

/* Unfreezing a packed layer (fc2 of a frozen prefix fc1, fc2) drops its pack: it trains
 * now, and is packed on the fly; fc1 keeps only its own forward pack;
 * freezing it again packs it again; the parameters follow those of an unpacked run. */
static void unfreeze_invalidates_pack(void **state)
{
    (void)state;
    fz_model *a = model("prefix:2"), *b = model("prefix:2");
    fz_trainer *ta = trainer(a, true, opt), *tb = trainer(b, false, opt);
    steps(ta, 0, 1);
    steps(tb, 0, 1);
    size_t both = fz_memory_used(ta).packed;

    assert_int_equal(fz_unfreeze(a, "fc2.*"), FZ_OK);
    assert_int_equal(fz_unfreeze(b, "fc2.*"), FZ_OK);
    /* Re-planned without a step: the old plan's packs are gone, none made yet. */
    assert_int_equal(fz_memory_used(ta).packed, 0);
    steps(ta, 1, 2);
    steps(tb, 1, 2);
    size_t one = fz_memory_used(ta).packed;
    assert_same_params(a, b);

    assert_int_equal(fz_freeze(a, "fc2.*"), FZ_OK);
    assert_int_equal(fz_freeze(b, "fc2.*"), FZ_OK);
    steps(ta, 2, STEPS);
    steps(tb, 2, STEPS);
    assert_same_params(a, b);
    if (have_microkernel()) {
        assert_true(both > one && one > 0);
        assert_int_equal(fz_memory_used(ta).packed, both);
    }
    fz_trainer_free(ta);
    fz_trainer_free(tb);
    fz_model_free(a);
    fz_model_free(b);
}

/* The seed network (10 -> 5 -> 1, batch 64) with fc1 frozen: fc1's forward is a tall,
 * narrow product that the x86 kernels compute transposed, packing X and never W, so no
 * pack is kept for it; training matches an unpacked run bitwise either way. */
static void seed_forward_read_transposed_keeps_no_pack(void **state)
{
    (void)state;
    static const size_t seed_widths[] = { 10, 5, 1 };
    enum { SEED_BATCH = 64 };
    float sx[SEED_BATCH * 10], sy[SEED_BATCH];
    for (size_t i = 0; i < SEED_BATCH * 10; i++)
        sx[i] = (float)((i * 7) % 13) / 6.0f - 1.0f;
    for (size_t i = 0; i < SEED_BATCH; i++)
        sy[i] = (float)(i % 5) / 4.0f;
    static const char *const isas[] = { "scalar", "avx2", "avx512", "neon" };
    for (size_t i = 0; i < sizeof isas / sizeof *isas; i++) {
        const fz_kernels *k = kernels_for(isas[i]);
        if (!k)
            continue;
        kernels_override(k);
        fz_model *a = fz_mlp_create(seed_widths, 3, 5), *b = fz_mlp_create(seed_widths, 3, 5);
        assert_non_null(a);
        assert_non_null(b);
        assert_int_equal(fz_freeze(a, "fc1.*"), FZ_OK);
        assert_int_equal(fz_freeze(b, "fc1.*"), FZ_OK);
        prepack(true);
        fz_trainer *ta = fz_trainer_create(a, SEED_BATCH, opt);
        prepack(false);
        fz_trainer *tb = fz_trainer_create(b, SEED_BATCH, opt);
        prepack(true);
        assert_non_null(ta);
        assert_non_null(tb);
        for (int s = 0; s < 3; s++) {
            assert_int_equal(fz_train_step(ta, sx, sy, NULL), FZ_OK);
            assert_int_equal(fz_train_step(tb, sx, sy, NULL), FZ_OK);
        }
        assert_same_params(a, b);
        /* The x86 microkernels store tiles transposed; NEON's packs W on this path. */
        if (!strcmp(isas[i], "avx2") || !strcmp(isas[i], "avx512"))
            assert_int_equal(fz_memory_used(ta).packed, 0);
        fz_trainer_free(ta);
        fz_trainer_free(tb);
        fz_model_free(a);
        fz_model_free(b);
    }
    kernels_override(NULL);
}

/* Steps under one kernel, then another: the packs are remade for the new kernel (its
 * NR pads them differently), exactly as a fresh trainer under it makes them, and the
 * parameters follow an unpacked run that switched the same way. */
static void kernel_change_between_steps_repacks(void **state)
{
    (void)state;
    const fz_kernels *first = kernels_for("avx2"), *second = kernels_for("avx512");
    if (!first || !second) {
        skip();   /* needs two kernels with microkernels on this CPU */
        return;
    }
    fz_model *a = model("prefix:2"), *b = model("prefix:2"), *c = model("prefix:2");
    kernels_override(first);
    fz_trainer *ta = trainer(a, true, opt), *tb = trainer(b, false, opt);
    steps(ta, 0, 2);
    steps(tb, 0, 2);
    size_t packed_first = fz_memory_used(ta).packed;
    kernels_override(second);
    steps(ta, 2, STEPS);
    steps(tb, 2, STEPS);
    assert_same_params(a, b);
    fz_trainer *tc = trainer(c, true, opt);
    steps(tc, 0, 1);
    assert_int_equal(fz_memory_used(ta).packed, fz_memory_used(tc).packed);
    assert_true(fz_memory_used(ta).packed != packed_first);
    kernels_override(NULL);
    fz_trainer_free(ta);
    fz_trainer_free(tb);
    fz_trainer_free(tc);
    fz_model_free(a);
    fz_model_free(b);
    fz_model_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(frozen_training_matches_prepack_disabled_bitwise),
        cmocka_unit_test(pack_refreshed_after_param_data_write),
        cmocka_unit_test(pack_refreshed_after_load_npz),
        cmocka_unit_test(unfreeze_invalidates_pack),
        cmocka_unit_test(seed_forward_read_transposed_keeps_no_pack),
        cmocka_unit_test(kernel_change_between_steps_repacks),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
