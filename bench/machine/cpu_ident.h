/*
 * What the CPU says about itself, read from the CPU (CPUID and XGETBV on x86; MIDR and the
 * kernel's hwcaps on Arm) rather than from /proc/cpuinfo's brand string, which cloud VMs
 * reduce to "AMD EPYC" or "Intel(R) Xeon(R) Processor".
 */
#ifndef FZB_CPU_IDENT_H
#define FZB_CPU_IDENT_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    char vendor[16];       /* "intel", "amd", "arm", ...; "unknown" */
    int family, model, stepping;   /* x86 display values; Arm: implementer, part, variant
                                    * (revision in stepping); -1 where unknown */
    char uarch[48];        /* "Emerald Rapids", "Zen 4", "Neoverse N1"; "" if not in the table */
    char brand[160];       /* CPUID brand string or /proc/cpuinfo's model name; "" if none */
    char vector_isa[256];  /* space separated: "sse4.2 avx avx2 fma avx512f ..." or "neon sve" */
    char hypervisor[32];   /* "none", or the hypervisor's signature ("KVM", "Microsoft Hv") */
    size_t l1d, l2, l3;    /* per CPUID's cache leaves (x86); 0 where not reported */
    double mhz;            /* nominal clock: CPUID leaf 16h, else /proc/cpuinfo's; 0 unknown */
} fzb_cpu_ident;

void fzb_cpu_ident_get(fzb_cpu_ident *id);

/* True when the CPU executes AVX-512F and the OS saves the opmask and ZMM registers
 * (XCR0 bits 5-7): whether the 512-bit FMA probe may run.  simd/cpu.h's
 * cpu_has_avx512 asks more (VL, BW, DQ, for the kernels); the probe needs only F. */
bool fzb_cpu_has_avx512f(void);

#endif
