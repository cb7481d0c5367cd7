#include "cli.h"

#include <stdint.h>
#include <string.h>

#include "cli_common.h"
#include "counter.h"   /* FZ_MAX_THREADS */
#include "decimal.h"
#include "error.h"

/* FZ_EINVAL for what getopt_long returned instead of an option it knows: ':' a missing
 * value, '?' an unknown option (or a value given to one that takes none), worded as the
 * freezebench command words them (cli/cli_common.h). */
static fz_status getopt_error(int c, const char *token, const struct option *longopts)
{
    if (c == '?' && token && strncmp(token, "--benchmark_", 12) == 0)
        return set_error(FZ_EINVAL, "unknown option '%s': not a Google Benchmark flag, "
                         "or a bad value for one (see --help)", token);
    char msg[160];
    fz_cli_getopt_message(c, token, longopts, msg, sizeof msg);
    return set_error(FZ_EINVAL, "%s", msg);
}

static fz_status take_run_option(int c, const char *v, const fzb_run_options *run)
{
    switch (c) {
    case FZB_OPT_REPETITIONS: return fzb_parse_repetitions("--repetitions", v, run->repetitions);
    case FZB_OPT_MIN_TIME: return fzb_parse_min_time("--min-time", v, run->min_time);
    case FZB_OPT_OUTPUT:
        if (*v == '\0')
            return set_error(FZ_EINVAL, "--output '': empty path");
        *run->output = v;
        return FZ_OK;
    case FZB_OPT_APPEND: *run->append = true; return FZ_OK;
    case FZB_OPT_OVERWRITE: *run->overwrite = true; return FZ_OK;
    case FZB_OPT_FORCE: *run->force = true; return FZ_OK;
    case FZB_OPT_ALLOW_DIRTY: *run->allow_dirty = true; return FZ_OK;
    case FZB_OPT_QUIET: *run->quiet = true; return FZ_OK;
    }
    return set_error(FZ_EINVAL, "option %d: not handled", c);   /* a bug, not input */
}

fz_status fzb_getopt_parse(int argc, char **argv, const struct option *longopts,
                           const fzb_run_options *run, fzb_take_option take, void *ctx)
{
    fz_cli_getopt_reset();   /* tests parse many argvs in one process */
    int c;
    const char *token;
    /* '+': stop at the first non-option; ':': report a missing value as ':'. */
    while ((c = fz_cli_getopt(argc, argv, "+:h", longopts, &token)) != -1) {
        fz_status s;
        if (c == ':' || c == '?')
            s = getopt_error(c, token, longopts);
        else if (c >= FZB_OPT_REPETITIONS && c < FZB_OPT_OWN)
            s = take_run_option(c, optarg, run);
        else
            s = take(c, optarg, ctx);
        if (s != FZ_OK)
            return s;
    }
    if (optind < argc)
        return set_error(FZ_EINVAL, "unexpected argument '%s' (options start with --; "
                         "see --help)", argv[optind]);
    return FZ_OK;
}

fz_status fzb_parse_threads(const char *opt, const char *value, int *out)
{
    uint64_t v;
    if (!parse_whole(value, 0, FZ_MAX_THREADS, &v))
        return set_error(FZ_EINVAL, "%s '%s': expected 0 (all cores) to %d", opt, value,
                         FZ_MAX_THREADS);
    *out = (int)v;
    return FZ_OK;
}

fz_status fzb_parse_repetitions(const char *opt, const char *value, int *out)
{
    uint64_t v;
    if (!parse_whole(value, 1, 1000, &v))
        return set_error(FZ_EINVAL, "%s '%s': expected a whole number from 1 to 1000",
                         opt, value);
    *out = (int)v;
    return FZ_OK;
}

fz_status fzb_parse_min_time(const char *opt, const char *value, double *out)
{
    size_t n = decimal_span(value, true);
    bool unit_ok = value[n] == '\0' || (n && value[n] == 's' && value[n + 1] == '\0');
    double t;
    if (!unit_ok || !parse_real_prefix(value, n, &t) || !(t > 0) || t > 60)
        return set_error(FZ_EINVAL, "%s '%s': expected seconds, more than 0 and at most "
                         "60", opt, value);
    *out = t;
    return FZ_OK;
}
