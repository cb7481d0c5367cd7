/*
 * The freezebench executable end to end, without Python: exit statuses (0 done, 1 a file
 * or training error, 2 a usage error), messages that name what is wrong, and a train run
 * whose output keeps the frozen parameters bit-identical and changes the trained ones.
 *
 *   usage: test_cli_run PATH/TO/freezebench
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli_testutil.h"

#ifndef FZ_TEST_DATA
#error "FZ_TEST_DATA must name tests/data"
#endif

static void expect(int got, int want, const char *needle)
{
    if (got != want || !strstr(output, needle))
        fail_msg("exit %d (want %d), output \"%s\" should name '%s'", got, want, output,
                 needle);
}

static void help_exits_0_and_documents_every_option(void **state)
{
    (void)state;
    expect(run("--help"), 0, "usage: freezebench params");
    const char *options[] = { "--freeze", "--model", "--data", "--out", "--epochs", "--batch",
                              "--lr", "--momentum", "--weight-decay", "--seed",
                              "--log-every", "--threads" };
    for (size_t i = 0; i < sizeof options / sizeof options[0]; i++)
        assert_non_null(strstr(output, options[i]));
}

static void usage_errors_exit_2_naming_the_argument(void **state)
{
    (void)state;
    expect(run(""), 2, "command");
    expect(run("train --model m.npz --lr fast"), 2, "--lr");
    expect(run("params"), 2, "MODEL.npz");
    expect(run("params m.npz --bogus 1"), 2, "--bogus");
}

static void file_errors_exit_1_naming_the_file_or_tensor(void **state)
{
    (void)state;
    expect(run("params %s/absent.npz", tmpdir), 1, "absent.npz");
    expect(run("params %s/byteorder_be.npz", FZ_TEST_DATA), 1, "fc2.weight");
    expect(run("params %s/good_savez.npz --freeze 'fc9.*'", FZ_TEST_DATA), 1, "fc9.*");
}

static void params_prints_shape_and_requires_grad(void **state)
{
    (void)state;
    expect(run("params %s/good_savez.npz --freeze prefix:1", FZ_TEST_DATA), 0,
           "Parameter: fc1.weight, Shape: [3, 4], Requires grad: False\n"
           "Parameter: fc1.bias, Shape: [3], Requires grad: False\n"
           "Parameter: fc2.weight, Shape: [2, 3], Requires grad: True\n"
           "Parameter: fc2.bias, Shape: [2], Requires grad: True\n");
}

/* x: 10×4, y: 10×2 — for the fixtures' 4 -> 3 -> 2 model; y within [0, y_scale) */
static void write_data(const char *path, size_t x_cols)
{
    write_scaled_data(path, x_cols, 1.0f);
}

static void train_keeps_frozen_bits_and_moves_the_rest(void **state)
{
    (void)state;
    char data[128], out[128];
    snprintf(data, sizeof data, "%s/data.npz", tmpdir);
    snprintf(out, sizeof out, "%s/out.npz", tmpdir);
    write_data(data, 4);
    /* 10 samples in batches of 4: two steps per epoch, the last 2 samples dropped */
    int rc = run("train --model %s/good_savez.npz --data %s --freeze fc1.weight --epochs 3 "
                 "--batch 4 --lr 0.1 --momentum 0.5 --log-every 2 --out %s",
                 FZ_TEST_DATA, data, out);
    expect(rc, 0, "Epoch [2/3], Loss: ");
    assert_non_null(strstr(output, "Epoch [3/3], Loss: "));
    assert_null(strstr(output, "Epoch [1/3]"));

    fz_model *in = fz_mlp_from_npz(FZ_TEST_DATA "/good_savez.npz");
    fz_model *trained = fz_mlp_from_npz(out);
    assert_non_null(in);
    assert_non_null(trained);
    for (size_t i = 0; i < fz_param_count(in); i++) {
        const char *name = fz_param_name(in, i);
        size_t n;
        float *a = fz_param_data(in, name, &n), *b = fz_param_data(trained, name, NULL);
        if (!strcmp(name, "fc1.weight"))
            assert_memory_equal(a, b, n * sizeof(float));
        else
            assert_memory_not_equal(a, b, n * sizeof(float));
    }
    fz_model_free(in);
    fz_model_free(trained);
}

/* --quiet: nothing on stdout or stderr but errors; the file asked for is still written.
 * The same run without it prints loss lines and the note that the cache cap is too small,
 * so an empty output here is --quiet's doing. */
