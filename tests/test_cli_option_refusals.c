/*
 * freezebench refuses a malformed --freeze, --schedule or --map as a usage error (exit 2)
 * before it reads any file, so a typo costs no time on a large model or data set, and
 * each message names the option and what is wrong in it; a schedule whose entries could
 * never apply (at or past --epochs) or that would freeze every parameter is refused the
 * same way before any training, instead of being ignored or found when its epoch comes.
 *
 *   usage: test_cli_option_refusals PATH/TO/freezebench
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli_testutil.h"

#ifndef FZ_TEST_DATA
#error "FZ_TEST_DATA must name tests/data"
#endif

/* Exit 2 and every needle in the output (NULL ends the list). */
static void expect_usage(int got, ...)
{
    va_list ap;
    va_start(ap, got);
    for (const char *needle; (needle = va_arg(ap, const char *));)
        if (got != 2 || !strstr(output, needle))
            fail_msg("exit %d (want 2), output \"%s\" should name '%s'", got, output, needle);
    va_end(ap);
    if (strstr(output, "Epoch ["))
        fail_msg("refused after training had started: \"%s\"", output);
}

/* A train command line whose model and data files do not exist: a refusal that names an
 * option rather than a missing file was decided before any file was read. */
#define NO_FILES "train --model /nonexistent/m.npz --data /nonexistent/d.npz --batch 2 " \
                 "--lr 0.1 --out %s/o.npz"

static void malformed_specs_are_usage_errors_before_any_file(void **state)
{
    (void)state;
    expect_usage(run(NO_FILES " --epochs 3 --freeze 'fc1.*,,fc2.*'", tmpdir), "--freeze",
                 "empty item", NULL);
    expect_usage(run(NO_FILES " --epochs 3 --freeze 'prefix:x'", tmpdir), "--freeze",
                 "prefix:x", "whole number of layers", NULL);
    expect_usage(run(NO_FILES " --epochs 3 --schedule '0:prefix:1,,1:none'", tmpdir),
                 "--schedule", "empty entry", "after '0:prefix:1'", NULL);
    assert_null(strstr(output, "trailing comma"));
    expect_usage(run(NO_FILES " --epochs 3 --schedule '0:prefix:1,1:none,'", tmpdir),
                 "--schedule", "trailing comma", NULL);
    expect_usage(run(NO_FILES " --epochs 3 --schedule '0:bogus;,1:none'", tmpdir),
                 "--schedule", "entry 0", "bogus;", NULL);
    expect_usage(run(NO_FILES " --epochs 3 --schedule 'prefix:1'", tmpdir), "--schedule",
                 "epoch number", NULL);
    expect_usage(run("params /nonexistent/m.npz --freeze 'fc1.*;'"), "--freeze",
                 "bad character ';'", NULL);
}

static void malformed_maps_are_usage_errors_before_any_file(void **state)
{
    (void)state;
    expect_usage(run(NO_FILES " --epochs 3 --map 'fc1=0,'", tmpdir), "--map",
                 "trailing comma", NULL);
    expect_usage(run(NO_FILES " --epochs 3 --map ',fc1=0'", tmpdir), "--map",
                 "leading comma", NULL);
    expect_usage(run(NO_FILES " --epochs 3 --map 'fc1=0,,fc2=2'", tmpdir), "--map",
                 "two commas in a row", NULL);
    expect_usage(run(NO_FILES " --epochs 3 --map 'fc1='", tmpdir), "--map", "no PREFIX",
                 NULL);
    expect_usage(run(NO_FILES " --epochs 3 --map 'fc2=0'", tmpdir), "--map",
                 "should be fc1=PREFIX", NULL);
    expect_usage(run(NO_FILES " --epochs 3 --map 'fc1=0,head'", tmpdir), "--map",
                 "item 2 'head'", NULL);
    expect_usage(run("params /nonexistent/m.npz --map 'fc1=0,'"), "--map", NULL);
}

/* An entry at epoch N or later, with --epochs N, would never apply. */
static void schedule_entries_past_the_last_epoch_are_refused(void **state)
{
    (void)state;
    expect_usage(run(NO_FILES " --epochs 3 --schedule '0:prefix:1,3:none'", tmpdir),
                 "--schedule", "entry 3:none", "--epochs 3", "never", NULL);
    expect_usage(run(NO_FILES " --epochs 1 --schedule '0:none,7:prefix:1'", tmpdir),
                 "entry 7:prefix:1", NULL);
}

static void write_data(const char *path)
{
    write_scaled_data(path, 4, 1.0f);
}

/* The fixture's model has 2 layers: prefix:2 at epoch 29 of 30 would train 29 epochs and
 * then fail; it is refused before the first, naming --schedule and the entry. */
static void schedule_entry_freezing_everything_is_refused_before_training(void **state)
{
    (void)state;
    char data[128], out[128];
    snprintf(data, sizeof data, "%s/data.npz", tmpdir);
    snprintf(out, sizeof out, "%s/o.npz", tmpdir);
    write_data(data);
    const char *train = "train --model " FZ_TEST_DATA "/good_savez.npz --epochs 30 --batch 2 "
                        "--lr 0.1";
    expect_usage(run("%s --data %s --out %s --schedule '29:prefix:2'", train, data, out),
                 "--schedule", "29:prefix:2", "every parameter", NULL);
    expect_usage(run("%s --data %s --out %s --schedule '0:none,5:fc*'", train, data, out),
                 "--schedule", "5:fc*", "every parameter", NULL);
    /* prefix:K beyond the model's layers is about the option too */
    expect_usage(run("%s --data %s --out %s --schedule '0:prefix:9'", train, data, out),
                 "--schedule", "prefix:9", NULL);
    expect_usage(run("%s --data %s --out %s --freeze prefix:9", train, data, out),
                 "--freeze", "prefix:9", NULL);
    assert_int_equal(access(out, F_OK), -1);
    /* A glob that matches nothing is about the file: exit 1, as before. */
    int rc = run("%s --data %s --out %s --schedule '0:fc9.*'", train, data, out);
    if (rc != 1 || !strstr(output, "fc9.*"))
        fail_msg("exit %d (want 1): \"%s\"", rc, output);
    /* A schedule that leaves something to train still runs. */
    rc = run("%s --data %s --out %s --schedule '0:prefix:1,29:fc2.weight'", train, data, out);
    if (rc != 0 || !strstr(output, "Epoch [30/30]"))
        fail_msg("exit %d (want 0): \"%s\"", rc, output);
    unlink(out);
    unlink(data);
}

int main(int argc, char **argv)
{
    int early = cli_test_start(argc, argv, "/tmp/fz_cli_refusals_XXXXXX");
    if (early >= 0)
        return early;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(malformed_specs_are_usage_errors_before_any_file),
        cmocka_unit_test(malformed_maps_are_usage_errors_before_any_file),
        cmocka_unit_test(schedule_entries_past_the_last_epoch_are_refused),
        cmocka_unit_test(schedule_entry_freezing_everything_is_refused_before_training),
    };
    return cmocka_run_group_tests(tests, NULL, cleanup);
}
