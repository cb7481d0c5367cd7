#include "sweep_args.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "decimal.h"
#include "error.h"
#include "units.h"

const char fzb_sweep_usage[] =
    "usage: freeze_sweep [--benchmark_* flags] [options]   (--opt value or --opt=value)\n"
    "  --model M[@B]      widths: items W or WxR, comma-separated (10,5,1  1024x9  784,1024x3,10),\n"
    "                     or your model archive M.npz (any MLP's state_dict; --spec then takes\n"
    "                     the archive's names: 0.*, encoder.fc.weight);\n"
    "                     @B its batch (default 64); repeatable\n"
    "  --batch B[,B..]    batch sizes for every model\n"
    "  --threads T[,T..]  thread counts (0 = all cores)\n"
    "  --spec S           a freeze spec: none, prefix:K, last, bitfit, globs like fc4.*; repeatable;\n"
    "                     a spec is skipped on a model it does not fit, refused if it fits none\n"
    "  --repetitions N    interleaved repetitions per configuration (default 30; fewer than 6\n"
    "                     give no 95% intervals)\n"
    "  --min-time S       seconds per repetition at least (default 0.05)\n"
    "  --output PATH      CSV path (default results/<system>-<threads>.csv, where <system> is\n"
    "                     vendor-microarchitecture-isa; an existing default file is never\n"
    "                     replaced: the run writes a new file with the time in its name)\n"
    "  --no-csv           print the table, write no CSV\n"
    FZB_PUBLISH_FLAGS_USAGE
    "  --machine          print this system's description as JSON and exit\n"
    "  --quick-probes     FMA-peak and bandwidth probes on small arrays, short runs (for tests;\n"
    "                     their limits are not for results)\n"
    "  --verbose          Google Benchmark's report of every run on stderr\n"
    "  --epoch-samples N  also time whole epochs over N samples (fz_epoch_run), without and\n"
    "                     with the frozen-prefix cache: phases epoch and epoch_cached (the\n"
    "                     cache is built before the clock runs; cache_bytes its memory)\n"
    "Without --model: 10,5,1@64 and 1024x9@256.  Without --threads: 1 thread and all cores.\n"
    "A sweep whose models need more than 80% of the physical memory (or the ulimit -v/-d\n"
    "limit) together is refused before it allocates anything (exit 2).\n"
    "Without --spec, each model the default specs that fit its L layers: none, prefix:K for\n"
    "K = L/4, L/2, 3L/4, L-1, and with L >= 4 fc(L/2).* and last, and bitfit (1024x9: none,\n"
    "prefix:2, prefix:4, prefix:6, prefix:7, fc4.*, last, bitfit; 10,5,1: none, prefix:1, bitfit).\n"
    "Table: median times with their 95% intervals (± for a median, [low-high] for a cut or a\n"
    "speed-up); '!' marks a row whose interval is too wide to be useful (a cut wider than ±3\n"
    "points, a median wider than ±5%, or none), '<' an N-thread row slower than 1 thread.\n"
    "Google Benchmark's flags apply too (--benchmark_filter=REGEX, --benchmark_out=FILE, ...);\n"
    "--benchmark_repetitions and --benchmark_min_time are read as --repetitions and --min-time;\n"
    "flags this program cannot honour (--benchmark_format other than console, ...) are refused.\n"
    "Under mpirun -np R (R > 1; a build with MPI) the sweep trains data-parallel: --batch and @B\n"
    "are the global batch, a multiple of R, each rank training batch/R rows; it times its own\n"
    "steps (the same count on every rank, each the slowest rank's; --repetitions rounds in a\n"
    "seeded order, steps per repetition from --min-time) instead of Google Benchmark, whose\n"
    "flags it refuses there, as --epoch-samples; only rank 0 prints and writes the CSV (default\n"
    "results/<system>-<threads>-rR.csv), with ranks, allreduce bytes and comm time filled.\n"
    "  FREEZEBENCH_THREADS=1 mpirun -np 2 freeze_sweep --model 1024x9 --batch 512 --threads 1\n"
    "mpirun -np 1 is a plain run.\n";

