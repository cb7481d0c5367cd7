/*
 * CPU features, read at run time (never from compile-time macros: a binary built here
 * must choose correctly on whatever CPU runs it).
 */
#include "cpu.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static unsigned long long xgetbv0(void)
{
    unsigned eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

bool fz_cpu_has_avx2_fma(void)
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

bool fz_cpu_has_neon(void) { return false; }

#elif defined(__aarch64__)
#include <sys/auxv.h>
#include <asm/hwcap.h>

bool fz_cpu_has_avx2_fma(void) { return false; }
bool fz_cpu_has_neon(void) { return getauxval(AT_HWCAP) & HWCAP_ASIMD; }

#else
bool fz_cpu_has_avx2_fma(void) { return false; }
bool fz_cpu_has_neon(void) { return false; }
#endif
