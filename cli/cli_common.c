#include "cli_common.h"

#include <string.h>

#include "freezebench.h"
#include "fz_git_rev.h"

const char *fz_cli_git_revision(void) { return FZ_CLI_GIT_REVISION; }

int fz_cli_print_version(FILE *f, const char *program)
{
    fprintf(f, "%s (freezebench) %s\ngit %s\n", program, FZ_VERSION_STRING,
            FZ_CLI_GIT_REVISION);
    /* Only a shared library can be another version than the header; saying so when it is
     * keeps the usual two lines for every program linked statically. */
    if (strcmp(fz_version(), FZ_VERSION_STRING) != 0)
        fprintf(f, "library %s loaded\n", fz_version());
    return fflush(f) == 0 && !ferror(f) ? 0 : 1;
}

bool fz_cli_version_asked(int argc, char *const argv[])
{
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--version") == 0)
            return true;
    return false;
}

void fz_cli_getopt_reset(void)
{
    optind = 0;
    opterr = 0;
}

/* The length of the option name in "--name" or "--name=value", dashes included. */
static size_t name_len(const char *token)
{
    const char *eq = strchr(token, '=');
    return eq ? (size_t)(eq - token) : strlen(token);
}

int fz_cli_getopt(int argc, char *const argv[], const char *optstring,
                  const struct option *longopts, const char **token)
{
    /* Without reordering, the next option comes from argv[optind] (optind 0: not yet
     * initialised, the parse starts at 1).  A group of short options (-hx) stays on one
     * argument, so the token is right for them too. */
    int at = optind == 0 ? 1 : optind;
    const char *tok = at < argc ? argv[at] : NULL;
    int index = -1;
    int c = getopt_long(argc, argv, optstring, longopts, &index);
    *token = tok;
    if (c != -1 && c != '?' && c != ':' && c != 1 && index >= 0 && tok &&
        strncmp(tok, "--", 2) == 0 &&
        (name_len(tok) != strlen(longopts[index].name) + 2 ||
         strncmp(tok + 2, longopts[index].name, name_len(tok) - 2) != 0))
        return '?';   /* an abbreviation */
    return c;
}

/* The long option called exactly like token's name, or NULL. */
static const struct option *find_long(const char *token, const struct option *longopts)
{
    size_t n = name_len(token);
    if (n < 3 || strncmp(token, "--", 2) != 0)
        return NULL;
    for (const struct option *o = longopts; o && o->name; o++)
        if (strlen(o->name) == n - 2 && strncmp(token + 2, o->name, n - 2) == 0)
            return o;
    return NULL;
}

void fz_cli_getopt_message(int c, const char *token, const struct option *longopts,
                           char *buf, size_t size)
{
    if (!token)
        token = "?";
    int n = (int)name_len(token);
    const struct option *o = find_long(token, longopts);
    if (c == ':')
        snprintf(buf, size, "%.*s needs a value", n, token);
    else if (o && o->has_arg == no_argument && token[n] == '=')
        snprintf(buf, size, "%.*s takes no value", n, token);
    else
        snprintf(buf, size, "unknown option '%.*s'; see --help", n, token);
}