/* A whole decimal number in [lo, hi] (the grammar of every option, decimal.h); 0 if it
 * is one.  The callers' messages name the whole --model text, not one item. */
static int parse_size(const char *s, size_t lo, size_t hi, size_t *out)
{
    uint64_t v;
    if (!parse_whole(s, lo, hi, &v))
        return -1;
    *out = (size_t)v;
    return 0;
}

/* --model M.npz: the archive's widths (it is read again, whole, when the sweep is
 * built); its file name names it in the table and the CSV. */
static fz_status parse_archive(const char *text, size_t len, fzb_model_arg *m)
{
    if (len >= sizeof m->path)
        return set_error(FZ_EINVAL, "--model '%s': a path of at most %zu bytes", text,
                         sizeof m->path - 1);
    memcpy(m->path, text, len);
    m->path[len] = '\0';
    fz_model *model = fz_mlp_from_state_dict(m->path, NULL);
    if (!model)
        return set_error(FZ_EINVAL, "--model '%s': %s", text, fz_last_error());
    size_t layers = fz_layer_count(model);
    if (layers + 1 > FZB_SWEEP_MAX_WIDTHS) {
        fz_model_free(model);
        return set_error(FZ_EINVAL, "--model '%s': more than %d widths", text,
                         FZB_SWEEP_MAX_WIDTHS);
    }
    for (size_t l = 0; l <= layers; l++)
        m->widths[m->n_widths++] = fz_width(model, l);
    fz_model_free(model);
    const char *slash = strrchr(m->path, '/'), *base = slash ? slash + 1 : m->path;
    snprintf(m->name, sizeof m->name, "%.*s", (int)sizeof m->name - 1, base);
    return FZ_OK;
}

fz_status fzb_parse_model(const char *text, fzb_model_arg *m)
{
    memset(m, 0, sizeof *m);
    const char *at = strrchr(text, '@');
    size_t len = at ? (size_t)(at - text) : strlen(text);
    m->batch = 64;
    if (at && parse_size(at + 1, 1, 1 << 20, &m->batch))
        return set_error(FZ_EINVAL, "--model '%s': the batch after @ must be a whole "
                         "number from 1 to %d", text, 1 << 20);
    if (len > 4 && !strncmp(text + len - 4, ".npz", 4))
        return parse_archive(text, len, m);
    if (len == 0 || len >= sizeof m->name)
        return set_error(FZ_EINVAL, "--model '%s': expected widths such as 10,5,1 or "
                         "1024x9 (at most %zu characters)", text, sizeof m->name - 1);
    memcpy(m->name, text, len);
    char item[96];
    for (const char *p = m->name; *p;) {
        size_t n = strcspn(p, ",");
        if (n == 0 || n >= sizeof item)
            return set_error(FZ_EINVAL, "--model '%s': empty or overlong width item",
                             text);
        memcpy(item, p, n);
        item[n] = '\0';
        p += n + (p[n] == ',');
        if (p[-1] == ',' && *p == '\0')
            return set_error(FZ_EINVAL, "--model '%s': trailing comma", text);
        size_t width, repeat = 1;
        char *x = strchr(item, 'x');
        if (x)
            *x = '\0';
        if (parse_size(item, 1, 1 << 16, &width)
            || (x && parse_size(x + 1, 1, FZB_SWEEP_MAX_WIDTHS, &repeat))) {
            if (x)
                *x = 'x';
            return set_error(FZ_EINVAL, "--model '%s': '%s' is not a width W (1 to %d) "
                             "or WxR (R copies, 1 to %d)", text, item, 1 << 16,
                             FZB_SWEEP_MAX_WIDTHS);
        }
        if (m->n_widths + repeat > FZB_SWEEP_MAX_WIDTHS)
            return set_error(FZ_EINVAL, "--model '%s': more than %d widths", text,
                             FZB_SWEEP_MAX_WIDTHS);
        for (size_t r = 0; r < repeat; r++)
            m->widths[m->n_widths++] = width;
    }
    if (m->n_widths < 2)
        return set_error(FZ_EINVAL, "--model '%s': a model needs at least two widths "
                         "(inputs and outputs), e.g. 10,1 or 1024x2", text);
    return FZ_OK;
}

