#include "cpu_ident.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpuinfo.h"
#include "uarch.h"

static void append_word(char *list, size_t size, const char *word)
{
    size_t n = strlen(list);
    snprintf(list + n, size - n, "%s%s", n ? " " : "", word);
}

/* One /proc/cpuinfo key's value (the library's parser): 0, or -1 if no line has one. */
static int cpuinfo_one(const char *key, char *out, size_t size)
{
    return cpuinfo_value((const char *const[]){ key, NULL }, out, size) ? 0 : -1;
}

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

typedef struct { unsigned a, b, c, d; } regs;

/* CPUID's brand string and hypervisor signature come padded with blanks. */
static void trim(char *s)
{
    size_t start = strspn(s, " \t");
    memmove(s, s + start, strlen(s + start) + 1);
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\t'))
        s[--n] = '\0';
}

static regs cpuid(unsigned leaf, unsigned sub)
{
    regs r = {0, 0, 0, 0};
    __cpuid_count(leaf, sub, r.a, r.b, r.c, r.d);
    return r;
}

/* XCR0: which register state the OS saves on a context switch.  A CPU can have AVX-512
 * that the OS leaves off; then the instructions fault, so the ISA is not usable.  0
 * where leaf 1 (`r1`) says the OS has not enabled XGETBV (OSXSAVE). */
