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
    /* the system (machine_info.h), then when and with which kernels */
    "schema_version", "utc_time", "system_id", "host", "cpu_vendor", "cpu_family",
    "cpu_model_number", "cpu_stepping", "uarch", "cpu_model", "arch", "vector_isa", "isa",
    "hypervisor", "cores", "smt", "threads", "bound", "l1d_bytes", "l2_bytes", "l3_bytes",
    "cache_source", "memory_bytes", "cpu_mhz", "governor", "os", "kernel", "compiler", "blas",
    "openblas_core", "git_revision",
    /* configuration */
    "bench", "impl", "model", "batch", "freeze_spec", "trainable_params", "frozen_params",
    /* measured */
    "phase", "flops_planned", "flops_executed",
    "dgrad_flops_planned", "dgrad_flops_executed", "wgrad_flops_planned", "wgrad_flops_executed",
    "time_min_s", "time_median_s", "time_max_s", "repetitions",
    "time_median_ci_low_s", "time_median_ci_high_s", "time_samples_s",
    "gflops", "bytes", "gbytes_per_s", "peak_gflops", "peak_isa", "bandwidth_gbytes_per_s",
    "fraction_of_peak",
    /* derived */
    "flop_cut", "time_cut", "time_cut_ci_low", "time_cut_ci_high", "activation_bytes",
    "cache_bytes",
    /* data parallel (mpirun): ranks 1 and zeros for one process */
    "ranks", "allreduce_bytes_planned", "allreduce_bytes_executed", "comm_time_s",
    "comm_hidden_s",
};
const size_t fzb_result_n_columns = sizeof fzb_result_columns / sizeof *fzb_result_columns;

