/*
 * CPU features, read at run time (never from compile-time macros: a binary built here
 * must choose correctly on whatever CPU runs it).
 */
#include "cpu.h"

#include <string.h>

#include "uarch.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static unsigned long long xgetbv0(void)
{
    unsigned eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

bool cpu_has_avx2_fma(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return false;
    bool fma = c & (1u << 12), osxsave = c & (1u << 27), avx = c & (1u << 28);
    if (!fma || !osxsave || !avx)
        return false;
    /* The OS must save XMM and YMM state, or AVX registers are lost on a switch. */
    if ((xgetbv0() & 0x6) != 0x6)
        return false;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return false;
    return b & (1u << 5);
}

bool cpu_has_avx512(void)
{
    unsigned a, b, c, d;
    if (!cpu_has_avx2_fma())   /* the AVX-512 files are built with -mavx2 -mfma too */
        return false;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return false;
    const unsigned f = 1u << 16, dq = 1u << 17, bw = 1u << 30, vl = 1u << 31;
    if ((b & (f | dq | bw | vl)) != (f | dq | bw | vl))
        return false;
    /* The OS must save the opmask registers (bit 5), the upper halves of ZMM0-15 (6) and
     * ZMM16-31 (7) besides XMM (1) and YMM (2), or AVX-512 state is lost on a switch. */
    const unsigned long long zmm_state = 0xe6;
    return (xgetbv0() & zmm_state) == zmm_state;
}

bool cpu_has_neon(void) { return false; }

/* The microarchitecture's name from uarch.c's table, or NULL where it has none. */
static const char *x86_uarch_name(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d))
        return NULL;
    char vendor[13];
    cpu_x86_vendor(b, d, c, vendor);
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return NULL;
    unsigned family, model, stepping;
    cpu_x86_signature(a, &family, &model, &stepping);
    return cpu_x86_uarch(vendor, family, model, stepping);
}

bool cpu_streaming_stores_pay(void) { return cpu_streaming_stores_pay_on(x86_uarch_name()); }

#elif defined(__aarch64__)
#include <sys/auxv.h>
#include <asm/hwcap.h>

bool cpu_has_avx2_fma(void) { return false; }
bool cpu_has_avx512(void) { return false; }
bool cpu_has_neon(void) { return getauxval(AT_HWCAP) & HWCAP_ASIMD; }
bool cpu_streaming_stores_pay(void) { return true; }

#else
bool cpu_has_avx2_fma(void) { return false; }
bool cpu_has_avx512(void) { return false; }
bool cpu_has_neon(void) { return false; }
bool cpu_streaming_stores_pay(void) { return true; }
#endif

bool cpu_streaming_stores_pay_on(const char *uarch)
{
    /* Zen 3 and Zen 3+ ("Zen 3" is a prefix of both names): DESIGN.md, "Tuned
     * constants", streaming C. */
    return !(uarch && strncmp(uarch, "Zen 3", 5) == 0);
}

unsigned cpu_flags(void)
{
    return (cpu_has_avx2_fma() ? FZ_CPU_AVX2 : 0u) |
           (cpu_has_avx512() ? FZ_CPU_AVX512 : 0u) |
           (cpu_has_neon() ? FZ_CPU_NEON : 0u);
}
