/*
 * Writing a file through a temporary one beside it, fsync and rename (replace.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
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

size_t fz_path_dir_len(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? (size_t)(slash - path) + 1 : 0;
}

const char *fz_file_kind(mode_t mode)
{
    return S_ISDIR(mode) ? "a directory" : S_ISLNK(mode) ? "a symbolic link"
         : S_ISFIFO(mode) ? "a FIFO" : S_ISCHR(mode) || S_ISBLK(mode) ? "a device node"
         : S_ISSOCK(mode) ? "a socket" : "not a regular file";
}

fz_status fz_file_check_output(const char *path)
{
    if (!path || !*path)
        return fz_set_error(FZ_EINVAL, "the output path is empty");
    size_t dl = fz_path_dir_len(path);
    const char *base = path + dl;
    if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
        return fz_set_error(FZ_EIO, "'%s' names a directory, not a file", path);
    if (strlen(base) > NAME_MAX)
        return fz_set_error(FZ_EIO, "'%s': the file name is %zu bytes, more than the %d a "
                            "file name may have", path, strlen(base), NAME_MAX);
    if (strlen(path) >= PATH_MAX - 32)
        return fz_set_error(FZ_EIO, "'%s': path too long", path);
    struct stat sb;
    if (lstat(path, &sb) == 0) {
        /* Replacing a device node, a FIFO or a symlink by a regular file destroys what
         * it was (as root, /dev/null itself); writing through one is not what an atomic
         * rename can do.  So only regular files are written, like sqlite3's .save. */
        if (!S_ISREG(sb.st_mode))
            return fz_set_error(FZ_EIO, "'%s' is %s; outputs are written only to "
                                "regular files (a new one, or one replaced whole)", path,
                                fz_file_kind(sb.st_mode));
    } else if (errno != ENOENT) {
        return fz_set_error(FZ_EIO, "'%s' cannot be written: %s", path, strerror(errno));
    }
    char dir[PATH_MAX];
    memcpy(dir, dl ? path : ".", dl ? dl : 1);
    dir[dl ? dl : 1] = '\0';
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return fz_set_error(FZ_EIO, "'%s': directory '%s' cannot be used: %s", path, dir,
                            S_ISDIR(sb.st_mode) ? strerror(errno) : "not a directory");
    if (access(dir, W_OK | X_OK) != 0)
        return fz_set_error(FZ_EIO, "'%s': cannot write into directory '%s': %s", path, dir,
                            strerror(errno));
    return FZ_OK;
}

/* Removes "<prefix>.tmp-<pid>-<n>" files left in the directory by writers that are gone. */
static void remove_stale_temps(const char *path)
{
    size_t dl = fz_path_dir_len(path);
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

/* Creates the temporary file with mode 0666 less the umask, as open(2) would create the
 * output itself; a file being replaced passes its own mode on instead. */
static int create_temp(const char *path, char *tmp, size_t cap)
{
    size_t dl = fz_path_dir_len(path), plen = strlen(path + dl);
    if (plen > TEMP_NAME_MAX)
        plen = TEMP_NAME_MAX;
    for (unsigned n = 0; n < 1000; n++) {
        snprintf(tmp, cap, "%.*s.tmp-%ld-%u", (int)(dl + plen), path, (long)getpid(), n);
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

fz_status fz_file_replace(const char *path, fz_file_writer *write, void *ctx)
{
    remove_stale_temps(path);
    char tmp[PATH_MAX];
    int fd = create_temp(path, tmp, sizeof tmp);
    if (fd < 0)
        return fz_set_error(FZ_EIO, "%s: cannot create a temporary file next to it: %s",
                            path, strerror(errno));
    FILE *f = fdopen(fd, "wb");
    fz_status st = f ? write(f, ctx)
                     : fz_set_error(FZ_EIO, "%s: fdopen: %s", path, strerror(errno));
    if (f && st == FZ_OK && (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0))
        st = fz_set_error(FZ_EIO, "%s: cannot flush %s: %s", path, tmp, strerror(errno));
    if (f ? fclose(f) != 0 : close(fd) != 0)
        if (st == FZ_OK)
            st = fz_set_error(FZ_EIO, "%s: cannot close %s: %s", path, tmp, strerror(errno));
    if (st == FZ_OK && rename(tmp, path) != 0)
        st = fz_set_error(FZ_EIO, "%s: cannot rename %s over it: %s", path, tmp,
                          strerror(errno));
    if (st != FZ_OK)
        unlink(tmp);
    return st;
}
