/*
 * Archive names that look like the library's own fcK names never meet them (issue 24,
 * item 3): a module of layers fc0, fc1, fc2 loads, with --map or without, and 'fc1.*'
 * is its fc1 alone; an archive of fc2 and fc3 without fc1 is taken in archive order and
 * 'fc2.*' is its first layer alone; a model saved under such names loads back into
 * itself.  Flags are read by tensor index (fz_tensor.requires_grad), so these tests do
 * not depend on the name lookups they check.
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

#include "freezebench.h"
#include "model.h"
#include "npz.h"

#ifndef FZ_TEST_DATA
#error "FZ_TEST_DATA must name tests/data"
#endif

#define FIXTURE(name) FZ_TEST_DATA "/" name

static fz_model *load(const char *path, const char *map)
{
    fz_npz_import opts = { .map = map };
    fz_model *m = fz_mlp_from_state_dict(path, &opts);
    if (!m)
        fail_msg("%s (--map %s): %s", path, map ? map : "none", fz_last_error());
    return m;
}

/* The tensors' state_dict names, in order, are `names` (NULL-terminated). */
static void assert_state_names(const fz_model *m, const char *const *names)
{
    size_t i = 0;
    for (; names[i]; i++) {
        assert_true(i < fz_param_count(m));
        assert_string_equal(fz_param_state_name(m, i), names[i]);
    }
    assert_int_equal(i, fz_param_count(m));
}

/* requires_grad by index: the frozen ones are those whose state name starts with
 * `frozen_prefix`. */
static void assert_frozen_exactly(const fz_model *m, const char *frozen_prefix)
{
    for (size_t i = 0; i < m->n_tensors; i++) {
        const char *name = fz_param_state_name(m, i);
        bool want_frozen = !strncmp(name, frozen_prefix, strlen(frozen_prefix));
        if (m->tensors[i].requires_grad == want_frozen)
            fail_msg("%s (the library's %s) is %s, want %s", name, m->tensors[i].name,
                     m->tensors[i].requires_grad ? "trainable" : "frozen",
                     want_frozen ? "frozen" : "trainable");
    }
}

/* Every tensor holds the archive's array of its state name, bit for bit. */
static void assert_values_from(const fz_model *m, const char *path)
{
    fz_npz z;
    assert_int_equal(npz_read(path, &z), FZ_OK);
    for (size_t i = 0; i < m->n_tensors; i++) {
        const fz_npz_array *a = npz_find(&z, fz_param_state_name(m, i));
        assert_non_null(a);
        assert_int_equal(a->numel, m->tensors[i].numel);
        assert_memory_equal(a->data, m->tensors[i].data, a->numel * sizeof(float));
    }
    npz_free(&z);
}

static const char *const FC012[] = { "fc0.weight", "fc0.bias", "fc1.weight", "fc1.bias",
                                     "fc2.weight", "fc2.bias", NULL };

/* 10 -> 8 -> 8 -> 3: with the old lookup, the archive's fc1.weight (8x8) was checked
 * against the library's fc1.weight (8x10) and the model could not be loaded at all. */
static void nonsquare_fc0_fc1_fc2_loads_with_a_correct_map(void **state)
{
    (void)state;
    fz_model *m = load(FIXTURE("fc0_fc1_fc2.npz"), "fc1=fc0,fc2=fc1,fc3=fc2");
    assert_int_equal(fz_layer_count(m), 3);
    const size_t widths[] = { 10, 8, 8, 3 };
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(fz_width(m, i), widths[i]);
    assert_state_names(m, FC012);
    assert_values_from(m, FIXTURE("fc0_fc1_fc2.npz"));
    fz_model_free(m);
}

/* Without a map the fcK weights are not fc1..fcL: archive order, the same model. */
static void fc0_fc1_fc2_without_a_map_is_taken_in_archive_order(void **state)
{
    (void)state;
    fz_model *m = load(FIXTURE("fc0_fc1_fc2.npz"), NULL);
    assert_int_equal(fz_layer_count(m), 3);
    assert_int_equal(fz_width(m, 0), 10);
    assert_state_names(m, FC012);
    assert_values_from(m, FIXTURE("fc0_fc1_fc2.npz"));
    fz_model_free(m);
}

/* 'fc1.*' froze the archive's fc0 (the library's fc1) and fc1 both. */
static void glob_matches_the_archives_names_only(void **state)
{
    (void)state;
    const char *maps[] = { "fc1=fc0,fc2=fc1,fc3=fc2", NULL };
    for (size_t k = 0; k < 2; k++) {
        fz_model *m = load(FIXTURE("fc0_fc1_fc2.npz"), maps[k]);
        assert_int_equal(fz_freeze(m, "fc1.*"), FZ_OK);
        assert_frozen_exactly(m, "fc1.");
        /* fc3 is the library's name of the last layer, not one of the archive's */
        assert_int_equal(fz_freeze(m, "fc3.*"), FZ_ENOTFOUND);
        assert_non_null(strstr(fz_last_error(), "'fc0.weight'"));
        assert_null(strstr(fz_last_error(), "fc1..fc3"));
        assert_frozen_exactly(m, "fc1.");
        fz_model_free(m);
    }
}

