/*
 * What machine a result was measured on: the machine columns of the results CSV.
 * Cores and caches come from the library's topology (fz_machine: hwloc, restricted to
 * the CPUs this process may run on), the CPU model, host and compiler from Linux.
 */
#ifndef FZB_MACHINE_INFO_H
#define FZB_MACHINE_INFO_H

#include <stddef.h>

typedef struct {
    char host[128];
    char cpu_model[160];   /* "AMD EPYC 7B13", "unknown" where the kernel does not say */
    char arch[32];         /* uname machine: x86_64, aarch64 */
    int cores;             /* physical cores this process may use (SMT siblings not counted) */
    size_t l1d_bytes, l2_bytes, l3_bytes;   /* per the topology, else sysfs cpu0; 0 if unknown */
    char compiler[96];
    char git_revision[64];
} fzb_machine_info;

void fzb_machine_info_get(fzb_machine_info *m);

/* Lower-case letters and digits of `in`, runs of anything else made one '-', no '-' at
 * either end: "AMD EPYC 7B13 64-Core" -> "amd-epyc-7b13-64-core".  Truncates to fit. */
void fzb_slug(const char *in, char *out, size_t size);

#endif