/* Appends the comma-separated numbers of `value` to list[*n]. */
static fz_status parse_list(const char *opt, const char *value, size_t lo, size_t hi,
                            size_t *list, size_t *n)
{
    char buf[256];
    if (strlen(value) >= sizeof buf || *value == '\0')
        return set_error(FZ_EINVAL, "%s '%s': expected a comma-separated list of numbers",
                         opt, value);
    strcpy(buf, value);
    char *save = NULL;
    size_t count = 0;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        size_t v;
        if (parse_size(tok, lo, hi, &v))
            return set_error(FZ_EINVAL, "%s '%s': '%s' is not a whole number from %zu "
                             "to %zu", opt, value, tok, lo, hi);
        if (*n == FZB_SWEEP_MAX)
            return set_error(FZ_EINVAL, "%s '%s': more than %d values in all", opt,
                             value, FZB_SWEEP_MAX);
        list[(*n)++] = v;
        count++;
    }
    if (count == 0 || value[strlen(value) - 1] == ',' || value[0] == ',' || strstr(value, ",,"))
        return set_error(FZ_EINVAL, "%s '%s': expected a comma-separated list of numbers",
                         opt, value);
    return FZ_OK;
}

/* Syntax of a freeze spec, checked on a model deep enough for any prefix:K of the
 * sweep's models: malformed specs are errors before any work starts. */
static fz_status check_spec(const char *spec, size_t layers)
{
    size_t widths[FZB_SWEEP_MAX_WIDTHS + 1];
    for (size_t i = 0; i <= layers; i++)
        widths[i] = 1;
    fz_model *m = fz_mlp_create(widths, layers + 1, 1);
    if (!m)
        return set_error(FZ_ENOMEM, "--spec '%s': out of memory checking it", spec);
    fz_status s = fz_freeze(m, spec);
    fz_model_free(m);
    if (s == FZ_EINVAL) {
        char why[512];
        snprintf(why, sizeof why, "%s", fz_last_error());
        return set_error(FZ_EINVAL, "--spec '%s': %s", spec, why);
    }
    return FZ_OK;   /* a glob matching nothing here may match a wider-named model: later */
}

size_t fzb_default_specs(size_t layers, char specs[][FZB_SPEC_TEXT])
{
    size_t n = 0;
    snprintf(specs[n++], FZB_SPEC_TEXT, "none");
    /* Frozen prefixes at a quarter, half and three quarters of the depth and all but the
     * last layer: 2, 4, 6, 7 of 8 layers; 1, 2, 3 of 4; only 1 of 2. */
    const size_t cuts[] = { layers / 4, layers / 2, 3 * layers / 4, layers - 1 };
    size_t last_cut = 0;
    for (size_t i = 0; layers >= 2 && i < sizeof cuts / sizeof *cuts; i++) {
        if (cuts[i] > last_cut) {   /* ascending, so "no repeats" is "more than the last" */
            snprintf(specs[n++], FZB_SPEC_TEXT, "prefix:%zu", cuts[i]);
            last_cut = cuts[i];
        }
    }
    /* One layer in the middle alone, and `last`, where they differ from a prefix: with
     * fewer than 4 layers fc(L/2) is fc1 = prefix:1 and `last` = prefix:(L-1) is listed. */
    if (layers >= 4) {
        snprintf(specs[n++], FZB_SPEC_TEXT, "fc%zu.*", layers / 2);
        snprintf(specs[n++], FZB_SPEC_TEXT, "last");
    }
    snprintf(specs[n++], FZB_SPEC_TEXT, "bitfit");
    return n;
}

/* freeze_sweep's own options; flags have codes above any character, options with values
 * their letter (the shared ones are FZB_RUN_LONGOPTS). */
enum { NO_CSV = FZB_OPT_OWN, VERBOSE, QUICK_PROBES, MACHINE };

