/*
 * Writing a file through a temporary one beside it, fsync and rename (replace.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "replace.h"

#ifndef NAME_MAX
#define NAME_MAX 255
#endif

/* The temporary file of a write: "<name>.tmp-<pid>-<n>" beside the output, the name cut
 * to TEMP_NAME_MAX bytes so that any valid output name leaves room for the suffix.  The
 * pid lets a later write tell a temporary file whose writer was killed (SIGKILL, a
 * crash) from one still being written, and remove it. */
enum { TEMP_NAME_MAX = 200 };

size_t path_dir_len(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? (size_t)(slash - path) + 1 : 0;
}

const char *file_kind(mode_t mode)
{
    return S_ISDIR(mode) ? "a directory" : S_ISLNK(mode) ? "a symbolic link"
         : S_ISFIFO(mode) ? "a FIFO" : S_ISCHR(mode) || S_ISBLK(mode) ? "a device node"
         : S_ISSOCK(mode) ? "a socket" : "not a regular file";
}

fz_status file_check_output(const char *path)
{
    if (!path || !*path)
        return set_error(FZ_EINVAL, "the output path is empty");
    size_t dl = path_dir_len(path);
    const char *base = path + dl;
    if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
        return set_error(FZ_EIO, "'%s' names a directory, not a file", path);
    if (strlen(base) > NAME_MAX)
        return set_error(FZ_EIO, "'%s': the file name is %zu bytes, more than the %d a "
                         "file name may have", path, strlen(base), NAME_MAX);
    if (strlen(path) >= PATH_MAX - 32)
        return set_error(FZ_EIO, "'%s': path too long", path);
    struct stat sb;
    if (lstat(path, &sb) == 0) {
        /* Replacing a device node, a FIFO or a symlink by a regular file destroys what
         * it was (as root, /dev/null itself); writing through one is not what an atomic
         * rename can do.  So only regular files are written, like sqlite3's .save. */
        if (!S_ISREG(sb.st_mode))
            return set_error(FZ_EIO, "'%s' is %s; outputs are written only to "
                             "regular files (a new one, or one replaced whole)", path,
                             file_kind(sb.st_mode));
    } else if (errno != ENOENT) {
        return set_error(FZ_EIO, "'%s' cannot be written: %s", path, strerror(errno));
    }
    char dir[PATH_MAX];
    memcpy(dir, dl ? path : ".", dl ? dl : 1);
    dir[dl ? dl : 1] = '\0';
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return set_error(FZ_EIO, "'%s': directory '%s' cannot be used: %s", path, dir,
                         S_ISDIR(sb.st_mode) ? strerror(errno) : "not a directory");
    if (access(dir, W_OK | X_OK) != 0)
        return set_error(FZ_EIO, "'%s': cannot write into directory '%s': %s", path, dir,
                         strerror(errno));
    return FZ_OK;
}

/* Removes "<prefix>.tmp-<pid>-<n>" files left in the directory by writers that are gone. */
static void remove_stale_temps(const char *path)
{
    size_t dl = path_dir_len(path);
    const char *base = path + dl;
    size_t plen = strlen(base) < TEMP_NAME_MAX ? strlen(base) : TEMP_NAME_MAX;
    char dir[PATH_MAX];
    if (dl >= sizeof dir)
        return;
    memcpy(dir, dl ? path : ".", dl ? dl : 1);
    dir[dl ? dl : 1] = '\0';
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        long pid;
        unsigned n;
        int used = 0;
        if (strncmp(e->d_name, base, plen) ||
            sscanf(e->d_name + plen, ".tmp-%ld-%u%n", &pid, &n, &used) != 2 ||
            e->d_name[plen + (size_t)used] != '\0' || pid <= 0 || pid == (long)getpid())
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;   /* its writer still runs (or belongs to another user) */
        char stale[PATH_MAX];
        if (snprintf(stale, sizeof stale, "%.*s%s", (int)dl, path, e->d_name) <
                (int)sizeof stale)
            unlink(stale);
    }
    if (d)
        closedir(d);
}

/* ---- a signal during a write --------------------------------------------------------
 * Ctrl-C (SIGINT), kill (SIGTERM) or a closed terminal (SIGHUP) during a write would end
 * the process with its temporary file still there.  The sweep above removes it, but only
 * at the next write to the same name, which may never come (a run that names its own
 * output, a user who gives up).  So while a write is in progress, each of these signals
 * whose action is the default (to end the process) gets a handler that unlinks the
 * temporary files being written (unlink is async-signal-safe), puts the default action
 * back and raises the signal again: the process still ends by that signal, as it would
 * have, with no file left.  A signal the program ignores or handles itself is left
 * alone: whether the process ends is its handler's decision, and a handler that lets the
 * write go on must find the temporary file still there.  SIGKILL and crashes cannot be
 * caught; the sweep removes what they leave. */
static const int GUARDED[] = { SIGINT, SIGTERM, SIGHUP };
enum { N_GUARDED = sizeof GUARDED / sizeof GUARDED[0], GUARD_SLOTS = 16 };
/* A temporary file being written, per slot: state 0 free, 1 claimed (path changing),
 * 2 path set (the handler unlinks it).  More writes at once than slots go unguarded. */
static atomic_int guard_state[GUARD_SLOTS];
static char guard_path[GUARD_SLOTS][PATH_MAX];
/* Writes in progress and the handlers installed for them, under guard_lock; the first
 * write in installs, the last one out restores. */