void fzb_context_get(fzb_context *c)
{
    fzb_machine_info_get(&c->machine);
    /* Only an OpenBLAS this program already linked (kernel_bench) is asked: loading one
     * into the sweep would start its thread pool beside the measured code. */
    fzb_machine_info_openblas(&c->machine, false);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(c->utc_time, sizeof c->utc_time, "%Y-%m-%dT%H:%M:%SZ", &tm);
    c->isa = fz_isa();
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

fzb_csv *fzb_result_table(void)
{
    return fzb_csv_new(fzb_result_columns, fzb_result_n_columns);
}

/* The columns that say which machine a row was measured on.  Software (compiler, BLAS,
 * revision) and the kernel ISA may differ between runs of one machine: rows of those
 * belong together and are told apart by their own columns. */
static const char *const machine_identity[] = {
    "host", "cpu_vendor", "cpu_family", "cpu_model_number", "cpu_stepping", "uarch",
    "cpu_model", "arch", "vector_isa", "hypervisor", "cores", "smt", "l1d_bytes",
    "l2_bytes", "l3_bytes", "memory_bytes", "os", "kernel",
};

/* FZ_EINVAL naming the first row of `old` (from `path`) measured on another machine than
 * `ctx`'s: its identity fields are compared with what this program would write. */
static fz_status check_same_machine(const fzb_csv *old, const char *path,
                                    const fzb_context *ctx)
{
    fzb_csv *mine = fzb_result_table();
    fzb_result probe = { .bench = "", .impl = "", .model = "", .freeze_spec = "",
                         .phase = "" };
    if (!mine || fzb_result_add(mine, ctx, &probe) != FZ_OK) {
        fzb_csv_free(mine);
        return set_error(FZ_ENOMEM, "appending to %s: out of memory", path);
    }
    fz_status st = FZ_OK;
    for (size_t r = 0; r < fzb_csv_rows(old) && st == FZ_OK; r++) {
        for (size_t k = 0; k < sizeof machine_identity / sizeof *machine_identity; k++) {
            size_t col = fzb_csv_column(old, machine_identity[k]);
            const char *theirs = fzb_csv_field(old, r, col), *ours = fzb_csv_field(mine, 0, col);
            if (strcmp(theirs, ours) != 0) {
                st = set_error(FZ_EINVAL, "refusing to append to %s: row %zu was measured "
                               "on another machine (%s '%s', here '%s'); write another "
                               "file, or pass --force to mix machines in one file",
                               path, r + 2, machine_identity[k], theirs, ours);
                break;
            }
        }
    }
    fzb_csv_free(mine);
    return st;
}

fz_status fzb_result_table_append_file(fzb_csv *table, const char *path,
                                       const fzb_context *same_machine)
{
    if (access(path, F_OK) != 0)
        return FZ_OK;   /* nothing there yet: the run starts the file */
    fzb_csv *old;
    fz_status st = fzb_csv_read(path, &old);
    if (st != FZ_OK)
        return st;
    if (fzb_csv_columns(old) != fzb_result_n_columns) {
        st = set_error(FZ_EFORMAT, "refusing to append to %s: it has %zu columns, schema "
                       "version %d has %zu", path, fzb_csv_columns(old), FZB_SCHEMA_VERSION,
                       fzb_result_n_columns);
        goto done;
    }
    for (size_t c = 0; c < fzb_result_n_columns; c++) {
        if (strcmp(fzb_csv_column_name(old, c), fzb_result_columns[c]) != 0) {
            st = set_error(FZ_EFORMAT, "refusing to append to %s: its column %zu is '%s', "
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
        st = set_error(FZ_ENOMEM, "appending to %s: out of memory", path);
        goto done;
    }
    /* Every row is checked before any is copied, so a refusal adds nothing. */
    for (size_t r = 0; r < fzb_csv_rows(old) && st == FZ_OK; r++)
        if (strcmp(fzb_csv_field(old, r, vcol), version) != 0)
            st = set_error(FZ_EFORMAT, "refusing to append to %s: row %zu has schema "
                           "version '%s', this program writes %s", path, r + 2,
                           fzb_csv_field(old, r, vcol), version);
    if (st == FZ_OK && same_machine)
        st = check_same_machine(old, path, same_machine);
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

/* A row under construction: fields set by column name, so the order lives only in
 * fzb_result_columns. */
typedef struct {
    const char *fields[72];
    char numbers[72][40];
} row_builder;

_Static_assert(sizeof fzb_result_columns / sizeof *fzb_result_columns <= 72,
               "row_builder holds every column");

static size_t column_index(const char *name)
{
    for (size_t i = 0; i < fzb_result_n_columns; i++)
        if (!strcmp(fzb_result_columns[i], name))
            return i;
    return (size_t)-1;
}

static void set_text(row_builder *b, const char *name, const char *value)
{
    size_t i = column_index(name);
    if (i != (size_t)-1)
        b->fields[i] = value ? value : "";
}

static void set_num(row_builder *b, const char *name, double value)
{
    size_t i = column_index(name);
    if (i == (size_t)-1)
        return;
    num(b->numbers[i], sizeof b->numbers[i], value);
    b->fields[i] = b->numbers[i];
}

/* The samples as one field: '%.17g' each (every double reads back exactly, so the
 * median of the field is time_median_s), separated by spaces.  NULL when out of memory. */
static char *samples_text(const double *v, size_t n)
{
    enum { WIDTH = 26 };   /* "-1.2345678901234567e-308" and a space */
    char *text = malloc(n * WIDTH + 1), *end = text;
    if (!text)
        return NULL;
    *end = '\0';
    for (size_t i = 0; i < n; i++)
        end += snprintf(end, WIDTH + 1, "%s%.17g", i ? " " : "", v[i]);
    return text;
}

fz_status fzb_result_add(fzb_csv *table, const fzb_context *c, const fzb_result *r)
{
    const fzb_machine_info *m = &c->machine;
    double gflops = r->time_median_s > 0 ? r->flops_executed / r->time_median_s * 1e-9 : NAN;
    double gbs = r->time_median_s > 0 && r->bytes > 0 ? r->bytes / r->time_median_s * 1e-9 : 0;
    double fraction = r->memory_bound ? gbs / r->bandwidth_gbytes_per_s
                                      : gflops / r->peak_gflops;
    row_builder b;
    memset(b.fields, 0, sizeof b.fields);
    set_num(&b, "schema_version", FZB_SCHEMA_VERSION);
    set_text(&b, "utc_time", c->utc_time);
    set_text(&b, "system_id", m->system_id);
    set_text(&b, "host", m->host);
    set_text(&b, "cpu_vendor", m->cpu_vendor);
    set_num(&b, "cpu_family", m->cpu_family);
    set_num(&b, "cpu_model_number", m->cpu_model_number);
    set_num(&b, "cpu_stepping", m->cpu_stepping);
    set_text(&b, "uarch", m->uarch);
    set_text(&b, "cpu_model", m->cpu_model);
    set_text(&b, "arch", m->arch);
    set_text(&b, "vector_isa", m->vector_isa);
    set_text(&b, "isa", c->isa);
    set_text(&b, "hypervisor", m->hypervisor);
    set_num(&b, "cores", m->cores);
    set_num(&b, "smt", m->smt);
    set_num(&b, "threads", r->threads);
    fz_machine team;   /* whether freezebench's threads ran bound to their PUs */
    set_num(&b, "bound", fz_machine_get(&team) == FZ_OK && team.bound);
    set_num(&b, "l1d_bytes", (double)m->l1d_bytes);
    set_num(&b, "l2_bytes", (double)m->l2_bytes);
    set_num(&b, "l3_bytes", (double)m->l3_bytes);
    set_text(&b, "cache_source", m->cache_source);
    set_num(&b, "memory_bytes", m->memory_bytes);
    set_num(&b, "cpu_mhz", m->cpu_mhz);
    set_text(&b, "governor", m->governor);
    set_text(&b, "os", m->os);
    set_text(&b, "kernel", m->kernel);
    set_text(&b, "compiler", m->compiler);
    set_text(&b, "blas", m->blas);
    set_text(&b, "openblas_core", m->openblas_core);
    set_text(&b, "git_revision", m->git_revision);
    set_text(&b, "bench", r->bench);
    set_text(&b, "impl", r->impl);
    set_text(&b, "model", r->model);
    set_num(&b, "batch", (double)r->batch);
    set_text(&b, "freeze_spec", r->freeze_spec);
    set_num(&b, "trainable_params", r->trainable_params);
    set_num(&b, "frozen_params", r->frozen_params);
    set_text(&b, "phase", r->phase);
    set_num(&b, "flops_planned", r->flops_planned);
    set_num(&b, "flops_executed", r->flops_executed);
    set_num(&b, "dgrad_flops_planned", r->dgrad_flops_planned);
    set_num(&b, "dgrad_flops_executed", r->dgrad_flops_executed);
    set_num(&b, "wgrad_flops_planned", r->wgrad_flops_planned);
    set_num(&b, "wgrad_flops_executed", r->wgrad_flops_executed);
    set_num(&b, "time_min_s", r->time_min_s);
    set_num(&b, "time_median_s", r->time_median_s);
    set_num(&b, "time_max_s", r->time_max_s);
    set_num(&b, "repetitions", r->repetitions);
    /* An interval needs samples: a row without them (an old caller) has none. */
    bool have = r->samples && r->repetitions > 0;
    set_num(&b, "time_median_ci_low_s", have ? r->time_median_ci.lo : NAN);
    set_num(&b, "time_median_ci_high_s", have ? r->time_median_ci.hi : NAN);
    char *samples = have ? samples_text(r->samples, (size_t)r->repetitions) : NULL;
    if (have && !samples)
        return set_error(FZ_ENOMEM, "results: out of memory for %d samples",
                         r->repetitions);
    set_text(&b, "time_samples_s", samples);
    set_num(&b, "gflops", gflops);
    set_num(&b, "bytes", r->bytes);
    set_num(&b, "gbytes_per_s", gbs);
    set_num(&b, "peak_gflops", r->peak_gflops);
    set_text(&b, "peak_isa", r->peak_isa);
    set_num(&b, "bandwidth_gbytes_per_s", r->bandwidth_gbytes_per_s);
    set_num(&b, "fraction_of_peak", fraction);
    set_num(&b, "flop_cut", r->flop_cut);
    set_num(&b, "time_cut", r->time_cut);
    set_num(&b, "time_cut_ci_low", have ? r->time_cut_ci.lo : NAN);
    set_num(&b, "time_cut_ci_high", have ? r->time_cut_ci.hi : NAN);
    set_num(&b, "activation_bytes", r->activation_bytes);
    set_num(&b, "cache_bytes", r->cache_bytes);
    /* 0 (unset by a single-process writer) is one rank. */
    set_num(&b, "ranks", r->ranks > 0 ? r->ranks : 1);
    set_num(&b, "allreduce_bytes_planned", r->allreduce_bytes_planned);
    set_num(&b, "allreduce_bytes_executed", r->allreduce_bytes_executed);
    set_num(&b, "comm_time_s", r->comm_time_s);
    set_num(&b, "comm_hidden_s", r->comm_hidden_s);
    fz_status st = fzb_csv_add_row(table, b.fields);
    free(samples);
    return st;
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

void fzb_result_set_samples(fzb_result *r, const double *samples, size_t n)
{
    r->samples = samples;
    r->repetitions = (int)n;
    r->time_median_ci = fzb_median_ci(samples, n);
    r->time_min_s = r->time_max_s = samples[0];
    for (size_t i = 1; i < n; i++) {
        r->time_min_s = fmin(r->time_min_s, samples[i]);
        r->time_max_s = fmax(r->time_max_s, samples[i]);
    }
    r->time_median_s = fzb_median(samples, n);
}
