/* The results CSV: RFC 4180 quoting, a round trip, the schema's columns, and files
 * written whole (a failed write leaves the old file as it was). */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <cmocka.h>

#include "csv.h"
#include "results.h"

typedef struct {
    char dir[64];
    char path[128];
} scratch;

static int make_dir(void **state)
{
    scratch *s = calloc(1, sizeof *s);
    strcpy(s->dir, "/tmp/fzb_csv_XXXXXX");
    if (!mkdtemp(s->dir))
        return -1;
    snprintf(s->path, sizeof s->path, "%s/out.csv", s->dir);
    *state = s;
    return 0;
}

static int remove_dir(void **state)
{
    scratch *s = *state;
    DIR *d = opendir(s->dir);
    struct dirent *e;
    char p[512];
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "%s/%s", s->dir, e->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(s->dir);
    free(s);
    return 0;
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static const char *const cols[] = { "plain", "tricky" };

static void fields_are_quoted_as_rfc4180_says(void **state)
{
    scratch *s = *state;
    fzb_csv *t = fzb_csv_new(cols, 2);
    assert_int_equal(fzb_csv_add_row(t, (const char *[]){ "a", "b,c" }), FZ_OK);
    assert_int_equal(fzb_csv_add_row(t, (const char *[]){ "say \"hi\"", "two\nlines" }), FZ_OK);
    assert_int_equal(fzb_csv_add_row(t, (const char *[]){ "", NULL }), FZ_OK);
    assert_int_equal(fzb_csv_write(t, s->path), FZ_OK);
    assert_string_equal(read_all(s->path),
                        "plain,tricky\r\n"
                        "a,\"b,c\"\r\n"
                        "\"say \"\"hi\"\"\",\"two\nlines\"\r\n"
                        ",\r\n");
    fzb_csv_free(t);
}

static void round_trip_keeps_every_field(void **state)
{
    scratch *s = *state;
    const char *rows[][2] = {
        { "10,5,1", "fc4.*" }, { "\"", "\r\n" }, { "", "ünïcode" }, { " lead", "trail " },
    };
    fzb_csv *t = fzb_csv_new(cols, 2);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(fzb_csv_add_row(t, rows[i]), FZ_OK);
    assert_int_equal(fzb_csv_write(t, s->path), FZ_OK);
    fzb_csv *back;
    assert_int_equal(fzb_csv_read(s->path, &back), FZ_OK);
    assert_int_equal(fzb_csv_rows(back), 4);
    assert_int_equal(fzb_csv_columns(back), 2);
    assert_string_equal(fzb_csv_column_name(back, 1), "tricky");
    for (size_t i = 0; i < 4; i++)
        for (size_t c = 0; c < 2; c++)
            assert_string_equal(fzb_csv_field(back, i, c), rows[i][c]);
    fzb_csv_free(back);
    fzb_csv_free(t);
}

static void ragged_file_is_a_format_error(void **state)
{
    scratch *s = *state;
    FILE *f = fopen(s->path, "w");
    fputs("a,b\r\n1,2\r\n3\r\n", f);
    fclose(f);
    fzb_csv *t;
    assert_int_equal(fzb_csv_read(s->path, &t), FZ_EFORMAT);
    assert_null(t);
}

/* A file cut mid-field ("...,1" of "...,1024", no final CRLF) must not read as whole,
 * or an --append would rewrite the cut value as data.  Refused as truncated,
 * as is one cut inside a quoted field, an empty file and a directory. */
static void truncated_file_is_refused(void **state)
{
    scratch *s = *state;
    const char *cut[] = { "a,b\r\n1,2\r\n3,1", "a,b\r\n1,\"x\r\n", "a,b", "" };
    for (size_t i = 0; i < sizeof cut / sizeof cut[0]; i++) {
        FILE *f = fopen(s->path, "w");
        fputs(cut[i], f);
        fclose(f);
        fzb_csv *t;
        assert_int_equal(fzb_csv_read(s->path, &t), FZ_EFORMAT);
        assert_null(t);
        assert_true(strstr(fz_last_error(), i < 3 ? "truncated" : "empty") != NULL);
    }
    fzb_csv *t;
    assert_int_equal(fzb_csv_parse("a,b\r\n1,2\r\n", 10, "text", &t), FZ_OK);
    assert_int_equal(fzb_csv_rows(t), 1);
    fzb_csv_free(t);
    char dir[600];
    snprintf(dir, sizeof dir, "%s", s->path);
    *strrchr(dir, '/') = '\0';
    assert_int_equal(fzb_csv_read(dir, &t), FZ_EIO);
}

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void failed_write_leaves_the_old_file_untouched(void **state)
{
    scratch *s = *state;
    fzb_csv *t = fzb_csv_new(cols, 2);
    assert_int_equal(fzb_csv_add_row(t, (const char *[]){ "old", "file" }), FZ_OK);
    assert_int_equal(fzb_csv_write(t, s->path), FZ_OK);
    char before[256];
    strcpy(before, read_all(s->path));

    /* A table far larger than the file size limit: the write fails part way through. */
    fzb_csv *big = fzb_csv_new(cols, 2);
    char field[1024];
    memset(field, 'x', sizeof field - 1);
    field[sizeof field - 1] = '\0';
    for (int i = 0; i < 64; i++)
        assert_int_equal(fzb_csv_add_row(big, (const char *[]){ field, field }), FZ_OK);
    struct rlimit old, small = { 4096, 4096 };
    getrlimit(RLIMIT_FSIZE, &old);
    small.rlim_max = old.rlim_max;
    signal(SIGXFSZ, SIG_IGN);   /* a write past the limit then fails with EFBIG */
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    fz_status st = fzb_csv_write(big, s->path);
    setrlimit(RLIMIT_FSIZE, &old);
    assert_int_equal(st, FZ_EIO);
    assert_non_null(strstr(fz_last_error(), s->path));
    assert_string_equal(read_all(s->path), before);
    assert_int_equal(count_files(s->dir), 1);   /* no temporary file left behind */

    /* A directory that does not exist: an error naming the path, nothing created. */
    char missing[256];
    snprintf(missing, sizeof missing, "%s/no/such/dir.csv", s->dir);
    assert_int_equal(fzb_csv_write(t, missing), FZ_EIO);
    assert_non_null(strstr(fz_last_error(), missing));
    fzb_csv_free(big);
    fzb_csv_free(t);
}

static void result_rows_follow_the_schema(void **state)
{
    scratch *s = *state;
    /* Schema 4: the system columns, then configuration, measurement, derived. */
    assert_int_equal(fzb_result_n_columns, 70);
    assert_string_equal(fzb_result_columns[0], "schema_version");
    assert_string_equal(fzb_result_columns[2], "system_id");
    assert_string_equal(fzb_result_columns[16], "threads");
    assert_string_equal(fzb_result_columns[17], "bound");
    assert_string_equal(fzb_result_columns[31], "bench");
    assert_string_equal(fzb_result_columns[38], "phase");
    assert_string_equal(fzb_result_columns[48], "repetitions");
    assert_string_equal(fzb_result_columns[49], "time_median_ci_low_s");
    assert_string_equal(fzb_result_columns[50], "time_median_ci_high_s");
    assert_string_equal(fzb_result_columns[51], "time_samples_s");
    assert_string_equal(fzb_result_columns[60], "time_cut");
    assert_string_equal(fzb_result_columns[61], "time_cut_ci_low");
    assert_string_equal(fzb_result_columns[62], "time_cut_ci_high");
    assert_string_equal(fzb_result_columns[63], "activation_bytes");
    assert_string_equal(fzb_result_columns[64], "cache_bytes");
    assert_string_equal(fzb_result_columns[65], "ranks");
    assert_string_equal(fzb_result_columns[69], "comm_hidden_s");

    fzb_context ctx;
    fzb_context_get(&ctx);
    fzb_csv *t = fzb_result_table();
    fzb_result r = {
        .bench = "freeze_sweep", .impl = "freezebench", .model = "10,5,1", .batch = 64,
        .freeze_spec = "fc1.*,fc2.bias", .trainable_params = 6, .frozen_params = 55,
        .threads = 2, .phase = "backward", .flops_planned = 8512, .flops_executed = 8512,
        .time_min_s = 1e-6, .time_median_s = 2e-6, .time_max_s = 3e-6, .repetitions = 5,
        .peak_gflops = 100, .bandwidth_gbytes_per_s = 10,
        .flop_cut = 0.25, .time_cut = NAN, .activation_bytes = 3840,
    };
    assert_int_equal(fzb_result_add(t, &ctx, &r), FZ_OK);
    assert_int_equal(fzb_csv_write(t, s->path), FZ_OK);
    fzb_csv *back;
    assert_int_equal(fzb_csv_read(s->path, &back), FZ_OK);
    assert_int_equal(fzb_csv_columns(back), fzb_result_n_columns);
    for (size_t c = 0; c < fzb_result_n_columns; c++)
        assert_string_equal(fzb_csv_column_name(back, c), fzb_result_columns[c]);
#define FIELD(name) fzb_csv_field(back, 0, fzb_csv_column(back, name))
    assert_string_equal(FIELD("schema_version"), "4");
    /* No samples given: no samples written, and no interval. */
    assert_string_equal(FIELD("time_samples_s"), "");
    assert_string_equal(FIELD("time_median_ci_low_s"), "");
    assert_string_equal(FIELD("time_cut_ci_high"), "");
    assert_string_equal(FIELD("cache_bytes"), "0");
    assert_string_equal(FIELD("ranks"), "1");   /* unset: one process */
    assert_string_equal(FIELD("allreduce_bytes_executed"), "0");
    assert_string_equal(FIELD("system_id"), ctx.machine.system_id);
    assert_string_equal(FIELD("uarch"), ctx.machine.uarch);
    assert_string_equal(FIELD("model"), "10,5,1");
    assert_string_equal(FIELD("freeze_spec"), "fc1.*,fc2.bias");
    assert_string_equal(FIELD("flops_executed"), "8512");
    assert_string_equal(FIELD("time_cut"), "");          /* NAN: does not apply */
    assert_true(strtod(FIELD("flop_cut"), NULL) == 0.25);
    assert_true(fabs(strtod(FIELD("gflops"), NULL) - 8512 / 2e-6 * 1e-9) < 1e-9);
    assert_true(fabs(strtod(FIELD("fraction_of_peak"), NULL) - 8512 / 2e-6 * 1e-9 / 100) < 1e-12);
    assert_int_equal(strlen(FIELD("utc_time")), 20);
#undef FIELD
    fzb_csv_free(back);
    fzb_csv_free(t);
}

/* The samples field holds every repetition exactly, in the order given, and the time
 * columns are derived from it. */
static void samples_are_kept_exactly_and_in_order(void **state)
{
    scratch *s = *state;
    fzb_context ctx;
    fzb_context_get(&ctx);
    fzb_csv *t = fzb_result_table();
    const double samples[7] = { 3e-6, 1.0000000000000002e-6, 2.5e-6, 0.1 + 0.2, 2e-6,
                                7.25e-6, 1.5e-6 };
    fzb_result r = { .bench = "freeze_sweep", .impl = "freezebench", .model = "10,5,1",
                     .freeze_spec = "none", .threads = 1, .phase = "step",
                     .time_cut = 0.5, .time_cut_ci = { 0.4, 0.6 } };
    fzb_result_set_samples(&r, samples, 7);
    assert_true(r.time_min_s == 1.0000000000000002e-6 && r.time_max_s == 0.1 + 0.2);
    assert_true(r.time_median_s == 2.5e-6);
    /* n = 7: the largest k with 95% coverage is 1, so the interval is [min, max]. */
    assert_true(r.time_median_ci.lo == r.time_min_s && r.time_median_ci.hi == r.time_max_s);
    assert_int_equal(fzb_result_add(t, &ctx, &r), FZ_OK);
    assert_int_equal(fzb_csv_write(t, s->path), FZ_OK);
    fzb_csv *back;
    assert_int_equal(fzb_csv_read(s->path, &back), FZ_OK);
    const char *text = fzb_csv_field(back, 0, fzb_csv_column(back, "time_samples_s"));
    char *end;
    for (size_t i = 0; i < 7; i++) {
        double v = strtod(text, &end);
        assert_true(end != text);
        assert_true(v == samples[i]);   /* bit for bit, in the order given */
        text = end;
    }
    assert_string_equal(text, "");
    assert_true(strtod(fzb_csv_field(back, 0, fzb_csv_column(back, "repetitions")), NULL) == 7);
    assert_true(strtod(fzb_csv_field(back, 0, fzb_csv_column(back, "time_cut_ci_low")), NULL)
                == 0.4);
    fzb_csv_free(back);
    fzb_csv_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(fields_are_quoted_as_rfc4180_says, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(round_trip_keeps_every_field, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(ragged_file_is_a_format_error, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(truncated_file_is_refused, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(failed_write_leaves_the_old_file_untouched, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(result_rows_follow_the_schema, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(samples_are_kept_exactly_and_in_order, make_dir, remove_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
