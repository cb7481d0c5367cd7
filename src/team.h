/*
 * Internal: the thread team's layout, as the GEMM loop nest and the training step use it.
 * Computed once from the machine's topology (hwloc where available); the GEMM reads it,
 * never the topology itself.
 */
#ifndef FZ_TEAM_H
#define FZ_TEAM_H

#include <stddef.h>

typedef struct {
    int threads;        /* OpenMP threads in the team (>= 1) */
    int groups;         /* L3 groups: they split N; the threads of a group split M and
                         * share the packed B panel.  1 when unknown.  Divides threads. */
    size_t kc, mc, nc;  /* GEMM blocking from the cache sizes; 0 = the kernel's default */
} fz_team_config;

/* The current layout (after fz_set_threads / FREEZEBENCH_THREADS).  Never NULL. */
const fz_team_config *fz_team_get(void);

#endif