static uint64_t xcr0(regs r1)
{
    if (!(r1.c & (1u << 27)))
        return 0;
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

/* The OS saves XMM (bit 1) and YMM (2): 256-bit code keeps its registers. */
static bool os_saves_ymm(uint64_t xcr) { return (xcr & 0x6) == 0x6; }
/* ... and the opmask registers (5) and both halves of the ZMM state (6, 7). */
static bool os_saves_zmm(uint64_t xcr) { return os_saves_ymm(xcr) && (xcr & 0xe0) == 0xe0; }

/* Deterministic cache parameters: Intel's leaf 4, AMD's 8000001Dh, same layout. */
static void cpuid_caches(unsigned leaf, fzb_cpu_ident *id)
{
    for (unsigned i = 0; i < 16; i++) {
        regs r = cpuid(leaf, i);
        unsigned type = r.a & 0x1f, level = (r.a >> 5) & 7;
        if (type == 0)
            break;
        size_t ways = (r.b >> 22) + 1, parts = ((r.b >> 12) & 0x3ff) + 1;
        size_t line = (r.b & 0xfff) + 1, sets = (size_t)r.c + 1;
        size_t bytes = ways * parts * line * sets;
        if (level == 1 && type == 1)
            id->l1d = bytes;
        else if (level == 2 && type != 2)
            id->l2 = bytes;
        else if (level == 3 && type != 2)
            id->l3 = bytes;
    }
}

static void ident_x86(fzb_cpu_ident *id)
{
    regs r0 = cpuid(0, 0);
    char vendor[13];
    cpu_x86_vendor(r0.b, r0.d, r0.c, vendor);
    snprintf(id->vendor, sizeof id->vendor, "%s", cpu_x86_vendor_short(vendor));

    regs r1 = cpuid(1, 0);
    unsigned family, model, stepping;
    cpu_x86_signature(r1.a, &family, &model, &stepping);
    id->family = (int)family;
    id->model = (int)model;
    id->stepping = (int)stepping;
    const char *u = cpu_x86_uarch(vendor, family, model, stepping);
    snprintf(id->uarch, sizeof id->uarch, "%s", u ? u : "");

    if (cpuid(0x80000000u, 0).a >= 0x80000004u) {
        regs b[3] = { cpuid(0x80000002u, 0), cpuid(0x80000003u, 0), cpuid(0x80000004u, 0) };
        char brand[49];
        memcpy(brand, b, 48);
        brand[48] = '\0';
        snprintf(id->brand, sizeof id->brand, "%s", brand);
        trim(id->brand);
    }

    /* Hypervisor present bit, then the hypervisor's 12-character signature. */
    snprintf(id->hypervisor, sizeof id->hypervisor, "none");
    if (r1.c & (1u << 31)) {
        regs h = cpuid(0x40000000u, 0);
        char sig[13];
        memcpy(sig, &h.b, 4);
        memcpy(sig + 4, &h.c, 4);
        memcpy(sig + 8, &h.d, 4);
        sig[12] = '\0';
        trim(sig);
        snprintf(id->hypervisor, sizeof id->hypervisor, "%s", sig[0] ? sig : "unknown");
        if (!strncmp(sig, "KVMKVMKVM", 9))
            snprintf(id->hypervisor, sizeof id->hypervisor, "KVM");
    }

    unsigned max_leaf = r0.a;
    regs r7 = max_leaf >= 7 ? cpuid(7, 0) : (regs){0, 0, 0, 0};
    regs r7_1 = max_leaf >= 7 && r7.a >= 1 ? cpuid(7, 1) : (regs){0, 0, 0, 0};
    uint64_t xcr = xcr0(r1);
    bool os_ymm = os_saves_ymm(xcr), os_zmm = os_saves_zmm(xcr);
    struct { int have; const char *name; } isa[] = {
        { !!(r1.c & (1u << 20)), "sse4.2" },
        { os_ymm && (r1.c & (1u << 28)), "avx" },
        { os_ymm && (r7.b & (1u << 5)), "avx2" },
        { os_ymm && (r1.c & (1u << 12)), "fma" },
        { os_zmm && (r7.b & (1u << 16)), "avx512f" },
        { os_zmm && (r7.b & (1u << 17)), "avx512dq" },
        { os_zmm && (r7.b & (1u << 30)), "avx512bw" },
        { os_zmm && (r7.b & (1u << 31)), "avx512vl" },
        { os_zmm && (r7.c & (1u << 11)), "avx512_vnni" },
        { os_zmm && (r7_1.a & (1u << 5)), "avx512_bf16" },
        { os_zmm && (r7.d & (1u << 23)), "avx512_fp16" },
        { !!(r7.d & (1u << 24)), "amx_tile" },
    };
    for (size_t i = 0; i < sizeof isa / sizeof *isa; i++)
        if (isa[i].have)
            append_word(id->vector_isa, sizeof id->vector_isa, isa[i].name);

    if (max_leaf >= 0x16)
        id->mhz = cpuid(0x16, 0).a & 0xffff;   /* base frequency, MHz */
    if (!strcmp(id->vendor, "intel") && max_leaf >= 4)
        cpuid_caches(4, id);
    else if (!strcmp(id->vendor, "amd") && cpuid(0x80000000u, 0).a >= 0x8000001du)
        cpuid_caches(0x8000001du, id);
}
#endif

#if defined(__aarch64__)
#include <sys/auxv.h>

static unsigned hex_value(const char *key)
{
    char v[64];
    return cpuinfo_one(key, v, sizeof v) == 0 ? (unsigned)strtoul(v, NULL, 0) : 0;
}

static void ident_arm(fzb_cpu_ident *id)
{
    unsigned implementer = hex_value("CPU implementer"), part = hex_value("CPU part");
    char v[64];
    if (cpuinfo_one("CPU implementer", v, sizeof v) == 0) {
        id->family = (int)implementer;
        id->model = (int)part;
        id->stepping = (int)hex_value("CPU revision");
        snprintf(id->vendor, sizeof id->vendor, "%s", cpu_arm_vendor_short(implementer));
        const char *u = cpu_arm_uarch(implementer, part);
        snprintf(id->uarch, sizeof id->uarch, "%s", u ? u : "");
    }
    snprintf(id->hypervisor, sizeof id->hypervisor, "unknown");   /* not visible at EL0 */
    /* The kernel's hwcaps, not /proc/cpuinfo: they are what user code may execute. */
    unsigned long hw = getauxval(AT_HWCAP), hw2 = getauxval(AT_HWCAP2);
    if (hw & (1ul << 1))
        append_word(id->vector_isa, sizeof id->vector_isa, "neon");
    if (hw & (1ul << 22))
        append_word(id->vector_isa, sizeof id->vector_isa, "sve");
    if (hw2 & (1ul << 1))
        append_word(id->vector_isa, sizeof id->vector_isa, "sve2");
}
#endif

bool fzb_cpu_has_avx512f(void)
{
#if defined(__x86_64__) || defined(__i386__)
    if (cpuid(0, 0).a < 7)
        return false;
    return (cpuid(7, 0).b & (1u << 16)) && os_saves_zmm(xcr0(cpuid(1, 0)));
#else
    return false;
#endif
}

void fzb_cpu_ident_get(fzb_cpu_ident *id)
{
    memset(id, 0, sizeof *id);
    snprintf(id->vendor, sizeof id->vendor, "unknown");
    id->family = id->model = id->stepping = -1;
    snprintf(id->hypervisor, sizeof id->hypervisor, "unknown");
#if defined(__x86_64__) || defined(__i386__)
    ident_x86(id);
#elif defined(__aarch64__)
    ident_arm(id);
#endif
    if (!id->brand[0])
        cpuinfo_one("model name", id->brand, sizeof id->brand);
    char mhz[32];
    if (id->mhz <= 0 && cpuinfo_one("cpu MHz", mhz, sizeof mhz) == 0)
        id->mhz = strtod(mhz, NULL);
}
