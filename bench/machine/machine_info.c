#include "machine_info.h"

#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cpu_ident.h"
#include "freezebench.h"
#include "cli_common.h"   /* fz_cli_git_revision */

#ifndef FZB_BLAS_BUILT
#define FZB_BLAS_BUILT "none"
#endif

/* Copies what fits of `src`: the fields are fixed-size, and a long brand string or OS name
 * is better cut than refused. */
static void copy(char *dst, size_t size, const char *src)
{
    size_t n = strnlen(src, size - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

size_t fzb_utf8_sequence(const unsigned char *p)
{
    unsigned c = p[0], min;
    size_t n;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, c &= 0x1f, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, c &= 0x0f, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, c &= 0x07, min = 0x10000;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)   /* also stops at the terminating NUL */
            return 0;
        c = c << 6 | (p[i] & 0x3f);
    }
    return c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff) ? 0 : n;
}

void fzb_text_clean(char *s)
{
    unsigned char *p = (unsigned char *)s;
    while (*p) {
        size_t n = fzb_utf8_sequence(p);
        if (n == 0 || *p < 0x20 || *p == 0x7f) {
            *p++ = '?';
            continue;
        }
        /* C1 controls (U+0080-U+009F, 0xc2 0x80-0x9f) are valid UTF-8 but no text. */
        if (n == 2 && p[0] == 0xc2 && p[1] < 0xa0) {
            p[0] = p[1] = '?';
        }
        p += n;
    }
}

/* The first line of `path`, cleaned (fzb_text_clean); -1 if it cannot be read.  Only a
 * regular file is read, and without blocking: FREEZEBENCH_SYSFS_ROOT's tree is whatever
 * it holds, and a FIFO or a device there would block open() or read() forever (sysfs
 * attributes are regular files).  The type is checked before opening, so no device is
 * opened, and again on the open file, in case the path changed in between. */
static int read_line(const char *path, char *buf, size_t size)
{
    struct stat st;
    if (size < 2 || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return -1;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = -1;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        do
            n = read(fd, buf, size - 1);
        while (n < 0 && errno == EINTR);
    }
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    fzb_text_clean(buf);
    return 0;
}

/* A sysfs path under $FREEZEBENCH_SYSFS_ROOT (default: the real /sys). */
static void sysfs_path(char *out, size_t size, const char *rel)
{
    const char *root = getenv("FREEZEBENCH_SYSFS_ROOT");
    snprintf(out, size, "%s/%s", root && *root ? root : "/sys", rel);
}

/* No cache holds this much: a size above it is a broken or hostile value, not a cache. */
#define MAX_CACHE_BYTES ((uint64_t)1 << 40)

/* "32K", "1024K", "32M" as sysfs writes cache sizes (a plain number is bytes); 0, which
 * the columns read as unknown, for anything else: no digits, other text after them, or
 * a size past MAX_CACHE_BYTES ("99999999999999999999999M" would otherwise wrap around
 * to a plausible-looking number). */
static size_t parse_size(const char *s)
{
    if (!isdigit((unsigned char)*s))
        return 0;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno == ERANGE)
        return 0;
    unsigned shift = *end == 'K' ? 10 : *end == 'M' ? 20 : *end == 'G' ? 30 : 0;
    end += shift != 0;
    if (*end != '\0' || v > (MAX_CACHE_BYTES >> shift))
        return 0;
    return (size_t)(v << shift);
}

