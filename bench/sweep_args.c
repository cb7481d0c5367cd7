#include "sweep_args.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

const char fzb_sweep_usage[] =
    "usage: freeze_sweep [--benchmark_* flags] [options]\n"
    "  --model M[@B]      widths: items W or WxR, comma-separated (10,5,1  1024x9  784,1024x3,10);\n"
    "                     @B its batch (default 64); repeatable\n"
    "  --batch B[,B..]    batch sizes for every model\n"
    "  --threads T[,T..]  thread counts (0 = all cores)\n"
    "  --spec S           a freeze spec: none, prefix:K, last, bitfit, globs like fc4.*; repeatable\n"
    "  --repetitions N    interleaved repetitions per configuration (default 10)\n"
    "  --min-time S       seconds per repetition at least (default 0.1)\n"
    "  --output PATH      CSV path (default results/<cpu>-<isa>-<threads>.csv)\n"
    "  --no-csv           print the table, write no CSV\n"
    "  --append           keep the rows already in the CSV (refused if it is of another schema)\n"
    "  --verbose          Google Benchmark's report of every run on stderr\n"
    "Without --model/--batch/--threads/--spec: 10,5,1@64 and 1024x9@256; none, prefix:2,\n"
    "prefix:4, prefix:6, prefix:7, fc4.*, last, bitfit; 1 thread and all cores.\n"
    "Google Benchmark's flags apply too (--benchmark_filter=REGEX, --benchmark_out=FILE, ...);\n"
    "--repetitions and --min-time take the place of --benchmark_repetitions/_min_time.\n";

static const char *const default_specs[] = {
    "none", "prefix:2", "prefix:4", "prefix:6", "prefix:7", "fc4.*", "last", "bitfit",
};

/* A whole decimal number in [lo, hi]; 0 if it is one. */
static int parse_size(const char *s, size_t lo, size_t hi, size_t *out)
{
    if (*s < '0' || *s > '9')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return -1;
    *out = (size_t)v;
    return 0;
}

fz_status fzb_parse_model(const char *text, fzb_model_arg *m)
{
    memset(m, 0, sizeof *m);
    const char *at = strchr(text, '@');
    size_t len = at ? (size_t)(at - text) : strlen(text);
    m->batch = 64;
    if (at && parse_size(at + 1, 1, 1 << 20, &m->batch))
        return fz_set_error(FZ_EINVAL, "--model '%s': the batch after @ must be a whole "
                            "number from 1 to %d", text, 1 << 20);
    if (len == 0 || len >= sizeof m->name)
        return fz_set_error(FZ_EINVAL, "--model '%s': expected widths such as 10,5,1 or "
                            "1024x9 (at most %zu characters)", text, sizeof m->name - 1);
    memcpy(m->name, text, len);
    char item[96];
    for (const char *p = m->name; *p;) {
        size_t n = strcspn(p, ",");
        if (n == 0 || n >= sizeof item)
            return fz_set_error(FZ_EINVAL, "--model '%s': empty or overlong width item",
                                text);
        memcpy(item, p, n);
        item[n] = '\0';
        p += n + (p[n] == ',');
        if (p[-1] == ',' && *p == '\0')
            return fz_set_error(FZ_EINVAL, "--model '%s': trailing comma", text);
        size_t width, repeat = 1;
        char *x = strchr(item, 'x');
        if (x)
            *x = '\0';
        if (parse_size(item, 1, 1 << 16, &width)
            || (x && parse_size(x + 1, 1, FZB_SWEEP_MAX_WIDTHS, &repeat))) {
            if (x)
                *x = 'x';
            return fz_set_error(FZ_EINVAL, "--model '%s': '%s' is not a width W (1 to %d) "
                                "or WxR (R copies, 1 to %d)", text, item, 1 << 16,
                                FZB_SWEEP_MAX_WIDTHS);
        }
        if (m->n_widths + repeat > FZB_SWEEP_MAX_WIDTHS)
            return fz_set_error(FZ_EINVAL, "--model '%s': more than %d widths", text,
                                FZB_SWEEP_MAX_WIDTHS);
        for (size_t r = 0; r < repeat; r++)
            m->widths[m->n_widths++] = width;
    }
    if (m->n_widths < 2)
        return fz_set_error(FZ_EINVAL, "--model '%s': a model needs at least two widths "
                            "(inputs and outputs), e.g. 10,1 or 1024x2", text);
    return FZ_OK;
}

/* Appends the comma-separated numbers of `value` to list[*n]. */
static fz_status parse_list(const char *opt, const char *value, size_t lo, size_t hi,
                            size_t *list, size_t *n)
{
    char buf[256];
    if (strlen(value) >= sizeof buf || *value == '\0')
        return fz_set_error(FZ_EINVAL, "%s '%s': expected a comma-separated list of numbers",
                            opt, value);
    strcpy(buf, value);
    char *save = NULL;
    size_t count = 0;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        size_t v;
        if (parse_size(tok, lo, hi, &v))
            return fz_set_error(FZ_EINVAL, "%s '%s': '%s' is not a whole number from %zu "
                                "to %zu", opt, value, tok, lo, hi);
        if (*n == FZB_SWEEP_MAX)
            return fz_set_error(FZ_EINVAL, "%s '%s': more than %d values in all", opt,
                                value, FZB_SWEEP_MAX);
        list[(*n)++] = v;
        count++;
    }
    if (count == 0 || value[strlen(value) - 1] == ',' || value[0] == ',' || strstr(value, ",,"))
        return fz_set_error(FZ_EINVAL, "%s '%s': expected a comma-separated list of numbers",
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
        return fz_set_error(FZ_ENOMEM, "--spec '%s': out of memory checking it", spec);
    fz_status s = fz_freeze(m, spec);
    fz_model_free(m);
    if (s == FZ_EINVAL) {
        char why[512];
        snprintf(why, sizeof why, "%s", fz_last_error());
        return fz_set_error(FZ_EINVAL, "--spec '%s': %s", spec, why);
    }
    return FZ_OK;   /* a glob matching nothing here may match a wider-named model: later */
}

