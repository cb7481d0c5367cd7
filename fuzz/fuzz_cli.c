/*
 * Fuzz target: the freezebench command's argument parser.  The input is split at NUL
 * bytes into argv; the parser must either fill the result or return a usage error with a
 * message, and never read past the arguments it was given.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli_args.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_ARGS = 64 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *argv[MAX_ARGS + 1] = { "freezebench" };
    int argc = 1;
    for (char *p = buf; p <= buf + size && argc < MAX_ARGS; p += strlen(p) + 1)
        argv[argc++] = p;
    argv[argc] = NULL;

    fz_cli_args args;
    char err[256] = "";
    int rc = fz_cli_parse(argc, argv, &args, err, sizeof err);
    if (rc != 0 && !err[0])
        abort();
    free(buf);
    return 0;
}