typedef struct {
    fzb_sweep_args *a;
    size_t th[FZB_SWEEP_MAX], n_th;   /* --threads values, kept apart until the end */
} parse_state;

/* One option, in the order given; a bad value fails with the option and the value. */
static fz_status take_option(int opt, const char *v, void *ctx)
{
    parse_state *st = ctx;
    fzb_sweep_args *a = st->a;
    switch (opt) {
    case 'h': a->help = true; return FZ_OK;
    case NO_CSV: a->write_csv = false; return FZ_OK;
    case MACHINE: a->machine = true; return FZ_OK;
    case VERBOSE: a->verbose = true; return FZ_OK;
    case QUICK_PROBES: a->quick_probes = true; return FZ_OK;
    case 'm':
        if (a->n_models == FZB_SWEEP_MAX)
            return set_error(FZ_EINVAL, "--model '%s': more than %d models", v,
                             FZB_SWEEP_MAX);
        return fzb_parse_model(v, &a->models[a->n_models++]);
    case 'b':
        return parse_list("--batch", v, 1, 1 << 20, a->batches, &a->n_batches);
    case 't':
        return parse_list("--threads", v, 0, 256, st->th, &st->n_th);
    case 'e':
        if (parse_size(v, 1, (size_t)1 << 30, &a->epoch_samples))
            return set_error(FZ_EINVAL, "--epoch-samples '%s': not a whole number from 1 "
                             "to 2^30", v);
        return FZ_OK;
    case 's':
        if (*v == '\0')
            return set_error(FZ_EINVAL, "--spec '': empty freeze spec");
        a->fit_default_specs = false;
        if (strcmp(v, "none") == 0)
            return FZ_OK;   /* always measured */
        if (a->n_specs == FZB_SWEEP_MAX)
            return set_error(FZ_EINVAL, "--spec '%s': more than %d specs", v,
                             FZB_SWEEP_MAX);
        a->specs[a->n_specs++] = v;
        return FZ_OK;
    }
    return set_error(FZ_EINVAL, "option %d: not handled", opt);   /* a bug, not input */
}

fz_status fzb_sweep_args_parse(int argc, char **argv, fzb_sweep_args *a)
{
    memset(a, 0, sizeof *a);
    a->repetitions = FZB_SWEEP_DEFAULT_REPETITIONS;
    a->min_time = FZB_SWEEP_DEFAULT_MIN_TIME;
    a->write_csv = true;
    a->fit_default_specs = true;
    a->specs[a->n_specs++] = "none";

    static const struct option longopts[] = {
        { "model", required_argument, NULL, 'm' },
        { "batch", required_argument, NULL, 'b' },
        { "threads", required_argument, NULL, 't' },
        { "spec", required_argument, NULL, 's' },
        { "epoch-samples", required_argument, NULL, 'e' },
        { "no-csv", no_argument, NULL, NO_CSV },
        { "verbose", no_argument, NULL, VERBOSE },
        { "quick-probes", no_argument, NULL, QUICK_PROBES },
        { "machine", no_argument, NULL, MACHINE },
        { "help", no_argument, NULL, 'h' },
        FZB_RUN_LONGOPTS,
        { NULL, 0, NULL, 0 },
    };
    const fzb_run_options run = { &a->repetitions, &a->min_time, &a->output, &a->append,
                                  &a->overwrite, &a->force, &a->allow_dirty, &a->quiet };
    parse_state st = { .a = a };
    fz_status s = fzb_getopt_parse(argc, argv, longopts, &run, take_option, &st);
    if (s != FZ_OK)
        return s;

    if (a->n_models == 0) {
        fzb_parse_model("10,5,1@64", &a->models[a->n_models++]);
        fzb_parse_model("1024x9@256", &a->models[a->n_models++]);
    }
    if (st.n_th == 0) {
        a->threads[a->n_threads++] = 1;
        a->threads[a->n_threads++] = 0;
    } else {
        for (size_t i = 0; i < st.n_th; i++)
            a->threads[a->n_threads++] = (int)st.th[i];
    }
    size_t deepest = 1;
    for (size_t i = 0; i < a->n_models; i++)
        if (a->models[i].n_widths - 1 > deepest)
            deepest = a->models[i].n_widths - 1;
    for (size_t i = 1; i < a->n_specs; i++) {
        s = check_spec(a->specs[i], deepest);
        if (s != FZ_OK)
            return s;
    }
    return FZ_OK;
}