fz_status fzb_sweep_args_parse(int argc, char **argv, fzb_sweep_args *a)
{
    memset(a, 0, sizeof *a);
    a->repetitions = FZB_SWEEP_DEFAULT_REPETITIONS;
    a->min_time = FZB_SWEEP_DEFAULT_MIN_TIME;
    a->write_csv = true;
    a->specs[a->n_specs++] = "none";
    bool chose_specs = false;
    size_t th[FZB_SWEEP_MAX], n_th = 0;

    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0) {
            a->help = true;
            continue;
        }
        if (strcmp(opt, "--no-csv") == 0) {
            a->write_csv = false;
            continue;
        }
        if (strcmp(opt, "--append") == 0) {
            a->append = true;
            continue;
        }
        if (strcmp(opt, "--verbose") == 0) {
            a->verbose = true;
            continue;
        }
        static const char *const with_value[] = {
            "--model", "--batch", "--threads", "--spec", "--repetitions", "--min-time",
            "--output",
        };
        bool known = false;
        for (size_t k = 0; k < sizeof with_value / sizeof *with_value; k++)
            known |= strcmp(opt, with_value[k]) == 0;
        if (!known)
            return fz_set_error(FZ_EINVAL, "unknown option '%s' (see --help)", opt);
        if (i + 1 >= argc)
            return fz_set_error(FZ_EINVAL, "%s: missing value", opt);
        const char *v = argv[++i];
        fz_status s = FZ_OK;
        if (strcmp(opt, "--model") == 0) {
            if (a->n_models == FZB_SWEEP_MAX)
                return fz_set_error(FZ_EINVAL, "--model '%s': more than %d models", v,
                                    FZB_SWEEP_MAX);
            s = fzb_parse_model(v, &a->models[a->n_models++]);
        } else if (strcmp(opt, "--batch") == 0) {
            s = parse_list(opt, v, 1, 1 << 20, a->batches, &a->n_batches);
        } else if (strcmp(opt, "--threads") == 0) {
            s = parse_list(opt, v, 0, 256, th, &n_th);
        } else if (strcmp(opt, "--spec") == 0) {
            if (*v == '\0')
                return fz_set_error(FZ_EINVAL, "--spec '': empty freeze spec");
            chose_specs = true;
            if (strcmp(v, "none") == 0)
                continue;   /* always measured */
            if (a->n_specs == FZB_SWEEP_MAX)
                return fz_set_error(FZ_EINVAL, "--spec '%s': more than %d specs", v,
                                    FZB_SWEEP_MAX);
            a->specs[a->n_specs++] = v;
        } else if (strcmp(opt, "--repetitions") == 0) {
            size_t r;
            if (parse_size(v, 1, 1000, &r))
                return fz_set_error(FZ_EINVAL, "--repetitions '%s': expected a whole number "
                                    "from 1 to 1000", v);
            a->repetitions = (int)r;
        } else if (strcmp(opt, "--min-time") == 0) {
            char *end;
            errno = 0;
            double t = strtod(v, &end);
            if (errno || *end || end == v || !(t > 0) || t > 60 || isnan(t))
                return fz_set_error(FZ_EINVAL, "--min-time '%s': expected seconds, more than "
                                    "0 and at most 60", v);
            a->min_time = t;
        } else {
            if (*v == '\0')
                return fz_set_error(FZ_EINVAL, "--output '': empty path");
            a->output = v;
        }
        if (s != FZ_OK)
            return s;
    }

    if (a->n_models == 0) {
        fzb_parse_model("10,5,1@64", &a->models[a->n_models++]);
        fzb_parse_model("1024x9@256", &a->models[a->n_models++]);
    }
    if (!chose_specs)
        for (size_t i = 1; i < sizeof default_specs / sizeof *default_specs; i++)
            a->specs[a->n_specs++] = default_specs[i];
    if (n_th == 0) {
        a->threads[a->n_threads++] = 1;
        a->threads[a->n_threads++] = 0;
    } else {
        for (size_t i = 0; i < n_th; i++)
            a->threads[a->n_threads++] = (int)th[i];
    }
    size_t deepest = 1;
    for (size_t i = 0; i < a->n_models; i++)
        if (a->models[i].n_widths - 1 > deepest)
            deepest = a->models[i].n_widths - 1;
    for (size_t i = 1; i < a->n_specs; i++) {
        fz_status s = check_spec(a->specs[i], deepest);
        if (s != FZ_OK)
            return s;
    }
    return FZ_OK;
}
