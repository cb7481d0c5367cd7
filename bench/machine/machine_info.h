/*
 * The system description every result carries, written by this C code only: the bench
 * programs put it in their CSV rows, and `freeze_sweep --machine` prints it as JSON for
 * every other writer (bench/pytorch_sweep.py), so two programs on one machine can never
 * describe it differently.  MLPerf's system description is the model: what CPU exactly
 * (decoded from CPUID or MIDR, not the brand string), what the OS lets code use, the
 * caches and memory, the software stack.
 */
#ifndef FZB_MACHINE_INFO_H
#define FZB_MACHINE_INFO_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    char host[128];
    char cpu_vendor[16];   /* "intel", "amd", "arm", ... */
    int cpu_family, cpu_model_number, cpu_stepping;   /* CPUID / MIDR; -1 where unknown */
    char uarch[48];        /* "Emerald Rapids", "Zen 5", "Neoverse V2"; "unknown" */
    char cpu_model[160];   /* the brand string: "AMD EPYC 9B14"; "unknown" */
    char arch[32];         /* uname machine: x86_64, aarch64 */
    char vector_isa[256];  /* what the CPU and OS allow: "avx2 fma avx512f ..." */
    char hypervisor[32];   /* "none", "KVM", ...; "unknown" where it cannot be seen */
    int cores;             /* physical cores this process may use (SMT siblings not counted) */
    int smt;               /* hardware threads per core */
    size_t l1d_bytes, l2_bytes, l3_bytes;   /* per core (L1, L2) and per L3 domain */
    char cache_source[16]; /* "hwloc", "sysfs", "cpuid", "unknown": who told the sizes */
    double memory_bytes;   /* physical memory */
    double cpu_mhz;        /* nominal clock (CPUID 16h, else /proc/cpuinfo); 0 unknown */
    char governor[32];     /* cpufreq governor of cpu0, "unknown" where sysfs has none */
    char os[96];           /* /etc/os-release PRETTY_NAME */
    char kernel[96];       /* uname release */
    char compiler[96];
    char blas[128];        /* BLAS libraries this build links, with versions */
    char openblas_core[48];/* the core OpenBLAS picked in this environment; "" if not asked */
    char git_revision[64];
    char system_id[96];    /* vendor-uarch-isa slug: the results file name's stem */
} fzb_machine_info;

/* Fills `m` (never fails: what cannot be read says "unknown" or 0).  The kernel ISA in
 * the system id is fz_isa()'s.  Sysfs is read under $FREEZEBENCH_SYSFS_ROOT when set, so
 * tests can present a machine without cache directories. */
void fzb_machine_info_get(fzb_machine_info *m);

/* The physical memory in bytes (the memory_bytes column; the sweep's memory check takes
 * its share of the same number); 0 where the system does not say. */
double fzb_physical_memory_bytes(void);

/* The core name OpenBLAS chose in this process's environment (OPENBLAS_CORETYPE set or
 * not), written into m->openblas_core; "none" where libopenblas cannot be loaded.  With
 * `load` false only an OpenBLAS already in the process is asked: loading one starts its
 * thread pool, which a benchmark of something else should not carry. */
void fzb_machine_info_openblas(fzb_machine_info *m, bool load);

/* cpu0's L1d, L2 and L3 sizes as sysfs lists them (under $FREEZEBENCH_SYSFS_ROOT when
 * set); 0 for a level it does not list, or whose size is not a size (malformed, or too
 * large for any cache: never a wrapped-around number).  Only regular files are read, and
 * without blocking, so a FIFO or device in the tree cannot hang the caller. */
void fzb_machine_sysfs_caches(size_t *l1d, size_t *l2, size_t *l3);

/* Makes `s` text that a CSV field and a JSON string carry safely, in place: every byte
 * that is not part of valid UTF-8, and every control character (C0, DEL, C1), becomes
 * '?'.  fzb_machine_info_get applies it to every text it fills. */
void fzb_text_clean(char *s);

/* The length of the valid UTF-8 sequence at p (1 for ASCII), 0 where p starts none: a
 * stray continuation byte, an overlong form, a surrogate, past U+10FFFF, cut short (the
 * NUL that ends a string too).  What fzb_text_clean keeps, and what the JSON writer
 * (results.h) copies as it is. */
size_t fzb_utf8_sequence(const unsigned char *p);

/* Lower-case letters and digits of `in`, runs of anything else made one '-', no '-' at
 * either end: "AMD EPYC 7B13 64-Core" -> "amd-epyc-7b13-64-core".  Truncates to fit. */
void fzb_slug(const char *in, char *out, size_t size);

#endif
