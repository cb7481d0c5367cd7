/*
 * Topology discovery with hwloc, flattened into fz_topo (see topology.h).  Without hwloc
 * the team runs on the fallback description: one core per allowed CPU, no SMT or cache
 * knowledge, and the report says so.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cpuinfo.h"
#include "error.h"
#include "topology.h"

#ifdef _OPENMP
#include <omp.h>
#endif
#ifdef FZ_HAVE_HWLOC
#include <hwloc.h>
#endif

static void copy_text(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strnlen(src, cap - 1) : 0;
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
}

void topo_fill_identity(fz_topo *t)
{
    if (!t->cpu_model[0]) {
        /* x86 names its model; Arm kernels give only implementer/part numbers. */
        static const char *const keys[] = { "model name", "Hardware", "CPU part", NULL };
        if (!cpuinfo_value(keys, t->cpu_model, sizeof t->cpu_model))
            copy_text(t->cpu_model, sizeof t->cpu_model, "unknown");
    }
    if (!t->arch[0]) {
        struct utsname u;
        copy_text(t->arch, sizeof t->arch, uname(&u) == 0 ? u.machine : "unknown");
    }
}

static int allowed_cpus(void)
{
#ifdef _OPENMP
    return omp_get_num_procs();   /* libgomp counts the affinity mask, not the machine */
#else
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
#endif
}

void topo_fallback(fz_topo *t, const char *why)
{
    memset(t, 0, sizeof *t);
    int n = allowed_cpus();
    if (n > FZ_TOPO_MAX_PUS)
        n = FZ_TOPO_MAX_PUS;
    for (int i = 0; i < n; i++)
        t->pu[i] = (fz_topo_pu){ .os_index = -1, .core = i };   /* -1: not bindable */
    t->n_pus = t->n_cores = n;
    t->n_groups = t->n_packages = t->n_numa = t->n_kinds = 1;
    t->fallback = true;
    copy_text(t->source, sizeof t->source, why);
    topo_fill_identity(t);
}

#ifdef FZ_HAVE_HWLOC

/* Dense numbering of the objects of one type that hold allowed PUs, in logical order. */
typedef struct { int *of_logical; int n, cap; } dense_ids;

static bool dense_init(dense_ids *d, hwloc_topology_t topo, hwloc_obj_type_t type)
{
    int n = hwloc_get_nbobjs_by_type(topo, type);
    d->cap = n > 0 ? n : 1;
    d->n = 0;
    d->of_logical = malloc((size_t)d->cap * sizeof(int));
    if (!d->of_logical)
        return false;
    for (int i = 0; i < d->cap; i++)
        d->of_logical[i] = -1;
    return true;
}

static int dense_id(dense_ids *d, hwloc_obj_t obj)
{
    if (!obj || (int)obj->logical_index >= d->cap)
        return 0;
    int *id = &d->of_logical[obj->logical_index];
    if (*id < 0)
        *id = d->n++;
    return *id;
}

static bool is_data_cache(hwloc_obj_t o)
{
    return o->attr && o->attr->cache.type != HWLOC_OBJ_CACHE_INSTRUCTION;
}

static hwloc_obj_t numa_of(hwloc_topology_t topo, unsigned os_index)
{
    hwloc_obj_t node = NULL;
    while ((node = hwloc_get_next_obj_by_type(topo, HWLOC_OBJ_NUMANODE, node)))
        if (node->cpuset && hwloc_bitmap_isset(node->cpuset, os_index))
            return node;
    return NULL;
}

/* What hwloc says about kind k: its core type ("IntelAtom", "Cortex-A53", ...) and its
 * maximum frequency and Linux capacity (0 when not given). */
typedef struct { const char *type; double mhz, capacity; } kind_info;

static kind_info kind_info_of(hwloc_topology_t topo, unsigned k)
{
    kind_info ki = { NULL, 0.0, 0.0 };
    struct hwloc_info_s *infos;
    unsigned n = 0;
    if (hwloc_cpukinds_get_info(topo, k, NULL, NULL, &n, &infos, 0) != 0)
        return ki;
    for (unsigned i = 0; i < n; i++) {
        const char *name = infos[i].name, *value = infos[i].value;
        if (!strcmp(name, "CoreType") || !strcmp(name, "LinuxCPUType") || !strcmp(name, "MIDR"))
            ki.type = value;
        else if (!strcmp(name, "FrequencyMaxMHz"))
            ki.mhz = atof(value);
        else if (!strcmp(name, "LinuxCapacity"))
            ki.capacity = atof(value);
    }
    return ki;
}

