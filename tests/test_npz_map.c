/*
 * --map (fz_npz_import.map, fz_npz_map_check): a prefix named twice is refused naming
 * both layers (issue 24, item 2: 'fc1=0,fc2=2,fc3=4,fc4=0' trained a 4th layer as a copy
 * of 0 and wrote 0.weight twice), and so is every malformed map, before the file is read.
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
#include "npz.h"
#include "tmpdir_testutil.h"


/* A Sequential of three square Linear layers 0, 2, 4 (4 -> 4 -> 4 -> 4): a map that
 * names 0 again as fc4 chains, so only the duplicate check can refuse it. */
static int write_sequential(void **state)
{
    if (make_tmpdir(state) != 0)
        return -1;
    const char *path = tmp_file(state, "seq.npz");
    static float w[16], b[4];
    for (size_t i = 0; i < 16; i++)
        w[i] = (float)i / 16;
    fz_npz_array a[6];
    const char *names[] = { "0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias" };
    for (size_t i = 0; i < 6; i++) {
        bool bias = i % 2;
        a[i] = (fz_npz_array){ .name = (char *)names[i], .ndim = bias ? 1 : 2,
                               .shape = { 4, 4 }, .numel = bias ? 4 : 16,
                               .data = bias ? b : w };
    }
    return npz_write(path, a, 6) == FZ_OK ? 0 : -1;
}


static fz_model *load(void **state, const char *map)
{
    tmp_ctx *c = *state;
    fz_npz_import opts = { .map = map };
    return fz_mlp_from_state_dict(c->path, &opts);
}

/* Refused with FZ_EINVAL and every `needles` string in the message, by the loader and
 * by the check alone. */
static void assert_map_refused(void **state, const char *map, const char *n1,
                               const char *n2)
{
    fz_model *m = load(state, map);
    if (m || !strstr(fz_last_error(), n1) || (n2 && !strstr(fz_last_error(), n2)))
        fail_msg("--map '%s': %s \"%s\", want a refusal naming '%s'%s%s%s", map,
                 m ? "loaded" : "refused", fz_last_error(), n1, n2 ? " and '" : "",
                 n2 ? n2 : "", n2 ? "'" : "");
    assert_int_equal(fz_npz_map_check(map), FZ_EINVAL);
    assert_non_null(strstr(fz_last_error(), n1));
}

static void a_prefix_named_twice_is_refused_naming_both_layers(void **state)
{
    assert_map_refused(state, "fc1=0,fc2=2,fc3=4,fc4=0", "fc1 and fc4 both name '0'", NULL);
    assert_map_refused(state, "fc1=0,fc2=2,fc3=2", "fc2 and fc3 both name '2'", NULL);
}

static void the_same_map_without_the_duplicate_loads(void **state)
{
    fz_model *m = load(state, "fc1=0,fc2=2,fc3=4");
    if (!m)
        fail_msg("%s", fz_last_error());
    assert_int_equal(fz_layer_count(m), 3);
    assert_string_equal(fz_param_state_name(m, 5), "4.bias");
    assert_int_equal(fz_npz_map_check("fc1=0,fc2=2,fc3=4"), FZ_OK);
    fz_model_free(m);
}

static void malformed_maps_are_refused_saying_what_is_wrong(void **state)
{
    assert_map_refused(state, "fc1=0,", "item 2 is empty", "trailing comma");
    assert_map_refused(state, "fc1=0,,fc2=2", "item 2 is empty", NULL);
    assert_map_refused(state, ",fc1=0", "item 1 is empty", NULL);
    assert_map_refused(state, "", "empty", NULL);
    assert_map_refused(state, "fc1=", "fc1=, names no prefix", NULL);
    assert_map_refused(state, "fc2=0", "item 1 should be fc1=PREFIX", NULL);
    assert_map_refused(state, "fc1=0,fc3=2", "item 2 should be fc2=PREFIX", NULL);
    assert_map_refused(state, "fc1:0", "item 1 should be fc1=PREFIX", NULL);
    char longer[160] = "fc1=";
    memset(longer + 4, 'p', 121);
    assert_map_refused(state, longer, "longer than 120 bytes", NULL);
    assert_int_equal(fz_npz_map_check(NULL), FZ_EINVAL);
}

/* The map is the caller's: a bad one is named even when the file cannot be read. */
static void a_bad_map_is_refused_before_the_file_is_read(void **state)
{
    (void)state;
    fz_npz_import opts = { .map = "fc1=0,fc2=0" };
    assert_null(fz_mlp_from_state_dict("/nonexistent/absent.npz", &opts));
    assert_non_null(strstr(fz_last_error(), "fc1 and fc2 both name '0'"));
}

int main(void)
{
#define SEQ(fn) cmocka_unit_test_setup_teardown(fn, write_sequential, remove_tmpdir)
    const struct CMUnitTest tests[] = {
        SEQ(a_prefix_named_twice_is_refused_naming_both_layers),
        SEQ(the_same_map_without_the_duplicate_loads),
        SEQ(malformed_maps_are_refused_saying_what_is_wrong),
        cmocka_unit_test(a_bad_map_is_refused_before_the_file_is_read),
    };
#undef SEQ
    return cmocka_run_group_tests(tests, NULL, NULL);
}
