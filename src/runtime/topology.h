/*
 * Internal: the machine as the thread team sees it — which PUs this process may run on,
 * which core, L3 group, package and NUMA node each belongs to, and the cache sizes.
 *
 * The description is plain data, independent of hwloc, so the scheduler (schedule.h) is a
 * pure function of it and can be tested on machines we do not have: hwloc synthetic
 * topologies and XML files load into the same struct as this machine does.
 */
#ifndef FZ_TOPOLOGY_H
#define FZ_TOPOLOGY_H

#include <stdbool.h>
#include <stddef.h>

#include "freezebench.h"
#include "kernels.h"   /* fz_cache_sizes */

#define FZ_TOPO_MAX_PUS 1024

typedef struct {
    int os_index;   /* what the OS calls it: the number binding takes */
    int core;       /* dense index of its core, 0..n_cores-1 */
    int smt_rank;   /* 0 for the first allowed PU of its core, 1 for its sibling, ... */
    int group;      /* dense index of its L3 group (its package when there is no L3) */
    int package;    /* dense index of its package */
    int numa;       /* dense index of its NUMA node (0 when unknown) */
    int kind;       /* core kind, 0 = the most performant; >0 on big.LITTLE machines */
    size_t l1d, l2; /* the L1d and L2 above it, bytes; 0 = unknown */
    size_t l2_share;/* its core's share of that L2 (size / cores under it): what one
                     * thread's blocks may use when clusters of cores share an L2 */
} fz_topo_pu;

typedef struct {
    int n_pus, n_cores, n_groups, n_packages, n_numa, n_kinds;
    bool has_l3;            /* groups are L3 caches (else packages) */
    /* Cache sizes in bytes per instance, the smallest over the allowed cores (so that a
     * blocking derived from them fits every core); 0 = not reported. */
    size_t l1d, l2, l3;
    size_t l2_per_core;     /* smallest l2_share: the L2 the blocking counts on */
    char cpu_model[128];
    char arch[32];
    /* Where this came from: "hwloc 2.9.0", "hwloc synthetic ...", or why it is a
     * fallback ("hwloc not built in", "hwloc failed: ..."). */
    char source[192];
    bool fallback;          /* no real topology: one core per allowed CPU, no SMT info */
    /* PUs in hwloc's logical order (cores of a group together, SMT siblings adjacent). */
    fz_topo_pu pu[FZ_TOPO_MAX_PUS];
} fz_topo;

/* Loads this machine's topology, restricted to the CPUs this process may run on (cgroup
 * cpuset and the process's affinity mask, as taskset sets it).  FZ_EIO with a message
 * when hwloc is not built in or fails; `t` then holds nothing useful. */
fz_status topo_load_this_machine(fz_topo *t);

/* Loads a hwloc synthetic description ("pack:2 l3:1(size=32MiB) core:8 pu:2"), or an
 * XML file written by lstopo.  FZ_EINVAL/FZ_EIO with a message on failure, or FZ_EIO when
 * hwloc is not built in. */
fz_status topo_load_synthetic(fz_topo *t, const char *description);
fz_status topo_load_xml(fz_topo *t, const char *path);

/* What the team uses when no topology could be loaded: one core per CPU the OpenMP
 * runtime says we may use, no SMT knowledge, one group, default caches left at 0.
 * `why` is kept in t->source for the report. */
void topo_fallback(fz_topo *t, const char *why);

/* The CPU model string and architecture of this machine (from /proc/cpuinfo and
 * uname), for topologies that do not carry them. */
void topo_fill_identity(fz_topo *t);

/* The caches a GEMM blocking counts on: L1d, the L2 share of one core, the group's L3. */
static inline fz_cache_sizes topo_cache_sizes(const fz_topo *t)
{
    return (fz_cache_sizes){ t->l1d, t->l2_per_core, t->l3 };
}

#endif /* FZ_TOPOLOGY_H */