/* Spread of a positive quantity over the kinds: largest / smallest, 1 if not given. */
static double spread(double lo, double hi) { return lo > 0.0 ? hi / lo : 1.0; }

/* Kinds that really are different cores: different core types, or a maximum frequency
 * or capacity that differs by more than 15%.  Kinds that differ by a few percent of
 * frequency (Intel's Turbo Boost Max 3.0 "favoured cores", which hwloc ranks as kinds
 * of their own) are one kind: a default team of a server's two fastest cores would be
 * a disaster. */
static bool kinds_differ(hwloc_topology_t topo, int nr)
{
    kind_info first = kind_info_of(topo, 0);
    double mhz_lo = first.mhz, mhz_hi = first.mhz, cap_lo = first.capacity, cap_hi = first.capacity;
    for (int k = 1; k < nr; k++) {
        kind_info ki = kind_info_of(topo, (unsigned)k);
        if (first.type && ki.type && strcmp(first.type, ki.type))
            return true;
        mhz_lo = ki.mhz < mhz_lo ? ki.mhz : mhz_lo;
        mhz_hi = ki.mhz > mhz_hi ? ki.mhz : mhz_hi;
        cap_lo = ki.capacity < cap_lo ? ki.capacity : cap_lo;
        cap_hi = ki.capacity > cap_hi ? ki.capacity : cap_hi;
    }
    return spread(mhz_lo, mhz_hi) > 1.15 || spread(cap_lo, cap_hi) > 1.15;
}

/* Renumbers kinds 0..n_kinds-1 in their order, over the allowed PUs only: with the big
 * cores masked out (taskset), the best kind left is kind 0. */
static void number_kinds_densely(fz_topo *t)
{
    bool present[FZ_TOPO_MAX_PUS] = { false };   /* a kind is below the PU count */
    int renumbered[FZ_TOPO_MAX_PUS], n = 0;
    for (int p = 0; p < t->n_pus; p++)
        present[t->pu[p].kind] = true;
    for (int k = 0; k < FZ_TOPO_MAX_PUS; k++)
        renumbered[k] = present[k] ? n++ : -1;
    for (int p = 0; p < t->n_pus; p++)
        t->pu[p].kind = renumbered[t->pu[p].kind];
    t->n_kinds = n;
}

/* Core kinds: hwloc's cpukinds where they name different cores (ordered from the most
 * power efficient to the most performant); otherwise cores with more cache count as the
 * bigger kind (L2 share per core, then L1d) — that is how a synthetic or XML topology
 * without cpukinds describes a big.LITTLE machine.  Per-core shares, because little
 * cores often share one larger L2 among four. */
static void assign_kinds(fz_topo *t, hwloc_topology_t topo)
{
    int nr = hwloc_cpukinds_get_nr(topo, 0);
    if (nr > 1 && kinds_differ(topo, nr)) {
        hwloc_bitmap_t set = hwloc_bitmap_alloc();
        for (int p = 0; set && p < t->n_pus; p++)
            for (int k = 0; k < nr; k++)
                if (hwloc_cpukinds_get_info(topo, (unsigned)k, set, NULL, NULL, NULL, 0) == 0 &&
                    hwloc_bitmap_isset(set, (unsigned)t->pu[p].os_index))
                    t->pu[p].kind = nr - 1 - k;
        hwloc_bitmap_free(set);
        number_kinds_densely(t);
        return;
    }
    /* The distinct (l2_share, l1d) pairs; a PU's rank is how many are larger. */
    size_t pair[FZ_TOPO_MAX_PUS][2];
    int kinds = 0;
    for (int p = 0; p < t->n_pus; p++) {
        int k = 0;
        while (k < kinds && (pair[k][0] != t->pu[p].l2_share || pair[k][1] != t->pu[p].l1d))
            k++;
        if (k == kinds) {
            pair[k][0] = t->pu[p].l2_share;
            pair[k][1] = t->pu[p].l1d;
            kinds++;
        }
    }
    for (int p = 0; p < t->n_pus; p++) {
        int rank = 0;
        for (int k = 0; k < kinds; k++)
            rank += pair[k][0] > t->pu[p].l2_share ||
                    (pair[k][0] == t->pu[p].l2_share && pair[k][1] > t->pu[p].l1d);
        t->pu[p].kind = rank;
    }
    number_kinds_densely(t);
}