/* fc2 and fc3 without fc1: 'fc2.*' froze everything (the archive's fc2 and the
 * library's fc2, which is the archive's fc3). */
static void fc2_fc3_without_fc1_freeze_fc2_freezes_the_first_layer_only(void **state)
{
    (void)state;
    fz_model *m = load(FIXTURE("fc2_fc3.npz"), NULL);
    assert_int_equal(fz_layer_count(m), 2);
    assert_int_equal(fz_width(m, 0), 4);
    assert_int_equal(fz_width(m, 2), 2);
    const char *const names[] = { "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias", NULL };
    assert_state_names(m, names);
    assert_int_equal(fz_freeze(m, "fc2.*"), FZ_OK);
    assert_frozen_exactly(m, "fc2.");
    /* the library's fc1 is no name of this model */
    assert_int_equal(fz_freeze(m, "fc1.weight"), FZ_ENOTFOUND);
    assert_frozen_exactly(m, "fc2.");
    /* shorthands count layers, whatever their names */
    assert_int_equal(fz_unfreeze(m, "prefix:2"), FZ_OK);
    assert_int_equal(fz_freeze(m, "last"), FZ_OK);
    assert_frozen_exactly(m, "fc2.");
    fz_model_free(m);
}

/* fz_load_npz of the model's own archive: each array finds its own tensor. */
static void saved_fc_names_load_back_into_their_model(void **state)
{
    (void)state;
    char dir[] = "/tmp/fz_names_XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/out.npz", dir);
    fz_model *m = load(FIXTURE("fc0_fc1_fc2.npz"), "fc1=fc0,fc2=fc1,fc3=fc2");
    assert_int_equal(fz_save_npz(m, path), FZ_OK);
    fz_npz z;
    assert_int_equal(npz_read(path, &z), FZ_OK);
    assert_int_equal(z.count, 6);
    for (size_t i = 0; FC012[i]; i++)
        assert_non_null(npz_find(&z, FC012[i]));
    npz_free(&z);
    memset(m->tensors[0].data, 0, m->tensors[0].numel * sizeof(float));
    if (fz_load_npz(m, path) != FZ_OK)
        fail_msg("loading its own archive: %s", fz_last_error());
    assert_values_from(m, FIXTURE("fc0_fc1_fc2.npz"));
    /* An archive of the library's names is another model's: its fc1.weight (8x10) is
     * checked against the model's fc1.weight, the archive's (8x8), and refused. */
    const size_t widths[] = { 10, 8, 8, 3 };
    fz_model *own = fz_mlp_create(widths, 4, 1);
    assert_int_equal(fz_save_npz(own, path), FZ_OK);
    assert_int_equal(fz_load_npz(m, path), FZ_EFORMAT);
    assert_non_null(strstr(fz_last_error(), "'fc1.weight' has shape (8, 10), the model "
                                            "needs (8, 8)"));
    assert_values_from(m, FIXTURE("fc0_fc1_fc2.npz"));
    fz_model_free(own);
    fz_model_free(m);
    unlink(path);
    rmdir(dir);
}

/* The library's own numbering, fc1..fcL, still goes by number, not archive order. */
static void fc1_to_fcL_are_taken_by_number(void **state)
{
    (void)state;
    fz_model *m = load(FIXTURE("fc2_before_fc1.npz"), NULL);
    assert_int_equal(fz_layer_count(m), 2);
    assert_int_equal(fz_width(m, 0), 4);
    assert_int_equal(fz_width(m, 1), 3);
    const char *const names[] = { "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", NULL };
    assert_state_names(m, names);
    assert_values_from(m, FIXTURE("fc2_before_fc1.npz"));
    fz_model_free(m);
}

/* "a.bias.weight" is a weight (its last component says so), of shape (2, 3). */
static void a_weight_in_a_module_named_bias_is_a_weight(void **state)
{
    (void)state;
    fz_model *m = load(FIXTURE("bias_in_module_name.npz"), NULL);
    const char *const names[] = { "x.weight", "x.bias", "a.bias.weight", "a.bias.bias", NULL };
    assert_state_names(m, names);
    assert_false(m->tensors[2].is_bias);
    assert_true(m->tensors[3].is_bias);
    assert_int_equal(m->tensors[2].rows, 2);
    assert_int_equal(m->tensors[2].cols, 3);
    assert_int_equal(fz_freeze(m, "a.bias.*"), FZ_OK);
    assert_frozen_exactly(m, "a.bias.");
    fz_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nonsquare_fc0_fc1_fc2_loads_with_a_correct_map),
        cmocka_unit_test(fc0_fc1_fc2_without_a_map_is_taken_in_archive_order),
        cmocka_unit_test(glob_matches_the_archives_names_only),
        cmocka_unit_test(fc2_fc3_without_fc1_freeze_fc2_freezes_the_first_layer_only),
        cmocka_unit_test(saved_fc_names_load_back_into_their_model),
        cmocka_unit_test(fc1_to_fcL_are_taken_by_number),
        cmocka_unit_test(a_weight_in_a_module_named_bias_is_a_weight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
