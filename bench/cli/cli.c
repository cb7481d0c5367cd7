#include "cli.h"

#include <stdint.h>
#include <string.h>

#include "counter.h"   /* FZ_MAX_THREADS */
#include "decimal.h"
#include "error.h"

/* FZ_EINVAL for what getopt_long returned instead of an option it knows: ':' a missing
 * value, '?' an unknown option (or a value given to one that takes none). */
static fz_status getopt_error(int c, char **argv)
{
    const char *arg = optind > 0 ? argv[optind - 1] : "?";
    if (c == ':')
        return set_error(FZ_EINVAL, "%s: missing value", arg);
    if (strncmp(arg, "--benchmark_", 12) == 0)
        return set_error(FZ_EINVAL, "unknown option '%s': not a Google Benchmark flag, "
                         "or a bad value for one (see --help)", arg);
    return set_error(FZ_EINVAL, "unknown option '%s', or a value given to an option that "
                     "takes none (see --help)", arg);
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
    }
    return set_error(FZ_EINVAL, "option %d: not handled", c);   /* a bug, not input */
}

fz_status fzb_getopt_parse(int argc, char **argv, const struct option *longopts,
                           const fzb_run_options *run, fzb_take_option take, void *ctx)
{
    optind = 0;   /* glibc: 0 re-initialises everything, 1 would keep half-parsed state */
    opterr = 0;   /* the messages are ours, with the option and the value */
    int c;
    /* '+': stop at the first non-option; ':': report a missing value as ':'. */
    while ((c = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
        fz_status s;
        if (c == ':' || c == '?')
            s = getopt_error(c, argv);
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