static size_t min_known(size_t a, size_t b) { return !a ? b : !b ? a : a < b ? a : b; }

/* Flattens the PUs of `topo` that are in `allowed` into t. */
static fz_status flatten(fz_topo *t, hwloc_topology_t topo, hwloc_const_cpuset_t allowed)
{
    dense_ids cores, groups, packages, numas;
    /* Every table is initialised (no short-circuit), so `done` may free them all. */
    bool ok_cores = dense_init(&cores, topo, HWLOC_OBJ_CORE);
    bool ok_groups = dense_init(&groups, topo, HWLOC_OBJ_L3CACHE);
    bool ok_packages = dense_init(&packages, topo, HWLOC_OBJ_PACKAGE);
    bool ok_numas = dense_init(&numas, topo, HWLOC_OBJ_NUMANODE);
    bool ok = ok_cores && ok_groups && ok_packages && ok_numas;
    int *pus_of_core = calloc((size_t)cores.cap + (size_t)hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU), sizeof(int));
    fz_status st = FZ_OK;
    if (!ok || !pus_of_core) {
        st = set_error(FZ_ENOMEM, "topology: out of memory flattening the hwloc topology");
        goto done;
    }
    t->has_l3 = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_L3CACHE) > 0;
    hwloc_obj_t pu = NULL;
    while ((pu = hwloc_get_next_obj_inside_cpuset_by_type(topo, allowed, HWLOC_OBJ_PU, pu))) {
        if (t->n_pus == FZ_TOPO_MAX_PUS)
            break;   /* the team never has that many threads (FZ_MAX_THREADS) */
        fz_topo_pu *p = &t->pu[t->n_pus++];
        p->os_index = (int)pu->os_index;
        hwloc_obj_t core = NULL, l3 = NULL, package = NULL;
        for (hwloc_obj_t o = pu->parent; o; o = o->parent) {
            if (o->type == HWLOC_OBJ_CORE && !core)
                core = o;
            else if (o->type == HWLOC_OBJ_L1CACHE && is_data_cache(o) && !p->l1d)
                p->l1d = (size_t)o->attr->cache.size;
            else if (o->type == HWLOC_OBJ_L2CACHE && is_data_cache(o) && !p->l2) {
                int sharing = hwloc_get_nbobjs_inside_cpuset_by_type(topo, o->cpuset,
                                                                     HWLOC_OBJ_CORE);
                p->l2 = (size_t)o->attr->cache.size;
                p->l2_share = p->l2 / (size_t)(sharing > 1 ? sharing : 1);
            }
            else if (o->type == HWLOC_OBJ_L3CACHE && !l3)
                l3 = o;
            else if (o->type == HWLOC_OBJ_PACKAGE && !package)
                package = o;
        }
        p->core = core ? dense_id(&cores, core) : cores.n++;   /* no Core: a core of its own */
        p->smt_rank = pus_of_core[p->core]++;
        p->package = dense_id(&packages, package);
        /* Without any L3 the package is the group; a PU without L3 on a machine that has
         * some (no such machine known) joins the first group rather than a made-up one. */
        p->group = l3 ? dense_id(&groups, l3) : t->has_l3 ? 0 : p->package;
        p->numa = dense_id(&numas, numa_of(topo, pu->os_index));
        t->l1d = min_known(t->l1d, p->l1d);
        t->l2 = min_known(t->l2, p->l2);
        t->l2_per_core = min_known(t->l2_per_core, p->l2_share);
        if (l3)
            t->l3 = min_known(t->l3, (size_t)l3->attr->cache.size);
    }
    if (t->n_pus == 0) {
        st = set_error(FZ_EINVAL, "topology: no PU of the topology is in the allowed set");
        goto done;
    }
    t->n_cores = cores.n;
    t->n_packages = packages.n ? packages.n : 1;
    t->n_groups = t->has_l3 ? groups.n : t->n_packages;
    t->n_numa = numas.n ? numas.n : 1;
    assign_kinds(t, topo);

    hwloc_obj_t pkg = hwloc_get_obj_by_type(topo, HWLOC_OBJ_PACKAGE, 0);
    copy_text(t->cpu_model, sizeof t->cpu_model, pkg ? hwloc_obj_get_info_by_name(pkg, "CPUModel") : NULL);
    copy_text(t->arch, sizeof t->arch,
              hwloc_obj_get_info_by_name(hwloc_get_root_obj(topo), "Architecture"));
