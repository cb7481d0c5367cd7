#include "machine_info.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "freezebench.h"
#include "git_rev.h"

static void copy(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src);
}

/* The first "model name" (x86) or, on Arm kernels that print none, "Hardware"/"CPU part". */
static void cpu_model(char *out, size_t size)
{
    copy(out, size, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) != 0 && strncmp(line, "Hardware", 8) != 0)
            continue;
        const char *v = strchr(line, ':');
        if (!v)
            continue;
        v++;
        while (*v == ' ' || *v == '\t')
            v++;
        copy(out, size, v);
        out[strcspn(out, "\n")] = '\0';
        break;
    }
    fclose(f);
}

/* "32K", "1024K", "32M" as sysfs writes cache sizes. */
static size_t parse_size(const char *s)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end == 'K')
        v <<= 10;
    else if (*end == 'M')
        v <<= 20;
    return (size_t)v;
}

static int read_line(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int ok = fgets(buf, (int)size, f) != NULL;
    fclose(f);
    if (!ok)
        return -1;
    buf[strcspn(buf, "\n")] = '\0';
    return 0;
}

static void caches(fzb_machine_info *m)
{
    for (int i = 0; i < 8; i++) {
        char path[128], level[16], type[32], size[32];
        const char *dir = "/sys/devices/system/cpu/cpu0/cache/index";
        snprintf(path, sizeof path, "%s%d/level", dir, i);
        if (read_line(path, level, sizeof level))
            break;
        snprintf(path, sizeof path, "%s%d/type", dir, i);
        if (read_line(path, type, sizeof type))
            continue;
        snprintf(path, sizeof path, "%s%d/size", dir, i);
        if (read_line(path, size, sizeof size))
            continue;
        size_t bytes = parse_size(size);
        if (strcmp(level, "1") == 0 && strcmp(type, "Data") == 0)
            m->l1d_bytes = bytes;
        else if (strcmp(level, "2") == 0)
            m->l2_bytes = bytes;
        else if (strcmp(level, "3") == 0)
            m->l3_bytes = bytes;
    }
}

void fzb_machine_info_get(fzb_machine_info *m)
{
    memset(m, 0, sizeof *m);
    if (gethostname(m->host, sizeof m->host - 1) != 0)
        copy(m->host, sizeof m->host, "unknown");
    cpu_model(m->cpu_model, sizeof m->cpu_model);
    struct utsname u;
    if (uname(&u) == 0)
        snprintf(m->arch, sizeof m->arch, "%.31s", u.machine);
    else
        copy(m->arch, sizeof m->arch, "unknown");
    /* Cores and caches as the thread team sees them (hwloc, restricted to the CPUs this
     * process may use), so "all cores" in a sweep is the team's default size; sysfs and
     * the online CPU count only where the topology could not tell. */
    fz_machine topo;
    if (fz_machine_get(&topo) == FZ_OK && topo.cores > 0) {
        m->cores = topo.cores;
        m->l1d_bytes = topo.l1d;
        m->l2_bytes = topo.l2;
        m->l3_bytes = topo.l3;
    } else {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        m->cores = n > 0 ? (int)n : 1;
    }
    if (!m->l1d_bytes || !m->l2_bytes || !m->l3_bytes) {
        fzb_machine_info sysfs = {0};
        caches(&sysfs);
        m->l1d_bytes = m->l1d_bytes ? m->l1d_bytes : sysfs.l1d_bytes;
        m->l2_bytes = m->l2_bytes ? m->l2_bytes : sysfs.l2_bytes;
        m->l3_bytes = m->l3_bytes ? m->l3_bytes : sysfs.l3_bytes;
    }
#if defined(__clang__)
    snprintf(m->compiler, sizeof m->compiler, "clang %s", __clang_version__);
#elif defined(__GNUC__)
    snprintf(m->compiler, sizeof m->compiler, "gcc %s", __VERSION__);
#else
    copy(m->compiler, sizeof m->compiler, "unknown");
#endif
    copy(m->git_revision, sizeof m->git_revision, FZB_GIT_REVISION);
}

void fzb_slug(const char *in, char *out, size_t size)
{
    if (size == 0)
        return;
    size_t n = 0;
    int dash = 0;
    for (; *in && n + 1 < size; in++) {
        unsigned char c = (unsigned char)*in;
        if (isalnum(c)) {
            if (dash && n > 0 && n + 2 < size)
                out[n++] = '-';
            dash = 0;
            out[n++] = (char)tolower(c);
        } else {
            dash = 1;
        }
    }
    out[n] = '\0';
}
