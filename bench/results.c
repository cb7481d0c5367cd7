#include "results.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "error.h"

#include "freezebench.h"

const char *const fzb_result_columns[] = {
    /* machine */
    "schema_version", "utc_time", "host", "cpu_model", "arch", "isa", "cores", "threads",
    "l1d_bytes", "l2_bytes", "l3_bytes", "compiler", "git_revision",
    /* configuration */
    "bench", "impl", "model", "batch", "freeze_spec", "trainable_params", "frozen_params",
    /* measured */
    "phase", "flops_planned", "flops_executed",
    "dgrad_flops_planned", "dgrad_flops_executed", "wgrad_flops_planned", "wgrad_flops_executed",
    "time_min_s", "time_median_s", "time_max_s", "repetitions",
    "gflops", "bytes", "gbytes_per_s", "peak_gflops", "bandwidth_gbytes_per_s",
    "fraction_of_peak",
    /* derived */
    "flop_cut", "time_cut", "activation_bytes",
};
const size_t fzb_result_n_columns = sizeof fzb_result_columns / sizeof *fzb_result_columns;

void fzb_context_get(fzb_context *c)
{
    fzb_machine_info_get(&c->machine);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(c->utc_time, sizeof c->utc_time, "%Y-%m-%dT%H:%M:%SZ", &tm);
    c->isa = fz_isa();
}

fzb_csv *fzb_result_table(void)
{
    return fzb_csv_new(fzb_result_columns, fzb_result_n_columns);
}

fz_status fzb_result_table_append_file(fzb_csv *table, const char *path)
{
    if (access(path, F_OK) != 0)
        return FZ_OK;   /* nothing there yet: the run starts the file */
    fzb_csv *old;
    fz_status st = fzb_csv_read(path, &old);
    if (st != FZ_OK)
        return st;
    if (fzb_csv_columns(old) != fzb_result_n_columns) {
        st = fz_set_error(FZ_EFORMAT, "refusing to append to %s: it has %zu columns, schema "
                          "version %d has %zu", path, fzb_csv_columns(old), FZB_SCHEMA_VERSION,
                          fzb_result_n_columns);
        goto done;
    }
    for (size_t c = 0; c < fzb_result_n_columns; c++) {
        if (strcmp(fzb_csv_column_name(old, c), fzb_result_columns[c]) != 0) {
            st = fz_set_error(FZ_EFORMAT, "refusing to append to %s: its column %zu is '%s', "
                              "schema version %d has '%s' there", path, c + 1,
                              fzb_csv_column_name(old, c), FZB_SCHEMA_VERSION,
                              fzb_result_columns[c]);
            goto done;
        }
    }
    char version[16];
    snprintf(version, sizeof version, "%d", FZB_SCHEMA_VERSION);
    size_t vcol = fzb_csv_column(old, "schema_version");
    const char **fields = malloc(fzb_result_n_columns * sizeof *fields);
    if (!fields) {
        st = fz_set_error(FZ_ENOMEM, "appending to %s: out of memory", path);
        goto done;
    }
    /* Every row is checked before any is copied, so a refusal adds nothing. */
    for (size_t r = 0; r < fzb_csv_rows(old) && st == FZ_OK; r++)
        if (strcmp(fzb_csv_field(old, r, vcol), version) != 0)
            st = fz_set_error(FZ_EFORMAT, "refusing to append to %s: row %zu has schema "
                              "version '%s', this program writes %s", path, r + 2,
                              fzb_csv_field(old, r, vcol), version);
    for (size_t r = 0; r < fzb_csv_rows(old) && st == FZ_OK; r++) {
        for (size_t c = 0; c < fzb_result_n_columns; c++)
            fields[c] = fzb_csv_field(old, r, c);
        st = fzb_csv_add_row(table, fields);
    }
    free(fields);
done:
    fzb_csv_free(old);
    return st;
}

/* Integers print exactly; other values with enough digits to round-trip a double. */
static void num(char *out, size_t size, double v)
{
    if (isnan(v))
        out[0] = '\0';
    else if (v == floor(v) && fabs(v) < 1e15)
        snprintf(out, size, "%.0f", v);
    else
        snprintf(out, size, "%.17g", v);
}

fz_status fzb_result_add(fzb_csv *table, const fzb_context *c, const fzb_result *r)
{
    enum { W = 40 };
    const fzb_machine_info *m = &c->machine;
    double gflops = r->time_median_s > 0 ? r->flops_executed / r->time_median_s * 1e-9 : NAN;
    double gbs = r->time_median_s > 0 && r->bytes > 0 ? r->bytes / r->time_median_s * 1e-9 : 0;
    double fraction = r->memory_bound ? gbs / r->bandwidth_gbytes_per_s
                                      : gflops / r->peak_gflops;
    double values[] = {
        FZB_SCHEMA_VERSION, m->cores, r->threads, (double)m->l1d_bytes, (double)m->l2_bytes,
        (double)m->l3_bytes, (double)r->batch, r->trainable_params, r->frozen_params,
        r->flops_planned, r->flops_executed, r->dgrad_flops_planned, r->dgrad_flops_executed,
        r->wgrad_flops_planned, r->wgrad_flops_executed, r->time_min_s, r->time_median_s,
        r->time_max_s, r->repetitions, gflops, r->bytes, gbs, r->peak_gflops,
        r->bandwidth_gbytes_per_s, fraction, r->flop_cut, r->time_cut, r->activation_bytes,
    };
    enum { N = sizeof values / sizeof *values };
    char text[N][W];
    for (size_t i = 0; i < N; i++)
        num(text[i], W, values[i]);
    const char *fields[] = {
        text[0], c->utc_time, m->host, m->cpu_model, m->arch, c->isa, text[1], text[2],
        text[3], text[4], text[5], m->compiler, m->git_revision,
        r->bench, r->impl, r->model, text[6], r->freeze_spec, text[7], text[8],
        r->phase, text[9], text[10], text[11], text[12], text[13], text[14],
        text[15], text[16], text[17], text[18],
        text[19], text[20], text[21], text[22], text[23], text[24],
        text[25], text[26], text[27],
    };
    _Static_assert(sizeof fields / sizeof *fields == sizeof fzb_result_columns / sizeof *fzb_result_columns,
                   "a row has one field per column");
    return fzb_csv_add_row(table, fields);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void fzb_stats(double *v, size_t n, double *min, double *median, double *max)
{
    qsort(v, n, sizeof *v, cmp_double);
    *min = v[0];
    *max = v[n - 1];
    *median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}
