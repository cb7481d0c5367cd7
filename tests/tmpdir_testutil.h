/*
 * A scratch folder per test, for the tests that write files: cmocka setup and teardown,
 * and a path inside it.  Header-only; include after cmocka.h.
 */
#ifndef FZ_TMPDIR_TESTUTIL_H
#define FZ_TMPDIR_TESTUTIL_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    char dir[64];
    char path[256];   /* the last tmp_file */
} tmp_ctx;

/* Setup: a fresh folder under /tmp. */
static int make_tmpdir(void **state)
{
    tmp_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return -1;
    snprintf(c->dir, sizeof c->dir, "/tmp/fz_test_XXXXXX");
    if (!mkdtemp(c->dir)) {
        free(c);
        return -1;
    }
    *state = c;
    return 0;
}

/* Teardown: the folder and every file the test left in it. */
static int remove_tmpdir(void **state)
{
    tmp_ctx *c = *state;
    DIR *d = opendir(c->dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        char p[512];
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(p, sizeof p, "%s/%s", c->dir, e->d_name);
            unlink(p);
        }
    }
    if (d)
        closedir(d);
    rmdir(c->dir);
    free(c);
    return 0;
}

/* `name` inside the folder, kept in the context's path. */
static const char *tmp_file(void **state, const char *name)
{
    tmp_ctx *c = *state;
    snprintf(c->path, sizeof c->path, "%s/%s", c->dir, name);
    return c->path;
}

#endif
