/*
 * A SIGINT, SIGTERM or SIGHUP that ends the process during a write (file_replace:
 * fz_save_npz, the results CSVs) leaves no temporary file behind (issue 24: Ctrl-C
 * during an .npz write left x.npz.tmp-PID-0 until a later write to the same name),
 * and the process still ends by that signal.  A signal the program ignores or handles
 * itself is left to it, and the write completes.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "error.h"
#include "freezebench.h"
#include "replace.h"
#include "tmpdir_testutil.h"

/* Setup: a scratch folder whose x.npz the tests write. */
static int make_dir(void **state)
{
    if (make_tmpdir(state) != 0)
        return -1;
    tmp_file(state, "x.npz");
    return 0;
}




/* The directory's entries, one line each, into `out`; their count. */
static size_t list_dir(const char *dir, char *out, size_t cap)
{
    size_t n = 0, used = 0;
    out[0] = '\0';
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        n++;
        used += (size_t)snprintf(out + used, used < cap ? cap - used : 0, "%s\n", e->d_name);
    }
    if (d)
        closedir(d);
    return n;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void assert_content(const char *path, const char *want)
{
    char buf[64] = "";
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    assert_string_equal(buf, want);
}

/* The writer: part of the content, a byte to the parent ("the temporary file exists"),
 * then the rest once the parent writes a byte or closes its end (a signal the program
 * handles interrupts the wait). */
typedef struct {
    int ready_fd, go_fd;
} pause_ctx;

static fz_status pausing_writer(FILE *f, void *ctx)
{
    pause_ctx *p = ctx;
    fputs("new", f);
    fflush(f);
    char c = 'r';
    if (write(p->ready_fd, &c, 1) != 1)
        return set_error(FZ_EIO, "pipe: %s", strerror(errno));
    ssize_t got = read(p->go_fd, &c, 1);
    (void)got;
    fputs(" content", f);
    return FZ_OK;
}

static volatile sig_atomic_t handled;
static void own_handler(int sig)
{
    (void)sig;
    handled = 1;
}

enum disposition { DEFAULT, IGNORED, HANDLED };

/* Runs a write in a child whose `sig` has the given disposition, sends `sig` while the
 * temporary file exists, then lets the write go on; returns the wait status.  The child
 * exits 0 when its write succeeded and the disposition is what it set, 3 or 4 if not. */
static int write_and_signal(const char *path, int sig, enum disposition how)
{
    int ready[2], go[2];
    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(go), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        close(ready[0]);
        close(go[1]);
        struct sigaction act = { .sa_handler = how == IGNORED ? SIG_IGN
                                             : how == HANDLED ? own_handler : SIG_DFL };
        sigemptyset(&act.sa_mask);
        sigaction(sig, &act, NULL);
        pause_ctx ctx = { ready[1], go[0] };
        fz_status st = file_replace(path, pausing_writer, &ctx);
        struct sigaction now;
        sigaction(sig, NULL, &now);
        if (st != FZ_OK)
            _exit(3);
        _exit(now.sa_handler == act.sa_handler && (how != HANDLED || handled) ? 0 : 4);
    }
    close(ready[1]);
    close(go[0]);
    char c;
    assert_int_equal(read(ready[0], &c, 1), 1);
    assert_int_equal(kill(child, sig), 0);
    /* Give a default-action signal time to end the child before it may go on: if the
     * signal did not end it, the write completes and the status says so. */
    if (how == DEFAULT)
        nanosleep(&(struct timespec){ .tv_nsec = 200 * 1000 * 1000 }, NULL);
    ssize_t sent = write(go[1], "g", 1);   /* EPIPE once the child is gone */
    (void)sent;
    close(go[1]);
    close(ready[0]);
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    return status;
}

static void a_signal_that_ends_the_process_removes_the_temporary_file(void **state)
{
    tmp_ctx *c = *state;
    const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
    for (size_t i = 0; i < 3; i++) {
        write_text(c->path, "old");
        int status = write_and_signal(c->path, sigs[i], DEFAULT);
        if (!WIFSIGNALED(status) || WTERMSIG(status) != sigs[i])
            fail_msg("%s: the writer did not end by it (status 0x%x)", strsignal(sigs[i]),
                     status);
        char names[512];
        if (list_dir(c->dir, names, sizeof names) != 1)
            fail_msg("%s during a write left:\n%s", strsignal(sigs[i]), names);
        assert_content(c->path, "old");
    }
}

static void an_ignored_or_handled_signal_is_left_to_the_program(void **state)
{
    tmp_ctx *c = *state;
    const enum disposition hows[] = { IGNORED, HANDLED };
    for (size_t i = 0; i < 2; i++) {
        write_text(c->path, "old");
        int status = write_and_signal(c->path, SIGINT, hows[i]);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            fail_msg("SIGINT %s: status 0x%x", hows[i] == IGNORED ? "ignored" : "handled",
                     status);
        char names[512];
        assert_int_equal(list_dir(c->dir, names, sizeof names), 1);
        assert_content(c->path, "new content");
    }
}

/* Checked from inside a write: the handler is there while the temporary file is. */
static fz_status check_guarded(FILE *f, void *ctx)
{
    (void)ctx;
    struct sigaction now;
    sigaction(SIGTERM, NULL, &now);
    fputs("x", f);
    return now.sa_handler != SIG_DFL ? FZ_OK : set_error(FZ_EINVAL, "not guarded");
}

static void the_default_action_is_back_after_a_write(void **state)
{
    tmp_ctx *c = *state;
    const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
    for (size_t i = 0; i < 3; i++)   /* whatever this process inherited (nohup) */
        signal(sigs[i], SIG_DFL);
    assert_int_equal(file_replace(c->path, check_guarded, NULL), FZ_OK);
    for (size_t i = 0; i < 3; i++) {
        struct sigaction now;
        assert_int_equal(sigaction(sigs[i], NULL, &now), 0);
        assert_true(now.sa_handler == SIG_DFL);
    }
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);   /* a child that ended does not end the test */
#define DIR_TEST(fn) cmocka_unit_test_setup_teardown(fn, make_dir, remove_tmpdir)
    const struct CMUnitTest tests[] = {
        DIR_TEST(a_signal_that_ends_the_process_removes_the_temporary_file),
        DIR_TEST(an_ignored_or_handled_signal_is_left_to_the_program),
        DIR_TEST(the_default_action_is_back_after_a_write),
    };
#undef DIR_TEST
    return cmocka_run_group_tests(tests, NULL, NULL);
}
