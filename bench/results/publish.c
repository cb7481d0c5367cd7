#include "publish.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "replace.h"

fz_status fzb_publish_check_path(const char *path)
{
    /* The library's own rule for outputs; here a refusal is the user's to fix before any
     * measuring (exit 2), so it is reported as a bad argument. */
    if (file_check_output(path) == FZ_OK)
        return FZ_OK;
    char why[1024];   /* the message buffer is the one set_error writes into */
    snprintf(why, sizeof why, "%s", fz_last_error());
    return set_error(FZ_EINVAL, "%s", why);
}

/* An advisory lock on a file beside the output (the output itself is replaced by rename,
 * so a lock on it would not outlive the first write).  The lock file holds the owner's
 * PID, so a refused run can name it. */
static fz_status take_lock(fzb_publish *p)
{
    size_t dl = path_dir_len(p->path);
    snprintf(p->lock_path, sizeof p->lock_path, "%.*s.%s.lock", (int)dl, p->path,
             p->path + dl);
    for (int attempt = 0; attempt < 8; attempt++) {
        int fd = open(p->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
            return set_error(FZ_EIO, "cannot create the lock file %s: %s", p->lock_path,
                             strerror(errno));
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            char pid[32] = "";
            ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
            pid[n > 0 ? n : 0] = '\0';
            pid[strcspn(pid, "\n")] = '\0';
            close(fd);
            return set_error(FZ_EINVAL, "%s is being written by another run (process %s, "
                             "lock %s); wait for it, or write another file", p->path,
                             pid[0] ? pid : "unknown", p->lock_path);
        }
        /* The holder before us may have removed the file after we opened it: then our
         * lock is on an orphan, and a third run could lock a new file.  Start again. */
        struct stat held, now;
        if (fstat(fd, &held) == 0 && stat(p->lock_path, &now) == 0 &&
            held.st_ino == now.st_ino && held.st_dev == now.st_dev) {
            char pid[32];
            int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
            if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
                /* The PID only improves a message; the lock holds without it. */
            }
            p->lock_fd = fd;
            return FZ_OK;
        }
        close(fd);
    }
    return set_error(FZ_EIO, "cannot take the lock %s (it keeps being replaced)",
                     p->lock_path);
}

void fzb_publish_end(fzb_publish *p)
{
    if (p->lock_fd < 0)
        return;
    unlink(p->lock_path);
    close(p->lock_fd);
    p->lock_fd = -1;
}

/* results/<prefix><system_id>-<threads>.csv, or with -<UTC time> before .csv. */
static void default_path(char *out, size_t size, const fzb_publish_opts *o,
                         const fzb_context *ctx, const char *stamp)
{
    snprintf(out, size, "results/%s%s-%s%s%s.csv", o->prefix ? o->prefix : "",
             ctx->machine.system_id, o->threads, stamp ? "-" : "", stamp ? stamp : "");
}

bool fzb_revision_is_dirty(const char *git_revision)
{
    size_t n = strlen(git_revision), k = strlen("-dirty");
    return n >= k && strcmp(git_revision + n - k, "-dirty") == 0;
}

fz_status fzb_publish_begin(fzb_publish *p, const fzb_publish_opts *o,
                            const fzb_context *ctx, fzb_csv *table, FILE *note)
{
    p->lock_fd = -1;
    p->lock_path[0] = '\0';
    if (o->append && o->overwrite)
        return set_error(FZ_EINVAL, "--append and --overwrite contradict each other");
    if (!o->allow_dirty && fzb_revision_is_dirty(ctx->machine.git_revision))
        return set_error(FZ_EINVAL, "refusing to write results from a build of a tree with "
                         "uncommitted changes (git_revision %s): a published number must "
                         "name the code that made it.  Commit and rebuild, or pass "
                         "--allow-dirty (the rows keep the -dirty revision, and the report "
                         "marks them)", ctx->machine.git_revision);
    if (o->output)
        snprintf(p->path, sizeof p->path, "%s", o->output);
    else
        default_path(p->path, sizeof p->path, o, ctx, NULL);
    fz_status st = fzb_publish_check_path(p->path);
    if (st != FZ_OK)
        return st;
    bool exists = access(p->path, F_OK) == 0;
    if (exists && !o->append && !o->overwrite) {
        if (o->output)
            return set_error(FZ_EINVAL, "%s exists; --append adds to it, --overwrite "
                             "replaces it", p->path);
        char published[1024], stamp[32];
        snprintf(published, sizeof published, "%s", p->path);
        time_t now = time(NULL);
        struct tm utc;
        gmtime_r(&now, &utc);
        size_t len = strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &utc);
        default_path(p->path, sizeof p->path, o, ctx, stamp);
        /* Runs a second apart share the stamp: the later one must not replace the
         * earlier one's file. */
        for (int k = 2; access(p->path, F_OK) == 0; k++) {
            if (k > 999)
                return set_error(FZ_EIO, "%s and 998 numbered names after it exist",
                                 p->path);
            snprintf(stamp + len, sizeof stamp - len, "-%d", k);
            default_path(p->path, sizeof p->path, o, ctx, stamp);
        }
        if (note)
            fprintf(note, "%s exists (results already published for this system); this run "
                    "writes %s (--append to add to the first, --overwrite to replace it)\n",
                    published, p->path);
        if ((st = fzb_publish_check_path(p->path)) != FZ_OK)
            return st;
    }
    if ((st = take_lock(p)) != FZ_OK)
        return st;
    if (o->append) {
        st = fzb_result_table_append_file(table, p->path, o->force ? NULL : ctx);
        if (st != FZ_OK)
            fzb_publish_end(p);
    }
    return st;
}

fz_status fzb_publish_write(const fzb_publish *p, const fzb_csv *table)
{
    fz_status st = fzb_publish_check_path(p->path);   /* replaced behind our back? */
    return st != FZ_OK ? st : fzb_csv_write(table, p->path);
}
