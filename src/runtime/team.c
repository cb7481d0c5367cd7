/*
 * The thread team: how many OpenMP threads the kernels and the training step use, where
 * they run and how they are laid out.  Global, as the dispatch table (kernels_active.c)
 * is: the process has one set of cores to share out.
 *
 * Built once, at the first use, from the topology (hwloc, restricted to the CPUs this
 * process may use), FREEZEBENCH_THREADS, FREEZEBENCH_SMT and FREEZEBENCH_BIND; rebuilt by
 * fz_set_threads, fz_set_smt and fz_set_binding.
 *
 * Binding is off unless asked for (fz_set_binding, FREEZEBENCH_BIND=1): a library that
 * pins its caller's own thread changes the caller's affinity behind its back, and a
 * pinned thread cannot move away from a busy neighbour.  Measured on a 2-core VM (Xeon,
 * AVX-512) with a busy loop pinned to CPU 0, freeze_sweep 1024x9@256 spec none, one
 * thread, three interleaved runs each: bound (to CPU 0, the first core) 372-375 ms a
 * step, unbound 120-127 ms, as the scheduler moves it to the idle core.  So unbound is
 * the default; the bench programs bind for repeatability on machines they own.  The
 * calls that rebuild it must not run concurrently with training.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "freezebench.h"
#include "binding.h"
#include "cpu.h"
#include "error.h"
#include "team.h"

#ifdef _OPENMP
#include <omp.h>
#endif

static struct {
    fz_status (*load)(fz_topo *t);
    fz_topo topo;
    fz_binder *binder;      /* opened at the first binding; NULL: none yet */
    int requested;          /* 0 = the default count */
    bool smt;
    bool bind;              /* fz_set_binding / FREEZEBENCH_BIND=1 */
    fz_schedule sched;
    fz_cache_sizes caches;  /* the topology's, as the GEMM blocking counts on them */
    bool cached_c;          /* fz_gemm_ctx.cached_c: the CPU's, or FREEZEBENCH_STREAM_C */
    int bound_pu[FZ_MAX_THREADS];
    fz_team_config config;
} team = { .load = topo_load_this_machine };

static pthread_once_t team_once = PTHREAD_ONCE_INIT;

static void unbind_threads(void);

static void load_topology(void)
{
    fz_status st = team.load(&team.topo);
    if (st != FZ_OK) {
        char why[192];
        snprintf(why, sizeof why, "fallback (%s)", fz_last_error());
#ifdef FZ_HAVE_HWLOC   /* without hwloc this is the build's choice: the report says it */
        log_note("no topology (%s); one thread per allowed CPU, "
                "unbound, default cache sizes", fz_last_error());
#endif
        topo_fallback(&team.topo, why);
    }
    team.caches = topo_cache_sizes(&team.topo);
    /* Threads bound to the old topology's PUs are let go before those PUs are forgotten. */
    if (team.binder && team.config.bound_pu)
        unbind_threads();
    binder_close(team.binder);
    team.binder = NULL;
}

/* Runs `each(binder, thread)` on every thread of the team from inside one parallel region
 * of the team's size; returns how many calls failed. */
static int on_every_thread(fz_status (*each)(fz_binder *b, int os_index))
{
    int failed = 0;
#ifdef _OPENMP
    if (omp_in_parallel())
        return team.sched.threads;   /* called from inside a region: its threads are not ours */
#pragma omp parallel num_threads(team.sched.threads) reduction(+ : failed)
    {
        int t = omp_get_thread_num();
        failed += each(team.binder, team.sched.os_index[t]) != FZ_OK;
    }
#else
    failed = each(team.binder, team.sched.os_index[0]) != FZ_OK;
#endif
    return failed;
}

static fz_status unbind_one(fz_binder *b, int os_index)
{
    (void)os_index;
    return binder_unbind_self(b);
}

/* Gives every thread of the team back the affinity the process started with. */
static void unbind_threads(void)
{
    if (on_every_thread(unbind_one))
        log_note("threads could not all be unbound (%s)",
                fz_last_error());
}

/* Binds every thread of the team to its PU; false if binding is off or any failed. */
static bool bind_threads(void)
{
    if (!team.bind || team.topo.fallback)
        return false;
    if (!team.binder && !(team.binder = binder_open())) {
        log_note("threads will not be bound: %s", fz_last_error());
        return false;
    }
    int failed = on_every_thread(binder_bind_self);
    if (failed)
        log_note("%d of %d threads could not be bound (%s)", failed,
                team.sched.threads, fz_last_error());
    return !failed;
}

static void rebuild(void)
{
    int requested = team.requested;
#ifndef _OPENMP
    requested = 1;   /* no OpenMP: the team is the calling thread */
#endif
    bool was_bound = team.config.bound_pu != NULL;
    schedule_plan(&team.topo, requested, team.smt, &team.sched);
    if (team.sched.note[0])
        log_note("%s", team.sched.note);
#ifdef _OPENMP
    omp_set_num_threads(team.sched.threads);
#endif
    bool bound = bind_threads();
    if (was_bound && !bound && team.binder)
        unbind_threads();
    for (int t = 0; t < team.sched.threads; t++)
        team.bound_pu[t] = bound ? team.sched.os_index[t] : -1;
    team.config = (fz_team_config){
        .threads = team.sched.threads, .groups = team.sched.groups,
        .bound_pu = bound ? team.bound_pu : NULL, .smt = team.smt, .bind = team.bind,
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
        log_note("%s=%s is not a count >= 0; using %d", name, s, fallback);
        return fallback;
    }
    return (int)v;
}

/* fz_gemm_ctx.cached_c: FREEZEBENCH_STREAM_C=0 or 1 decides (A/B runs on any CPU), else
 * the CPU's own answer. */
static bool cached_c_from_env(void)
{
    const char *s = getenv("FREEZEBENCH_STREAM_C");
    if (s && (!strcmp(s, "0") || !strcmp(s, "1")))
        return *s == '0';
    if (s && *s)
        log_note("FREEZEBENCH_STREAM_C=%s is neither 0 nor 1; the CPU decides", s);
    return !cpu_streaming_stores_pay();
}

static void first_build(void)
{
    team.requested = env_int("FREEZEBENCH_THREADS", 0);
    team.smt = env_int("FREEZEBENCH_SMT", 0) != 0;
    team.bind = env_int("FREEZEBENCH_BIND", 0) != 0;
    team.cached_c = cached_c_from_env();
    load_topology();
    rebuild();
}

const fz_team_config *team_get(void)
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

int fz_get_threads(void) { return team_get()->threads; }

void fz_set_smt(bool on)
{
    pthread_once(&team_once, first_build);
    team.smt = on;
    rebuild();
}

void fz_set_binding(bool on)
{
    pthread_once(&team_once, first_build);
    team.bind = on;
    rebuild();
}

bool fz_get_binding(void) { return team_get()->bind; }

fz_gemm_ctx team_gemm_ctx(void)
{
    const fz_team_config *c = team_get();
    return (fz_gemm_ctx){ .caches = team.caches, .threads = c->threads, .groups = c->groups,
                          .cached_c = team.cached_c };
}

const fz_topo *team_topology(void)
{
    pthread_once(&team_once, first_build);
    return &team.topo;
}

const fz_schedule *team_schedule(void)
{
    pthread_once(&team_once, first_build);
    return &team.sched;
}

void team_reload(fz_status (*load)(fz_topo *t))
{
    pthread_once(&team_once, first_build);
    team.load = load ? load : topo_load_this_machine;
    load_topology();
    rebuild();
}
