/* Thread binding through hwloc (see binding.h). */
#include <stdlib.h>

#include "binding.h"
#include "error.h"

#ifdef FZ_HAVE_HWLOC
#include <hwloc.h>

struct fz_binder {
    hwloc_topology_t topo;
    hwloc_bitmap_t initial;   /* the opening thread's CPUs: what unbinding restores */
};

fz_binder *binder_open(void)
{
    fz_binder *b = malloc(sizeof *b);
    if (!b) {
        set_error(FZ_ENOMEM, "binder_open: out of memory");
        return NULL;
    }
    if (hwloc_topology_init(&b->topo) != 0) {
        free(b);
        set_error(FZ_EIO, "binder_open: hwloc_topology_init failed");
        return NULL;
    }
    if (hwloc_topology_load(b->topo) != 0 || !hwloc_topology_is_thissystem(b->topo)) {
        /* A topology from HWLOC_XMLFILE/HWLOC_SYNTHETIC describes another machine:
         * binding to its PUs would be meaningless here. */
        hwloc_topology_destroy(b->topo);
        free(b);
        set_error(FZ_EIO, "binder_open: hwloc cannot load this machine's topology");
        return NULL;
    }
    b->initial = hwloc_bitmap_alloc();
    if (!b->initial || hwloc_get_cpubind(b->topo, b->initial, HWLOC_CPUBIND_THREAD) != 0) {
        binder_close(b);
        set_error(FZ_EIO, "binder_open: cannot read the calling thread's CPUs");
        return NULL;
    }
    return b;
}

void binder_close(fz_binder *b)
{
    if (!b)
        return;
    hwloc_bitmap_free(b->initial);
    hwloc_topology_destroy(b->topo);
    free(b);
}

fz_status binder_bind_self(fz_binder *b, int os_index)
{
    if (!b || os_index < 0)
        return set_error(FZ_EINVAL, "binder_bind_self: no binder or PU %d", os_index);
    hwloc_bitmap_t set = hwloc_bitmap_alloc();
    if (!set)
        return set_error(FZ_ENOMEM, "binder_bind_self: out of memory for a cpuset");
    hwloc_bitmap_only(set, (unsigned)os_index);
    int rc = hwloc_set_cpubind(b->topo, set, HWLOC_CPUBIND_THREAD);
    hwloc_bitmap_free(set);
    return rc == 0 ? FZ_OK
        : set_error(FZ_EIO, "binder_bind_self: hwloc_set_cpubind to PU %d failed", os_index);
}

fz_status binder_unbind_self(fz_binder *b)
{
    if (!b)
        return set_error(FZ_EINVAL, "binder_unbind_self: no binder");
    return hwloc_set_cpubind(b->topo, b->initial, HWLOC_CPUBIND_THREAD) == 0 ? FZ_OK
        : set_error(FZ_EIO, "binder_unbind_self: hwloc_set_cpubind failed");
}

#else

fz_binder *binder_open(void)
{
    set_error(FZ_EIO, "binder_open: hwloc is not built in: threads are not bound");
    return NULL;
}

void binder_close(fz_binder *b) { (void)b; }

fz_status binder_bind_self(fz_binder *b, int os_index)
{
    (void)b;
    return set_error(FZ_EIO, "binder_bind_self: hwloc is not built in (PU %d)", os_index);
}

fz_status binder_unbind_self(fz_binder *b)
{
    (void)b;
    return set_error(FZ_EIO, "binder_unbind_self: hwloc is not built in");
}

#endif