static void train_quiet_prints_nothing_but_writes_out(void **state)
{
    (void)state;
    char data[128], out[128];
    snprintf(data, sizeof data, "%s/data.npz", tmpdir);
    snprintf(out, sizeof out, "%s/quiet.npz", tmpdir);
    write_data(data, 4);
    const char *line = "train --model %s/good_savez.npz --data %s --freeze fc1.weight "
                       "--epochs 2 --batch 4 --lr 0.1 --log-every 1 --cache-frozen "
                       "--cache-max-bytes 1 --out %s %s";
    expect(run(line, FZ_TEST_DATA, data, out, ""), 0, "Epoch [1/2], Loss: ");
    assert_non_null(strstr(output, "note:"));
    unlink(out);
    expect(run(line, FZ_TEST_DATA, data, out, "--quiet"), 0, "");
    assert_string_equal(output, "");
    assert_int_equal(access(out, F_OK), 0);
    /* eval --quiet still prints its result, the one thing it was asked for */
    expect(run("eval --model %s --data %s --quiet", out, data), 0, "loss ");
    /* an error still says so */
    expect(run("train --model %s/absent.npz --data %s --epochs 1 --batch 4 --lr 0.1 "
               "--out %s --quiet", tmpdir, data, out), 1, "absent.npz");
}

/* GNU's form; that it goes to stdout alone is tests/program_options_check.py's check. */
static void version_exits_0(void **state)
{
    (void)state;
    expect(run("--version"), 0, "freezebench (freezebench) ");
    assert_non_null(strstr(output, "\ngit "));
    expect(run("train --bogus --version"), 0, "freezebench (freezebench) ");
}

static void train_rejects_data_that_does_not_fit(void **state)
{
    (void)state;
    char data[128];
    snprintf(data, sizeof data, "%s/wide.npz", tmpdir);
    write_data(data, 5);
    expect(run("train --model %s/good_savez.npz --data %s --epochs 1 --batch 4 --lr 0.1 "
               "--out %s/o.npz", FZ_TEST_DATA, data, tmpdir), 1, "'x' must be N x 4");
    snprintf(data, sizeof data, "%s/data.npz", tmpdir);
    write_data(data, 4);
    expect(run("train --model %s/good_savez.npz --data %s --epochs 1 --batch 11 --lr 0.1 "
               "--out %s/o.npz", FZ_TEST_DATA, data, tmpdir), 1, "fewer than --batch 11");
    expect(run("train --model %s/good_savez.npz --data %s --epochs 1 --batch 2 --lr 0.1 "
               "--freeze prefix:2 --out %s/o.npz", FZ_TEST_DATA, data, tmpdir), 1, "nothing to train");
    assert_int_equal(access(data, F_OK), 0);
    char o[128];
    snprintf(o, sizeof o, "%s/o.npz", tmpdir);
    assert_int_equal(access(o, F_OK), -1);   /* no output after a failed run */
    /* An output that cannot be written is refused before any epoch runs. */
    expect(run("train --model %s/good_savez.npz --data %s --epochs 1 --batch 2 --lr 0.1 "
               "--out %s/no-such-dir/o.npz", FZ_TEST_DATA, data, tmpdir), 2,
           "checked before training");
    assert_null(strstr(output, "Epoch ["));
}

/* ---- outputs refused before work, non-finite models and training ------------------- */

/* An output that cannot take the model is a usage error found before any work (not
 * after training, with the trained model lost), and a FIFO or a symlink there is
 * left alone, never replaced by a regular file. */
