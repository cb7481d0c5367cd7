#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

void fzb_getopt_reset(void)
{
    optind = 0;   /* glibc: 0 re-initialises everything, 1 would keep half-parsed state */
    opterr = 0;   /* the messages are ours, with the option and the value */
}

fz_status fzb_getopt_error(int c, char **argv)
{
    const char *arg = optind > 0 ? argv[optind - 1] : "?";
    if (c == ':')
        return fz_set_error(FZ_EINVAL, "%s: missing value", arg);
    if (strncmp(arg, "--benchmark_", 12) == 0)
        return fz_set_error(FZ_EINVAL, "unknown option '%s': not a Google Benchmark flag, "
                            "or a bad value for one (see --help)", arg);
    return fz_set_error(FZ_EINVAL, "unknown option '%s', or a value given to an option that "
                        "takes none (see --help)", arg);
}

fz_status fzb_no_operands(int argc, char **argv)
{
    if (optind < argc)
        return fz_set_error(FZ_EINVAL, "unexpected argument '%s' (options start with --; "
                            "see --help)", argv[optind]);
    return FZ_OK;
}

fz_status fzb_parse_repetitions(const char *opt, const char *value, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(value, &end, 10);
    if (*value < '0' || *value > '9' || errno || *end || v < 1 || v > 1000)
        return fz_set_error(FZ_EINVAL, "%s '%s': expected a whole number from 1 to 1000",
                            opt, value);
    *out = (int)v;
    return FZ_OK;
}

fz_status fzb_parse_min_time(const char *opt, const char *value, double *out)
{
    char *end;
    errno = 0;
    double t = strtod(value, &end);
    if (end != value && *end == 's')
        end++;
    if (errno || *end || end == value || isnan(t) || !(t > 0) || t > 60)
        return fz_set_error(FZ_EINVAL, "%s '%s': expected seconds, more than 0 and at most "
                            "60", opt, value);
    *out = t;
    return FZ_OK;
}
