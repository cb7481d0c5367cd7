/* Tests: what a piece of work writes to stderr, captured through file descriptor 2 (so
 * that the library's own writes are seen, whatever FILE buffering it uses). */
#ifndef FZ_STDERR_TESTUTIL_H
#define FZ_STDERR_TESTUTIL_H

#include <stdio.h>
#include <unistd.h>

/* Runs work(arg) with fd 2 pointing at a temporary file and leaves what was written
 * there in `out` (at most cap - 1 bytes, NUL-terminated). */
static inline void capture_stderr(void (*work)(void *arg), void *arg, char *out, size_t cap)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    fflush(stderr);
    int saved = dup(2);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(f), 2) >= 0);
    work(arg);
    fflush(stderr);
    assert_true(dup2(saved, 2) >= 0);
    close(saved);
    rewind(f);
    size_t got = fread(out, 1, cap - 1, f);
    out[got] = '\0';
    fclose(f);
}

#endif
