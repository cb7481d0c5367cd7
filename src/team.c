/*
 * The thread team: how many OpenMP threads the kernels and the training step use, where
 * they run and how they are laid out.  This and the dispatch table are the library's
 * only global state.
 *
 * Built once, at the first use, from the topology (hwloc, restricted to the CPUs this
 * process may use), FREEZEBENCH_THREADS, FREEZEBENCH_SMT and FREEZEBENCH_BIND; rebuilt by
 * fz_set_threads and fz_set_smt.  The calls that rebuild it must not run concurrently with training.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "freezebench.h"
#include "binding.h"
#include "kernels.h"
#include "gemm.h"
#include "team.h"

#ifdef _OPENMP
#include <omp.h>
#endif

static struct {
    fz_status (*load)(fz_topo *t);
    fz_topo topo;
    fz_binder *binder;      /* NULL: threads are not bound */
    int requested;          /* 0 = the default count */
    bool smt;
    bool bind;              /* FREEZEBENCH_BIND=0 turns binding off */
    fz_schedule sched;
    int bound_pu[FZ_MAX_THREADS];
    fz_team_config config;
} team = { .load = fz_topo_load_this_machine };

static pthread_once_t team_once = PTHREAD_ONCE_INIT;

/* The register tile of the ISA's GEMM microkernel (simd/), which the blocking is for;
 * the scalar reference has none and gets the AVX2 tile's. */
static void microkernel_tile(const char *isa, size_t *mr, size_t *nr)
{
    const fz_sgemm_kernel *k = fz_sgemm_kernel_for(isa);
    *mr = k ? k->mr : 6;
    *nr = k ? k->nr : 16;
}

static void load_topology(void)
{
    fz_status st = team.load(&team.topo);
    if (st != FZ_OK) {
        char why[192];
        snprintf(why, sizeof why, "fallback (%s)", fz_last_error());
#ifdef FZ_HAVE_HWLOC   /* without hwloc this is the build's choice: the report says it */
        fprintf(stderr, "freezebench: no topology (%s); one thread per allowed CPU, "
                "unbound, default cache sizes\n", fz_last_error());
#endif
        fz_topo_fallback(&team.topo, why);
    }
    fz_binder_close(team.binder);
    team.binder = team.topo.fallback || !team.bind ? NULL : fz_binder_open();
    if (!team.topo.fallback && team.bind && !team.binder)
        fprintf(stderr, "freezebench: threads will not be bound: %s\n", fz_last_error());
}

/* Binds every thread of the team to its PU; false if any binding failed. */
static bool bind_threads(void)
{
    if (!team.binder)
        return false;
    int failed = 0;
#ifdef _OPENMP
    if (omp_in_parallel())
        return false;   /* built from inside a parallel region: its threads are not ours */
#pragma omp parallel num_threads(team.sched.threads) reduction(+ : failed)
    {
        int t = omp_get_thread_num();
        failed += fz_binder_bind_self(team.binder, team.sched.os_index[t]) != FZ_OK;
    }
#else
    failed = fz_binder_bind_self(team.binder, team.sched.os_index[0]) != FZ_OK;
#endif
    if (failed)
        fprintf(stderr, "freezebench: %d of %d threads could not be bound (%s)\n", failed,
                team.sched.threads, fz_last_error());
    return !failed;
}

static void rebuild(void)
{
    int requested = team.requested;
#ifndef _OPENMP
    requested = 1;   /* no OpenMP: the team is the calling thread */
#endif
    size_t mr, nr;
    microkernel_tile(fz_kernels_get()->isa, &mr, &nr);
    fz_schedule_plan(&team.topo, requested, team.smt, mr, nr, &team.sched);
    if (team.sched.note[0])
        fprintf(stderr, "freezebench: %s\n", team.sched.note);
#ifdef _OPENMP
    omp_set_num_threads(team.sched.threads);
#endif
    bool bound = bind_threads();
    for (int t = 0; t < team.sched.threads; t++)
        team.bound_pu[t] = bound ? team.sched.os_index[t] : -1;
    team.config = (fz_team_config){
        .threads = team.sched.threads, .groups = team.sched.groups,
        .kc = team.sched.blocking.kc, .mc = team.sched.blocking.mc,
        .nc = team.sched.blocking.nc, .bound_pu = bound ? team.bound_pu : NULL,
        .mr = mr, .nr = nr, .smt = team.smt,
    };
}

static int env_int(const char *name, int fallback)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return fallback;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v < 0 || v > 1 << 20) {
        fprintf(stderr, "freezebench: %s=%s is not a count >= 0; using %d\n", name, s, fallback);
        return fallback;
    }
    return (int)v;
}

static void first_build(void)
{
    team.requested = env_int("FREEZEBENCH_THREADS", 0);
    team.smt = env_int("FREEZEBENCH_SMT", 0) != 0;
    team.bind = env_int("FREEZEBENCH_BIND", 1) != 0;
    load_topology();
    rebuild();
}

const fz_team_config *fz_team_get(void)
{
    pthread_once(&team_once, first_build);
    return &team.config;
}

void fz_set_threads(int n)
{
    pthread_once(&team_once, first_build);
    team.requested = n > 0 ? n : 0;
    rebuild();
}

int fz_get_threads(void) { return fz_team_get()->threads; }

void fz_set_smt(bool on)
{
    pthread_once(&team_once, first_build);
    team.smt = on;
    rebuild();
}

fz_blocking fz_team_blocking_for(size_t mr, size_t nr)
{
    const fz_topo *t = fz_team_topology();
    return fz_blocking_from_caches((fz_cache_sizes){ t->l1d, t->l2_per_core, t->l3 }, mr ? mr : 1,
                                   nr ? nr : 1, sizeof(float));
}

const fz_topo *fz_team_topology(void)
{
    pthread_once(&team_once, first_build);
    return &team.topo;
}

const fz_schedule *fz_team_schedule(void)
{
    pthread_once(&team_once, first_build);
    return &team.sched;
}

void fz_team_reload(fz_status (*load)(fz_topo *t))
{
    pthread_once(&team_once, first_build);
    team.load = load ? load : fz_topo_load_this_machine;
    load_topology();
    rebuild();
}