void fzb_machine_sysfs_caches(size_t *l1d, size_t *l2, size_t *l3)
{
    *l1d = *l2 = *l3 = 0;
    for (int i = 0; i < 8; i++) {
        char rel[96], path[512], level[16], type[32], size[32];
        snprintf(rel, sizeof rel, "devices/system/cpu/cpu0/cache/index%d/level", i);
        sysfs_path(path, sizeof path, rel);
        if (read_line(path, level, sizeof level))
            break;
        snprintf(rel, sizeof rel, "devices/system/cpu/cpu0/cache/index%d/type", i);
        sysfs_path(path, sizeof path, rel);
        if (read_line(path, type, sizeof type))
            continue;
        snprintf(rel, sizeof rel, "devices/system/cpu/cpu0/cache/index%d/size", i);
        sysfs_path(path, sizeof path, rel);
        if (read_line(path, size, sizeof size))
            continue;
        size_t bytes = parse_size(size);
        if (!strcmp(level, "1") && !strcmp(type, "Data"))
            *l1d = bytes;
        else if (!strcmp(level, "2"))
            *l2 = bytes;
        else if (!strcmp(level, "3"))
            *l3 = bytes;
    }
}

/* Caches from the first source that knows all three levels (hwloc, sysfs, CPUID), so the
 * sizes in one row come from one place.  The L3 is taken as reported, even where a VM's
 * reports it absurdly large: the column records what the machine says, and code that
 * sizes work from it bounds it itself. */
static void caches(fzb_machine_info *m, const fz_machine *topo, const fzb_cpu_ident *id)
{
    size_t s1, s2, s3;
    fzb_machine_sysfs_caches(&s1, &s2, &s3);
    struct { const char *name; size_t l1d, l2, l3; } src[] = {
        { "hwloc", topo ? topo->l1d : 0, topo ? topo->l2 : 0, topo ? topo->l3 : 0 },
        { "sysfs", s1, s2, s3 },
        { "cpuid", id->l1d, id->l2, id->l3 },
    };
    copy(m->cache_source, sizeof m->cache_source, "unknown");
    for (size_t i = 0; i < sizeof src / sizeof *src; i++) {
        if (src[i].l1d && src[i].l2 && src[i].l3) {
            m->l1d_bytes = src[i].l1d;
            m->l2_bytes = src[i].l2;
            m->l3_bytes = src[i].l3;
            copy(m->cache_source, sizeof m->cache_source, src[i].name);
            return;
        }
    }
    /* No source knows all three (a CPU without L3): the most complete one. */
    for (size_t i = 0; i < sizeof src / sizeof *src; i++) {
        if (src[i].l1d && src[i].l2) {
            m->l1d_bytes = src[i].l1d;
            m->l2_bytes = src[i].l2;
            m->l3_bytes = src[i].l3;
            copy(m->cache_source, sizeof m->cache_source, src[i].name);
            return;
        }
    }
}

static void os_name(char *out, size_t size)
{
    copy(out, size, "unknown");
    FILE *f = fopen("/etc/os-release", "r");
    if (!f)
        return;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "PRETTY_NAME=", 12) != 0)
            continue;
        char *v = line + 12;
        v[strcspn(v, "\n")] = '\0';
        size_t n = strlen(v);
        if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
            v[n - 1] = '\0';
            v++;
        }
        copy(out, size, v);
        break;
    }
    fclose(f);
}

/* "intel-emerald-rapids-avx512": enough to keep a Zen 4's files from a Zen 5's where both
 * call themselves "AMD EPYC"; family and model stand in for an unknown microarchitecture. */
static void system_id(fzb_machine_info *m)
{
    char raw[512];
    if (strcmp(m->uarch, "unknown") != 0)
        snprintf(raw, sizeof raw, "%s %s %s", m->cpu_vendor, m->uarch, fz_isa());
    else if (m->cpu_family >= 0)
        snprintf(raw, sizeof raw, "%s f%x m%x %s", m->cpu_vendor, (unsigned)m->cpu_family,
                 (unsigned)m->cpu_model_number, fz_isa());
    else
        snprintf(raw, sizeof raw, "%s %s %.40s %s", m->cpu_vendor, m->arch, m->cpu_model,
                 fz_isa());
    fzb_slug(raw, m->system_id, sizeof m->system_id);
}

double fzb_physical_memory_bytes(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? (double)pages * (double)page : 0;
}

