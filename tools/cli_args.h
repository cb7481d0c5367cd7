/*
 * The freezebench command line, parsed into a struct and nothing else: no file is
 * opened here, so a test (and a fuzzer) can feed it any argv.
 */
#ifndef FZ_CLI_ARGS_H
#define FZ_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "freezebench.h"

/* Exit status of a usage error (bad or missing argument), as for most Unix tools. */
#define FZ_CLI_USAGE_ERROR 2

typedef enum { FZ_CLI_HELP, FZ_CLI_PARAMS, FZ_CLI_TRAIN, FZ_CLI_EVAL, FZ_CLI_VERSION } fz_cli_command;

typedef struct {
    fz_cli_command command;
    const char *model;        /* params: the positional MODEL.npz; train, eval: --model */
    const char *freeze;       /* --freeze SPEC; "none" when not given */
    const char *data;         /* train, eval: --data DATA.npz (x: N×in; y: N×out floats,
                               * or N int labels for cross-entropy) */
    const char *out;          /* train: --out OUT.npz */
    unsigned long epochs;     /* train: --epochs N, N >= 1 */
    size_t batch;             /* train: --batch B, B >= 1 */
    fz_sgd sgd;               /* --lr (required for SGD), --momentum, --weight-decay
                               * (default 0) */
    fz_loss loss;             /* train, eval: --loss mse|cross-entropy (default mse) */
    fz_optim optim;           /* train: --optimizer sgd|adamw (default sgd) */
    fz_adamw adamw;           /* train --optimizer adamw: --lr, --betas B1,B2, --eps,
                               * --weight-decay (PyTorch's defaults) */
    bool shuffle;             /* --seed S given: shuffle the samples each epoch */
    uint64_t seed;
    unsigned long log_every;  /* --log-every K: print the loss every K epochs (default 10) */
    int threads;              /* --threads T (0 = one per core); -1 = library default */
    const char *schedule;     /* --schedule E:SPEC,...; NULL when not given */
    bool cache_frozen;        /* --cache-frozen: the frozen-prefix activation cache */
    size_t cache_max_bytes;   /* --cache-max-bytes N; 0 = no cap */
    const char *map;          /* --map fc1=PREFIX,...; NULL when not given */
    bool ignore_unknown;      /* --ignore-unknown: keep buffers, write them back */
    const char *architecture; /* --architecture "linear relu linear": what runs between
                               * the layers; NULL when not given */
    bool quiet;               /* train, eval: --quiet: errors only on stderr; no loss
                               * lines, notes or progress (eval still prints its result) */
} fz_cli_args;

/* Parses argv (argv[0] is the program).  Returns 0 with *out filled, or
 * FZ_CLI_USAGE_ERROR with a message in err that names the offending argument.
 * --help / -h anywhere gives command FZ_CLI_HELP, else --version anywhere
 * FZ_CLI_VERSION.  getopt_long's global state is reset first, so it parses any number
 * of times. */
int fz_cli_parse(int argc, char *const argv[], fz_cli_args *out, char *err, size_t err_size);

/* The --help text. */
void fz_cli_usage(FILE *f);

#endif