static void train_refuses_unusable_outputs_before_any_work_with_exit_2(void **state)
{
    (void)state;
    char data[128], fifo[128], link[128], target[128], longname[512];
    snprintf(data, sizeof data, "%s/data.npz", tmpdir);
    snprintf(fifo, sizeof fifo, "%s/fifo.npz", tmpdir);
    snprintf(link, sizeof link, "%s/link.npz", tmpdir);
    snprintf(target, sizeof target, "%s/target", tmpdir);
    write_data(data, 4);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    FILE *t = fopen(target, "w");
    assert_non_null(t);
    fclose(t);
    assert_int_equal(symlink(target, link), 0);
    const char *train = "train --model " FZ_TEST_DATA "/good_savez.npz --epochs 1 "
                        "--batch 2 --lr 0.1 --data";
    const struct { const char *out, *says; } bad[] = {
        { tmpdir, "directory" }, { "%s/x.npz", "Not a directory" }, { fifo, "FIFO" },
        { link, "symbolic link" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char out[256];
        snprintf(out, sizeof out, bad[i].out, data);   /* "%s/x.npz": under the data file */
        expect(run("%s %s --out '%s'", train, data, out), 2, bad[i].says);
        assert_non_null(strstr(output, "before training"));
        assert_null(strstr(output, "Epoch ["));
    }
    struct stat sb;
    assert_true(lstat(fifo, &sb) == 0 && S_ISFIFO(sb.st_mode));
    assert_true(lstat(link, &sb) == 0 && S_ISLNK(sb.st_mode));
    /* the longest valid name works: its temporary file must fit too */
    int n = snprintf(longname, sizeof longname, "%s/", tmpdir);
    memset(longname + n, 'o', 251);
    strcpy(longname + n + 251, ".npz");
    expect(run("%s %s --out '%s'", train, data, longname), 0, "Epoch [1/1]");
    assert_int_equal(access(longname, F_OK), 0);
    unlink(longname);
    unlink(link);
    unlink(target);
    unlink(fifo);
}

/* --lr 1e30 on large targets: the one update overflows.  The run fails and writes
 * nothing, rather than exiting 0 with infinite parameters written. */
static void train_whose_update_overflows_fails_and_writes_nothing(void **state)
{
    (void)state;
    char data[128], out[128];
    snprintf(data, sizeof data, "%s/big_y.npz", tmpdir);
    snprintf(out, sizeof out, "%s/diverged.npz", tmpdir);
    write_scaled_data(data, 4, 1e10f);
    expect(run("train --model %s/good_savez.npz --data %s --epochs 1 --batch 10 --lr 1e30 "
               "--out %s", FZ_TEST_DATA, data, out), 1, "diverged");
    assert_int_equal(access(out, F_OK), -1);
}

/* A NaN parameter is refused on load with the tensor and the element. */
static void model_with_a_nan_parameter_is_refused_naming_it(void **state)
{
    (void)state;
    char model[128], data[128], out[128];
    snprintf(model, sizeof model, "%s/nan.npz", tmpdir);
    snprintf(data, sizeof data, "%s/data.npz", tmpdir);
    snprintf(out, sizeof out, "%s/nan_out.npz", tmpdir);
    fz_model *m = fz_mlp_from_npz(FZ_TEST_DATA "/good_savez.npz");
    assert_non_null(m);
    fz_param_data(m, "fc1.weight", NULL)[0] = NAN;
    assert_int_equal(fz_save_npz(m, model), FZ_OK);
    fz_model_free(m);
    write_data(data, 4);
    expect(run("params %s", model), 1, "fc1.weight");
    assert_non_null(strstr(output, "[0, 0]"));
    expect(run("train --model %s --data %s --epochs 1 --batch 2 --lr 0.1 --out %s", model,
               data, out), 1, "fc1.weight");
    assert_int_equal(access(out, F_OK), -1);
}

static void directory_as_model_says_it_is_a_directory(void **state)
{
    (void)state;
    expect(run("params %s", tmpdir), 1, "is a directory");
}

/* params > /dev/full printed nothing and exited 0. */
static void params_to_a_full_stdout_exits_1(void **state)
{
    (void)state;
    assert_int_equal(run("params %s/good_savez.npz >/dev/full", FZ_TEST_DATA), 1);
}

/* A non-ASCII character in a spec is named by its bytes' value, never by one byte of it
 * printed alone (which is not text).  A malformed spec is a usage error (exit 2). */
static void non_ascii_spec_is_named_without_broken_bytes(void **state)
{
    (void)state;
    expect(run("params %s/good_savez.npz --freeze 'f\xc3\xa9*'", FZ_TEST_DATA), 2,
           "bad byte 0xc3");
    for (const char *p = output; (p = strchr(p, '\xc3')); p++)
        assert_true(p[1] == '\xa9');
    /* a quote cut at 64 bytes does not split the character either */
    expect(run("params %s/good_savez.npz --freeze '%s\xc3\xa9'", FZ_TEST_DATA,
               "fc1.weight,fc2.weight,fc1.bias,fc2.bias,fc1.*,fc2.*,*.bias,fc1.w"), 2,
           "0xc3");
    for (const char *p = output; (p = strchr(p, '\xc3')); p++)
        assert_true(p[1] == '\xa9');
}

int main(int argc, char **argv)
{
    int early = cli_test_start(argc, argv, "/tmp/fz_cli_run_XXXXXX");
    if (early >= 0)
        return early;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(help_exits_0_and_documents_every_option),
        cmocka_unit_test(train_quiet_prints_nothing_but_writes_out),
        cmocka_unit_test(version_exits_0),
        cmocka_unit_test(usage_errors_exit_2_naming_the_argument),
        cmocka_unit_test(file_errors_exit_1_naming_the_file_or_tensor),
        cmocka_unit_test(params_prints_shape_and_requires_grad),
        cmocka_unit_test(train_keeps_frozen_bits_and_moves_the_rest),
        cmocka_unit_test(train_rejects_data_that_does_not_fit),
        cmocka_unit_test(train_refuses_unusable_outputs_before_any_work_with_exit_2),
        cmocka_unit_test(train_whose_update_overflows_fails_and_writes_nothing),
        cmocka_unit_test(model_with_a_nan_parameter_is_refused_naming_it),
        cmocka_unit_test(directory_as_model_says_it_is_a_directory),
        cmocka_unit_test(params_to_a_full_stdout_exits_1),
        cmocka_unit_test(non_ascii_spec_is_named_without_broken_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, cleanup);
}
