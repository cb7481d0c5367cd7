/*
 * What the bench programs' command lines share, so both read the same way: GNU long
 * options through getopt_long (`--opt value` and `--opt=value` alike), the options both
 * programs take (how to repeat, where the CSV goes), and the option values, each refused
 * with a message naming option and value.  Numbers follow the freezebench command's
 * grammar (decimal.h): no spaces, signs, hex, inf or nan.
 */
#ifndef FZB_CLI_H
#define FZB_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

#include "freezebench.h"

/* Codes of the options every bench program takes; a program's own options use codes
 * from FZB_OPT_OWN up (or a letter). */
enum {
    FZB_OPT_REPETITIONS = 0x100, FZB_OPT_MIN_TIME, FZB_OPT_OUTPUT, FZB_OPT_APPEND,
    FZB_OPT_OVERWRITE, FZB_OPT_FORCE, FZB_OPT_ALLOW_DIRTY, FZB_OPT_QUIET, FZB_OPT_OWN
};

/* Their rows of a getopt_long table, written once so the programs cannot drift apart. */
#define FZB_RUN_LONGOPTS                                                  \
    { "repetitions", required_argument, NULL, FZB_OPT_REPETITIONS },      \
    { "min-time", required_argument, NULL, FZB_OPT_MIN_TIME },            \
    { "output", required_argument, NULL, FZB_OPT_OUTPUT },                \
    { "append", no_argument, NULL, FZB_OPT_APPEND },                      \
    { "overwrite", no_argument, NULL, FZB_OPT_OVERWRITE },                \
    { "force", no_argument, NULL, FZB_OPT_FORCE },                        \
    { "allow-dirty", no_argument, NULL, FZB_OPT_ALLOW_DIRTY },            \
    { "quiet", no_argument, NULL, FZB_OPT_QUIET }

/* Their --help lines for the flags that decide how the CSV is published (publish.h's
 * rules), one text in both programs' usage; --repetitions, --min-time and --output have
 * each program's own defaults, so each program says them itself. */
#define FZB_PUBLISH_FLAGS_USAGE \
    "  --append           keep the rows already in the CSV (refused if it is of another schema,\n" \
    "                     or holds rows of another machine unless --force)\n" \
    "  --overwrite        replace an existing --output file\n" \
    "  --force            with --append: accept a file with rows of another machine\n" \
    "  --allow-dirty      write the CSV even from a build of a tree with uncommitted changes\n" \
    "                     (refused otherwise: a published number names the code that made it)\n" \
    "  --quiet            only errors: no table, progress or notes (the CSV is still written)\n" \
    "  --version          the version and the git revision of the build\n"

/* Where FZB_RUN_LONGOPTS' values go: fields of the program's own options struct. */
typedef struct {
    int *repetitions;
    double *min_time;
    const char **output;
    bool *append, *overwrite, *force, *allow_dirty;
    bool *quiet;
} fzb_run_options;

/* Takes one option getopt_long returned: its code and value (NULL for a flag). */
typedef fz_status (*fzb_take_option)(int code, const char *value, void *ctx);

/* Parses argv from the start (tests parse many) with getopt_long against `longopts`,
 * stopping at the first non-option so nothing is reordered behind the caller's back.
 * getopt's state is reset first; an abbreviated option is refused (cli_common.h).
 * FZB_RUN_LONGOPTS' options go into *run; every other option, and -h, goes to
 * take(code, value, ctx) in order.  --version is for the program to answer before it
 * parses (fz_cli_version_asked).  FZ_EINVAL with a message for an unknown option, a
 * missing value, a value given to a flag, any operand, or what `take` refused. */
fz_status fzb_getopt_parse(int argc, char **argv, const struct option *longopts,
                           const fzb_run_options *run, fzb_take_option take, void *ctx);

/* One --threads value: 0 (all cores) to FZ_MAX_THREADS. */
fz_status fzb_parse_threads(const char *opt, const char *value, int *out);
/* --repetitions: a whole number from 1 to 1000. */
fz_status fzb_parse_repetitions(const char *opt, const char *value, int *out);
/* --min-time: seconds, more than 0 and at most 60; a trailing 's' is accepted, as Google
 * Benchmark 1.8 writes --benchmark_min_time=0.5s. */
fz_status fzb_parse_min_time(const char *opt, const char *value, double *out);

#endif