/* One model at one batch, on a rank training `rows` of it (doubles: 65536-wide layers
 * at batch 2^20 overflow no size_t here, and the check needs no exact count). */
static double model_bytes(const fzb_model_arg *m, size_t batch, double rows, size_t n_epoch)
{
    double params = 0, kept = 0, widest = 0;
    size_t layers = m->n_widths - 1;
    for (size_t l = 0; l < layers; l++) {
        params += (double)m->widths[l] * (double)m->widths[l + 1] + (double)m->widths[l + 1];
        if (l > 0)   /* layer 0's input is the caller's x */
            kept += (double)m->widths[l];
    }
    for (size_t l = 0; l < m->n_widths; l++)
        widest = (double)m->widths[l] > widest ? (double)m->widths[l] : widest;
    double in = (double)m->widths[0], out = (double)m->widths[layers];
    double floats = 5 * params                 /* parameters, gradients, 2 undo, momentum */
                    + rows * kept              /* activations kept for the backward */
                    + 5 * rows * widest        /* forward scratch, output, dY buffers */
                    + (double)batch * (in + out);   /* x, y: the whole batch */
    /* Epoch samples, and the cache of up to one layer's input per sample. */
    floats += (double)n_epoch * (in + out + widest);
    return 4 * floats + (double)n_epoch;
}

double fzb_sweep_planned_bytes(const fzb_sweep_args *a, int ranks)
{
    double R = ranks > 1 ? ranks : 1, total = 0;
    size_t n_batches = a->n_batches ? a->n_batches : 1;
    for (size_t mi = 0; mi < a->n_models; mi++)
        for (size_t bi = 0; bi < n_batches; bi++) {
            size_t batch = a->n_batches ? a->batches[bi] : a->models[mi].batch;
            total += model_bytes(&a->models[mi], batch, ceil((double)batch / R),
                                 a->epoch_samples);
        }
    return total;
}

fz_status fzb_sweep_check_memory(const fzb_sweep_args *a, int ranks, double usable_bytes,
                                 const char *usable_what)
{
    double total = fzb_sweep_planned_bytes(a, ranks);
    if (usable_bytes <= 0 || total <= usable_bytes)
        return FZ_OK;
    /* The model and batch that need the most: the one to shrink. */
    double R = ranks > 1 ? ranks : 1, most = -1;
    const fzb_model_arg *big = NULL;
    size_t big_batch = 0, n_batches = a->n_batches ? a->n_batches : 1;
    for (size_t mi = 0; mi < a->n_models; mi++)
        for (size_t bi = 0; bi < n_batches; bi++) {
            size_t batch = a->n_batches ? a->batches[bi] : a->models[mi].batch;
            double b = model_bytes(&a->models[mi], batch, ceil((double)batch / R),
                                   a->epoch_samples);
            if (b > most) {
                most = b;
                big = &a->models[mi];
                big_batch = batch;
            }
        }
    char need[FZB_UNIT_TEXT], all[FZB_UNIT_TEXT], have[FZB_UNIT_TEXT];
    fzb_fmt_bytes(need, sizeof need, most);
    fzb_fmt_bytes(all, sizeof all, total);
    fzb_fmt_bytes(have, sizeof have, usable_bytes);
    return set_error(FZ_ENOMEM, "--model %s at batch %zu needs at least %s (parameters, "
                     "gradients, momentum, activations%s), the whole sweep %s: more than "
                     "%s, %s; refused before allocating anything",
                     big->name, big_batch, need, a->epoch_samples ? ", epoch samples" : "",
                     all, have, usable_what);
}