void fzb_machine_info_get(fzb_machine_info *m)
{
    memset(m, 0, sizeof *m);
    if (gethostname(m->host, sizeof m->host - 1) != 0)
        copy(m->host, sizeof m->host, "unknown");

    fzb_cpu_ident id;
    fzb_cpu_ident_get(&id);
    copy(m->cpu_vendor, sizeof m->cpu_vendor, id.vendor);
    m->cpu_family = id.family;
    m->cpu_model_number = id.model;
    m->cpu_stepping = id.stepping;
    copy(m->uarch, sizeof m->uarch, id.uarch[0] ? id.uarch : "unknown");
    copy(m->cpu_model, sizeof m->cpu_model, id.brand[0] ? id.brand : "unknown");
    copy(m->vector_isa, sizeof m->vector_isa, id.vector_isa);
    copy(m->hypervisor, sizeof m->hypervisor, id.hypervisor);
    m->cpu_mhz = id.mhz;

    struct utsname u;
    if (uname(&u) == 0) {
        snprintf(m->arch, sizeof m->arch, "%.31s", u.machine);
        snprintf(m->kernel, sizeof m->kernel, "%.95s", u.release);
    } else {
        copy(m->arch, sizeof m->arch, "unknown");
        copy(m->kernel, sizeof m->kernel, "unknown");
    }
    os_name(m->os, sizeof m->os);

    /* Cores as the thread team sees them (hwloc, restricted to the CPUs this process may
     * use), so "all cores" in a sweep is the team's default size. */
    fz_machine topo;
    bool have_topo = fz_machine_get(&topo) == FZ_OK && topo.cores > 0;
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    m->cores = have_topo ? topo.cores : (online > 0 ? (int)online : 1);
    m->smt = have_topo && topo.cores > 0 && topo.pus >= topo.cores ? topo.pus / topo.cores : 1;
    caches(m, have_topo ? &topo : NULL, &id);

    m->memory_bytes = fzb_physical_memory_bytes();

    char path[512];
    sysfs_path(path, sizeof path, "devices/system/cpu/cpu0/cpufreq/scaling_governor");
    if (read_line(path, m->governor, sizeof m->governor) || !m->governor[0])
        copy(m->governor, sizeof m->governor, "unknown");

#if defined(__clang__)
    snprintf(m->compiler, sizeof m->compiler, "clang %s", __clang_version__);
#elif defined(__GNUC__)
    snprintf(m->compiler, sizeof m->compiler, "gcc %s", __VERSION__);
#else
    copy(m->compiler, sizeof m->compiler, "unknown");
#endif
    copy(m->blas, sizeof m->blas, FZB_BLAS_BUILT);
    copy(m->git_revision, sizeof m->git_revision, fz_cli_git_revision());
    /* Every text a CSV row and the JSON carry is clean UTF-8, whatever the brand string,
     * the OS name or a hostile sysfs tree held (a cut at a field's end can split a
     * character too). */
    char *texts[] = { m->host, m->cpu_vendor, m->uarch, m->cpu_model, m->arch, m->vector_isa,
                      m->hypervisor, m->cache_source, m->governor, m->os, m->kernel,
                      m->compiler, m->blas, m->git_revision };
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++)
        fzb_text_clean(texts[i]);
    system_id(m);
}

void fzb_machine_info_openblas(fzb_machine_info *m, bool load)
{
    copy(m->openblas_core, sizeof m->openblas_core, "none");
    void *lib = dlopen("libopenblas.so.0", RTLD_LAZY | RTLD_NOLOAD);
    if (!lib && load)
        lib = dlopen("libopenblas.so.0", RTLD_LAZY | RTLD_LOCAL);
    if (!lib)
        return;
    char *(*corename)(void);
    *(void **)&corename = dlsym(lib, "openblas_get_corename");
    if (corename && corename())
        copy(m->openblas_core, sizeof m->openblas_core, corename());
    fzb_text_clean(m->openblas_core);
    dlclose(lib);
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