static pthread_mutex_t guard_lock = PTHREAD_MUTEX_INITIALIZER;
static size_t guard_writers;
static bool guard_installed[N_GUARDED];

static void guard_handler(int sig)
{
    for (size_t i = 0; i < GUARD_SLOTS; i++)
        if (atomic_load(&guard_state[i]) == 2)
            unlink(guard_path[i]);
    struct sigaction dfl = { .sa_handler = SIG_DFL };
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, NULL);
    raise(sig);   /* blocked while the handler runs: delivered, by default, on return */
}

static void guard_begin(void)
{
    pthread_mutex_lock(&guard_lock);
    for (size_t s = 0; guard_writers == 0 && s < N_GUARDED; s++) {
        struct sigaction now, ours = { .sa_handler = guard_handler };
        sigemptyset(&ours.sa_mask);
        for (size_t k = 0; k < N_GUARDED; k++)   /* one cleanup at a time */
            sigaddset(&ours.sa_mask, GUARDED[k]);
        guard_installed[s] = sigaction(GUARDED[s], NULL, &now) == 0 &&
                             !(now.sa_flags & SA_SIGINFO) && now.sa_handler == SIG_DFL &&
                             sigaction(GUARDED[s], &ours, NULL) == 0;
    }
    guard_writers++;
    pthread_mutex_unlock(&guard_lock);
}

static void guard_end(void)
{
    pthread_mutex_lock(&guard_lock);
    if (--guard_writers == 0) {
        for (size_t s = 0; s < N_GUARDED; s++) {
            struct sigaction now, dfl = { .sa_handler = SIG_DFL };
            sigemptyset(&dfl.sa_mask);
            /* Put the default back unless the program set its own action meanwhile. */
            if (guard_installed[s] && sigaction(GUARDED[s], NULL, &now) == 0 &&
                !(now.sa_flags & SA_SIGINFO) && now.sa_handler == guard_handler)
                sigaction(GUARDED[s], &dfl, NULL);
            guard_installed[s] = false;
        }
    }
    pthread_mutex_unlock(&guard_lock);
}

/* A free slot for this write's temporary file, or -1 (the write goes on unguarded). */
static int guard_claim(void)
{
    for (int i = 0; i < GUARD_SLOTS; i++) {
        int free_slot = 0;
        if (atomic_compare_exchange_strong(&guard_state[i], &free_slot, 1))
            return i;
    }
    return -1;
}

/* The handler unlinks `tmp` from now on.  Set before the file is created, so there is
 * no moment when the file exists unguarded; a name that turns out taken is another
 * temporary file of this process id, as much to remove on the way out. */
static void guard_set(int slot, const char *tmp)
{
    if (slot < 0)
        return;
    atomic_store(&guard_state[slot], 1);
    snprintf(guard_path[slot], sizeof guard_path[slot], "%s", tmp);
    atomic_store(&guard_state[slot], 2);
}

static void guard_release(int slot)
{
    if (slot >= 0)
        atomic_store(&guard_state[slot], 0);
}

/* Creates the temporary file with mode 0666 less the umask, as open(2) would create the
 * output itself; a file being replaced passes its own mode on instead. */
static int create_temp(const char *path, char *tmp, size_t cap, int slot)
{
    size_t dl = path_dir_len(path), plen = strlen(path + dl);
    if (plen > TEMP_NAME_MAX)
        plen = TEMP_NAME_MAX;
    for (unsigned n = 0; n < 1000; n++) {
        snprintf(tmp, cap, "%.*s.tmp-%ld-%u", (int)(dl + plen), path, (long)getpid(), n);
        guard_set(slot, tmp);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST) {
            struct stat old;
            if (fd >= 0 && stat(path, &old) == 0 && S_ISREG(old.st_mode))
                fchmod(fd, old.st_mode & 07777);
            return fd;
        }
    }
    errno = EEXIST;
    return -1;
}

/* file_replace once its temporary file is guarded (`slot`, -1 for none). */
static fz_status replace_guarded(const char *path, fz_file_writer *write, void *ctx,
                                 int slot)
{
    char tmp[PATH_MAX];
    int fd = create_temp(path, tmp, sizeof tmp, slot);
    if (fd < 0)
        return set_error(FZ_EIO, "%s: cannot create a temporary file next to it: %s",
                         path, strerror(errno));
    FILE *f = fdopen(fd, "wb");
    fz_status st = f ? write(f, ctx)
                     : set_error(FZ_EIO, "%s: fdopen: %s", path, strerror(errno));
    if (f && st == FZ_OK && (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0))
        st = set_error(FZ_EIO, "%s: cannot flush %s: %s", path, tmp, strerror(errno));
    if (f ? fclose(f) != 0 : close(fd) != 0)
        if (st == FZ_OK)
            st = set_error(FZ_EIO, "%s: cannot close %s: %s", path, tmp, strerror(errno));
    if (st == FZ_OK && rename(tmp, path) != 0)
        st = set_error(FZ_EIO, "%s: cannot rename %s over it: %s", path, tmp,
                       strerror(errno));
    if (st != FZ_OK)
        unlink(tmp);
    return st;
}

fz_status file_replace(const char *path, fz_file_writer *write, void *ctx)
{
    remove_stale_temps(path);
    guard_begin();
    int slot = guard_claim();
    fz_status st = replace_guarded(path, write, ctx, slot);
    guard_release(slot);
    guard_end();
    return st;
}
