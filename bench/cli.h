/*
 * What the bench programs' command lines share, so both read the same way: GNU long
 * options through getopt_long (`--opt value` and `--opt=value` alike), and the option
 * values they have in common, each refused with a message naming option and value.
 */
#ifndef FZB_CLI_H
#define FZB_CLI_H

#include <getopt.h>

#include "freezebench.h"

/* The optstring for getopt_long: stop at the first non-option ('+', so nothing is
 * reordered behind the caller's back) and report a missing value as ':'. */
#define FZB_OPTSTRING "+:h"

/* Resets getopt's state so argv can be parsed from the start (tests parse many). */
void fzb_getopt_reset(void);

/* FZ_EINVAL with a message for what getopt_long returned instead of an option it
 * knows: c == ':' a missing value, '?' an unknown option (or a value given to one
 * that takes none).  Call right after getopt_long returned, with its argv. */
fz_status fzb_getopt_error(int c, char **argv);

/* FZ_EINVAL naming the first non-option argument, if any (none are taken). */
fz_status fzb_no_operands(int argc, char **argv);

/* --repetitions: a whole number from 1 to 1000. */
fz_status fzb_parse_repetitions(const char *opt, const char *value, int *out);
/* --min-time: seconds, more than 0 and at most 60; a trailing 's' is accepted, as Google
 * Benchmark 1.8 writes --benchmark_min_time=0.5s. */
fz_status fzb_parse_min_time(const char *opt, const char *value, double *out);

#endif
