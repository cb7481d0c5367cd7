/*
 * Internal: the thread team's layout, as the training step uses it and as the GEMM is
 * handed it (team_gemm_ctx).  Computed once from the machine's topology (hwloc where
 * available).
 */
#ifndef FZ_TEAM_H
#define FZ_TEAM_H

#include <stdbool.h>
#include <stddef.h>

#include "kernels.h"
#include "schedule.h"
#include "topology.h"

typedef struct {
    int threads;        /* OpenMP threads in the team (>= 1) */
    int groups;         /* L3 groups: they split N; the threads of a group split M and
                         * share the packed B panel.  1 when unknown.  Divides threads.
                         * Thread t is in group t / (threads / groups).  For results that
                         * are bitwise identical for any thread count, K is never split
                         * and M, N are split in whole MR, NR tiles (split_range_by in
                         * parallel.h), so C is cut into the same tiles whatever the
                         * team, unless edge tiles compute exactly like full ones. */
    /* Where the threads run: bound_pu[t] is the OS index of the PU thread t is bound to
     * (-1 for a thread left unbound); NULL when no thread is bound (no hwloc, or binding
     * failed).  Binding is done once per (re)build, from a parallel region of `threads`
     * threads, so the OpenMP runtime must keep its thread numbering between regions of the
     * same size (libgomp and LLVM's runtime do). */
    const int *bound_pu;
    bool smt;           /* SMT siblings asked for (FREEZEBENCH_SMT=1 / fz_set_smt) */
    bool bind;          /* binding asked for (FREEZEBENCH_BIND=1 / fz_set_binding) */
} fz_team_config;

/* The current layout (after fz_set_threads / FREEZEBENCH_THREADS).  Never NULL.  Cheap:
 * the layout is computed when the team is (re)built, not here. */
const fz_team_config *team_get(void);

/* The plan a GEMM runs with on this team: its threads and L3 groups, and the cache
 * sizes each kernel derives its blocking from for its own tile; no progress call (the
 * caller's execution context adds its own, exec.h).  Cheap. */
fz_gemm_ctx team_gemm_ctx(void);

/* What the team was built from, for the report and the tests. */
const fz_topo *team_topology(void);
const fz_schedule *team_schedule(void);

/* Tests: reload the topology through `load` (a failing one exercises the fallback) and
 * rebuild the team with the current thread request.  Not for concurrent use. */
void team_reload(fz_status (*load)(fz_topo *t));

#endif
