/*
 * What the tests that run the freezebench program share: the program's path, a scratch
 * folder, running it with its output captured, and a small data set.  Header-only (the
 * test files are each one executable); include after cmocka.h.
 */
#ifndef FZ_CLI_TESTUTIL_H
#define FZ_CLI_TESTUTIL_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "freezebench.h"
#include "npz.h"

static const char *exe;
static char tmpdir[64];
static char output[16384];   /* the --help text is over 8 KiB */

/* Runs `freezebench ARGS` (a shell-quoted string), stdout and stderr into `output`;
 * returns the exit status. */
static int run(const char *fmt, ...)
{
    char args[1024], cmd[1400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", exe, args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(output, 1, sizeof output - 1, p);
    output[n] = '\0';
    int status = pclose(p);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

/* A data set of 10 samples: x of x_cols (at most 5) columns, y of 2 scaled by y_scale. */
static void write_scaled_data(const char *path, size_t x_cols, float y_scale)
{
    float x[10 * 5], y[10 * 2];
    assert_true(x_cols <= 5);
    for (size_t i = 0; i < 10 * x_cols; i++)
        x[i] = (float)((i * 37) % 11) / 11.0f - 0.5f;
    for (size_t i = 0; i < 20; i++)
        y[i] = y_scale * (float)((i * 13) % 7) / 7.0f;
    fz_npz_array arrays[] = {
        { .name = "x", .ndim = 2, .shape = { 10, x_cols }, .numel = 10 * x_cols, .data = x },
        { .name = "y", .ndim = 2, .shape = { 10, 2 }, .numel = 20, .data = y },
    };
    assert_int_equal(npz_write(path, arrays, 2), FZ_OK);
}

/* main's start: the program's path from argv[1] and a fresh scratch folder named from
 * `pattern` (ending in XXXXXX).  -1 when it may go on, else the exit status. */
static int cli_test_start(int argc, char **argv, const char *pattern)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s PATH/TO/freezebench\n", argv[0]);
        return 2;
    }
    exe = argv[1];
    snprintf(tmpdir, sizeof tmpdir, "%s", pattern);
    return mkdtemp(tmpdir) ? -1 : 1;
}

/* The group teardown: the scratch folder goes. */
static int cleanup(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

#endif
