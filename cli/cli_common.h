/*
 * What every freezebench program's command line shares: the --version text, and
 * getopt_long made strict, with one wording for an option it refuses.
 */
#ifndef FZ_CLI_COMMON_H
#define FZ_CLI_COMMON_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* The git revision the build was made from: `git describe --always`, "-dirty" when a
 * tracked file outside results/ differed; "unknown" outside git. */
const char *fz_cli_git_revision(void);

/* Prints the GNU --version text of `program`:
 *     freeze_sweep (freezebench) 0.1.0
 *     git e3fc1c5-dirty
 * and, where the library loaded at run time is another version than the header the
 * program was built with (a program linked to the shared library), a third line
 *     library 0.2.0 loaded
 * Returns 0, or 1 if writing failed (a closed stdout must not exit 0). */
int fz_cli_print_version(FILE *f, const char *program);

/* Whether argv (after argv[0], up to a "--") holds --version: a program answers it
 * before anything else, as --help, whatever else is on the line. */
bool fz_cli_version_asked(int argc, char *const argv[]);

/* Resets getopt's global state before parsing an argv from its start, so tests and
 * fuzzers can parse many: glibc re-initialises everything for optind = 0 (optind = 1
 * would keep the position inside a half-read group of short options).  Sets opterr = 0:
 * the messages are the caller's, naming option and value. */
void fz_cli_getopt_reset(void);

/* getopt_long, made strict: an abbreviated long option (--epo for --epochs), which
 * getopt_long takes, is returned as '?' (unknown), so a script that works today is not
 * broken by a later option sharing the prefix.  `optstring` must begin with '+' or '-'
 * (no reordering of argv) and then ':' (a missing value returned as ':').  *token is set
 * to the argument the option was read from (NULL past the end), for the messages. */
int fz_cli_getopt(int argc, char *const argv[], const char *optstring,
                  const struct option *longopts, const char **token);

/* The message for what fz_cli_getopt returned as ':' or '?' from `token`:
 *     --lr needs a value
 *     --cache-frozen takes no value
 *     unknown option '--learning-rate'; see --help
 * (the option's name only: a value given with '=' is left out). */
void fz_cli_getopt_message(int c, const char *token, const struct option *longopts,
                           char *buf, size_t size);

#endif