done:
    free(cores.of_logical);
    free(groups.of_logical);
    free(packages.of_logical);
    free(numas.of_logical);
    free(pus_of_core);
    return st;
}

typedef enum { FROM_THIS_MACHINE, FROM_SYNTHETIC, FROM_XML } topo_from;

static fz_status load(fz_topo *t, topo_from from, const char *what)
{
    memset(t, 0, sizeof *t);
    hwloc_topology_t topo;
    if (hwloc_topology_init(&topo) != 0)
        return set_error(FZ_ENOMEM, "topology: hwloc_topology_init failed");
    fz_status st = FZ_OK;
    int rc = from == FROM_SYNTHETIC ? hwloc_topology_set_synthetic(topo, what)
           : from == FROM_XML ? hwloc_topology_set_xml(topo, what) : 0;
    if (rc != 0) {
        st = set_error(from == FROM_XML ? FZ_EIO : FZ_EINVAL, "topology: hwloc cannot use "
                       "the %s '%s'", from == FROM_XML ? "XML file" : "synthetic description", what);
        goto out;
    }
    if (hwloc_topology_load(topo) != 0) {
        st = set_error(FZ_EIO, "topology: hwloc_topology_load failed");
        goto out;
    }
    hwloc_bitmap_t allowed = hwloc_bitmap_dup(hwloc_topology_get_allowed_cpuset(topo));
    if (!allowed) {
        st = set_error(FZ_ENOMEM, "topology: out of memory for a cpuset");
        goto out;
    }
    if (from == FROM_THIS_MACHINE) {
        /* The affinity mask (taskset, sched_setaffinity, a batch scheduler) narrows the
         * cgroup's allowed set further.  Queried before the team binds any thread. */
        hwloc_bitmap_t bound = hwloc_bitmap_alloc();
        if (bound && (hwloc_get_cpubind(topo, bound, HWLOC_CPUBIND_PROCESS) == 0 ||
                      hwloc_get_cpubind(topo, bound, HWLOC_CPUBIND_THREAD) == 0) &&
            hwloc_bitmap_intersects(bound, allowed))
            hwloc_bitmap_and(allowed, allowed, bound);
        hwloc_bitmap_free(bound);
    }
    st = flatten(t, topo, allowed);
    hwloc_bitmap_free(allowed);
    if (st == FZ_OK) {
        /* The release that ran (the root's info), not the API version, which lags. */
        const char *version = from == FROM_THIS_MACHINE
            ? hwloc_obj_get_info_by_name(hwloc_get_root_obj(topo), "hwlocVersion") : NULL;
        snprintf(t->source, sizeof t->source, "hwloc %s%s%s", version ? version : HWLOC_VERSION,
                 from == FROM_SYNTHETIC ? " synthetic: " : from == FROM_XML ? " XML: " : "",
                 from == FROM_THIS_MACHINE ? "" : what);
        if (from == FROM_THIS_MACHINE)
            topo_fill_identity(t);
    }
out:
    hwloc_topology_destroy(topo);
    return st;
}

fz_status topo_load_this_machine(fz_topo *t) { return load(t, FROM_THIS_MACHINE, NULL); }

fz_status topo_load_synthetic(fz_topo *t, const char *description)
{
    if (!t || !description)
        return set_error(FZ_EINVAL, "topo_load_synthetic: NULL argument");
    return load(t, FROM_SYNTHETIC, description);
}

fz_status topo_load_xml(fz_topo *t, const char *path)
{
    if (!t || !path)
        return set_error(FZ_EINVAL, "topo_load_xml: NULL argument");
    return load(t, FROM_XML, path);
}

#else /* !FZ_HAVE_HWLOC */

static fz_status no_hwloc(void)
{
    return set_error(FZ_EIO, "topology: hwloc is not built in (meson option hwloc)");
}

fz_status topo_load_this_machine(fz_topo *t) { (void)t; return no_hwloc(); }
fz_status topo_load_synthetic(fz_topo *t, const char *d) { (void)t; (void)d; return no_hwloc(); }
fz_status topo_load_xml(fz_topo *t, const char *path) { (void)t; (void)path; return no_hwloc(); }

#endif
