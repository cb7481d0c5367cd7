/*
 * Internal: the scheduler's decisions as one plain object, computed from a topology and
 * a requested thread count — which PU each thread runs on and how the threads form
 * groups.  (The GEMM derives its blocking from the caches itself: simd/gemm/blocking.h.)
 * A pure function of its inputs, so plans for machines we do not have (synthetic and XML
 * topologies) are tested like this machine's.
 *
 * Policy:
 *   - default thread count: one per physical core of the most performant kind (on a
 *     big.LITTLE machine the little cores would hold back an even split of M); with SMT
 *     asked for, every PU of those cores;
 *   - threads spread over as many L3 groups as divide the thread count evenly, so each
 *     group has its own L3 for its packed B panel; groups split N, the threads of a group
 *     split M.  Thread t belongs to group t / (threads / groups);
 *   - inside a group, physical cores of the best kind first, then cores of other kinds,
 *     then SMT siblings; more threads than PUs wrap around (oversubscribed);
 *   - when no even split over L3 groups exists (say 17 threads on 2×8 cores), one group
 *     spans the machine.
 */
#ifndef FZ_SCHEDULE_H
#define FZ_SCHEDULE_H

#include <stdbool.h>

#include "counter.h"
#include "topology.h"

typedef struct {
    int threads;                  /* >= 1, <= FZ_MAX_THREADS */
    int groups;                   /* divides threads */
    int pu[FZ_MAX_THREADS];       /* thread t runs on topo->pu[pu[t]] */
    int os_index[FZ_MAX_THREADS]; /* the PU to bind thread t to; -1: leave it unbound */
    bool smt_siblings_used;       /* two threads share a core */
    bool oversubscribed;          /* more threads than PUs */
    char note[192];               /* why the layout is not the default one, or "" */
} fz_schedule;

/* The default thread count of `t`: cores of the best kind (their PUs with smt). */
int schedule_default_threads(const fz_topo *t, bool smt);

/* The plan for `requested` threads (0 = the default; more than FZ_MAX_THREADS is cut
 * there, with a note).  Never fails: every topology with a PU has a plan. */
void schedule_plan(const fz_topo *t, int requested, bool smt, fz_schedule *out);

#endif /* FZ_SCHEDULE_H */
